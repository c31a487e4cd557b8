"""marshmallow schemas: objections in and out (API and forms share the service's one validation)."""
from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

from ..records.schemas import CorrectionProposalOut


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
    # what an upheld objection to a record does (SPEC §9): revoke it (the default) or correct its facts — the
    # corrected `occurred_date`, `facts` and new `evidence` files then go with it, judged as any correction's
    effect = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(("revoke", "correct")))


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


def _effect(p):
    """What the proposal does if confirmed: `correct` or `revoke` the record, `end` the procedure; None if rejected."""
    if p.outcome != "upheld":
        return None
    if p.correction_id is not None:
        return "correct"
    from ..extensions import db
    from .models import Objection
    return "revoke" if db.session.get(Objection, p.objection_id).record_id is not None else "end"


class ProposalOut(Schema):
    id = fields.Integer()
    outcome = fields.String()
    effect = fields.Function(_effect)
    correction = fields.Nested(CorrectionProposalOut, allow_none=True)
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


class RepairIn(Schema):
    class Meta:
        unknown = EXCLUDE

    record_id = fields.Integer(load_default=None, allow_none=True, strict=False,
                               validate=validate.Range(min=1, max=2**63 - 1))
    declaration = fields.String(load_default="", validate=validate.Length(max=5000))
    commitment_signed = fields.Boolean(load_default=False, truthy={True, "true", "1", "on", "y", "yes"},
                                       falsy={False, "false", "0", "off", "n", "no", ""})
    non_intentional = fields.String(load_default="", validate=validate.Length(max=5000))
    received_date = fields.Date(load_default=None, allow_none=True)


class RepairIncompleteIn(Schema):
    class Meta:
        unknown = EXCLUDE

    missing = fields.String(required=True, validate=validate.Length(min=1, max=5000))


class RepairProposalIn(Schema):
    class Meta:
        unknown = EXCLUDE

    outcome = fields.String(required=True, validate=validate.OneOf(("granted", "refused")))
    reasons = fields.String(load_default="", validate=validate.Length(max=5000))
    non_intentional = fields.Boolean(load_default=False, truthy={True, "true", "1", "on", "y", "yes"},
                                     falsy={False, "false", "0", "off", "n", "no", ""})


class RepairMaterialOut(MaterialOut):
    kind = fields.String()


class RepairStepOut(Schema):
    kind = fields.String()
    on = fields.Date()
    note = fields.String()


class RepairProposalOut(Schema):
    id = fields.Integer()
    outcome = fields.String()
    reasons = fields.String()
    non_intentional = fields.Boolean()
    by_id = fields.Integer()
    proposed_date = fields.Date()
    reviewed = fields.Function(lambda p: None if p.review is None else ("confirmed" if p.review.confirmed
                                                                        else "returned"))
    reviewed_date = fields.Function(lambda p: p.review.decided_date.isoformat() if p.review else None)


def _repair_view(name):
    def get(a):
        from . import repairs
        value = getattr(repairs.view_of(a), name)
        return value.isoformat() if hasattr(value, "isoformat") else value
    return fields.Function(get)


class RepairApplicationOut(Schema):
    id = fields.Integer()
    household_id = fields.Integer()
    record_id = fields.Integer()
    filed_date = fields.Date()
    declaration = fields.String()
    commitment_signed = fields.Boolean()
    non_intentional = fields.String()
    at_counter = fields.Boolean()
    handler_id = fields.Integer(allow_none=True)
    status = _repair_view("status")
    received_date = _repair_view("received")
    accepted_date = _repair_view("accepted")
    acceptance_due = _repair_view("acceptance_due")
    decision_due = _repair_view("decision_due")
    extended = _repair_view("extended")
    decided_date = _repair_view("decided")
    materials = fields.List(fields.Nested(RepairMaterialOut))
    steps = fields.List(fields.Nested(RepairStepOut))
    proposals = fields.List(fields.Nested(RepairProposalOut))


class RepairCheckOut(Schema):
    ok = fields.Boolean()
    repairable_from = fields.Date(allow_none=True)
    missing = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))
