"""API for the lists: watch list, what is due, rectification orders, procedures, and the credit check (SPEC §6–§8).

Thin edges: parse, call one service function, commit once, answer. Input is validated by the service (one
translated 422 naming the field).
"""
from __future__ import annotations

from datetime import date

from flask import current_app, request
from flask.views import MethodView
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint

from ..accounts import gate
from ..accounts.api import bearer_only
from ..errors import InvalidInput
from ..extensions import commit_keeping_loaded, db
from . import service
from .schemas import DUE_SECTIONS, CreditCheckOut, DueOut, OrderOut, ProcedureOut, WatchEntryOut

# every operation needs a bearer token, declared once for the blueprint
blp = bearer_only(Blueprint("lists_api", __name__,
                            url_prefix="/api/v1", description="Lists and the credit check"))



def _json() -> dict:
    data = request.get_json(silent=True)
    if data is None:
        data = request.form.to_dict() if request.form else {}
    if not isinstance(data, dict):
        raise InvalidInput(_l("The request body must be a JSON object."))
    return data


def _iso(value):
    """Dates as CreditCheckOut's `fields.Date` writes them; nothing else of the answer needs converting."""
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} in a credit check's answer")


def answer_response(answer: dict):
    """The check's answer as the JSON `CreditCheckOut().dump(answer)` gives (the schema documents it), written
    directly: the answer is built with exactly the schema's fields and types (tests/lists/test_check_json.py holds
    them equal), so the per-request marshmallow dump of ~40 nested fields is skipped on the busiest read."""
    json = current_app.json
    return current_app.response_class(json.dumps(answer, default=_iso) + "\n", mimetype=json.mimetype)


@blp.route("/credit-check")
class CreditCheck(MethodView):
    @blp.response(200, CreditCheckOut)
    @blp.doc(parameters=[
        {"in": "query", "name": "id_number", "required": True, "schema": {"type": "string"},
         "description": "the resident ID number of any current member"},
        {"in": "query", "name": "business", "required": True, "schema": {"type": "string", "enum": list(
            service.BUSINESSES)}},
        {"in": "query", "name": "purpose", "required": True, "schema": {"type": "string", "maxLength": 200}}])
    def get(self):
        """Credit check before a housing-security business (SPEC §8), on any ID number of the province: the
        conclusion for the business (may_proceed / restricted, naming each measure, clause and until-date), tier,
        list status, measures in force and suspended. Outside the caller's region only what the check needs
        (score, archive number and household id are null). An unknown ID number answers 200 with found=false and
        conclusion may_proceed. Every check is logged."""
        result = service.credit_check(request.args.get("id_number", ""), request.args.get("business", ""),
                                      request.args.get("purpose", ""), gate.user())
        answer = service.check_view(result)  # plain data, built before the commit expires anything
        commit_keeping_loaded()  # the check is logged whatever the answer; nothing loaded is read again
        return answer_response(answer)


@blp.route("/due")
class Due(MethodView):
    @blp.response(200, DueOut)
    @blp.doc(parameters=[
        {"in": "query", "name": name, "schema": {"type": "string"},
         "description": "this section's keyset cursor: `sections.<name>.next` of the page before"}
        for name in DUE_SECTIONS])
    def get(self):
        """Overdue orders (most overdue first), orders due today, procedure windows ending today, watch periods
        ending in the next 7 days (your region); each section paged on its own by a keyset cursor, `sections`
        gives its total and its next cursor. `appeals`: the open objections and repair applications with their
        next deadline, the earliest due first."""
        return service.due(gate.user(), args=request.args.to_dict())


@blp.route("/watch-list")
class WatchList(MethodView):
    @blp.response(200, WatchEntryOut(many=True))
    @blp.doc(parameters=[
        {"in": "query", "name": "region", "schema": {"type": "string"}},
        {"in": "query", "name": "status", "schema": {"type": "string", "enum": ["active", "ended"]}},
        {"in": "query", "name": "reason", "schema": {"type": "string",
                                                     "enum": ["expired", "transferred", "grounds_fell"]}},
        {"in": "query", "name": "after", "schema": {"type": "string"},
         "description": "cursor from X-Next-Cursor: the next page"},
        {"in": "query", "name": "page", "schema": {"type": "integer"}}])
    def get(self):
        """The watch list of your region (重点关注名单), newest first; header X-Has-More tells of another page,
        X-Next-Cursor the `after` value that asks for it."""
        out = service.watch_list(request.args.to_dict(), gate.user())
        headers = {"X-Has-More": "1" if out["has_more"] else "0"}
        if out["next"]:
            headers["X-Next-Cursor"] = out["next"]
        return out["items"], 200, headers


@blp.route("/households/<int:household_id>/orders")
class Orders(MethodView):
    @blp.response(200, OrderOut(many=True))
    def get(self, household_id):
        """The household's rectification orders with their status (the staff read is logged)."""
        orders = service.orders_for(household_id, gate.user())
        db.session.commit()
        return orders

    @blp.response(201, OrderOut)
    @blp.doc(requestBody={"content": {"application/json": {"schema": {
        "type": "object", "required": ["ground", "deadline", "requirement"],
        "properties": {"ground": {"type": "string"}, "deadline": {"type": "string", "format": "date"},
                       "requirement": {"type": "string"}, "record_id": {"type": "integer"}}}}}})
    def post(self, household_id):
        """Issue a rectification order (责令限期…, HB 六 (一)–(四)) with a deadline."""
        data = _json()
        who = gate.user()
        order = service.issue_order(household_id, data.get("ground"), data.get("deadline"),
                                    data.get("requirement"), data.get("record_id"), who)
        db.session.commit()
        return service.order_view(order, None, None, order.issued_date)


@blp.route("/orders/<int:order_id>/compliance")
class Compliance(MethodView):
    @blp.response(201, OrderOut)
    @blp.doc(requestBody={"content": {"application/json": {"schema": {
        "type": "object", "required": ["complied_date"],
        "properties": {"complied_date": {"type": "string", "format": "date"}, "note": {"type": "string"}}}}}})
    def post(self, order_id):
        """Record compliance with an order (on or before its deadline; not after its procedure opened)."""
        data = _json()
        who = gate.user()
        row = service.record_compliance(order_id, data.get("complied_date"), data.get("note", ""), who)
        db.session.commit()
        order = db.session.get(service.RectificationOrder, order_id)
        return service.order_view(order, row, None, row.complied_date)


@blp.route("/households/<int:household_id>/procedures")
class Procedures(MethodView):
    @blp.response(200, ProcedureOut(many=True))
    def get(self, household_id):
        """The household's joint-punishment procedures with their dated steps (the staff read is logged)."""
        procedures = [service.procedure_view(p) for p in service.procedures_for(household_id, gate.user())]
        db.session.commit()
        return procedures

    @blp.response(201, ProcedureOut)
    @blp.doc(requestBody={"content": {"multipart/form-data": {"schema": {
        "type": "object", "required": ["route", "basis", "document"],
        "properties": {"route": {"type": "string", "enum": list(service.MANUAL_ROUTES)},
                       "basis": {"type": "string"}, "document": {"type": "string", "format": "binary"},
                       "record_id": {"type": "integer"}}}}}})
    def post(self, household_id):
        """Open a procedure on a court judgment, criminal or administrative penalty, with the document."""
        who = gate.user()
        p = service.open_procedure(household_id, request.form.get("route"), request.form.get("basis"),
                                   request.files.get("document"), who, record_id=request.form.get("record_id") or None)
        db.session.commit()
        return service.procedure_view(p)


@blp.route("/procedures/<int:procedure_id>/steps")
class Steps(MethodView):
    @blp.response(201, ProcedureOut)
    @blp.doc(requestBody={"content": {"application/json": {"schema": {
        "type": "object", "required": ["step"],
        "properties": {"step": {"type": "string", "enum": ["publicity", "listed", "ended"]}}}}}})
    def post(self, procedure_id):
        """Take the procedure's next step today; 409 with the earliest date when too early or out of order."""
        data = _json()
        who = gate.user()
        service.advance(procedure_id, data.get("step"), who)
        db.session.commit()
        return service.procedure_view(db.session.get(service.Procedure, procedure_id))
