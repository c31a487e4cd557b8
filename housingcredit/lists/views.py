"""Pages for the lists: watch list, what is due, the service-desk credit check, and the archive's lists panel
with its actions (orders, compliance, procedures, steps). Thin edges: parse, call one service, render."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from wtforms.fields.choices import SelectChoice

from ..accounts import gate, regions
from ..errors import DomainError
from ..extensions import commit_keeping_loaded, db
from ..i18n import title_of
from . import service
from .forms import ComplianceForm, CreditCheckForm, OrderForm, ProcedureForm, StepForm

bp = Blueprint("lists", __name__)


def lists_panel(household, records=None) -> dict | None:
    """What templates/lists/_lists_panel.html shows (context `lp`, and `lp.forms` when the user may write):
    prepared by the view that includes the panel (templates only render). `records`: the household's record
    facts when the page has read them already (the credit panel's)."""
    if not current_user or not current_user.is_authenticated:
        return None
    try:
        data = service.panel(household, current_user._get_current_object(), records)
    except DomainError:
        return None
    if data.get("can_write"):
        data = dict(data, forms=_panel_forms(data))
    return data


def _panel_forms(data):
    order = OrderForm(prefix="order")
    order.ground.choices = [SelectChoice(g.code, f"{g.clause} {title_of(g)}") for g in data["grounds"]]
    procedure = ProcedureForm(prefix="proc")
    procedure.route.choices = [SelectChoice(r, str(service.ROUTE_LABELS[r])) for r in service.MANUAL_ROUTES]
    return {"order": order, "compliance": ComplianceForm(prefix="comp"), "procedure": procedure,
            "step": StepForm(prefix="step")}


@bp.app_context_processor
def lists_helpers():
    """Labels for the lists templates (no query: the panel's data is prepared by `lists_panel`)."""
    return {"business_label": lambda b: service.BUSINESS_LABELS.get(b, b),
            "step_label": lambda s: service.STEP_LABELS.get(s, s) if s else "",
            "watch_reason_label": lambda r: service.WATCH_REASON_LABELS.get(r, r) if r else ""}


def _back(household_id: int):
    target = request.form.get("next") or ""
    if target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return redirect(target, 303)
    return redirect(url_for("lists.household", household_id=household_id), 303)


def _reachable(household_id: int):
    """The household when the user may see its lists page, else None (then nothing of it is shown)."""
    from ..archives.models import Household
    try:
        who = gate.user()
        return gate.check_household(db.session.get(Household, household_id), "lists.read"
                                    if who.role.value != "household" else "own.read", who)
    except DomainError:
        return None


def _act(household_id: int, action, success: str, form: str | None = None):
    """Run a write, commit, flash and go back. A refusal answers with its own status (403/404/409/422), never a
    redirect: the lists page again with the message, the fields named, and (for the panel's forms) what was typed
    kept in the reopened form — or, for a household out of the user's reach, the error page naming nothing."""
    try:
        action()
        db.session.commit()
        flash(success, "success")
    except DomainError as err:
        db.session.rollback()
        h = _reachable(household_id)
        if h is None:
            raise  # the error page with the refusal's status; no URL or title of another region's household
        details = "; ".join(f"{k}: {' '.join(map(str, v if isinstance(v, list) else [v]))}"
                            for k, v in err.to_dict()["errors"].items())
        flash(f"{err.message}{' — ' + details if details else ''}", "error")
        return render_template("lists/household.html", household=h, failed=form, lp=lists_panel(h)), err.status
    return _back(household_id)


@bp.route("/watch")
@login_required
def watch_list():
    who = gate.user()
    data = service.watch_list(request.args.to_dict(), who)
    return render_template("lists/watch.html", data=data, regions=regions.choices(who.region_code),
                           reasons=service.WATCH_REASON_LABELS)


@bp.route("/due")
@login_required
def due():
    return render_template("lists/due.html", data=service.due(gate.user(), args=request.args.to_dict()))


@bp.route("/credit-check", methods=["GET", "POST"])
@login_required
def credit_check_page():
    who = gate.require("credit.check")
    form = CreditCheckForm()
    form.business.choices = [SelectChoice(b, str(service.BUSINESS_LABELS[b])) for b in service.BUSINESSES]
    if request.method == "GET":
        return render_template("lists/credit_check.html", form=form, result=None, error=None)
    try:
        result = service.credit_check(request.form.get("id_number", ""), request.form.get("business", ""),
                                      request.form.get("purpose", ""), who)
    except DomainError as err:
        db.session.rollback()
        form = CreditCheckForm(formdata=None, id_number=request.form.get("id_number", ""),
                               business=request.form.get("business", ""), purpose=request.form.get("purpose", ""))
        form.business.choices = [SelectChoice(b, str(service.BUSINESS_LABELS[b])) for b in service.BUSINESSES]
        for name, messages in err.to_dict().get("errors", {}).items():
            if name in form:
                form[name].errors = list(messages)
        return render_template("lists/credit_check.html", form=form, result=None, error=err), err.status
    answer = service.check_view(result)
    commit_keeping_loaded()  # logged whatever the answer; the signed-in user is not loaded again for the page
    form = CreditCheckForm(formdata=None, business=result.business, purpose=request.form.get("purpose", ""))
    form.business.choices = [SelectChoice(b, str(service.BUSINESS_LABELS[b])) for b in service.BUSINESSES]
    return render_template("lists/credit_check.html", form=form, result=answer, error=None)


@bp.route("/households/<int:household_id>/lists")
@login_required
def household(household_id: int):
    """The lists panel on its own (the archive page includes the same panel)."""
    from ..archives.models import Household
    h = gate.read_household(db.session.get(Household, household_id), "lists.read"
                            if current_user.role.value != "household" else "own.read", gate.user(), "lists.read")
    db.session.commit()  # the staff read is logged (SPEC §1); the panel below adds no second entry
    return render_template("lists/household.html", household=h, lp=lists_panel(h))


@bp.route("/households/<int:household_id>/orders", methods=["POST"])
@login_required
def issue_order(household_id: int):
    f = request.form
    return _act(household_id, lambda: service.issue_order(
        household_id, f.get("order-ground"), f.get("order-deadline"), f.get("order-requirement"),
        f.get("order-record_id") or None, gate.user()), _("The rectification order was issued."), form="order")


@bp.route("/orders/<int:order_id>/compliance", methods=["POST"])
@login_required
def record_compliance(order_id: int):
    order = db.session.get(service.RectificationOrder, order_id)
    household_id = order.household_id if order else 0
    f = request.form
    return _act(household_id, lambda: service.record_compliance(
        order_id, f.get("comp-complied_date"), f.get("comp-note", ""), gate.user()),
        _("Compliance was recorded."))


@bp.route("/households/<int:household_id>/procedures", methods=["POST"])
@login_required
def open_procedure(household_id: int):
    f = request.form
    return _act(household_id, lambda: service.open_procedure(
        household_id, f.get("proc-route"), f.get("proc-basis"), request.files.get("proc-document"), gate.user()),
        _("The procedure was opened and its risk notice issued."), form="procedure")


@bp.route("/procedures/<int:procedure_id>/steps", methods=["POST"])
@login_required
def advance(procedure_id: int):
    p = db.session.get(service.Procedure, procedure_id)
    household_id = p.household_id if p else 0
    return _act(household_id, lambda: service.advance(procedure_id, request.form.get("step-step"), gate.user()),
                _("The step was taken."))
