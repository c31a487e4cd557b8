"""marshmallow schemas for archives: input, and output per audience (staff / household / public masking)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validate, validates, validates_schema

from ..accounts import regions
from ..disclosure.masking import mask_id_number, mask_name
from ..validation import IdField
from .models import ProtectionCategory, Relation


class Money(fields.Decimal):
    """Yuan with two decimal places, sent and answered as a decimal string ("2350.00"); JSON numbers are accepted.

    Documented as what it is on the wire (a string; a pattern that holds exactly the amounts from 0 to
    `max_yuan`) with its limits as numbers, so a client generator builds valid requests.
    """

    def __init__(self, *, max_yuan: int, **kw):
        digits = len(str(max_yuan)) - 1  # 10**9 -> up to 9 digits before the point, or exactly 10**9
        metadata = {"type": "string", "format": "decimal", "example": "2350.00",
                    "pattern": rf"^(\d{{1,{digits}}}(\.\d{{1,2}})?|{max_yuan}(\.0{{1,2}})?)$",
                    "minimum": 0, "maximum": max_yuan,
                    "description": f"yuan, a decimal string with at most 2 places, 0 to {max_yuan}"}
        metadata.update(kw.pop("metadata", {}))
        super().__init__(places=2, as_string=True, validate=validate.Range(min=0, max=max_yuan), metadata=metadata,
                         **kw)


class MoneyOut(fields.Decimal):
    """An amount in yuan as answered: a decimal string with two places ("2350.00")."""

    def __init__(self, **kw):
        super().__init__(places=2, as_string=True, metadata={"type": "string", "format": "decimal",
                                                             "example": "2350.00"}, **kw)


class MemberIn(Schema):
    id = IdField(load_default=None)
    name = fields.String(required=True, validate=validate.Length(min=1, max=40))
    id_number = fields.String(required=True, validate=validate.Length(min=15, max=18))
    relation = fields.Enum(Relation, required=True)


class HouseholdIn(Schema):
    region_code = fields.String(required=True, validate=validate.Regexp(r"^\d{6}$"))
    address = fields.String(required=True, validate=validate.Length(min=1, max=200))
    hukou = fields.String(load_default="", validate=validate.Length(max=100))
    marital_status = fields.String(load_default="", validate=validate.Length(max=20))
    housing_status = fields.String(load_default="", validate=validate.Length(max=200))
    income_yuan = Money(max_yuan=10**9, load_default=None, allow_none=True)
    assets_yuan = Money(max_yuan=10**11, load_default=None, allow_none=True)
    protection_category = fields.Enum(ProtectionCategory, required=True)
    protection_mode = fields.String(load_default="", validate=validate.Length(max=40))
    protection_group = fields.String(load_default="", validate=validate.Length(max=40))
    priority_flags = fields.List(fields.String(validate=validate.Length(max=40)), load_default=list,
                                 validate=validate.Length(max=20))
    members = fields.List(fields.Nested(MemberIn), required=True, validate=validate.Length(min=1, max=20))
    version = fields.Integer(load_default=None)  # compared, never queried: any other number is stale (409)

    @validates("region_code")
    def known_region(self, value, **_):
        region = regions.get(value)
        if region is None or region.level != "county":
            raise ValidationError(str(_l("Unknown region code; choose a county-level region.")))

    @validates_schema
    def one_head(self, data, **_):
        heads = [m for m in data.get("members", []) if m["relation"] == Relation.head]
        if len(heads) != 1:
            raise ValidationError(str(_l("A household has exactly one head.")), "members")


class HouseholdOut(Schema):
    id = fields.Integer()
    archive_no = fields.String()
    region_code = fields.String()
    region_name = fields.Function(lambda h: regions.full_name(h.region_code))
    address = fields.String()
    hukou = fields.String()
    marital_status = fields.String()
    housing_status = fields.String()
    income_yuan = MoneyOut(allow_none=True)
    assets_yuan = MoneyOut(allow_none=True)
    protection_category = fields.Function(lambda h: h.protection_category.value)
    protection_mode = fields.String()
    protection_group = fields.String()
    priority_flags = fields.List(fields.String())
    head_name = fields.Function(lambda h: h.head.name if h.head else "")
    members = fields.Method("dump_members")
    version = fields.Integer()
    updated_dt = fields.DateTime()

    def __init__(self, *a, full_id: bool = False, **kw):
        super().__init__(*a, **kw)
        self.full_id = full_id

    def dump_members(self, h):
        return [{"id": m.id, "name": m.name, "relation": m.relation.value,
                 "id_number": m.id_number if self.full_id else mask_id_number(m.id_number)} for m in h.members]


class HouseholdSummary(Schema):
    """One search hit: ID masked always."""
    id = fields.Integer()
    archive_no = fields.String()
    region_code = fields.String()
    head_name = fields.Function(lambda h: h.head.name if h.head else "")
    head_id_number = fields.Function(lambda h: mask_id_number(h.head.id_number) if h.head else "")
    address = fields.String()
    protection_category = fields.Function(lambda h: h.protection_category.value)


class PublicHouseholdOut(Schema):
    """What the public may see (SPEC §11): masked name and ID, address to district."""
    head_name = fields.Function(lambda h: mask_name(h.head.name) if h.head else "")
    head_id_number = fields.Function(lambda h: mask_id_number(h.head.id_number) if h.head else "")
    district = fields.Function(lambda h: regions.full_name(h.region_code))


class HouseholdSearchArgs(Schema):
    """Query of GET /api/v1/households: search text (archive number, name prefix, ID number) and page."""
    q = fields.String(load_default="", validate=validate.Length(max=40),
                      metadata={"description": "archive number, head/member name prefix, or full ID number"})
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10_000))
    after = fields.Integer(load_default=None, validate=validate.Range(min=1),
                           metadata={"description": "the next page: `next` of the previous answer (keyset)"})


class HouseholdPage(Schema):
    items = fields.List(fields.Nested(HouseholdSummary))
    page = fields.Integer()
    page_size = fields.Integer()
    has_more = fields.Boolean()
    next = fields.Integer(allow_none=True, metadata={"description": "pass as `after` for the next page"})


class HistoryEntryOut(Schema):
    """One change of an archive, from the audit trail: who, when, before/after (ID numbers masked there)."""
    id = fields.Integer()
    dt = fields.DateTime()
    actor = fields.String(attribute="actor_label")
    action = fields.String()
    before = fields.Dict(allow_none=True)
    after = fields.Dict(allow_none=True)
