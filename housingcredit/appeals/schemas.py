"""marshmallow schemas: objections in and out (API and forms share the service's one validation)."""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate


class ObjectionIn(Schema):
    class Meta:
        unknown = EXCLUDE

    record_id = fields.Integer(load_default=None, allow_none=True, strict=False,
                               validate=validate.Range(min=1, max=2**63 - 1))
    procedure_id = fields.Integer(load_default=None, allow_none=True, strict=False,
                                  validate=validate.Range(min=1, max=2**63 - 1))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=5000))
    received_date = fields.Date(load_default=None, allow_none=True)


class ObjectionProposalIn(Schema):
    class Meta:
        unknown = EXCLUDE

    outcome = fields.String(required=True, validate=validate.OneOf(("upheld", "rejected")))
    reasons = fields.String(required=True, validate=validate.Length(min=1, max=5000))


class ObjectionDecisionIn(Schema):
    class Meta:
        unknown = EXCLUDE

    decision = fields.String(required=True, validate=validate.OneOf(("confirmed", "returned")))
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class MaterialOut(Schema):
    id = fields.Integer()
    filename = fields.String()
    content_type = fields.String()
    size = fields.Integer()
    sha256 = fields.String()


class ProposalOut(Schema):
    id = fields.Integer()
    outcome = fields.String()
    reasons = fields.String()
    by_id = fields.Integer()
    proposed_date = fields.Date()
    reviewed = fields.Function(lambda p: None if p.review is None else ("confirmed" if p.review.confirmed
                                                                        else "returned"))
    reviewed_date = fields.Function(lambda p: p.review.decided_date.isoformat() if p.review else None)


def _status(o):
    from .service import status_of
    return status_of(o)


def _decided(o):
    from .service import decision_of
    d = decision_of(o)[1]
    return d.isoformat() if d else None


class ObjectionOut(Schema):
    id = fields.Integer()
    household_id = fields.Integer()
    record_id = fields.Integer(allow_none=True)
    procedure_id = fields.Integer(allow_none=True)
    filed_date = fields.Date()
    due_date = fields.Date()
    reason = fields.String()
    at_counter = fields.Boolean()
    repeat = fields.Boolean()
    handler_id = fields.Integer(allow_none=True)
    status = fields.Function(_status)
    decided_date = fields.Function(_decided)
    materials = fields.List(fields.Nested(MaterialOut))
    proposals = fields.List(fields.Nested(ProposalOut))
