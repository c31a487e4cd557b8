"""marshmallow schemas: what a record, a determination and a credit answer look like in and out (API and forms)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields, validate

# What a caseworker may pick when proposing a revocation (SPEC §4); "objection_upheld" and "corrected" are written
# only by an objection's decision and a correction.
REVOCATION_REASONS = ("error", "annulled", "other")  # what a caseworker may propose (SPEC §4)
# every reason a revocation may carry: the proposed ones, an objection upheld (written only by its decision, SPEC §9),
# a correction (the old revoke-and-record path) and a pending record withdrawn
STORED_REVOCATION_REASONS = REVOCATION_REASONS + ("objection_upheld", "corrected", "withdrawn")
REASON_LABELS = {"objection_upheld": _l("Objection upheld"), "error": _l("Recording error"),
                 "annulled": _l("Underlying decision annulled by a court or authority"), "other": _l("Other reason"),
                 "corrected": _l("Corrected"), "withdrawn": _l("Withdrawn before review")}


class RecordIn(Schema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=32))
    occurred_date = fields.Date(required=True)
    formed_date = fields.Date(required=True)
    source = fields.String(required=True, validate=validate.Length(min=1, max=32))
    facts = fields.String(required=True, validate=validate.Length(min=1, max=5000))


class DeterminationIn(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(("confirmed", "rejected")))
    legal_basis = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class RevocationIn(Schema):
    reason = fields.String(required=True, validate=validate.OneOf(REVOCATION_REASONS))
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class CorrectionFactsIn(Schema):
    """The corrected facts (SPEC §4): the occurrence date and the description; empty keeps the current one."""
    occurred_date = fields.Date(load_default=None, allow_none=True)
    facts = fields.String(load_default="", validate=validate.Length(max=5000))


class CorrectionIn(CorrectionFactsIn):
    """A correction of facts and evidence only (SPEC §4): the code, deduction and determination date stay."""
    reason = fields.String(required=True, validate=validate.OneOf(REVOCATION_REASONS))
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class RevocationDecisionIn(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(("confirmed", "rejected")))
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class CorrectionProposalOut(Schema):
    id = fields.Integer()
    record_id = fields.Integer()
    reason = fields.String()
    note = fields.String()
    occurred_date = fields.Date()
    facts = fields.String()
    before_occurred_date = fields.Date()
    before_facts = fields.String()
    proposed_by_id = fields.Integer()
    proposed_date = fields.Date()
    decision = fields.Function(lambda p: p.decision.decision if p.decision else None)
    decided_date = fields.Function(lambda p: p.decision.decided_date.isoformat() if p.decision else None)


class RevocationProposalOut(Schema):
    id = fields.Integer()
    record_id = fields.Integer()
    reason = fields.String()
    note = fields.String()
    proposed_by_id = fields.Integer()
    proposed_date = fields.Date()
    decision = fields.Function(lambda p: p.decision.decision if p.decision else None)
    decided_date = fields.Function(lambda p: p.decision.decided_date.isoformat() if p.decision else None)


class RepairIn(Schema):
    note = fields.String(load_default="", validate=validate.Length(max=2000))


# ---- out -------------------------------------------------------------------------------------------------------

class CatalogueItemOut(Schema):
    code = fields.String()
    parent = fields.String(allow_none=True)
    title_zh = fields.String()
    title_en = fields.String()
    clause = fields.String()
    deduct = fields.Integer()
    tier = fields.String()
    use_months = fields.Integer()
    repairable = fields.Boolean()
    version = fields.String()


class CatalogueQuery(Schema):
    region = fields.String(load_default=None, validate=validate.Regexp(r"^\d{6}$"))


class EvidenceOut(Schema):
    id = fields.Integer()
    filename = fields.String()
    content_type = fields.String()
    size = fields.Integer()
    sha256 = fields.String()
    uploaded_dt = fields.DateTime()


class DeterminationOut(Schema):
    decision = fields.Function(lambda d: d.decision.value)
    legal_basis = fields.String()
    determination_date = fields.Date()
    reviewer_id = fields.Integer()


class RevocationOut(Schema):
    revoked_date = fields.Date()
    reason = fields.String()
    note = fields.String()


class RepairOut(Schema):
    repaired_date = fields.Date()
    note = fields.String()


class RecordOut(Schema):
    id = fields.Integer()
    household_id = fields.Integer()
    region_code = fields.String()
    code = fields.String()
    occurred_date = fields.Date()
    formed_date = fields.Date()
    source = fields.String()
    facts = fields.String()
    late = fields.Boolean()
    corrects_id = fields.Integer(allow_none=True)
    recorded_by_id = fields.Integer()
    recorded_dt = fields.DateTime()
    status = fields.Function(lambda r: record_status(r))
    determination = fields.Nested(DeterminationOut, allow_none=True)
    revocation = fields.Nested(RevocationOut, allow_none=True)
    repair = fields.Nested(RepairOut, allow_none=True)
    evidence = fields.List(fields.Nested(EvidenceOut))


def record_status(r) -> str:
    """pending | confirmed | rejected | revoked | repaired — read from the facts on the record."""
    if r.revocation is not None:
        return "revoked"
    if r.repair is not None:
        return "repaired"
    if r.determination is None:
        return "pending"
    return r.determination.decision.value


class LaterChangeOut(Schema):
    """A decision dated after the answer's date that changed the record: the answer stays, marked (SPEC §4)."""
    kind = fields.String(metadata={"description": "revoked | corrected | repaired"})
    on = fields.Date()
    reason = fields.String(allow_none=True)


class CreditItemOut(Schema):
    record_id = fields.Integer()
    code = fields.String()
    title_zh = fields.String()
    title_en = fields.String()
    clause = fields.String()
    deduct = fields.Integer()
    tier = fields.String()
    version = fields.String()
    determined = fields.Date()
    counts_through = fields.Date()
    later_changes = fields.List(fields.Nested(LaterChangeOut))


class CreditOut(Schema):
    household_id = fields.Integer()
    as_of = fields.Date()
    score = fields.Integer()
    tier = fields.String()
    total_deduction = fields.Integer()
    version = fields.String()
    catalogue_versions = fields.List(fields.String())
    items = fields.List(fields.Nested(CreditItemOut))


class CreditQuery(Schema):
    as_of = fields.Date(load_default=None)


class HistoryQuery(Schema):
    start = fields.Date(load_default=None, data_key="from")
    end = fields.Date(load_default=None, data_key="to")


class HistoryPointOut(Schema):
    date = fields.Date()
    score = fields.Integer()
    tier = fields.String()


class HistoryOut(Schema):
    household_id = fields.Integer()
    points = fields.List(fields.Nested(HistoryPointOut))
