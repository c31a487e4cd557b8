"""Login, logout, password change and household activation pages."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import login_required, logout_user

from ..errors import InvalidInput
from ..extensions import db, limiter
from . import gate, service, staff, tokens
from .auth import start_session
from .forms import (ActivationForm, HouseholdLoginForm, PasswordChangeForm, StaffActivationForm, StaffLoginForm,
                    TokenForm)

bp = Blueprint("accounts", __name__)


def _login_limit() -> str:
    return current_app.config["RATELIMIT_LOGIN"]


def _address_limit() -> str:
    return current_app.config["RATELIMIT_LOGIN_ADDRESS"]


def _account_key() -> str:
    """The account a login attempt names (whether it exists or not): failures are counted per account."""
    form = request.form
    if form.get("mode") == "household":
        return "household:" + (form.get("hh-id_number") or "").strip().upper()
    return "staff:" + (form.get("staff-username") or "").strip().lower()


def _address_key() -> str:
    # The client address, after ProxyFix took TRUSTED_PROXIES hops of X-Forwarded-For (see create_app).
    return "address:" + (get_remote_address() or "unknown")


def _failed_login(response) -> bool:
    return response.status_code == 401


def _failed_activation(response) -> bool:
    return response.status_code == 422


def _safe_next(default: str) -> str:
    target = request.args.get("next") or ""
    parts = urlsplit(target)
    if target.startswith("/") and not target.startswith("//") and not parts.netloc:
        return target
    return default


# Only failures count, in the shared limiter store (RATELIMIT_STORAGE_URI): RATELIMIT_LOGIN per account, and the
# higher RATELIMIT_LOGIN_ADDRESS per client address — so someone failing from the same office address does not
# lock out a colleague who types the right password.
@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, key_func=_account_key, methods=["POST"], deduct_when=_failed_login)
@limiter.limit(_address_limit, key_func=_address_key, methods=["POST"], deduct_when=_failed_login)
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
            start_session(user)
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
    service.logout(gate.user())
    db.session.commit()
    logout_user()
    return redirect(url_for("accounts.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = PasswordChangeForm()
    if request.method == "GET":
        return render_template("accounts/password.html", form=form)
    if form.validate_on_submit():
        try:
            user = service.change_password(gate.user(), form.current_password.data, form.new_password.data,
                                           form.new_password_repeat.data)
        except InvalidInput as err:
            db.session.rollback()
            for name, messages in err.errors.items():
                getattr(form, name).errors = [str(m) for m in messages]
            flash(str(err.message), "error")
            return render_template("accounts/password.html", form=form), 422
        db.session.commit()
        start_session(user)  # this browser continues with the new epoch; every other session has ended
        flash(_("Your password was changed. Other sessions were logged out and API tokens revoked."), "success")
        return redirect(url_for("web.index"))
    return render_template("accounts/password.html", form=form), 422


def _activation(form, template: str, activate_with):
    """One activation page for households and staff: the form's fields go to `activate_with`; a refused code is
    counted against the account (committed), any other error leaves nothing written; success starts a session."""
    if form.validate_on_submit():
        try:
            user = activate_with(form)
        except InvalidInput as err:
            if isinstance(err, service.ActivationRefused):
                db.session.commit()  # the wrong try is counted against the account's code
            else:
                db.session.rollback()
            getattr(form, err.field, form.code).errors.append(str(err.message))
            return render_template(template, form=form), 422
        db.session.commit()
        start_session(user)
        flash(_("Your account is active."), "success")
        return redirect(url_for("web.index"))
    status = 422 if request.method == "POST" else 200
    return render_template(template, form=form), status


@bp.route("/activate", methods=["GET", "POST"])
@limiter.limit(_login_limit, key_func=_address_key, methods=["POST"], deduct_when=_failed_activation)
def activate():
    return _activation(ActivationForm(), "accounts/activate.html",
                       lambda f: service.activate_household(f.id_number.data, f.code.data, f.password.data))


@bp.route("/activate/staff", methods=["GET", "POST"])
@limiter.limit(_login_limit, key_func=_address_key, methods=["POST"], deduct_when=_failed_activation)
def activate_staff():
    """A new staff member (or one whose password a supervisor reset) sets a password with the activation code."""
    return _activation(StaffActivationForm(), "accounts/activate_staff.html",
                       lambda f: staff.activate_staff(f.username.data, f.code.data, f.password.data,
                                                      f.password_repeat.data))


# ---- one's own API tokens ------------------------------------------------------------------------------------

def _tokens_page(form, raw=None, status=200):
    who = gate.user()
    return render_template("accounts/tokens.html", form=form, tokens=tokens.own_tokens(who), raw=raw,
                           days=tokens.lifetime_days()), status


@bp.route("/account/tokens", methods=["GET", "POST"])
@login_required
def api_tokens():
    """The user's API tokens: list, create (the token is shown once, in this answer only), revoke."""
    who = gate.require("token.own")
    form = TokenForm()
    if request.method == "GET":
        return _tokens_page(form)
    if not form.validate_on_submit():
        return _tokens_page(form, status=422)
    try:
        raw = tokens.create_own_token(who, form.name.data)
    except InvalidInput as err:
        db.session.rollback()
        form.name.errors = [str(m) for m in err.errors.get("name", [err.message])]
        return _tokens_page(form, status=422)
    db.session.commit()
    form.name.data = ""
    return _tokens_page(form, raw=raw)


@bp.post("/account/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int):
    token = tokens.revoke_own_token(token_id, gate.user())
    db.session.commit()
    flash(_("The token “%(name)s” is revoked; clients using it are refused from now on.", name=token.name),
          "success")
    return redirect(url_for("accounts.api_tokens"), 303)
