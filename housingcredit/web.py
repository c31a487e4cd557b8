"""Landing pages, the language switch, and the security headers every answer carries."""
from __future__ import annotations

import base64
import hashlib
import re

from flask import Blueprint, current_app, redirect, request, session, url_for
from flask_login import current_user, login_required

from .accounts.models import Role

bp = Blueprint("web", __name__)


@bp.route("/")
@login_required
def index():
    if current_user.role == Role.household:
        return redirect(url_for("archives.own"))
    return redirect(url_for("workbench.home"))  # staff land on their to-dos


@bp.route("/lang/<code>", methods=["POST"])
def switch_language(code: str):
    from flask import current_app
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
    target = request.form.get("next") or "/"
    return redirect(target if target.startswith("/") and not target.startswith("//") else "/")


def role_labels() -> dict:
    """Each role's name as the UI shows it (translated)."""
    from flask_babel import lazy_gettext as _l
    return {Role.household: _l("Household"), Role.caseworker: _l("Caseworker"), Role.reviewer: _l("Reviewer"),
            Role.supervisor: _l("Supervisor"), Role.auditor: _l("Auditor")}


@bp.app_context_processor
def template_helpers():
    from flask import url_for as _url
    from flask_babel import lazy_gettext as _l
    from .accounts import gate, regions

    labels = role_labels()

    def nav_items():
        items = [{"url": _url("workbench.home"), "label": _l("To-do")}] if gate.is_staff(current_user) else []
        if gate.can("record.determine"):
            items.append({"url": _url("records.review_queue"), "label": _l("Review queue")})
            items.append({"url": _url("records.change_queue"), "label": _l("Revocations and corrections")})
        if gate.can("lists.read"):
            items.append({"url": _url("lists.watch_list"), "label": _l("Watch list")})
            items.append({"url": _url("lists.due"), "label": _l("Due")})
            items.append({"url": _url("appeals.open_list"), "label": _l("Objections")})
            items.append({"url": _url("appeals.open_repairs"), "label": _l("Credit repair")})
        if gate.can("credit.check"):
            items.append({"url": _url("lists.credit_check_page"), "label": _l("Credit check")})
        if gate.can("stats.read"):
            items.append({"url": _url("stats.figures"), "label": _l("Statistics")})
        if gate.can("archive.write"):  # caseworkers (their region) and supervisors: report batches
            items.append({"url": _url("reports.batches"), "label": _l("Report batches")})
        if gate.can("audit.read"):
            items.append({"url": _url("audit.trail"), "label": _l("Audit trail")})
        if gate.can("platform.read"):
            items.append({"url": _url("platform.console"), "label": _l("Platform push")})
        if gate.is_staff(current_user):
            items.append({"url": _url("workbench.list_page", name="records"), "label": _l("Lists and export")})
        if gate.can("account.manage"):
            items.append({"url": _url("staff.index"), "label": _l("Staff accounts")})
        return items

    def region_name(code):
        region = regions.get(code)
        return region.name if region else code

    from flask_babel import get_locale
    return {"get_locale": get_locale, "nav_items": nav_items, "role_label": lambda r: labels.get(r, r), "region_name": region_name,
            "region_full_name": regions.full_name, "can": gate.can}


@bp.app_template_filter("minute")
def minute(dt) -> str:
    """A moment as "yyyy-MM-dd HH:mm" in the user's time zone (a naive one taken as UTC) — what
    `datetimeformat('yyyy-MM-dd HH:mm')` gives, without Babel's format and locale lookups on every call (the
    archive page shows a hundred of them)."""
    from datetime import timezone

    from flask_babel import get_timezone
    if dt is None:
        return ""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(get_timezone()).strftime("%Y-%m-%d %H:%M")


# ---- security headers ----------------------------------------------------------------------------------------

# No inline script and no inline style anywhere in our pages (templates/ has none; keep it so), nothing from
# another origin, never framed.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
       "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
HSTS = "max-age=31536000; includeSubDomains"
# Cacheable: our static files and Swagger UI's own assets. Every other answer may carry personal data.
CACHEABLE_ENDPOINTS = frozenset({"static", "apidocs.asset", "reports.verify"})  # verify: public, no personal data
# The public lists set their own Cache-Control (public.caching.cache_headers): masked, public data only.
CACHEABLE_ENDPOINTS |= {"public.list_page", "public_api.punishment_list", "public_api.watch_list"}
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def _docs_csp(response) -> str:
    """Swagger UI's page (rendered by flask-smorest) starts the UI with one inline script of its own; it is allowed
    by its hash, not by 'unsafe-inline'. Its assets stay local (apidocs.py); its widgets set inline styles."""
    body = response.get_data(as_text=True)
    hashes = " ".join(f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'"
                      for s in _INLINE_SCRIPT.findall(body))
    return (f"default-src 'self'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
            "form-action 'self'; frame-ancestors 'none'")


@bp.after_app_request
def security_headers(response):
    headers = response.headers
    endpoint = request.endpoint or ""
    if endpoint.endswith("openapi_swagger_ui") and response.mimetype == "text/html":
        headers["Content-Security-Policy"] = _docs_csp(response)
    else:
        headers["Content-Security-Policy"] = CSP
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"
    headers["Referrer-Policy"] = "same-origin"
    if current_app.config.get("ENV_NAME") == "production":
        headers["Strict-Transport-Security"] = HSTS
    if endpoint not in CACHEABLE_ENDPOINTS:
        headers["Cache-Control"] = "no-store"
        headers.pop("Expires", None)
    return response
