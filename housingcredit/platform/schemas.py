"""The message pushed to the provincial credit platform (SPEC §10; MOHURD 2(2)): the national data items of the
双公示 / 失信惩戒对象名单 practice, one flat object per message, versioned by `schema_version`.

Every field carries its scope (SPEC §11) in its metadata: `government` (政务共享: the platform is a government
sharing channel, so the full ID number goes) or `public`. The payload is built by dumping through this schema,
so it never carries a field the schema does not name — no address, phone, members, evidence, notes or archive
number. Published in the OpenAPI document as `PlatformMessage` and described in the README.
"""
from __future__ import annotations

from marshmallow import Schema, fields, validate

GOV, PUBLIC = "government", "public"

# The statuses of the national items: a record's (new, corrected, revoked, repaired), a punishment list's
# procedure (risk_notice, publicity, listed, list_ended), the watch list's, a restoration of credit (恢复信誉) and
# the audit chain's checkpoint.
MESSAGE_STATUSES = ("new", "corrected", "revoked", "repaired", "risk_notice", "publicity", "listed", "list_ended",
                    "watch_listed", "watch_changed", "watch_ended", "watch_removed", "restored", "checkpoint")


class IsoDate(fields.Date):
    """A date (YYYY-MM-DD); the stored facts keep dates as ISO strings already."""

    def _serialize(self, value, attr, obj, **kwargs):
        return value if isinstance(value, str) else super()._serialize(value, attr, obj, **kwargs)


def _f(field_cls, description: str, scope: str = GOV, **kw):
    return field_cls(metadata={"description": description, "scope": scope}, **kw)


class CheckpointOut(Schema):
    count = fields.Integer()
    last_id = fields.Integer(allow_none=True)
    last_hash = fields.String()
    at = fields.String()
    sig = fields.String(allow_none=True)
    database = fields.String(allow_none=True)


class PlatformMessage(Schema):
    """One message to the provincial credit platform (推送信用信息共享平台的数据项)."""

    schema_version = _f(fields.String, "Version of this message schema", PUBLIC, required=True)
    idempotency_key = _f(fields.String, "Unique per message; a resent message carries the same key", PUBLIC,
                         required=True)
    stream = _f(fields.String, "Ordering stream (one per household; `audit` for checkpoints)", PUBLIC, required=True)
    seq = _f(fields.Integer, "Position in the stream, from 1, without gaps", PUBLIC, required=True)
    kind = _f(fields.String, "Event kind in housingcredit (e.g. record.confirmed)", PUBLIC, required=True)
    status = _f(fields.String, "Item status (新增/更正/撤销/修复/列入/移出…)", PUBLIC, required=True,
                validate=validate.OneOf(MESSAGE_STATUSES))
    disclose = _f(fields.Boolean, "False: collected only, not to be disclosed (mild items; MOHURD 2(2))", PUBLIC,
                  required=True)
    subject_name = _f(fields.String, "Subject's name (失信主体名称): the household's head", allow_none=True)
    subject_type = _f(fields.String, "Subject type (主体类别): natural_person", PUBLIC, allow_none=True)
    id_type = _f(fields.String, "ID type (证件类型): resident_id_card or other", PUBLIC, allow_none=True)
    id_number = _f(fields.String, "ID number (证件号码), in full: government sharing scope", allow_none=True)
    region_code = _f(fields.String, "Administrative division code of the household", PUBLIC, allow_none=True)
    decision_document_no = _f(fields.String, "Decision document number (决定文书号); none issued yet", PUBLIC,
                              allow_none=True)
    facts = _f(fields.String, "Facts of the dishonest behaviour (失信行为事实)", allow_none=True)
    legal_basis = _f(fields.String, "Legal basis of the determination (认定依据)", PUBLIC, allow_none=True)
    clause = _f(fields.String, "Clause of the rules (条款)", PUBLIC, allow_none=True)
    list_type = _f(fields.String, "List (名单类型): punishment (失信联合惩戒对象名单), watch (重点关注名单) or none",
                   PUBLIC, allow_none=True)
    dishonesty_category = _f(fields.String, "Dishonesty category (失信行为类别): behaviour code and title", PUBLIC,
                             allow_none=True)
    severity = _f(fields.String, "Severity (失信程度): mild, moderate, severe", PUBLIC, allow_none=True)
    decision_date = _f(IsoDate, "Date of determination or of the list step (认定日期)", PUBLIC, allow_none=True)
    status_date = _f(IsoDate, "Date of this status (revocation, repair, step)", PUBLIC, allow_none=True)
    valid_from = _f(IsoDate, "Validity period start (有效期自)", PUBLIC, allow_none=True)
    valid_to = _f(IsoDate, "Validity period end (有效期至)", PUBLIC, allow_none=True)
    publicity_end = _f(IsoDate, "End of publicity (公示截止日期); none when not disclosed", PUBLIC,
                       allow_none=True)
    authority_name = _f(fields.String, "Determining authority (认定部门)", PUBLIC, allow_none=True)
    authority_credit_code = _f(fields.String, "Its unified social credit code (统一社会信用代码)", PUBLIC,
                               allow_none=True)
    data_source = _f(fields.String, "Data source (数据来源)", PUBLIC, required=True)
    source_ref = _f(fields.String, "Reference in the source system (record:ID, procedure:ID, watch:start)", PUBLIC,
                    allow_none=True)
    checkpoint = _f(fields.Nested, "The audit chain's signed checkpoint (audit stream only)", PUBLIC,
                    nested=CheckpointOut, allow_none=True)


class BatchIn(Schema):
    """A request to the platform: messages in stream order (at most one per stream per request)."""
    messages = fields.List(fields.Nested(PlatformMessage), required=True)


class AnswerOut(Schema):
    idempotency_key = fields.String()
    status = fields.String(metadata={"description": "accepted, or rejected (a data error, with code and message)"})
    receipt = fields.String(allow_none=True)
    code = fields.String(allow_none=True)
    message = fields.String(allow_none=True)


class BatchOut(Schema):
    results = fields.List(fields.Nested(AnswerOut))


def field_scopes() -> dict[str, str]:
    """Each payload field's scope (SPEC §11)."""
    return {name: f.metadata["scope"] for name, f in PlatformMessage().fields.items()}


def register(spec) -> None:
    """Publish the message and its answer in the OpenAPI document."""
    for name, schema in (("PlatformMessage", PlatformMessage), ("PlatformBatch", BatchIn),
                         ("PlatformAnswer", BatchOut)):
        if name not in spec.components.schemas:
            spec.components.schema(name, schema=schema)
