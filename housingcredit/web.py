"""Landing pages and the language switch."""
from __future__ import annotations

from flask import Blueprint, redirect, request, session, url_for
from flask_login import current_user, login_required

from .accounts.models import Role

bp = Blueprint("web", __name__)


@bp.route("/")
@login_required
def index():
    if current_user.role == Role.household:
        return redirect(url_for("archives.own"))
    return redirect(url_for("archives.search"))


@bp.route("/lang/<code>", methods=["POST"])
def switch_language(code: str):
    from flask import current_app
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
    target = request.form.get("next") or "/"
    return redirect(target if target.startswith("/") and not target.startswith("//") else "/")


ROLE_LABELS = {}


@bp.app_context_processor
def template_helpers():
    from flask import url_for as _url
    from flask_babel import lazy_gettext as _l
    from .accounts import gate, regions

    labels = {Role.household: _l("Household"), Role.caseworker: _l("Caseworker"), Role.reviewer: _l("Reviewer"),
              Role.supervisor: _l("Supervisor"), Role.auditor: _l("Auditor")}

    def nav_items():
        items = []
        if gate.can("record.determine"):
            items.append({"url": _url("records.review_queue"), "label": _l("Review queue")})
        if gate.can("lists.read"):
            items.append({"url": _url("lists.watch_list"), "label": _l("Watch list")})
            items.append({"url": _url("lists.due"), "label": _l("Due")})
            items.append({"url": _url("appeals.open_list"), "label": _l("Objections")})
        if gate.can("credit.check"):
            items.append({"url": _url("lists.credit_check_page"), "label": _l("Credit check")})
        if gate.can("audit.read"):
            items.append({"url": _url("audit.trail"), "label": _l("Audit trail")})
        return items

    def region_name(code):
        region = regions.get(code)
        return region.name if region else code

    from flask_babel import get_locale
    return {"get_locale": get_locale, "nav_items": nav_items, "role_label": lambda r: labels.get(r, r), "region_name": region_name,
            "region_full_name": regions.full_name, "can": gate.can}
