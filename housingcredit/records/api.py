"""API: the behaviour catalogue, records with evidence, determinations, revocations, and credit with its why.

Thin edges: parse, call one service function, commit once, answer. Errors come back as 4xx from errors.py.
"""
from __future__ import annotations

from flask import request
from flask_smorest import Blueprint

from ..accounts import gate
from ..accounts.api import bearer_only
from ..extensions import db
from ..scoring import service as scoring
from . import service
from .schemas import (CatalogueItemOut, CatalogueQuery, CorrectionProposalOut, CreditOut, CreditQuery, EvidenceOut,
                      HistoryOut, HistoryQuery, RecordOut, RevocationProposalOut)

# every operation needs a bearer token, declared once for the blueprint
blp = bearer_only(Blueprint("records_api", __name__,
                            url_prefix="/api/v1", description="Behaviour records and credit"))


def _body() -> dict:
    """JSON or form fields, whichever the client sent."""
    if request.is_json:
        data = request.get_json(silent=True)
        return data if isinstance(data, dict) else {}
    return request.form.to_dict()


def _files():
    return [f for f in request.files.getlist("evidence") if f and f.filename]


def credit_payload(household_id: int, result) -> dict:
    """The credit answer; each item marked with what decisions dated after `as_of` did to its record (SPEC §4)."""
    from dataclasses import asdict
    marks = service.later_changes(household_id, result.as_of)
    return {"household_id": household_id, "as_of": result.as_of, "score": result.score, "tier": result.tier,
            "total_deduction": result.total_deduction, "version": result.version,
            "catalogue_versions": sorted({i.version for i in result.items}),
            "items": [{**asdict(i), "later_changes": marks.get(i.record_id, [])} for i in result.items]}


@blp.route("/catalogue")
@blp.arguments(CatalogueQuery, location="query")
@blp.response(200, CatalogueItemOut(many=True))
def catalogue(args):
    """Behaviours in force today (code, title, clause, deduction, tier, use period, version) for a region."""
    gate.require("archive.read")
    return service.catalogue(args.get("region"))


@blp.route("/households/<int:household_id>/records", methods=["GET"])
@blp.response(200, RecordOut(many=True))
def household_records(household_id):
    """The household's records with their status, newest first (the staff read is logged)."""
    rows = service.records_for_household(household_id, gate.user())
    session = db.session()
    keep, session.expire_on_commit = session.expire_on_commit, False  # the rows stay loaded for the answer
    try:
        session.commit()
    finally:
        session.expire_on_commit = keep
    return rows


@blp.route("/households/<int:household_id>/records", methods=["POST"])
@blp.response(201, RecordOut)
def create_record(household_id):
    """Record a behaviour. multipart/form-data with one or more `evidence` files, or JSON (then upload the
    evidence with POST /records/{id}/evidence before the record is reviewed)."""
    multipart = not request.is_json
    record = service.create_record(household_id, _body(), _files(), gate.user(), require_evidence=multipart)
    db.session.commit()
    return record


@blp.route("/records/<int:record_id>")
@blp.response(200, RecordOut)
def get_record(record_id):
    record = service.get_record(record_id, gate.user())
    db.session.commit()  # the staff read is logged
    return record


@blp.route("/records/<int:record_id>/evidence", methods=["POST"])
@blp.response(201, EvidenceOut(many=True))
def add_evidence(record_id):
    """Upload evidence (multipart `evidence` files) for a record still pending review."""
    rows = service.add_evidence(record_id, _files(), gate.user())
    db.session.commit()
    return rows


@blp.route("/records/<int:record_id>/determination", methods=["POST"])
@blp.response(201, RecordOut)
def determine(record_id):
    """Confirm or reject a pending record: {"decision": "confirmed"|"rejected", "legal_basis": "…"}."""
    body = _body()
    service.determine(record_id, body.get("decision"), body.get("legal_basis"), gate.user())
    db.session.commit()
    return service.get_record(record_id, gate.user())


@blp.route("/records/<int:record_id>/revocation", methods=["POST"])
@blp.response(201, RevocationProposalOut)
def revoke(record_id):
    """Propose to revoke a confirmed record (SPEC §4): {"reason": "error"|"annulled"|"other", "note": "…"} ("other"
    needs the note). A reviewer other than the proposer and the recorder decides it."""
    body = _body()
    proposal = service.propose_revocation(record_id, body.get("reason"), body.get("note") or "", gate.user())
    db.session.commit()
    return proposal


@blp.route("/revocations/<int:proposal_id>/decision", methods=["POST"])
@blp.response(201, RecordOut)
def decide_revocation(proposal_id):
    """Confirm or reject a revocation proposal: {"decision": "confirmed"|"rejected", "note": "…"}. Confirmed, the
    record is revoked from today and the household notified; rejected, nothing is sent."""
    body = _body()
    service.decide_revocation(proposal_id, body.get("decision"), body.get("note") or "", gate.user())
    db.session.commit()
    return service.get_record(service.proposal_record_id(proposal_id), gate.user())


@blp.route("/records/<int:record_id>/corrections", methods=["POST"])
@blp.response(201, CorrectionProposalOut)
def propose_correction(record_id):
    """Propose to correct a confirmed record's facts and evidence (SPEC §4): {"reason", "note", "occurred_date",
    "facts"} (JSON, or multipart with `evidence` files). The code, deduction and determination date stay."""
    files = [f for f in request.files.getlist("evidence") if f and f.filename]
    proposal = service.propose_correction(record_id, _body(), files, gate.user())
    db.session.commit()
    return proposal


@blp.route("/records/<int:record_id>/corrections", methods=["GET"])
@blp.response(200, CorrectionProposalOut(many=True))
def corrections(record_id):
    """The record's corrections, each with the earlier version it replaced."""
    service.get_record(record_id, gate.user())
    rows = service.corrections_of(record_id)
    db.session.commit()  # the staff read is logged
    return rows


@blp.route("/corrections/<int:proposal_id>/decision", methods=["POST"])
@blp.response(201, RecordOut)
def decide_correction(proposal_id):
    """Confirm or reject a correction: {"decision": "confirmed"|"rejected", "note": "…"} — a reviewer other than the
    proposer and the recorder."""
    body = _body()
    row = service.decide_correction(proposal_id, body.get("decision"), body.get("note") or "", gate.user())
    db.session.commit()
    return service.get_record(row.proposal.record_id, gate.user())


@blp.route("/households/<int:household_id>/credit")
@blp.arguments(CreditQuery, location="query")
@blp.response(200, CreditOut)
def credit(args, household_id):
    """Score, tier and explanation (each counting record, its deduction, clause, catalogue version) as of a date."""
    result = scoring.credit_for(household_id, args.get("as_of"), who=gate.user())
    db.session.commit()  # the staff read is logged
    return credit_payload(household_id, result)


@blp.route("/households/<int:household_id>/credit/history")
@blp.arguments(HistoryQuery, location="query")
@blp.response(200, HistoryOut)
def credit_history(args, household_id):
    """Score and tier at the start, on every change date, and at the end of the range (default: 2 years)."""
    points = scoring.credit_history(household_id, args.get("start"), args.get("end"), who=gate.user())
    db.session.commit()
    return {"household_id": household_id,
            "points": [{"date": d, "score": s, "tier": t} for d, s, t in points]}
