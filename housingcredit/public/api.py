"""The public lists as JSON (SPEC §11): the same service and data as the pages, documented in the OpenAPI
document as open to all (`security: []`), rate-limited and cacheable."""
from __future__ import annotations

from flask_smorest import Blueprint

from . import service
from .caching import cache_headers, rate_limited
from .schemas import PublicListPage, PublicListQuery
from .scopes import PUNISHMENT, WATCH

blp = Blueprint("public_api", __name__, url_prefix="/api/v1/public",
                description="Public lists (社会公开): masked, no login")
blp.after_request(cache_headers)


def _documented(view):
    """The answers every public operation documents: the page, 304 for a matching ETag, 429 when throttled;
    open to all (`security: []`: no bearer token)."""
    view = blp.response(200, PublicListPage)(view)
    view = blp.alt_response(304, description="Not modified: the ETag sent in If-None-Match still matches")(view)
    view = blp.alt_response(429, description="Too many requests from this address; wait a minute")(view)
    return blp.doc(security=[])(view)


@blp.route("/lists/punishment", endpoint="punishment_list")
@rate_limited
@blp.arguments(PublicListQuery, location="query", as_kwargs=True)
@_documented
def punishment_list(**args):
    """The joint-punishment list in force (失信联合惩戒对象名单) and the procedures in publicity (公示), masked;
    newest first, a page at a time after the cursor `after`; search by masked name (`q`) or `district`."""
    return service.public_list(PUNISHMENT, args)


@blp.route("/lists/watch", endpoint="watch_list")
@rate_limited
@blp.arguments(PublicListQuery, location="query", as_kwargs=True)
@_documented
def watch_list(**args):
    """The watch list (重点关注名单), masked; newest first, a page at a time after the cursor `after`; search by
    masked name (`q`) or `district`."""
    return service.public_list(WATCH, args)
