"""Staff administration pages for supervisors (/admin/staff): list, create, change, deactivate, reset a password.
Thin edges over accounts/staff.py; an activation code is shown once, in the answer to the POST that made it.
Every POST here passes the app-wide CSRF check (accounts/auth.py)."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from ..errors import DomainError, InvalidInput
from ..extensions import db
from . import gate, regions, staff
from .forms import StaffEditForm, StaffForm

bp = Blueprint("staff", __name__, url_prefix="/admin/staff")


def _choices(form, who) -> None:
    from ..audit.reads import ROLE_LABELS
    form.role.choices = [("", _("Please choose…"))] + [(r.value, str(ROLE_LABELS[r])) for r in staff.STAFF_ROLES]
    form.region_code.choices = [("", _("Please choose…"))] + [
        (r.code, regions.full_name(r.code)) for r in regions.choices(who.region_code)]


def _errors_onto(form, err: DomainError) -> None:
    for name, messages in err.errors.items():
        field = getattr(form, name, None)
        if field is not None:
            field.errors = [str(m) for m in messages]


def _form_data(form) -> dict:
    return {name: form[name].data for name in ("username", "display_name", "role", "region_code", "office")
            if name in form}


@bp.route("")
@login_required
def index():
    who = gate.require("account.manage")
    q = (request.args.get("q") or "").strip()[:64]
    role = request.args.get("role") or None
    active = {"1": True, "0": False}.get(request.args.get("active", "1"))
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    rows, total = staff.list_staff(who, q or None, role, active, page=min(page, 10**6))
    return render_template("accounts/staff_list.html", rows=rows, total=total, page=page, per_page=50,
                           q=q, role=role or "", active=request.args.get("active", "1"),
                           roles=staff.STAFF_ROLES)


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    who = gate.require("account.manage")
    form = StaffForm()
    _choices(form, who)
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                issued = staff.create_account(_form_data(form), who)
            except InvalidInput as err:
                db.session.rollback()
                _errors_onto(form, err)
                flash(str(err.message), "error")
                return render_template("accounts/staff_form.html", form=form, user=None, is_self=False), 422
            db.session.commit()
            return render_template("accounts/staff_code.html", issued=issued, reset=False)
        return render_template("accounts/staff_form.html", form=form, user=None, is_self=False), 422
    return render_template("accounts/staff_form.html", form=form, user=None, is_self=False)


@bp.route("/<int:user_id>", methods=["GET", "POST"])
@login_required
def detail(user_id: int):
    who = gate.require("account.manage")
    user = staff.managed(user_id, who)
    form = StaffEditForm(obj=user if request.method == "GET" else None)
    if request.method == "GET":
        form.role.data = user.role.value
    _choices(form, who)
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                staff.update_account(user_id, _form_data(form), who)
            except InvalidInput as err:
                db.session.rollback()
                _errors_onto(form, err)
                flash(str(err.message), "error")
                status = 422
            else:
                db.session.commit()
                flash(_("The account was saved."), "success")
                return redirect(url_for("staff.detail", user_id=user_id), 303)
        else:
            status = 422
    return render_template("accounts/staff_form.html", form=form, user=user,
                           is_self=user.id == who.id), status


@bp.post("/<int:user_id>/deactivate")
@login_required
def deactivate(user_id: int):
    who = gate.require("account.manage")
    user = staff.deactivate_account(user_id, who)
    db.session.commit()
    flash(_("%(name)s is deactivated: their sessions ended and their API tokens were revoked.",
            name=user.display_name), "success")
    return redirect(url_for("staff.detail", user_id=user_id), 303)


@bp.post("/<int:user_id>/reset")
@login_required
def reset(user_id: int):
    who = gate.require("account.manage")
    issued = staff.reset_password(user_id, who)
    db.session.commit()
    return render_template("accounts/staff_code.html", issued=issued, reset=True)
