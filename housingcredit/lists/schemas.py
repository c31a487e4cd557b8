"""marshmallow schemas for the lists domain: what an order, a procedure, a step, a credit check look like in and out."""
from __future__ import annotations

from datetime import date

from flask_babel import gettext as _
from marshmallow import EXCLUDE, Schema, fields, validate

from ..validation import IdField

BUSINESSES = ("application", "allocation", "renewal", "swap", "subsidy", "exit", "other")
MANUAL_ROUTES = ("court_judgment", "criminal_penalty", "administrative_penalty")
ROUTES = ("watch_transfer", "overdue_order") + MANUAL_ROUTES
STEPS = ("opened", "publicity", "listed", "ended")
WATCH_REASONS = ("expired", "transferred", "grounds_fell")
END_REASONS = ("expired", "statement_accepted", "revoked", "repaired", "objection_upheld")  # SPEC §7


# ---- in --------------------------------------------------------------------------------------------------------

class OrderIn(Schema):
    ground = fields.String(required=True, validate=validate.Length(min=1, max=16))
    deadline = fields.Date(required=True)
    requirement = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    record_id = IdField(load_default=None, allow_none=True)


def deadline_problem(deadline: date, issued: date, rules) -> str | None:
    """Why a rectification order issued on `issued` may not have this deadline (责令限期…), or None: it falls after
    the order's date and at most `rectification_deadline.max_months` (rules data, version in force) after it."""
    from ..clock import add_months
    if deadline <= issued:
        return _("The deadline must fall after the day of the order (%(date)s).", date=issued.isoformat())
    limit = rules.rectification_deadline
    latest = add_months(issued, limit.max_months)
    if deadline > latest:
        return _("The deadline may be at most %(months)s months after the order, on or before %(date)s (%(clause)s).",
                 months=limit.max_months, date=latest.isoformat(), clause=limit.clauses["max_months"])
    return None


class ComplianceIn(Schema):
    complied_date = fields.Date(required=True)
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class ProcedureIn(Schema):
    route = fields.String(required=True, validate=validate.OneOf(MANUAL_ROUTES))
    basis = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    # the household's record the judgment or penalty stands on, if any: the procedure ends when it falls
    record_id = fields.Integer(load_default=None, allow_none=True, strict=False,
                               validate=validate.Range(min=1, max=2**62))


class StepIn(Schema):
    step = fields.String(required=True, validate=validate.OneOf(STEPS[1:]))


class CreditCheckIn(Schema):
    id_number = fields.String(required=True, validate=validate.Length(min=1, max=18))
    business = fields.String(required=True, validate=validate.OneOf(BUSINESSES))
    purpose = fields.String(required=True, validate=validate.Length(min=1, max=200))  # required (SPEC §8)


class WatchListQuery(Schema):
    region = fields.String(load_default=None, validate=validate.Regexp(r"^\d{6}$"))
    status = fields.String(load_default=None, validate=validate.OneOf(("active", "ended")))
    reason = fields.String(load_default=None, validate=validate.OneOf(WATCH_REASONS))
    # keyset cursor: "YYYY-MM-DD_id" of the last entry shown (start date and id, the list's order)
    after = fields.String(load_default=None, validate=validate.Regexp(r"^\d{4}-\d{2}-\d{2}_\d{1,18}$"))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000))  # the page's number, shown


DUE_SECTIONS = ("procedures", "overdue_orders", "orders_due_today", "watch_ending")


class DueQuery(Schema):
    """The keyset cursor of each section of what is due (every section is paged on its own: the last row shown,
    "id" or "YYYY-MM-DD_id"); other query arguments (the page language) are not its business."""

    class Meta:
        unknown = EXCLUDE

    procedures = fields.String(load_default=None, validate=validate.Regexp(r"^\d{1,12}$"))
    overdue_orders = fields.String(load_default=None, validate=validate.Regexp(r"^\d{4}-\d{2}-\d{2}_\d{1,12}$"))
    orders_due_today = fields.String(load_default=None, validate=validate.Regexp(r"^\d{1,12}$"))
    watch_ending = fields.String(load_default=None, validate=validate.Regexp(r"^\d{4}-\d{2}-\d{2}_\d{1,12}$"))


# ---- out -------------------------------------------------------------------------------------------------------

class WatchEntryOut(Schema):
    id = fields.Integer()
    household_id = fields.Integer()
    archive_no = fields.String()
    region_code = fields.String()
    start_date = fields.Date()
    until_date = fields.Date()
    end_date = fields.Date(allow_none=True)
    reason = fields.String(allow_none=True)
    active = fields.Boolean()
    grounds = fields.List(fields.Integer())


class ComplianceOut(Schema):
    complied_date = fields.Date()
    note = fields.String()


class OrderOut(Schema):
    id = fields.Integer()
    household_id = fields.Integer()
    ground = fields.String()
    clause = fields.String()
    record_id = fields.Integer(allow_none=True)
    issued_date = fields.Date()
    deadline = fields.Date()
    requirement = fields.String()
    status = fields.String()
    compliance = fields.Nested(ComplianceOut, allow_none=True)
    procedure_id = fields.Integer(allow_none=True)


class StepOut(Schema):
    step = fields.String()
    step_date = fields.Date()
    reason = fields.String(allow_none=True)


class GroundOut(Schema):
    route = fields.String()
    attached_date = fields.Date()
    record_id = fields.Integer(allow_none=True)
    order_id = fields.Integer(allow_none=True)
    basis = fields.String()


class ProcedureOut(Schema):
    id = fields.Integer()
    household_id = fields.Integer()
    route = fields.String()
    state = fields.String()
    opened_date = fields.Date()
    record_id = fields.Integer(allow_none=True)
    order_id = fields.Integer(allow_none=True)
    evidence_id = fields.Integer(allow_none=True)
    basis = fields.String()
    next_step = fields.String(allow_none=True)
    next_date = fields.Date(allow_none=True)
    window_end = fields.Date(allow_none=True)
    response_due = fields.Date()
    listed_date = fields.Date(allow_none=True)
    listed_through = fields.Date(allow_none=True)
    steps = fields.List(fields.Nested(StepOut))
    grounds = fields.List(fields.Nested(GroundOut))  # grounds attached while it was open (SPEC §7)
    calendar_warning = fields.String(allow_none=True)


class MeasureBasisOut(Schema):
    kind = fields.String(metadata={"description": "tier | watch | listing | application_ban"})
    ref = fields.String(allow_none=True)
    clause = fields.String()
    since = fields.Date(allow_none=True)
    until = fields.Date(allow_none=True)
    suspended_by = fields.List(fields.String())


class MeasureOut(Schema):
    code = fields.String()
    title = fields.String()
    clause = fields.String()
    restricts = fields.List(fields.String())
    until = fields.Date(allow_none=True, metadata={"description": "last day as known today; null: while the tier lasts"})
    basis = fields.List(fields.String())
    bases = fields.List(fields.Nested(MeasureBasisOut))
    suspended = fields.Boolean()
    suspended_by = fields.List(fields.String(), metadata={"description": "the objections' references"})


class RestrictingMeasureOut(Schema):
    code = fields.String()
    title = fields.String()
    clause = fields.String()
    until = fields.Date(allow_none=True)


class MembershipWatchOut(Schema):
    start_date = fields.Date()
    until_date = fields.Date()
    last_day = fields.Date()


class CheckProcedureOut(Schema):
    id = fields.Integer(allow_none=True, metadata={"description": "null outside the caller's region"})
    route = fields.String()
    state = fields.String()
    opened_date = fields.Date()
    response_due = fields.Date(allow_none=True)
    publicity_start = fields.Date(allow_none=True)
    publicity_end = fields.Date(allow_none=True)
    listing_effective = fields.Date(allow_none=True)
    listed_through = fields.Date(allow_none=True)
    next_step = fields.String(allow_none=True)
    next_date = fields.Date(allow_none=True)
    clock_stopped = fields.Boolean()


class CheckListingOut(Schema):
    listed_date = fields.Date()
    listed_through = fields.Date()
    last_day = fields.Date()


class CheckBanOut(Schema):
    since = fields.Date()
    until = fields.Date()


class CreditCheckOut(Schema):
    check_id = fields.Integer()
    found = fields.Boolean(metadata={"description": "false: no archive — may proceed (the check is still logged)"})
    scope = fields.String(allow_none=True, metadata={
        "description": "full inside the caller's region; limited outside it (no score, archive, names, records)"})
    as_of = fields.Date()
    business = fields.String()
    business_label = fields.String()
    purpose = fields.String()
    id_number = fields.String(metadata={"description": "masked"})
    conclusion = fields.String(metadata={"description": "may_proceed | restricted"})
    restricted_by = fields.List(fields.Nested(RestrictingMeasureOut))
    household_id = fields.Integer(allow_none=True, metadata={"description": "null outside the caller's region"})
    archive_no = fields.String(allow_none=True, metadata={"description": "null outside the caller's region"})
    score = fields.Integer(allow_none=True, metadata={"description": "null outside the caller's region"})
    tier = fields.String(allow_none=True)
    tier_title = fields.String(allow_none=True)
    region_code = fields.String(allow_none=True, metadata={"description": "the issuing region"})
    region_name = fields.String(allow_none=True)
    watch = fields.Nested(MembershipWatchOut, allow_none=True)
    procedure = fields.Nested(CheckProcedureOut, allow_none=True)
    listing = fields.Nested(CheckListingOut, allow_none=True)
    application_ban = fields.Nested(CheckBanOut, allow_none=True)
    listed = fields.Boolean()
    measures = fields.List(fields.Nested(MeasureOut), metadata={"description": "in force and suspended"})
    measures_in_force = fields.List(fields.Nested(MeasureOut))
    measures_suspended = fields.List(fields.Nested(MeasureOut))
    suspended = fields.Boolean()


class DueSectionOut(Schema):
    total = fields.Integer(metadata={"description": "how many items the section has in all"})
    after = fields.String(allow_none=True, metadata={"description": "the cursor this page was asked after"})
    next = fields.String(allow_none=True, metadata={"description": "the next page's cursor (?<section>=…), "
                                                                   "null on the last page"})


class JobWarningOut(Schema):
    job = fields.String()
    kind = fields.String(metadata={"description": "never | missed | failures"})
    last_ok_date = fields.Date(allow_none=True)
    failed = fields.Integer()


class DueOut(Schema):
    as_of = fields.Date()
    page_size = fields.Integer()
    job_warnings = fields.List(fields.Nested(JobWarningOut))
    procedures = fields.List(fields.Dict())
    overdue_orders = fields.List(fields.Dict(), metadata={"description": "most overdue first"})
    orders_due_today = fields.List(fields.Dict())
    watch_ending = fields.List(fields.Dict())
    appeals = fields.List(fields.Dict(), metadata={
        "description": "open objections and repair applications, the earliest due first (so the overdue lead): "
                       "kind (objection | repair), id, household_id, due_date, overdue"})
    sections = fields.Dict(keys=fields.String(), values=fields.Nested(DueSectionOut),
                           metadata={"description": "per section: total, page shown, last page"})
