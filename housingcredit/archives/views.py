"""Archive pages (信用档案): search, create, the archive page with its history, edit, and a household's own page.

Thin edges (DESIGN rule 1): each view parses the form, calls one service function, commits once, renders.
InvalidInput re-renders the form with the typed values and the field errors (422); Conflict re-renders it
(409).
"""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import login_required

from ..accounts import gate, service as accounts
from ..audit import service as audit
from ..audit.labels import action_label
from ..audit.models import AuditEntry
from ..clock import get_clock
from ..disclosure.masking import mask_id_number
from ..errors import Conflict, InvalidInput
from ..extensions import commit_keeping_loaded, db
from . import service
from .forms import FIELD_LABELS, HouseholdForm, clean_text, household_form_data, label_of

bp = Blueprint("archives", __name__)

MAX_PAGE = 10_000  # deeper pages are a search that should be narrowed (and keep OFFSET within SQL's range)



@bp.context_processor
def archive_helpers():
    return {"label_of": label_of, "mask_id_number": mask_id_number, "action_label": action_label}




# ---- search ------------------------------------------------------------------------------------------------

@bp.route("/households")
@login_required
def search():
    who = gate.require("archive.search")
    q = clean_text(request.args.get("q", ""))
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), MAX_PAGE)
    size = current_app.config["PAGE_SIZE"]
    error = None
    try:
        hits = service.search(q, who, limit=size + 1, offset=(page - 1) * size,
                              after=request.args.get("after", type=int))
    except InvalidInput as err:
        db.session.rollback()
        error = err.errors.get("q", [str(err.message)])[0] if err.errors else str(err.message)
        return render_template("archives/search.html", q=q, hits=[], page=1, has_next=False, error=error), 422
    matched = {h.id: _matched(h, q) for h in hits[:size]}
    return render_template("archives/search.html", q=q, hits=hits[:size], page=page, matched=matched,
                           has_next=len(hits) > size, next_after=hits[size - 1].id if len(hits) > size else None,
                           error=error)


def _matched(household, q: str) -> dict | None:
    """Whom a hit matched, when it is not the head: name, relation, masked ID number."""
    m = service.matched_member(household, q)
    if m is None or m.relation.value == "head":
        return None
    return {"name": m.name, "relation": label_of("relation", m.relation.value),
            "id_number": mask_id_number(m.id_number)}


# ---- create and edit ---------------------------------------------------------------------------------------

@bp.route("/households/new", methods=["GET", "POST"])
@login_required
def create():
    who = gate.require("archive.write")
    form = HouseholdForm().setup(who.region_code)
    if request.method == "GET":
        form.region_code.data = form.only_region
        return render_template("archives/form.html", form=form, household=None, general_errors=[])
    data, rows = form.to_service_data()
    try:
        household = service.create_household(data, who)
    except InvalidInput as err:
        db.session.rollback()
        general = form.apply_errors(err.errors, rows) or ([] if err.errors else [str(err.message)])
        return render_template("archives/form.html", form=form, household=None, general_errors=general,
                               summary=str(err.message)), 422
    db.session.commit()
    flash(_("Archive %(no)s created.", no=household.archive_no), "success")
    return redirect(url_for("archives.show", household_id=household.id))


@bp.route("/households/<int:household_id>/edit", methods=["GET", "POST"])
@login_required
def edit(household_id: int):
    who = gate.user()
    household = service.load_household(household_id, who, "archive.write")
    stored = household_form_data(household)
    if request.method == "GET":
        gate.log_read("household.read", household, who)  # the form shows the whole archive (SPEC §1)
        db.session.commit()
        form = HouseholdForm(data=stored).setup(who.region_code, stored)
        return render_template("archives/form.html", form=form, household=household, general_errors=[])
    form = HouseholdForm().setup(who.region_code, stored)
    data, rows = form.to_service_data()
    try:
        service.update_household(household_id, data, who)
    except InvalidInput as err:
        db.session.rollback()
        general = form.apply_errors(err.errors, rows) or ([] if err.errors else [str(err.message)])
        return render_template("archives/form.html", form=form, household=household, general_errors=general,
                               summary=str(err.message)), 422
    except Conflict as err:
        db.session.rollback()
        return render_template("archives/form.html", form=form, household=household, general_errors=[],
                               conflict=str(err.message)), 409
    db.session.commit()
    flash(_("Changes saved."), "success")
    return redirect(url_for("archives.show", household_id=household_id))


# ---- the archive page --------------------------------------------------------------------------------------

@bp.route("/households/<int:household_id>")
@login_required
def show(household_id: int):
    who = gate.user()
    household = service.read_household(household_id, who)
    commit_keeping_loaded()  # the staff read is audited (SPEC §11); the archive just read is shown as it is
    return _render_archive(household, own=False)


@bp.route("/my")
@login_required
def own():
    who = gate.require("own.read")
    household = service.read_household(who.household_id, who)
    commit_keeping_loaded()
    return _render_archive(household, own=True)


@bp.route("/households/<int:household_id>/activation-code", methods=["POST"])
@login_required
def activation_code(household_id: int):
    who = gate.require("account.activate_household")
    household = service.load_household(household_id, who, "account.activate_household")
    code = accounts.issue_activation_code(household, who)
    db.session.commit()
    expires = get_clock().now_utc() + timedelta(days=accounts.ACTIVATION_DAYS)
    page = render_template("archives/activation_code.html", household=household, code=code, expires=expires)
    return page, 200, {"Cache-Control": "no-store"}  # the code is shown once and must not linger in a cache


def _render_archive(household, own: bool):
    """The archive page. The history is read into plain dicts first: the panels the page includes commit (their
    reads are audited), and a commit expires every loaded entity — entries kept as entities would each be
    reloaded by its own SELECT while the page renders. The history pages by keyset (`?before=<entry id>`)."""
    from ..lists.views import lists_panel
    from ..notices import service as notices
    from ..records.views import credit_panel
    from ..reports.views import reports_panel
    credit = credit_panel(household)  # the credit read commits; its record facts serve the lists panel too
    panels = {"credit": credit, "lp": lists_panel(household, credit["facts"]),
              "household_notices": notices.for_household(household.id), "reports": reports_panel(household)}
    size = current_app.config["PAGE_SIZE"]
    before = request.args.get("before", type=int)
    # the household's own page: its archive's changes only (records, lists and notices have their own panels in
    # its words), each by role and office, never a login name or a raw field name (issue 22). Rows are read as
    # the columns shown (no entities), their actors in one statement with the readers'.
    entries = audit.history(household.id, limit=size + 1, before=before, prefix="household." if own else None,
                            columns=_CHANGE_COLUMNS)
    page = entries[:size]
    older = entries[size - 1].id if len(entries) > size else None
    reads = [] if own else [e for e in audit.history(household.id, reads=True, limit=size, columns=_READ_COLUMNS)
                            if e.action == "household.read"]
    users = _users({e.actor_id for e in (*page, *reads) if e.actor_id})
    who_did = _actor_names(page, own, users)
    changes = [_change(e, who_did) for e in page]
    if own:
        changes = _for_household(changes, page, users)
    if own:  # who looked at my file (SPEC §1): office, role, business and purpose, time — no staff names
        from ..audit.reads import staff_reads
        views = staff_reads(household.id)
    else:
        readers = _actor_names(reads, False, users)
        views = [{"dt": e.dt, "actor_label": readers[e.id]} for e in reads]
    return render_template("archives/show.html", household=household, own=own, changes=changes, views=views,
                           older=older, before=before, full_id=gate.can("archive.read_id_number") and not own,
                           **panels)


_CHANGE_COLUMNS = (AuditEntry.id, AuditEntry.dt, AuditEntry.actor_id, AuditEntry.actor_label, AuditEntry.action,
                   AuditEntry.before, AuditEntry.after)
_READ_COLUMNS = (AuditEntry.id, AuditEntry.dt, AuditEntry.actor_id, AuditEntry.actor_label, AuditEntry.action)


def _users(ids: set) -> dict:
    """The staff (and household) accounts named by `ids`, by id: one statement, none when there are none."""
    from ..accounts.models import User
    return {u.id: u for u in db.session.scalars(sa.select(User).where(User.id.in_(ids)))} if ids else {}


# ---- change history: before/after, field by field ----------------------------------------------------------

HISTORY_LABELS = {
    "expires": _l("Code valid until"), "code": _l("Behaviour"), "occurred_date": _l("Date the behaviour occurred"),
    "formed_date": _l("Date the information formed"), "source": _l("Collection source"), "facts": _l("Facts"),
    "late": _l("Entered late"), "evidence": _l("Evidence"), "decision": _l("Decision"),
    "legal_basis": _l("Legal basis"), "determination_date": _l("Determination date"), "reason": _l("Reason"),
    "note": _l("Note"), "tier": _l("Tier"), "score": _l("Score"), "status": _l("Status"), "state": _l("Status"),
    "record_id": _l("Record"), "procedure_id": _l("Procedure"), "order_id": _l("Rectification order"),
    "deadline": _l("Deadline"), "requirement": _l("Requirement"), "ground": _l("Ground"), "route": _l("Route"),
    "step": _l("Step"), "step_date": _l("Step date"), "start_date": _l("Start date"), "end_date": _l("End date"),
    "start": _l("Start date"), "end": _l("End date"), "until": _l("Until"), "until_date": _l("Until"),
    "issued_date": _l("Issued on"), "complied_date": _l("Complied on"), "opened_date": _l("Opened on"),
    "listed_date": _l("Listed on"), "revoked_date": _l("Revoked from"), "repaired_date": _l("Repaired from"),
    "kind": _l("Kind"), "title": _l("Title"), "clause": _l("Clause"), "severity": _l("Severity"),
    "materials": _l("Materials"), "received_date": _l("Received on"), "due_date": _l("Due on"),
    "corrects_id": _l("Corrects"), "id": _l("Number"), "archive_no": _l("Archive no."),
}
OTHER_LABEL = _l("Other detail")  # a key no label names yet: never shown raw (issue 18)


def _actor_names(entries, own: bool, users: dict) -> dict:
    """Who made each change as a reader knows them: staff by name for staff; for the household itself the
    office and role only (SPEC §1: never a staff member's name); the system as such. `users`: the accounts
    named, by id (`_users`)."""
    from ..accounts import regions
    from ..web import role_labels
    names = {}
    system, staff = _("System"), _("Staff")
    for e in entries:
        u = users.get(e.actor_id)
        if u is None:
            names[e.id] = system if e.actor_label == "system" else staff
        elif own:
            region = regions.get(u.region_code)
            names[e.id] = f"{region.name if region else ''} {role_labels().get(u.role, '')}".strip()
        else:
            names[e.id] = u.display_name or u.username
    return names


def _show_value(key: str, value) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if key == "expires":
        from datetime import datetime
        from flask_babel import format_datetime
        try:
            return format_datetime(datetime.fromisoformat(value), "yyyy-MM-dd HH:mm")
        except (TypeError, ValueError):
            return str(value)
    if key == "protection_category":
        return str(label_of("category", value))
    if key == "protection_group":
        return str(label_of("group", value))
    if key == "marital_status":
        return str(label_of("marital", value))
    if key == "priority_flags" and isinstance(value, list):
        return "、".join(str(label_of("priority", v)) for v in value)
    if key == "region_code":
        from ..accounts import regions
        return f"{regions.full_name(value) or value} ({value})"
    if isinstance(value, (dict, list)):
        return ", ".join(f"{k}: {v}" for k, v in value.items()) if isinstance(value, dict) else ", ".join(
            map(str, value))
    return str(value)


def _member_text(m: dict) -> str:
    relation = label_of("relation", m.get("relation"))
    return f"{m.get('name', '')} ({relation}, {m.get('id_number', '')})"


def _member_changes(before: list, after: list) -> list[dict]:
    """Members added, removed or changed, matched by member id (snapshots hold masked ID numbers only)."""
    rows = []
    old = {m.get("id"): m for m in before or []}
    new = {m.get("id"): m for m in after or []}
    for mid, m in new.items():
        if mid not in old:
            rows.append({"label": _("Member added"), "before": "—", "after": _member_text(m)})
        elif m != old[mid]:
            rows.append({"label": _("Member changed"), "before": _member_text(old[mid]),
                         "after": _member_text(m)})
    for mid, m in old.items():
        if mid not in new:
            rows.append({"label": _("Member removed"), "before": _member_text(m), "after": "—"})
    return rows


def _for_household(changes: list[dict], entries, users: dict) -> list[dict]:
    """The change history as a household reads it: who by role and office ("you", "the system"), and only the
    fields that have a name in words. `users`: the accounts named, by id (`_users`)."""
    from ..accounts import regions
    from ..accounts.models import Role
    from ..audit.reads import ROLE_LABELS
    who = gate.user()
    named = {str(v) for v in (*FIELD_LABELS.values(), *HISTORY_LABELS.values())} | {
        _("Member added"), _("Member changed"), _("Member removed")}
    out = []
    for c, e in zip(changes, entries):
        u = users.get(e.actor_id)
        if u is None:
            actor = _("The system")
        elif u.id == who.id or u.role == Role.household:
            actor = _("You")
        else:
            actor = f"{regions.full_name(u.region_code) or u.region_code} {ROLE_LABELS.get(u.role, '')}"
        out.append({**c, "entry": {**c["entry"], "actor_label": actor},
                    "rows": [r for r in c["rows"] if r["label"] in named]})
    return out


def _change(entry, names: dict | None = None) -> dict:
    """One history entry as rows of (field, before, after) for the fields that differ."""
    before, after = entry.before or {}, entry.after or {}
    rows = []
    keys = list(dict.fromkeys([*after.keys(), *before.keys()]))
    for key in keys:
        b, a = before.get(key), after.get(key)
        if b == a:
            continue
        if key == "members" and isinstance(a or b or [], list):
            rows.extend(_member_changes(b, a))
            continue
        shown_before, shown_after = (_show_value(key, b) if before else "—"), _show_value(key, a)
        if shown_before != shown_after:  # e.g. None → "" is no change a reader could see
            rows.append({"label": str(FIELD_LABELS.get(key) or HISTORY_LABELS.get(key, OTHER_LABEL)),
                         "before": shown_before, "after": shown_after})
    return {"entry": {"id": entry.id, "dt": entry.dt,
                      "actor_label": (names or {}).get(entry.id, entry.actor_label)},
            "label": action_label(entry.action), "rows": rows}
