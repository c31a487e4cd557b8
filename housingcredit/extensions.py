"""The shared extension objects, created unbound and bound in create_app()."""
from __future__ import annotations

from flask import Flask, request, session
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from .db import Base
from .errors import ErrorSchema

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
babel = Babel()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


class _Api(Api):
    # Error answers are documented as errors.py writes them (string `code`, `message`, `errors`, `detail`).
    ERROR_SCHEMA = ErrorSchema


api = _Api()


def commit_keeping_loaded() -> None:
    """Commit without expiring what was loaded — for a page that has logged a read and goes on showing the
    rows it read: an expiring commit would have each of them (and the signed-in user) reloaded one by one."""
    session = db.session()
    keep, session.expire_on_commit = session.expire_on_commit, False
    try:
        session.commit()
    finally:
        session.expire_on_commit = keep


def select_locale() -> str:
    """Chinese by default; ?lang=en (remembered in the session) or the session choice switches."""
    from flask import current_app, has_request_context
    langs = current_app.config["LANGUAGES"]
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    wanted = request.args.get("lang")
    is_api = request.path.startswith("/api/")
    if wanted in langs:
        if not is_api:  # API clients carry no session; the web remembers the choice
            session["lang"] = wanted
        return wanted
    if is_api:
        # API clients negotiate with Accept-Language; web pages stay Chinese unless the user switches
        # (browsers send the OS language, which would silently turn the caseworkers' UI English).
        return _api_locale(request.headers.get("Accept-Language", ""), tuple(langs),
                           current_app.config["BABEL_DEFAULT_LOCALE"])
    chosen = session.get("lang")
    if chosen in langs:
        return chosen
    return current_app.config["BABEL_DEFAULT_LOCALE"]


_API_LOCALES: dict = {}


def _api_locale(header: str, langs: tuple, default: str) -> str:
    """The API's language for an Accept-Language header, negotiated once per distinct header (clients send the
    same one on every request; the cache is bounded)."""
    key = (header, langs, default)
    chosen = _API_LOCALES.get(key)
    if chosen is None:
        from werkzeug.datastructures import LanguageAccept
        from werkzeug.http import parse_accept_header
        best = parse_accept_header(header, LanguageAccept).best_match([*langs, "zh-CN", "zh"])
        chosen = best if best in langs else default  # any zh-* and anything unknown: Chinese
        if len(_API_LOCALES) >= 256:
            _API_LOCALES.clear()
        _API_LOCALES[key] = chosen
    return chosen


_LOCALES: dict = {}


def _selected_locale():
    """`select_locale`'s choice as a parsed Locale, parsed once per name (Flask-Babel takes a Locale as is and
    would otherwise parse the name again on every request that translates anything)."""
    name = select_locale()
    locale = _LOCALES.get(name)
    if locale is None:
        from babel import Locale
        locale = _LOCALES[name] = Locale.parse(name)
    return locale


def init_app(app: Flask) -> None:
    from .clock import SystemClock
    from . import ROOT

    from . import models  # noqa: F401  (the whole schema, for Alembic)
    from .accounts import auth

    app.extensions.setdefault("clock", SystemClock())
    app.json.ensure_ascii = False
    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True, compare_type=True)
    login_manager.init_app(app)
    from .i18n import warn_if_not_compiled
    warn_if_not_compiled(ROOT / "translations")  # compiled by the install step, never at start-up
    babel.init_app(app, locale_selector=_selected_locale,
                   default_translation_directories=str(ROOT / "translations"))

    @app.before_request
    def _select_locale_per_request():
        # Flask-Babel caches the locale on `g`; when an app context outlives one request (tests, CLI) the
        # language chosen by an earlier request must not stick.
        from flask_babel import refresh
        refresh()
    csrf.init_app(app)
    limiter.init_app(app)
    api.init_app(app)
    auth.init_app(app)
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    # The document's default security: every operation needs the bearer token (each API blueprint declares it
    # once, accounts.api.bearer_only); an operation open to all would say `security: []`.
    api.spec.options["security"] = [{"bearer": []}]
    from .apidocs import ErrorAnswersPlugin
    plugin = ErrorAnswersPlugin()
    plugin.init_spec(api.spec)
    api.spec.plugins.append(plugin)  # before the API blueprints register their operations (create_app)
