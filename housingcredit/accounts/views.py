"""Login, logout and household activation pages."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required, login_user, logout_user

from ..errors import InvalidInput
from ..extensions import db, limiter
from . import service
from .forms import ActivationForm, HouseholdLoginForm, StaffLoginForm

bp = Blueprint("accounts", __name__)


def _login_limit() -> str:
    return current_app.config["RATELIMIT_LOGIN"]


def _safe_next(default: str) -> str:
    target = request.args.get("next") or ""
    parts = urlsplit(target)
    if target.startswith("/") and not target.startswith("//") and not parts.netloc:
        return target
    return default


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    staff, household = StaffLoginForm(prefix="staff"), HouseholdLoginForm(prefix="hh")
    mode = request.form.get("mode", request.args.get("mode", "staff"))
    if request.method == "POST":
        user = None
        if mode == "household" and household.validate_on_submit():
            user = service.authenticate_household(household.id_number.data, household.password.data)
        elif mode != "household" and staff.validate_on_submit():
            user = service.authenticate_staff(staff.username.data, staff.password.data)
        if user is not None:
            login_user(user)
            from ..audit import service as audit
            audit.record("login", "user", user.id, actor=(user.id, user.username))
            db.session.commit()
            return redirect(_safe_next(url_for("web.index")))
        flash(_("Login failed: check what you typed and try again."), "error")
        return render_template("accounts/login.html", staff=staff, household=household, mode=mode), 401
    return render_template("accounts/login.html", staff=staff, household=household, mode=mode)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    logout_user()
    return redirect(url_for("accounts.login"))


@bp.route("/activate", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def activate():
    form = ActivationForm()
    if form.validate_on_submit():
        try:
            user = service.activate_household(form.id_number.data, form.code.data, form.password.data)
        except InvalidInput as err:
            db.session.rollback()
            getattr(form, err.field, form.code).errors.append(str(err.message))
            return render_template("accounts/activate.html", form=form), 422
        db.session.commit()
        login_user(user)
        flash(_("Your account is active."), "success")
        return redirect(url_for("web.index"))
    status = 422 if request.method == "POST" else 200
    return render_template("accounts/activate.html", form=form), status
