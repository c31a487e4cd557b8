"""API for household archives (信用档案): search, create, read, edit, change history.

Thin edges (DESIGN rule 1): each handler parses input, calls the archives service, commits once, returns.
The service validates the body and raises InvalidInput / NotFound / Conflict, which errors.py turns into
translated JSON answers. Staff clients only, with a bearer token.
"""
from __future__ import annotations

from flask import current_app, request
from flask.views import MethodView
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint

from ..accounts import gate
from ..accounts.api import bearer_only
from ..audit import service as audit
from ..errors import InvalidInput
from ..extensions import db
from . import service
from .schemas import HistoryEntryOut, HouseholdIn, HouseholdOut, HouseholdPage, HouseholdSearchArgs

# every operation needs a bearer token, declared once for the blueprint
blp = bearer_only(Blueprint("archives_api", __name__,
                            url_prefix="/api/v1", description="Household archives"))

_ERROR_RESPONSES = {
    401: {"description": "No valid bearer token."},
    403: {"description": "The role may not do this."},
    404: {"description": "No such household within the caller's region."},
}


def _json_body() -> dict:
    """The request's JSON object; the service validates its fields."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput(_l("The input is not valid."),
                           errors={"_schema": [str(_l("Send a JSON object as the request body."))]})
    return body


def _archive(household) -> dict:
    """The archive as the caller may see it: full ID numbers only with `archive.read_id_number` (SPEC §11)."""
    return HouseholdOut(full_id=gate.can("archive.read_id_number", gate.user())).dump(household)


@blp.route("/households")
class Households(MethodView):
    @blp.arguments(HouseholdSearchArgs, location="query", as_kwargs=True)
    @blp.response(200, HouseholdPage)
    @blp.doc(responses=_ERROR_RESPONSES)
    def get(self, q: str, page: int, after: int | None = None):
        """Search archives in the caller's region (ID numbers masked); page on with `after` = `next`."""
        size = current_app.config["PAGE_SIZE"]
        found = service.search(q, gate.user(), limit=size + 1, offset=(page - 1) * size, after=after)
        more = len(found) > size
        return {"items": found[:size], "page": page, "page_size": size, "has_more": more,
                "next": found[size - 1].id if more else None}

    @blp.doc(responses=_ERROR_RESPONSES,
             requestBody={"required": True, "content": {"application/json": {"schema": HouseholdIn}}})
    @blp.alt_response(201, schema=HouseholdOut, success=True, description="The archive as created.")
    @blp.alt_response(422, description="Invalid input; `errors` names each field.")
    def post(self):
        """Create a household archive (the caller's region only)."""
        household = service.create_household(_json_body(), gate.user())
        db.session.commit()
        return _archive(household), 201


@blp.route("/households/<int:household_id>")
class HouseholdArchive(MethodView):
    @blp.doc(responses=_ERROR_RESPONSES)
    @blp.alt_response(200, schema=HouseholdOut, success=True, description="The archive; the read is audited.")
    def get(self, household_id: int):
        """Read one archive; every staff read is recorded in the audit trail."""
        household = service.read_household(household_id, gate.user())
        db.session.commit()
        return _archive(household)

    @blp.doc(responses=_ERROR_RESPONSES,
             requestBody={"required": True, "content": {"application/json": {"schema": HouseholdIn}}})
    @blp.alt_response(200, schema=HouseholdOut, success=True, description="The archive after the edit.")
    @blp.alt_response(409, description="`version` is not the current one: someone else edited it.")
    @blp.alt_response(422, description="Invalid input; `errors` names each field.")
    def put(self, household_id: int):
        """Replace the archive's fields and members; send the `version` you read (optimistic lock)."""
        body = _json_body()
        if body.get("version") is None:
            raise InvalidInput(_l("The input is not valid."),
                               errors={"version": [str(_l("Missing data for required field."))]})
        household = service.update_household(household_id, body, gate.user())
        db.session.commit()
        return _archive(household)


@blp.route("/households/<int:household_id>/history")
class HouseholdHistory(MethodView):
    @blp.response(200, HistoryEntryOut(many=True))
    @blp.doc(responses=_ERROR_RESPONSES, parameters=[
        {"in": "query", "name": "before", "schema": {"type": "integer", "minimum": 1},
         "description": "the next page: the value of X-Next-Before (entries older than this id)"}])
    def get(self, household_id: int):
        """The archive's changes, newest first, from the audit trail (who, when, before/after); a page at a
        time — header X-Next-Before, when present, asks for the older ones (every change is reachable)."""
        before = request.args.get("before", type=int)
        household_id = service.read_household(household_id, gate.user(), "history.read").id  # staff read logged
        db.session.commit()  # before loading the page: a commit would expire the entries (one reload each)
        size = current_app.config["PAGE_SIZE"]
        entries = audit.history(household_id, limit=size + 1, before=before)
        headers = {"X-Next-Before": str(entries[size - 1].id)} if len(entries) > size else {}
        return entries[:size], 200, headers
