"""housingcredit — the credit system for Hubei public-rental-housing households (公租房保障家庭信用管理)."""
from __future__ import annotations

import os
import tomllib
from pathlib import Path

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: dict | None = None) -> Flask:
    """The application factory: settings, extensions, blueprints — nothing else."""
    app = Flask(__name__, template_folder=str(ROOT / "templates"), instance_relative_config=True,
                instance_path=os.environ.get("HOUSINGCREDIT_INSTANCE", str(ROOT / "instance")))
    app.config.from_file(str(ROOT / "config" / "settings.toml"), load=tomllib.load, text=False)
    app.config.from_prefixed_env("HOUSINGCREDIT")
    if os.environ.get("DATABASE_URL"):
        app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
    if config:
        app.config.update(config)
    _finish_settings(app)
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies > 0:
        # The client address and scheme as the trusted proxies saw them (login throttling counts per address).
        from werkzeug.middleware.proxy_fix import ProxyFix
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)
    # Bad rules data refuses start-up with the loader's message (SPEC §13); RULES_DIR for tests and what-if.
    from .rules.loader import default_rules, load_rules
    app.extensions["rules"] = load_rules(app.config["RULES_DIR"]) if app.config.get("RULES_DIR") else default_rules()

    from . import extensions
    from .validation import IdConverter
    app.url_map.converters["int"] = IdConverter  # before any route: ids ≥ 2**63 are a 404, not a database error
    extensions.init_app(app)

    from .accounts import views as account_views, api as account_api
    from .archives import views as archive_views, api as archive_api
    from .audit import views as audit_views
    from .notices import views as notice_views
    from .records import views as record_views, api as record_api
    from .lists import views as list_views, api as list_api
    from .appeals import views as appeal_views, api as appeal_api
    from . import web, cli, errors, apidocs, logging_filters

    logging_filters.install(app)  # no resident ID number in any log line (SPEC §11)
    errors.init_app(app)
    app.register_blueprint(web.bp)
    app.register_blueprint(apidocs.bp)
    app.register_blueprint(account_views.bp)
    from .accounts import admin as account_admin; app.register_blueprint(account_admin.bp)  # noqa: E702
    app.register_blueprint(archive_views.bp)
    app.register_blueprint(audit_views.bp)
    app.register_blueprint(notice_views.bp)
    app.register_blueprint(record_views.bp)
    app.register_blueprint(list_views.bp)
    app.register_blueprint(appeal_views.bp)
    from .reports import views as report_views; app.register_blueprint(report_views.bp)  # noqa: E702
    from .stats import views as stats_views; app.register_blueprint(stats_views.bp)  # noqa: E702
    from .workbench import views as workbench_views; app.register_blueprint(workbench_views.bp)  # noqa: E702
    from .imports import views as import_views; app.register_blueprint(import_views.bp)  # noqa: E702
    extensions.api.register_blueprint(account_api.blp)
    extensions.api.register_blueprint(archive_api.blp)
    extensions.api.register_blueprint(record_api.blp)
    extensions.api.register_blueprint(list_api.blp)
    from .platform import schemas as platform_schemas, views as platform_views
    app.register_blueprint(platform_views.bp)
    platform_schemas.register(extensions.api.spec)  # the platform message, published in the OpenAPI document
    extensions.api.register_blueprint(appeal_api.blp)
    from .public import api as public_api, scopes as public_scopes, views as public_views
    public_scopes.init_app(app)  # the disclosure data (SPEC §11): a mistake refuses to start
    app.register_blueprint(public_views.bp)
    extensions.api.register_blueprint(public_api.blp)
    cli.init_app(app)
    return app


def _finish_settings(app: Flask) -> None:
    """Derive paths and refuse unsafe production settings (no default secret key in production)."""
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    uri = app.config.get("SQLALCHEMY_DATABASE_URI") or ""
    if not uri:
        app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + str(Path(app.instance_path) / "housingcredit.db")
    elif uri.startswith("postgresql://"):
        app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql+psycopg://" + uri[len("postgresql://"):]
    if not app.config.get("EVIDENCE_DIR"):
        app.config["EVIDENCE_DIR"] = str(Path(app.instance_path) / "evidence")
    env = app.config.get("ENV_NAME", "development")
    secret = app.config.get("SECRET_KEY")
    if env == "production":
        if not secret or secret == app.config.get("DEV_SECRET_KEY"):
            raise RuntimeError("HOUSINGCREDIT_SECRET_KEY must be set in production; refusing to start.")
        if app.config.get("PLATFORM_URL") and app.config.get("PLATFORM_SECRET") == "dev-only-platform-secret":
            raise RuntimeError("HOUSINGCREDIT_PLATFORM_SECRET must be set in production; refusing to start.")
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["REMEMBER_COOKIE_SECURE"] = True
    elif not secret:
        app.config["SECRET_KEY"] = app.config["DEV_SECRET_KEY"]
