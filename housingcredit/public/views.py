"""The public lists as HTML pages, without login (SPEC §6, §7, §11): the view asks the service, renders."""
from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_babel import get_locale

from ..errors import NotFound
from . import service
from .caching import cache_headers, rate_limited
from .scopes import LISTS

bp = Blueprint("public", __name__, url_prefix="/public")
bp.after_request(cache_headers)


@bp.route("/lists/<list_name>")
@rate_limited
def list_page(list_name: str):
    if list_name not in LISTS:
        raise NotFound()
    page = service.public_list(list_name, request.args.to_dict())
    rows = [[item.get(f["name"]) for f in page["fields"]] for item in page["items"]]
    english = get_locale().language == "en"
    return render_template("public/list.html", page=page, rows=rows, lists=list(LISTS),
                           titles={k: str(v) for k, v in service.LIST_TITLES.items()},
                           other_lang="zh_Hans_CN" if english else "en",
                           other_lang_label="中文" if english else "English")
