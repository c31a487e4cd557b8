"""Pages: record a behaviour, a record with its evidence and determination, the review queue, a caseworker's
overview, a household's own credit — and the credit panel the archive page includes."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import login_required
from wtforms.fields.choices import SelectChoice

from ..accounts import gate
from ..accounts.models import Role
from sqlalchemy.orm import selectinload

from ..archives.models import Household
from ..clock import get_clock
from ..errors import DomainError, InvalidInput, NotFound
from ..extensions import db
from ..i18n import title_of
from ..scoring import service as scoring
from . import pending, service
from .forms import (CorrectionDecisionForm, CorrectionForm, DetermineForm, RecordForm, RevocationDecisionForm,
                    RevokeForm)
from .models import Decision
from .schemas import REASON_LABELS, record_status

bp = Blueprint("records", __name__)

@bp.app_template_filter("cite")
def cite_filter(clause) -> str:
    from ..i18n import cite
    return cite(clause)


STATUS_LABELS = {"pending": _l("Pending review"), "confirmed": _l("Confirmed"), "rejected": _l("Rejected"),
                 "revoked": _l("Revoked"), "repaired": _l("Repaired")}


def tier_label(tier: str) -> str:
    band = service.version_today().tiers.get(tier)
    return title_of(band) if band else tier


def _behaviour(code: str, region_code: str):
    try:
        return service.version_today().behaviour(code, region_code)
    except Exception:  # a code no longer in force: show the bare code
        return None


def _source_label(code: str) -> str:
    for s in service.sources():
        if s.code == code:
            return title_of(s)
    return code


def _apply_errors(form, err: DomainError) -> None:
    for name, messages in err.errors.items():
        field = getattr(form, name, None)
        if field is not None and hasattr(field, "errors"):
            field.errors = list(field.errors) + [str(m) for m in messages]


# ---- recording ---------------------------------------------------------------------------------------------

@bp.route("/households/<int:household_id>/records/new", methods=["GET", "POST"])
@login_required
def new_record(household_id: int):
    who = gate.user()
    household = gate.check_household(db.session.get(Household, household_id), "record.create", who)
    catalogue = service.catalogue(household.region_code)
    form = RecordForm()
    form.code.choices = [SelectChoice("", _("Choose…"))] + [SelectChoice(b.code, f"{b.code} {title_of(b)}")
                                                            for b in catalogue]
    form.source.choices = [SelectChoice("", _("Choose…"))] + [SelectChoice(s.code, title_of(s))
                                                              for s in service.sources()]
    status = 200
    token, kept, summary = None, [], []
    if request.method == "POST":
        status = 422
        if form.validate_on_submit():
            token = request.form.get("pending_token") or None
            files = pending.load(token, who, household.id) + [
                (f.filename, f.stream.read(current_app.config["EVIDENCE_MAX_BYTES"] + 1))
                for f in form.evidence.data or [] if f and getattr(f, "filename", "")]
            try:
                record = service.create_record(household.id, form.data_for_service(), files, who)
            except DomainError as err:
                db.session.rollback()
                _apply_errors(form, err)
                status = err.status
                summary = _error_summary(form, err)
                token, kept = pending.keep(files, who, household.id, token)
                flash(str(err.message) if not err.errors else _("Please correct the marked fields; the files "
                                                                 "you attached are kept.") if kept else
                      _("Please correct the marked fields."), "error")
            else:
                db.session.commit()
                pending.drop(token)
                flash(_("The behaviour was recorded and awaits review.") +
                      (" " + _("It was entered late (cf. LN 第九条).") if record.late else ""), "success")
                return redirect(url_for("records.show", record_id=record.id))
    return render_template("records/new.html", form=form, household=household, catalogue=catalogue,
                           title_of=title_of, tier_label=tier_label, pending_token=token, kept_files=kept,
                           error_summary=summary), status


def _error_summary(form, err: DomainError) -> list[str]:
    """Every error at once, each under its field's label (never a raw field key)."""
    out = []
    for name, messages in err.errors.items():
        field = getattr(form, name, None)
        label = field.label.text if field is not None and hasattr(field, "label") else None
        for m in messages if isinstance(messages, (list, tuple)) else [messages]:
            out.append(f"{label}：{m}" if label else str(m))
    return out


# ---- one record --------------------------------------------------------------------------------------------

def _new_evidence(proposal) -> list[dict]:
    """The new evidence a correction proposal carries until its decision ("sha256 type size name" lines)."""
    out = []
    for line in filter(None, (proposal.evidence or "").splitlines()):
        sha, content_type, size, filename = line.split(" ", 3)
        out.append({"sha256": sha, "content_type": content_type, "size": int(size), "filename": filename})
    return out


def _render_record(record_id: int, determine_form=None, revoke_form=None, status: int = 200,
                   correction_form=None):
    who = gate.user()
    record = service.get_record(record_id, who)
    household = db.session.get(Household, record.household_id)
    proposals = service.revocation_proposals(record.id)
    corrections = service.corrections_of(record.id)
    if who.role == Role.household:  # a proposal is never shown to the household, only what was confirmed (§4)
        proposals = []
        corrections = [c for c in corrections if c.decision is not None and c.decision.decision == "confirmed"]
    db.session.commit()  # the staff read is logged
    state = record_status(record)
    open_proposal = next((p for p in proposals if p.decision is None), None)
    can_determine = (state == "pending" and gate.can("record.determine", who) and record.recorded_by_id != who.id)
    can_revoke = state == "confirmed" and open_proposal is None and gate.can("record.revoke", who)
    can_decide_revocation = (open_proposal is not None and gate.can("record.determine", who)
                             and who.id not in (open_proposal.proposed_by_id, record.recorded_by_id))
    open_correction = next((c for c in corrections if c.decision is None), None)
    can_correct = state == "confirmed" and open_correction is None and gate.can("record.revoke", who)
    can_decide_correction = (open_correction is not None and gate.can("record.determine", who)
                             and open_correction.reason != service.OBJECTION_UPHELD  # the objection's review decides
                             and who.id not in (open_correction.proposed_by_id, record.recorded_by_id))
    next_record = service.next_for_review(who, record.id) if state != "pending" and request.args.get(
        "decided") else None
    return render_template(
        "records/record.html", record=record, household=household, status=state, status_labels=STATUS_LABELS,
        head_name=household.head.name if household.head else "", next_record=next_record,
        previews=[_preview(ev) for ev in record.evidence],
        reason_labels=REASON_LABELS, behaviour=_behaviour(record.code, record.region_code), title_of=title_of,
        tier_label=tier_label, source_label=_source_label(record.source),
        own_record=record.recorded_by_id == who.id, can_determine=can_determine, can_revoke=can_revoke,
        household_view=who.role == Role.household,
        proposals=proposals, corrections=corrections, open_proposal=open_proposal, can_decide_revocation=can_decide_revocation,
        decision_form=RevocationDecisionForm(), open_correction=open_correction, can_correct=can_correct,
        can_decide_correction=can_decide_correction, correction_form=correction_form or CorrectionForm(),
        correction_decision_form=CorrectionDecisionForm(),
        new_evidence={c.id: _new_evidence(c) for c in corrections},
        determine_form=determine_form or DetermineForm(), revoke_form=revoke_form or RevokeForm()), status


@bp.route("/records/<int:record_id>")
@login_required
def show(record_id: int):
    return _render_record(record_id)


@bp.route("/records/<int:record_id>/determine", methods=["POST"])
@login_required
def determine(record_id: int):
    form = DetermineForm()
    if form.validate_on_submit():
        try:
            det = service.determine(record_id, form.decision.data, form.legal_basis.data, gate.user())
        except InvalidInput as err:
            db.session.rollback()
            _apply_errors(form, err)
            flash(str(err.message), "error")
            return _render_record(record_id, determine_form=form, status=422)
        db.session.commit()
        flash(_("The record was confirmed; the household has been notified.")
              if det.decision == Decision.confirmed else _("The record was rejected."), "success")
        return redirect(url_for("records.show", record_id=record_id, decided=1))
    flash(_("The input is not valid."), "error")  # refused: the record page again with the fields marked
    return _render_record(record_id, determine_form=form, status=422)


@bp.route("/records/<int:record_id>/revoke", methods=["POST"])
@login_required
def revoke(record_id: int):
    """Propose a revocation (SPEC §4); a reviewer decides it."""
    form = RevokeForm()
    if form.validate_on_submit():
        try:
            service.propose_revocation(record_id, form.reason.data, form.note.data, gate.user())
        except InvalidInput as err:
            db.session.rollback()
            _apply_errors(form, err)
            return _render_record(record_id, revoke_form=form, status=422)
        db.session.commit()
        flash(_("The revocation was proposed; a reviewer will decide it."), "success")
        return redirect(url_for("records.show", record_id=record_id))
    flash(_("The input is not valid."), "error")
    return _render_record(record_id, revoke_form=form, status=422)


@bp.route("/revocations/<int:proposal_id>/decide", methods=["POST"])
@login_required
def decide_revocation(proposal_id: int):
    form = RevocationDecisionForm()
    row = None
    if form.validate_on_submit():
        row = service.decide_revocation(proposal_id, form.decision.data or "", form.note.data or "", gate.user())
        db.session.commit()
        flash(_("The record was revoked from today; the household has been notified.")
              if row.decision == "confirmed" else _("The revocation proposal was rejected."), "success")
    record_id = service.proposal_record_id(proposal_id)
    return redirect(url_for("records.show", record_id=record_id))


@bp.route("/records/<int:record_id>/correct", methods=["POST"])
@login_required
def correct(record_id: int):
    """Propose a correction of facts and evidence (SPEC §4); a reviewer decides it."""
    form = CorrectionForm()
    if form.validate_on_submit():
        files = [f for f in form.evidence.data or [] if f and getattr(f, "filename", "")]
        try:
            service.propose_correction(record_id, form.data_for_service(), files, gate.user())
        except InvalidInput as err:
            db.session.rollback()
            _apply_errors(form, err)
            flash(_("Please correct the marked fields and attach the evidence again."), "error")
            return _render_record(record_id, correction_form=form, status=422)
        db.session.commit()
        flash(_("The correction was proposed; a reviewer will decide it. The household learns of it only once "
                "it is confirmed."), "success")
        return redirect(url_for("records.show", record_id=record_id))
    flash(_("The input is not valid."), "error")
    return _render_record(record_id, correction_form=form, status=422)


@bp.route("/corrections/<int:proposal_id>/decide", methods=["POST"])
@login_required
def decide_correction(proposal_id: int):
    form = CorrectionDecisionForm()
    if not form.validate_on_submit():
        raise InvalidInput(_l("The input is not valid."))
    row = service.decide_correction(proposal_id, form.decision.data or "", form.note.data or "", gate.user())
    db.session.commit()
    flash(_("The record is corrected from today; the household has been notified.")
          if row.decision == "confirmed" else _("The correction proposal was rejected."), "success")
    return redirect(url_for("records.show", record_id=row.proposal.record_id))


@bp.route("/review/changes")
@login_required
def change_queue():
    """Revocations and corrections awaiting a reviewer's decision in the region (SPEC §4), oldest first."""
    who = gate.user()
    items = service.open_change_proposals(who)
    households = {h.id: h for h in db.session.query(Household).filter(
        Household.id.in_({i["record"].household_id for i in items}))} if items else {}
    return render_template("records/changes.html", items=items, households=households,
                           reason_labels=REASON_LABELS, behaviour=_behaviour, title_of=title_of)
def _preview(ev) -> dict:
    """How the record page shows an evidence file to its reviewer: an image inline, a PDF opened in the browser's
    own viewer (a new tab), anything else as a download."""
    kind = "image" if ev.content_type in ("image/png", "image/jpeg") else (
        "pdf" if ev.content_type == "application/pdf" else "file")
    return {"id": ev.id, "kind": kind, "filename": ev.filename,
            "url": url_for("records.evidence", evidence_id=ev.id, inline=1) if kind != "file" else None}


@bp.route("/evidence/<int:evidence_id>")
@login_required
def evidence(evidence_id: int):
    """An evidence file: a download, or (`?inline=1`, PDF/PNG/JPEG only — their content was checked on upload)
    shown in the browser for a preview. Either way a staff read of the household's file."""
    ev, path = service.get_evidence(evidence_id, gate.user())
    db.session.commit()
    if not path.is_file():
        raise NotFound()
    inline = request.args.get("inline") == "1" and ev.content_type in current_app.config["EVIDENCE_TYPES"]
    return send_file(path, mimetype=ev.content_type, as_attachment=not inline, download_name=ev.filename)


# ---- queues and overviews ----------------------------------------------------------------------------------

@bp.route("/review")
@login_required
def review_queue():
    who = gate.user()
    queue = service.review_queue(who, limit=current_app.config["PAGE_SIZE"], after=request.args.get("after"))
    records = queue["items"]
    households = {h.id: h for h in db.session.query(Household).options(selectinload(Household.members)).filter(
        Household.id.in_({r.household_id for r in records}))} if records else {}
    now = get_clock().now_utc()
    waiting = {r.id: waiting_text(now - r.recorded_dt) for r in records}
    return render_template("records/review.html", records=records, queue=queue, households=households, who=who,
                           behaviour=_behaviour, title_of=title_of, tier_label=tier_label, waiting=waiting)


def waiting_text(delta) -> str:
    """How long a record has waited for review, as a reader says it: 3 天 5 小时, 4 小时, 不到 1 小时."""
    hours = int(delta.total_seconds() // 3600)
    if hours < 1:
        return _("under an hour")
    if hours < 24:
        return _("%(h)s h", h=hours)
    return _("%(d)s d %(h)s h", d=hours // 24, h=hours % 24)


@bp.route("/records/overview")
@login_required
def overview():
    who = gate.user()
    after = request.args.get("after", type=int)
    return render_template("records/overview.html", data=service.overview(who, after=after,
                                                                          limit=current_app.config["PAGE_SIZE"]),
                           behaviour=_behaviour,
                           title_of=title_of)


@bp.route("/my/credit")
@login_required
def own_credit():
    """A household's own score, tier, explanation and records."""
    who = gate.user()
    if who.role != Role.household:
        abort(404)
    household = gate.check_household(db.session.get(Household, who.household_id), "own.read", who)
    return render_template("records/own_credit.html", household=household, own_page=True,
                           credit=credit_panel(household),
                           states=service.household_record_states(household.id, who), title_of=title_of,
                           reason_labels=REASON_LABELS)


# ---- the credit panel (templates/records/_credit_panel.html) -----------------------------------------------

def history_chart(points, rules_version, width: int = 640, height: int = 180) -> dict | None:
    """A step chart of the score as inline-SVG coordinates (no script, no outside asset)."""
    if not points:
        return None
    left, right, top, bottom = 36, 10, 10, 24
    w, h = width - left - right, height - top - bottom
    base = rules_version.base_score or 1
    start, end = points[0][0], points[-1][0]
    span = max((end - start).days, 1)
    x = lambda d: round(left + w * (d - start).days / span, 1)  # noqa: E731
    y = lambda s: round(top + h * (base - s) / base, 1)  # noqa: E731
    coords = []
    for i, (d, score, _tier) in enumerate(points):
        if i:
            coords.append((x(d), y(points[i - 1][1])))
        coords.append((x(d), y(score)))
    bands = [{"y": y(band.score_max), "score": band.score_max, "name": band.name}
             for band in rules_version.tiers.values() if band.score_max < base]
    return {"width": width, "height": height, "points": " ".join(f"{a},{b}" for a, b in coords),
            "dots": [{"x": x(d), "y": y(s), "label": f"{d.isoformat()}: {s}"} for d, s, _t in points],
            "bands": bands, "x0": left, "x1": left + w, "y0": top, "y1": top + h, "base": base,
            "start": start.isoformat(), "end": end.isoformat(), "ybase": y(base), "yzero": y(0)}


def _commit_keeping_loaded() -> None:
    """Commit without expiring what was loaded: the panel renders the records it just read, and an expiring
    commit would have each record (and its determination, revocation, repair, evidence) reloaded one by one."""
    from ..extensions import commit_keeping_loaded
    commit_keeping_loaded()


def credit_panel(household, as_of=None) -> dict:
    """Everything the credit panel (templates/records/_credit_panel.html, context `credit`) shows for `household`,
    as the signed-in user may see it; prepared by the view, which commits the audited read (templates only render)."""
    who = gate.user()
    raw = as_of if as_of is not None else request.args.get("as_of")
    error, wanted = None, None
    if isinstance(raw, date):
        wanted = raw
    elif raw:
        try:
            wanted = date.fromisoformat(str(raw))
        except ValueError:
            error = _("Not a valid date.")
    gate.check_household(household, "credit.read", who)
    facts = scoring.facts_for([household.id])[household.id]  # read once: the answer, the history chart
    try:
        result = scoring.credit_for(household, wanted, who=who, facts=facts)
    except InvalidInput as err:
        error, wanted = str(err.message), None
        result = scoring.credit_for(household, None, who=who, facts=facts)
    records = service.records_for_household(household.id, who, evidence=False)  # the panel lists no evidence
    points = scoring.credit_history(household, end=result.as_of, who=who, facts=facts)
    _commit_keeping_loaded()  # the staff read of the credit data is logged (SPEC §11)
    version = service.version_today()
    return {"result": result, "as_of": result.as_of, "asked": raw or "", "error": error,
            "records": records, "reason_labels": REASON_LABELS,
            "household_view": who.role == Role.household,  # in its words: no codes, no staff pages
            "status_of": record_status, "status_labels": STATUS_LABELS,
            "marks": service.later_changes(household.id, result.as_of),
            "chart": history_chart(points, version), "can_record": gate.can("record.create", who)
            and who.role != Role.household, "tier_label": tier_label, "title_of": title_of,
            "behaviour": _behaviour, "facts": facts}
