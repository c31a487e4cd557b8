"""Pages: a household files and follows its objections (/my/objections); staff register paper objections at the
counter, see the open ones with their due dates (overdue first), propose and decide."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import login_required
from wtforms.fields.choices import SelectChoice

from ..accounts import gate
from ..accounts.models import Role
from ..archives.models import Household
from ..clock import get_clock
from ..errors import Conflict, DomainError, InvalidInput, NotFound
from ..extensions import db
from ..i18n import title_of
from ..records import service as records
from ..records.schemas import record_status
from . import repairs, service
from .forms import (MaterialsForm, ObjectionForm, ProposalForm, RepairProposalForm, RepairStepForm,
                    ReviewForm)

bp = Blueprint("appeals", __name__)

STATUS_LABELS = {"pending": _l("Being verified"), "proposed": _l("Being verified"),
                 "upheld": _l("Upheld"), "rejected": _l("Rejected")}
STAFF_STATUS_LABELS = {"pending": _l("Awaiting the handler's proposal"), "proposed": _l("Awaiting review"),
                       "upheld": _l("Upheld"), "rejected": _l("Rejected")}


def _behaviour_words(record) -> str:
    try:
        b = records.version_today().behaviour(record.code, record.region_code)
    except Exception:
        return _("a recorded behaviour")
    return f"{title_of(b)}（{b.clause}）"


def _item_choices(household_id: int, who) -> list:
    choices = [SelectChoice("", _("Choose…"))]
    for r in records.records_for_household(household_id, who):
        if record_status(r) == "confirmed":
            choices.append(SelectChoice(f"record:{r.id}", _("%(behaviour)s, occurred on %(date)s",
                                                            behaviour=_behaviour_words(r),
                                                            date=r.occurred_date.isoformat())))
    from ..lists.models import Procedure
    for p in db.session.scalars(sa.select(Procedure).where(Procedure.household_id == household_id,
                                                           Procedure.state != "ended")):
        choices.append(SelectChoice(f"procedure:{p.id}", _("Joint-punishment procedure opened on %(date)s",
                                                           date=p.opened_date.isoformat())))
    return choices


def _file(household: Household, who, template: str, back):
    form = ObjectionForm()
    form.item.choices = _item_choices(household.id, who)
    if request.method == "GET" and request.args.get("record_id"):
        form.item.data = f"record:{request.args['record_id']}"
    status = 200
    if request.method == "POST":
        status = 422
        if form.validate_on_submit():
            files = [f for f in form.materials.data or [] if f and getattr(f, "filename", "")]
            try:
                o = service.file_objection(household.id, form.data_for_service(), files, who)
            except DomainError as err:
                db.session.rollback()
                for name, messages in err.errors.items():
                    target = {"record_id": "item", "procedure_id": "item"}.get(name, name)
                    field = getattr(form, target, None)
                    if field is not None and hasattr(field, "errors"):
                        field.errors = list(field.errors) + [str(m) for m in messages]
                status = err.status
                flash(str(err.message), "error")
            else:
                db.session.commit()
                flash(_("Your objection was received. The answer is due by %(date)s.", date=o.due_date.isoformat()),
                      "success")
                return redirect(back(o))
    return render_template(template, form=form, household=household), status


@bp.route("/my/objections")
@login_required
def mine():
    who = gate.user()
    if who.role != Role.household:
        raise NotFound()
    items = service.objections_for(who.household_id, who)
    return render_template("appeals/mine.html", objections=items, status_of=service.status_of,
                           decision_of=service.decision_of, labels=STATUS_LABELS, describe=_describe(items, who))


@bp.route("/my/objections/new", methods=["GET", "POST"])
@login_required
def new_mine():
    who = gate.user()
    if who.role != Role.household:
        raise NotFound()
    household = db.session.get(Household, who.household_id)
    return _file(household, who, "appeals/new.html", lambda o: url_for("appeals.mine"))


@bp.route("/households/<int:household_id>/objections/new", methods=["GET", "POST"])
@login_required
def new_at_counter(household_id: int):
    who = gate.user()
    household = gate.check_household(db.session.get(Household, household_id), "record.create", who)
    return _file(household, who, "appeals/new.html", lambda o: url_for("appeals.show", objection_id=o.id))


def _describe(items, who):
    """Each objection's item in words for a household: the behaviour and its clause, or the procedure."""
    out = {}
    for o in items:
        if o.record_id is not None:
            r = records._record(o.record_id)
            out[o.id] = _("%(behaviour)s, occurred on %(date)s", behaviour=_behaviour_words(r),
                          date=r.occurred_date.isoformat())
        else:
            out[o.id] = _("Joint-punishment procedure")
    return out


@bp.route("/objections")
@login_required
def open_list():
    who = gate.user()
    items = service.open_objections(who)
    households = {h.id: h for h in db.session.scalars(sa.select(Household).where(
        Household.id.in_({o.household_id for o in items})))} if items else {}
    return render_template("appeals/open.html", objections=items, households=households,
                           status_of=service.status_of, labels=STAFF_STATUS_LABELS, today=get_clock().today())


def _render_show(objection_id: int, proposal_form=None, status: int = 200):
    who = gate.user()
    o = service.get_objection(objection_id, who)
    db.session.commit()  # the staff read is logged
    if who.role == Role.household:
        return redirect(url_for("appeals.mine"))
    record = records._record(o.record_id) if o.record_id else None
    open_proposal = next((p for p in o.proposals if p.review is None), None)
    decided = service.decision_of(o)[0] is not None
    can_propose = not decided and open_proposal is None and o.handler_id == who.id
    can_review = (not decided and open_proposal is not None and gate.can("record.determine", who)
                  and who.id != o.handler_id and not (record and record.recorded_by_id == who.id))
    return render_template("appeals/show.html", o=o, record=record, status=service.status_of(o),
                           labels=STAFF_STATUS_LABELS, can_propose=can_propose, can_review=can_review,
                           open_proposal=open_proposal, proposal_form=proposal_form or ProposalForm(),
                           review_form=ReviewForm(), describe=_describe([o], who),
                           changes=records.correction_changes), status


@bp.route("/objections/<int:objection_id>")
@login_required
def show(objection_id: int):
    return _render_show(objection_id)


@bp.route("/objections/<int:objection_id>/proposal", methods=["POST"])
@login_required
def propose(objection_id: int):
    """The handler's proposal; refused input comes back on the page with the fields marked (422), nothing saved."""
    form = ProposalForm()
    if not form.validate_on_submit():
        flash(_("The input is not valid."), "error")
        return _render_show(objection_id, proposal_form=form, status=422)
    try:
        service.propose(objection_id, form.data_for_service(), gate.user(), form.files())
    except InvalidInput as err:
        db.session.rollback()
        for name, messages in err.errors.items():
            field = getattr(form, {"code": "effect"}.get(name, name), None)
            if field is not None and hasattr(field, "errors"):
                field.errors = list(field.errors) + [str(m) for m in messages]
        flash(_("Please correct the marked fields and attach the evidence again."), "error")
        return _render_show(objection_id, proposal_form=form, status=422)
    db.session.commit()
    flash(_("The proposal was saved; a reviewer will decide it."), "success")
    return redirect(url_for("appeals.show", objection_id=objection_id))


@bp.route("/objections/<int:objection_id>/decision", methods=["POST"])
@login_required
def decide(objection_id: int):
    form = ReviewForm()
    if form.validate_on_submit():
        service.decide(objection_id, {"decision": form.decision.data or "", "note": form.note.data or ""},
                       gate.user())
        db.session.commit()
        flash(_("The decision was saved; the household gets the written result."), "success")
    return redirect(url_for("appeals.show", objection_id=objection_id))


def _download(row, path):
    db.session.commit()  # the staff read is logged
    if not path.is_file():
        raise NotFound()
    return send_file(path, mimetype=row.content_type, as_attachment=True, download_name=row.filename)


@bp.route("/objection-materials/<int:objection_material_id>")
@login_required
def objection_material(objection_material_id: int):
    """An objection's uploaded file: the household itself and staff of its region (audited as a read)."""
    return _download(*service.get_material(objection_material_id, gate.user()))


@bp.route("/repair-materials/<int:repair_material_id>")
@login_required
def repair_material(repair_material_id: int):
    """A repair application's uploaded file: the household itself and staff of its region (audited as a read)."""
    return _download(*repairs.get_material(repair_material_id, gate.user()))


# ---- credit repair (信用修复): the household's page, the counter, the staff's list and the handler's page ---------

REPAIR_LABELS = {"submitted": _l("Awaiting acceptance"), "incomplete": _l("Materials missing"),
                 "accepted": _l("Accepted, being decided"), "proposed": _l("Accepted, being decided"),
                 "granted": _l("Repair granted"), "refused": _l("Repair refused")}
STEP_LABELS = {"incomplete": _l("Notice of what is missing sent"), "completed": _l("Materials completed"),
               "accepted": _l("Accepted"), "extended": _l("Decision deadline extended")}
STAFF_REPAIR_LABELS = {**REPAIR_LABELS, "accepted": _l("Accepted: awaiting the handler's proposal"),
                       "proposed": _l("Awaiting review")}


def _repairable_choices(household_id: int, who) -> list:
    choices = [SelectChoice("", _("Choose…"))]
    for s in records.household_record_states(household_id, who):
        if s["state"] in ("counting", "objection"):
            r = s["record"]
            choices.append(SelectChoice(str(r.id), _("%(behaviour)s, occurred on %(date)s",
                                                    behaviour=_behaviour_words(r),
                                                    date=r.occurred_date.isoformat())))
    return choices


def _files_of(field) -> list:
    return [f for f in field.data or [] if f and getattr(f, "filename", "")]


def _apply(household: Household, who, back):
    from .forms import RepairForm
    form = RepairForm()
    form.record_id.choices = _repairable_choices(household.id, who)
    if request.method == "GET" and request.args.get("record_id"):
        form.record_id.data = request.args["record_id"]
    status, missing, first = 200, None, None
    if request.method == "POST" and form.validate_on_submit():
        files, commitment = _files_of(form.materials), _files_of(form.commitment)
        try:
            if request.form.get("action") == "check":
                answer = repairs.check_conditions(household.id, form.data_for_service(), files, commitment, who)
                missing, first = answer["missing"], answer["repairable_from"]
                if not missing:
                    flash(_("Every condition is met: you may submit the application."), "success")
            else:
                a = repairs.apply(household.id, form.data_for_service(), files, commitment, who)
                db.session.commit()
                flash(_("Your application was received. It will be accepted or completed by %(date)s.",
                        date=repairs.view_of(a).acceptance_due.isoformat()), "success")
                return redirect(back(a))
        except DomainError as err:
            db.session.rollback()
            missing, status = err.errors or {"record_id": [str(err.message)]}, err.status
            flash(str(err.message), "error")
    elif request.method == "POST":
        status = 422
    return render_template("appeals/repair_new.html", form=form, household=household, missing=missing,
                           first=first), status


@bp.route("/my/repairs")
@login_required
def my_repairs():
    who = gate.user()
    if who.role != Role.household:
        raise NotFound()
    items = repairs.repairs_for(who.household_id, who)
    return render_template("appeals/repairs_mine.html", items=items, views={a.id: repairs.view_of(a) for a in items},
                           labels=REPAIR_LABELS,
                           describe={a.id: _behaviour_words(records._record(a.record_id)) for a in items},
                           materials_form=MaterialsForm())


@bp.route("/my/repairs/new", methods=["GET", "POST"])
@login_required
def new_my_repair():
    who = gate.user()
    if who.role != Role.household:
        raise NotFound()
    return _apply(db.session.get(Household, who.household_id), who, lambda a: url_for("appeals.my_repairs"))


@bp.route("/households/<int:household_id>/repairs/new", methods=["GET", "POST"])
@login_required
def new_repair_at_counter(household_id: int):
    who = gate.user()
    household = gate.check_household(db.session.get(Household, household_id), "record.create", who)
    return _apply(household, who, lambda a: url_for("appeals.show_repair", application_id=a.id))


@bp.route("/repairs")
@login_required
def open_repairs():
    who = gate.user()
    items = repairs.open_repairs(who)
    households = {h.id: h for h in db.session.scalars(sa.select(Household).where(
        Household.id.in_({a.household_id for a in items})))} if items else {}
    return render_template("appeals/repairs_open.html", items=items, households=households,
                           views={a.id: repairs.view_of(a) for a in items}, labels=STAFF_REPAIR_LABELS,
                           today=get_clock().today())


@bp.route("/repairs/<int:application_id>")
@login_required
def show_repair(application_id: int):
    who = gate.user()
    a = repairs.get_repair(application_id, who)
    db.session.commit()  # the staff read is logged
    if who.role == Role.household:
        return redirect(url_for("appeals.my_repairs"))
    record = records._record(a.record_id)
    view = repairs.view_of(a)
    open_proposal = next((p for p in a.proposals if p.review is None), None)
    handler = a.handler_id == who.id and view.outcome is None
    can_review = (view.outcome is None and open_proposal is not None and gate.can("record.determine", who)
                  and who.id not in (a.handler_id, record.recorded_by_id))
    return render_template("appeals/repair_show.html", a=a, record=record, view=view, labels=STAFF_REPAIR_LABELS,
                           handler=handler, can_review=can_review, open_proposal=open_proposal,
                           step_labels=STEP_LABELS, step_form=RepairStepForm(), proposal_form=RepairProposalForm(), review_form=ReviewForm(),
                           describe=_behaviour_words(record))


def _repair_step(application_id: int, call, done: str):
    try:
        call()
    except (InvalidInput, Conflict) as err:  # a refusal to read on the page; 403 and 404 are answered as such
        db.session.rollback()
        flash(" ".join([str(err.message)] + [str(m) for ms in (err.errors or {}).values() for m in ms]), "error")
    else:
        db.session.commit()
        flash(done, "success")
    return redirect(url_for("appeals.show_repair", application_id=application_id))


@bp.route("/repairs/<int:application_id>/incomplete", methods=["POST"])
@login_required
def repair_incomplete(application_id: int):
    form = RepairStepForm()
    form.validate_on_submit()
    return _repair_step(application_id, lambda: repairs.mark_incomplete(application_id, {"missing": form.text.data
                                                                                          or ""}, gate.user()),
                        _("The notice of what is missing was sent."))


@bp.route("/repairs/<int:application_id>/accept", methods=["POST"])
@login_required
def repair_accept(application_id: int):
    RepairStepForm().validate_on_submit()
    return _repair_step(application_id, lambda: repairs.accept(application_id, gate.user()),
                        _("The application was accepted."))


@bp.route("/repairs/<int:application_id>/extend", methods=["POST"])
@login_required
def repair_extend(application_id: int):
    form = RepairStepForm()
    form.validate_on_submit()
    return _repair_step(application_id, lambda: repairs.extend(application_id, {"reason": form.text.data or ""},
                                                               gate.user()),
                        _("The decision deadline was extended."))


@bp.route("/repairs/<int:application_id>/proposal", methods=["POST"])
@login_required
def repair_propose(application_id: int):
    form = RepairProposalForm()
    form.validate_on_submit()
    data = {"outcome": form.outcome.data or "", "reasons": form.reasons.data or "",
            "non_intentional": bool(form.non_intentional.data)}
    return _repair_step(application_id, lambda: repairs.propose(application_id, data, gate.user()),
                        _("The proposal was saved; a reviewer will decide it."))


@bp.route("/repairs/<int:application_id>/decision", methods=["POST"])
@login_required
def repair_decide(application_id: int):
    form = ReviewForm()
    form.validate_on_submit()
    data = {"decision": form.decision.data or "", "note": form.note.data or ""}
    return _repair_step(application_id, lambda: repairs.decide(application_id, data, gate.user()),
                        _("The decision was saved; the household gets the written decision."))


@bp.route("/repairs/<int:application_id>/materials", methods=["POST"])
@login_required
def repair_materials(application_id: int):
    who = gate.user()
    form = MaterialsForm()
    if not form.validate_on_submit():
        raise InvalidInput(_l("The input is not valid."))
    try:
        repairs.complete(application_id, {}, _files_of(form.materials), _files_of(form.commitment), who)
    except (InvalidInput, Conflict) as err:
        db.session.rollback()
        flash(" ".join([str(err.message)] + [str(m) for ms in (err.errors or {}).values() for m in ms]), "error")
    else:
        db.session.commit()
        flash(_("The materials were added: your application counts as received today."), "success")
    if who.role == Role.household:
        return redirect(url_for("appeals.my_repairs"))
    return redirect(url_for("appeals.show_repair", application_id=application_id))
