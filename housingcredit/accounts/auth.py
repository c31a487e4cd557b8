"""Wiring Flask-Login: session users for the web, bearer tokens for /api, CSRF for cookie-authenticated writes."""
from __future__ import annotations

from flask import Flask, g, request, session
from flask_login import login_user
from werkzeug.exceptions import BadRequest

from ..extensions import csrf, db, login_manager
from . import tokens
from .models import User


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    return None


SESSION_EPOCH_KEY = "_epoch"


def start_session(user: User) -> None:
    """Log the user into this browser; the session carries the user's epoch, which logout, a password change or
    a deactivation raise on the server, so every cookie issued before stops working."""
    login_user(user)
    session[SESSION_EPOCH_KEY] = user.session_epoch


def init_app(app: Flask) -> None:
    login_manager.login_view = "accounts.login"
    login_manager.login_message = None
    login_manager.session_protection = "strong"
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False

    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        if request.path.startswith("/api/") and _bearer():
            return None
        user = db.session.get(User, int(user_id))
        if user is None or not user.active or session.get(SESSION_EPOCH_KEY) != user.session_epoch:
            return None
        return user

    @login_manager.request_loader
    def load_from_token(req) -> User | None:
        raw = _bearer()
        if raw and req.path.startswith("/api/"):
            g.via_token = True
            user, g.token_refused = tokens.check_token(raw)  # why not, for the 401's message (api.py)
            return user
        return None

    @app.before_request
    def fresh_identity():
        # Each request finds its own user. Under a server `g` is new per request anyway; the test harness keeps one
        # app context (so one `g`) across requests, where Flask-Login's cached user would otherwise carry over.
        g.pop("_login_user", None)
        g.pop("via_token", None)
        g.pop("token_refused", None)

    @app.before_request
    def csrf_unless_token():
        # The API acts only for a bearer token (accounts/api.py `bearer_required` refuses a cookie session), so a
        # forged cross-site request cannot act there: /api/ is exempt, and a write without a token answers 401, not
        # a CSRF 400. Every cookie-authenticated web write is checked.
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return
        if request.mimetype == "multipart/form-data" and (None in request.form or None in request.files):
            # A part without a name belongs to no field: the request cannot be understood (and CSRF and the forms
            # expect every key to be a string).
            raise BadRequest()
        if request.path.startswith("/api/"):
            return
        csrf.protect()

    @login_manager.unauthorized_handler
    def unauthorized():
        from flask import redirect, url_for
        if request.path.startswith("/api/"):
            from .api import refusal
            raise refusal()
        return redirect(url_for("accounts.login", next=request.full_path))
