"""API: objections (异议, HB 七) — file, list, read, the handler's proposal and the reviewer's decision.

Thin edges: parse, call one service function, commit once, answer. Errors come back as 4xx from errors.py.
"""
from __future__ import annotations

from flask import request
from flask_smorest import Blueprint

from ..accounts import gate
from ..accounts.api import bearer_only
from ..extensions import db
from . import service
from .schemas import ObjectionOut, ProposalOut

blp = bearer_only(Blueprint("appeals_api", __name__, url_prefix="/api/v1", description="Objections (异议)"))


def _body() -> dict:
    if request.is_json:
        data = request.get_json(silent=True)
        return data if isinstance(data, dict) else {}
    return request.form.to_dict()


def _files():
    return [f for f in request.files.getlist("materials") if f and f.filename]


@blp.route("/households/<int:household_id>/objections", methods=["GET"])
@blp.response(200, ObjectionOut(many=True))
def household_objections(household_id):
    """The household's objections with their status and due dates, newest first (a staff read: audited)."""
    items = service.objections_for(household_id, gate.user())
    db.session.commit()  # the read's audit entry
    return items


@blp.route("/households/<int:household_id>/objections", methods=["POST"])
@blp.response(201, ObjectionOut)
def file_objection(household_id):
    """File an objection: {"record_id" or "procedure_id", "reason"} (JSON, or multipart with `materials` files);
    staff registering a paper objection add "received_date"."""
    o = service.file_objection(household_id, _body(), _files(), gate.user())
    db.session.commit()
    return o


@blp.route("/objections", methods=["GET"])
@blp.response(200, ObjectionOut(many=True))
def open_objections():
    """Undecided objections of the user's region, the earliest due first."""
    return service.open_objections(gate.user())


@blp.route("/objections/<int:objection_id>", methods=["GET"])
@blp.response(200, ObjectionOut)
def get_objection(objection_id):
    o = service.get_objection(objection_id, gate.user())
    db.session.commit()  # the staff read is logged
    return o


@blp.route("/objections/<int:objection_id>/handler", methods=["POST"])
@blp.response(201, ObjectionOut)
def take_objection(objection_id):
    """A caseworker of the region takes an objection that has no handler yet (locked once set)."""
    o = service.assign_handler(objection_id, gate.user())
    db.session.commit()
    return o


@blp.route("/objections/<int:objection_id>/proposal", methods=["POST"])
@blp.response(201, ProposalOut)
def propose(objection_id):
    """The handler proposes: {"outcome": "upheld"|"rejected", "reasons": "…"}."""
    p = service.propose(objection_id, _body(), gate.user())
    db.session.commit()
    return p


@blp.route("/objections/<int:objection_id>/decision", methods=["POST"])
@blp.response(201, ObjectionOut)
def decide(objection_id):
    """A reviewer other than the handler and the recorder: {"decision": "confirmed"|"returned", "note": "…"}."""
    service.decide(objection_id, _body(), gate.user())
    db.session.commit()
    return service.get_objection(objection_id, gate.user())
