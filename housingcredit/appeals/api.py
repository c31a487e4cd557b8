"""API: objections (异议, HB 七) — file, list, read, the handler's proposal and the reviewer's decision.

Thin edges: parse, call one service function, commit once, answer. Errors come back as 4xx from errors.py.
"""
from __future__ import annotations

from flask import request
from flask_smorest import Blueprint

from ..accounts import gate
from ..accounts.api import bearer_only
from ..extensions import db
from . import repairs, service
from .schemas import ObjectionOut, ProposalOut, RepairCheckOut, RepairApplicationOut, RepairProposalOut

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
    """The handler proposes: {"outcome": "upheld"|"rejected", "reasons": "…"}. Upheld on a record, "effect" says
    what follows: "revoke" (the default) or "correct" with the corrected "occurred_date" and/or "facts" (JSON, or
    multipart with new `evidence` files) — facts and evidence only, never the behaviour (SPEC §4)."""
    files = [f for f in request.files.getlist("evidence") if f and f.filename]
    p = service.propose(objection_id, _body(), gate.user(), files)
    db.session.commit()
    return p


@blp.route("/objections/<int:objection_id>/decision", methods=["POST"])
@blp.response(201, ObjectionOut)
def decide(objection_id):
    """A reviewer other than the handler and the recorder: {"decision": "confirmed"|"returned", "note": "…"}."""
    service.decide(objection_id, _body(), gate.user())
    db.session.commit()
    return service.get_objection(objection_id, gate.user())


# ---- credit repair (信用修复, LN 第十–十三条) ----------------------------------------------------------------------

def _commitment():
    return [f for f in request.files.getlist("commitment") if f and f.filename]


@blp.route("/households/<int:household_id>/repairs", methods=["GET"])
@blp.response(200, RepairApplicationOut(many=True))
def household_repairs(household_id):
    """The household's repair applications with their status and deadlines, newest first (a staff read: audited)."""
    items = repairs.repairs_for(household_id, gate.user())
    db.session.commit()  # the read's audit entry
    return items


@blp.route("/households/<int:household_id>/repairs/check", methods=["POST"])
@blp.response(200, RepairCheckOut)
def check_repair(household_id):
    """What an application would lack if submitted now (nothing is written)."""
    return repairs.check_conditions(household_id, _body(), _files(), _commitment(), gate.user())


@blp.route("/households/<int:household_id>/repairs", methods=["POST"])
@blp.response(201, RepairApplicationOut)
def apply_repair(household_id):
    """Apply: {"record_id", "declaration", "commitment_signed", "non_intentional"?, "received_date" (counter)}
    (JSON, or multipart with `materials` and `commitment` files)."""
    a = repairs.apply(household_id, _body(), _files(), _commitment(), gate.user())
    db.session.commit()
    return a


@blp.route("/repairs", methods=["GET"])
@blp.response(200, RepairApplicationOut(many=True))
def open_repairs():
    """Undecided repair applications of the user's region, the earliest due first."""
    return repairs.open_repairs(gate.user())


@blp.route("/repairs/<int:application_id>", methods=["GET"])
@blp.response(200, RepairApplicationOut)
def get_repair(application_id):
    a = repairs.get_repair(application_id, gate.user())
    db.session.commit()  # the staff read is logged
    return a


@blp.route("/repairs/<int:application_id>/handler", methods=["POST"])
@blp.response(201, RepairApplicationOut)
def take_repair(application_id):
    a = repairs.assign_handler(application_id, gate.user())
    db.session.commit()
    return a


@blp.route("/repairs/<int:application_id>/incomplete", methods=["POST"])
@blp.response(201, RepairApplicationOut)
def repair_incomplete(application_id):
    """The handler's one notice listing everything missing: {"missing": "…"}."""
    a = repairs.mark_incomplete(application_id, _body(), gate.user())
    db.session.commit()
    return a


@blp.route("/repairs/<int:application_id>/materials", methods=["POST"])
@blp.response(201, RepairApplicationOut)
def repair_materials(application_id):
    """The missing materials (multipart `materials` / `commitment`): the application is received today."""
    a = repairs.complete(application_id, _body(), _files(), _commitment(), gate.user())
    db.session.commit()
    return a


@blp.route("/repairs/<int:application_id>/acceptance", methods=["POST"])
@blp.response(201, RepairApplicationOut)
def accept_repair(application_id):
    a = repairs.accept(application_id, gate.user())
    db.session.commit()
    return a


@blp.route("/repairs/<int:application_id>/extension", methods=["POST"])
@blp.response(201, RepairApplicationOut)
def extend_repair(application_id):
    """The decision deadline extended by 10 working days, once: {"reason": "…"}."""
    a = repairs.extend(application_id, _body(), gate.user())
    db.session.commit()
    return a


@blp.route("/repairs/<int:application_id>/proposal", methods=["POST"])
@blp.response(201, RepairProposalOut)
def propose_repair(application_id):
    """The handler: {"outcome": "granted"|"refused", "reasons": "…", "non_intentional": bool}."""
    p = repairs.propose(application_id, _body(), gate.user())
    db.session.commit()
    return p


@blp.route("/repairs/<int:application_id>/decision", methods=["POST"])
@blp.response(201, RepairApplicationOut)
def decide_repair(application_id):
    """A reviewer other than the handler and the recorder: {"decision": "confirmed"|"returned", "note": "…"}."""
    repairs.decide(application_id, _body(), gate.user())
    db.session.commit()
    return repairs.get_repair(application_id, gate.user())
