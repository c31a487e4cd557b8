"""The eight lists as specs (filters.ListSpec): what each selects, its filters, its indexed orders, its columns
and their masking (SPEC §11: names `张*丰`, ID numbers `420102********1234`, addresses to the district)."""
from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import g
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import aliased

from ..accounts import gate, regions
from ..accounts.models import User
from ..archives.forms import CATEGORY_LABELS, GROUP_LABELS
from ..archives.models import Household, Member, Relation
from ..audit.labels import ACTION_LABELS, action_label
from ..audit.models import AuditEntry
from ..disclosure.masking import mask_id_number, mask_name
from ..i18n import title_of
from ..lists.common import BUSINESS_LABELS, ROUTE_LABELS, STEP_LABELS, WATCH_REASON_LABELS, _today
from ..lists.models import CreditCheck, OrderCompliance, Procedure, RectificationOrder, WatchEntry
from ..lists.queries import in_force_sql
from ..records.models import Decision, Determination, Record, RecordRepair, Revocation
from ..rules.loader import HOUSEHOLD_TIERS
from ..scoring.models import CreditState
from .filters import Column, Filter, ListSpec, Sort

SHANGHAI = ZoneInfo("Asia/Shanghai")

# ---- shared pieces ---------------------------------------------------------------------------------------------

def _version():
    from ..records import service as records
    return records.version_today()


def tier_labels() -> dict:
    tiers = _version().tiers
    return {t: title_of(tiers[t]) if t in tiers else t for t in HOUSEHOLD_TIERS}


def behaviour_labels() -> dict:
    """Behaviour code → "code title" of the rules in force (cached for the request: a list shows many rows)."""
    cached = getattr(g, "_wb_behaviours", None) if g else None
    if cached is None:
        from ..records import service as records
        cached = {b.code: f"{b.code} {title_of(b)}" for b in records.catalogue()}
        g._wb_behaviours = cached
    return cached


def ground_labels() -> dict:
    from ..lists.orders import grounds
    return {r.code: f"{r.clause} {title_of(r)}" for r in grounds()}


def _label(table):
    return lambda v: str((table() if callable(table) else table).get(v, v)) if v is not None else ""


def _local_day(v):
    return v.astimezone(SHANGHAI).date() if isinstance(v, datetime) else v


def _local_time(v):
    return v.astimezone(SHANGHAI).replace(tzinfo=None, microsecond=0) if isinstance(v, datetime) else v


def _region(v):
    return regions.full_name(v) if v else ""


def _district(_value, row):
    """An address shown only to its district (SPEC §11): the region's names."""
    return _district_of(row.region_code)


@lru_cache(maxsize=4096)
def _district_of(code):
    return regions.district_name(code)  # the regions are configuration: the same names for a process's life


def _name(value, _row):
    return mask_name(value)


def _id_number(value, _row):
    return mask_id_number(value)


def _yes_no(v):
    return str(_l("yes")) if v else str(_l("no"))


def _head():
    return aliased(Member, name="head")


def _household_link(row):
    return "archives.show", {"household_id": row._mapping["household_id"]}


def _lists_link(row):
    return "lists.household", {"household_id": row._mapping["household_id"]}


REGION = Filter("region", _l("Region"), "region")

# the columns and orders several lists share, defined once (each list names them in its own order)
HEAD = Column("head", _l("Head"), mask=_name)
REGION_COLUMN = Column("region_code", _l("Region"), show=_region)
ARCHIVE = Column("archive_no", _l("Archive"), link=_household_link)  # linked to the archive
ARCHIVE_LISTS = Column("archive_no", _l("Archive"), link=_lists_link)  # linked to the household's lists page
TIME = Column("dt", _l("Time"), show=_local_time)


def _household_columns(archive: Column = ARCHIVE_LISTS) -> tuple[Column, ...]:
    """Archive number (linked), head (masked), region: how a row names its household."""
    return (archive, HEAD, REGION_COLUMN)


def _by_id(column) -> tuple[Sort, Sort]:
    """Newest first, oldest first: by the table's id (its primary key is the index)."""
    return (Sort("newest", _l("Newest first"), (column,)),
            Sort("oldest", _l("Oldest first"), (column,), descending=False))

# ---- archives ---------------------------------------------------------------------------------------------------


def _archives_select():
    head = _head()
    return (sa.select(Household.id.label("household_id"), Household.archive_no.label("archive_no"),
                      head.name.label("head"), head.id_number.label("id_number"),
                      Household.region_code.label("region_code"), Household.address.label("address"),
                      Household.protection_category.label("category"), Household.protection_group.label("group"),
                      CreditState.tier.label("tier"), CreditState.score.label("score"),
                      Household.created_dt.label("created_dt"))
            .outerjoin(head, sa.and_(head.household_id == Household.id, head.relation == Relation.head))
            .outerjoin(CreditState, CreditState.household_id == Household.id))


def _tier_clause(tier: str):
    if tier == "good":  # a household without a computed state has no record: good standing
        return sa.or_(CreditState.tier == "good", CreditState.tier.is_(None))
    return CreditState.tier == tier


ARCHIVES = ListSpec(
    name="archives", title=_l("Archives"), permission="archive.search", select=_archives_select,
    region_column=Household.region_code, page_endpoint="archives.search",
    filters=(REGION,
             Filter("tier", _l("Tier"), "choice", options=tier_labels, clause=_tier_clause),
             Filter("category", _l("Protection category"), "choice", Household.protection_category,
                    options=lambda: CATEGORY_LABELS),
             Filter("group", _l("Protection group"), "choice", Household.protection_group,
                    options=lambda: GROUP_LABELS),
             Filter("created", _l("Archive created"), "dates", Household.created_dt)),
    sorts=(Sort("newest", _l("Newest first"), (Household.id,)),
           Sort("archive_no", _l("By archive number"), (Household.archive_no,), descending=False)),
    columns=(ARCHIVE, HEAD,
             Column("id_number", _l("ID number"), mask=_id_number),
             REGION_COLUMN,
             Column("address", _l("Address"), mask=_district),
             Column("category", _l("Protection category"),
                    show=lambda v: str(CATEGORY_LABELS.get(getattr(v, "value", v), v))),
             Column("group", _l("Protection group"), show=_label(GROUP_LABELS)),
             Column("tier", _l("Tier"), show=lambda v: tier_labels().get(v or "good", v)),
             Column("score", _l("Score")),
             Column("created_dt", _l("Archive created"), show=_local_day)))

# ---- records and the review queue ------------------------------------------------------------------------------

RECORD_STATUS = {"pending": _l("Pending review"), "confirmed": _l("Confirmed"), "rejected": _l("Rejected"),
                 "revoked": _l("Revoked"), "repaired": _l("Repaired")}


def _status_sql():
    return sa.case((Revocation.id.isnot(None), "revoked"), (RecordRepair.id.isnot(None), "repaired"),
                   (Record.pending, "pending"), else_=sa.cast(Determination.decision, sa.String))


def _status_clause(status: str):
    no_rev, no_rep = Revocation.id.is_(None), RecordRepair.id.is_(None)
    return {"pending": sa.and_(Record.pending, no_rev),
            "confirmed": sa.and_(Determination.decision == Decision.confirmed, no_rev, no_rep),
            "rejected": sa.and_(Determination.decision == Decision.rejected, no_rev),
            "revoked": Revocation.id.isnot(None),
            "repaired": sa.and_(RecordRepair.id.isnot(None), no_rev)}[status]


def _records_select(pending_only: bool = False):
    head = _head()
    recorder = aliased(User, name="recorder")
    stmt = (sa.select(Record.id.label("record_id"), Record.household_id.label("household_id"),
                      Household.archive_no.label("archive_no"), head.name.label("head"),
                      Record.region_code.label("region_code"), Record.code.label("code"),
                      Record.occurred_date.label("occurred_date"), Record.recorded_dt.label("recorded_dt"),
                      recorder.display_name.label("recorder"), Record.late.label("late"),
                      *(() if pending_only else (_status_sql().label("status"),)))
            .join(Household, Household.id == Record.household_id)
            .outerjoin(head, sa.and_(head.household_id == Household.id, head.relation == Relation.head))
            .join(recorder, recorder.id == Record.recorded_by_id))
    if pending_only:
        return stmt.where(Record.pending)
    return (stmt.outerjoin(Determination, Determination.record_id == Record.id)
            .outerjoin(Revocation, Revocation.record_id == Record.id)
            .outerjoin(RecordRepair, RecordRepair.record_id == Record.id))


def _record_link(row):
    return "records.show", {"record_id": row._mapping["record_id"]}


def _waiting_days(value):
    from ..clock import get_clock
    return (get_clock().today() - _local_day(value)).days if value else ""


_RECORD_FILTERS = (REGION,
                   Filter("behaviour", _l("Behaviour"), "choice", Record.code, options=behaviour_labels),
                   Filter("operator", _l("Recorded by"), "operator", Record.recorded_by_id))

_RECORD_COLUMNS = (Column("record_id", _l("Record"), link=_record_link),
                   *_household_columns(ARCHIVE),
                   Column("code", _l("Behaviour"), show=_label(behaviour_labels)),
                   Column("occurred_date", _l("Occurred")),
                   Column("recorder", _l("Recorded by")),
                   Column("late", _l("Late entry"), show=_yes_no))

RECORDS = ListSpec(
    name="records", title=_l("Behaviour records"), permission="credit.read", select=_records_select,
    region_column=Record.region_code,
    filters=_RECORD_FILTERS + (
        Filter("status", _l("Status"), "choice", options=lambda: RECORD_STATUS, clause=_status_clause),
        Filter("late", _l("Late entry"), "choice", options=lambda: {"yes": _l("yes"), "no": _l("no")},
               clause=lambda v: Record.late if v == "yes" else ~Record.late),
        Filter("occurred", _l("Occurred"), "dates", Record.occurred_date)),
    sorts=_by_id(Record.id),
    columns=_RECORD_COLUMNS + (
        Column("recorded_dt", _l("Recorded on"), show=_local_day),
        Column("status", _l("Status"), show=_label(RECORD_STATUS))))

REVIEW = ListSpec(
    name="review", title=_l("Review queue"), permission="record.determine",
    select=lambda: _records_select(pending_only=True), region_column=Record.region_code,
    page_endpoint="records.review_queue",
    filters=_RECORD_FILTERS + (Filter("recorded", _l("Recorded on"), "dates", Record.recorded_dt),),
    sorts=(Sort("oldest", _l("Oldest first"), (Record.recorded_dt, Record.id), descending=False),
           Sort("newest", _l("Newest first"), (Record.recorded_dt, Record.id))),  # ix_records_pending_queue
    columns=_RECORD_COLUMNS + (
        Column("recorded_dt", _l("Waiting (days)"), show=_waiting_days),))

# ---- watch list, procedures, orders -----------------------------------------------------------------------------


def _with_household(stmt, household_id):
    head = _head()
    return (stmt.add_columns(Household.archive_no.label("archive_no"), head.name.label("head"))
            .join(Household, Household.id == household_id)
            .outerjoin(head, sa.and_(head.household_id == Household.id, head.relation == Relation.head)))


def _watch_select():
    return _with_household(sa.select(WatchEntry.id.label("entry_id"), WatchEntry.household_id.label("household_id"),
                                     WatchEntry.region_code.label("region_code"),
                                     WatchEntry.start_date.label("start_date"),
                                     WatchEntry.until_date.label("until_date"),
                                     WatchEntry.end_date.label("end_date"), WatchEntry.reason.label("reason")),
                           WatchEntry.household_id)


WATCH_STATUS = {"active": _l("On the list"), "ended": _l("Ended")}

WATCH = ListSpec(
    name="watch", title=_l("Watch list"), permission="lists.read", select=_watch_select,
    region_column=WatchEntry.region_code, page_endpoint="lists.watch_list",
    filters=(REGION,
             Filter("status", _l("Status"), "choice", options=lambda: WATCH_STATUS,
                    clause=lambda v: in_force_sql(_today()) if v == "active" else ~in_force_sql(_today())),
             Filter("reason", _l("Reason"), "choice", WatchEntry.reason, options=lambda: WATCH_REASON_LABELS),
             Filter("start", _l("Entry date"), "dates", WatchEntry.start_date)),
    sorts=(Sort("newest", _l("Newest first"), (WatchEntry.start_date, WatchEntry.id)),  # ix_watch_entries_list_order
           Sort("oldest", _l("Oldest first"), (WatchEntry.start_date, WatchEntry.id), descending=False)),
    columns=(*_household_columns(),
             Column("start_date", _l("Entry date")),
             Column("until_date", _l("Period end")),
             Column("end_date", _l("Ended")),
             Column("reason", _l("Reason"), show=_label(WATCH_REASON_LABELS))))


def _procedures_select():
    return _with_household(sa.select(Procedure.id.label("procedure_id"), Procedure.household_id.label("household_id"),
                                     Procedure.region_code.label("region_code"), Procedure.route.label("route"),
                                     Procedure.opened_date.label("opened_date"), Procedure.state.label("state"),
                                     Procedure.window_end.label("window_end"),
                                     Procedure.listed_date.label("listed_date")),
                           Procedure.household_id)


PROCEDURES = ListSpec(
    name="procedures", title=_l("Joint-punishment procedures"), permission="lists.read", select=_procedures_select,
    region_column=Procedure.region_code,
    filters=(REGION,
             Filter("state", _l("Step"), "choice", Procedure.state, options=lambda: STEP_LABELS),
             Filter("route", _l("Route"), "choice", Procedure.route, options=lambda: ROUTE_LABELS),
             Filter("opened", _l("Opened"), "dates", Procedure.opened_date)),
    sorts=_by_id(Procedure.id),
    columns=(Column("procedure_id", _l("Procedure")),
             *_household_columns(),
             Column("route", _l("Route"), show=_label(ROUTE_LABELS)),
             Column("opened_date", _l("Opened")),
             Column("state", _l("Step"), show=_label(STEP_LABELS)),
             Column("window_end", _l("Window ends")),
             Column("listed_date", _l("Listed"))))

ORDER_STATUS = {"open": _l("open"), "overdue": _l("overdue"), "complied": _l("complied")}


def _order_status_clause(status: str):
    complied = sa.exists().where(OrderCompliance.order_id == RectificationOrder.id)
    today = _today()
    return {"complied": complied, "open": sa.and_(~complied, RectificationOrder.deadline >= today),
            "overdue": sa.and_(~complied, RectificationOrder.deadline < today)}[status]


def _orders_select():
    return _with_household(
        sa.select(RectificationOrder.id.label("order_id"), RectificationOrder.household_id.label("household_id"),
                  RectificationOrder.region_code.label("region_code"), RectificationOrder.ground.label("ground"),
                  RectificationOrder.issued_date.label("issued_date"), RectificationOrder.deadline.label("deadline"),
                  OrderCompliance.complied_date.label("complied_date"))
        .outerjoin(OrderCompliance, OrderCompliance.order_id == RectificationOrder.id),
        RectificationOrder.household_id)


ORDERS = ListSpec(
    name="orders", title=_l("Rectification orders"), permission="lists.read", select=_orders_select,
    region_column=RectificationOrder.region_code,
    filters=(REGION,
             Filter("status", _l("Status"), "choice", options=lambda: ORDER_STATUS, clause=_order_status_clause),
             Filter("ground", _l("Ground"), "choice", RectificationOrder.ground, options=ground_labels),
             Filter("operator", _l("Issued by"), "operator", RectificationOrder.issued_by_id),
             Filter("issued", _l("Issued"), "dates", RectificationOrder.issued_date)),
    sorts=(Sort("deadline", _l("Deadline first"), (RectificationOrder.deadline, RectificationOrder.id),
                descending=False),  # ix_rectification_orders_deadline
           Sort("newest", _l("Newest first"), (RectificationOrder.id,))),
    columns=(Column("order_id", _l("Order")),
             *_household_columns(),
             Column("ground", _l("Ground"), show=_label(ground_labels)),
             Column("issued_date", _l("Issued")),
             Column("deadline", _l("Deadline")),
             Column("complied_date", _l("Complied"))))

# ---- the credit checks log and the audit trail -----------------------------------------------------------------

CONCLUSIONS = {"may_proceed": _l("may proceed"), "restricted": _l("restricted")}


def _checks_select():
    caller = aliased(User, name="caller")
    return (sa.select(CreditCheck.id.label("check_id"), CreditCheck.dt.label("dt"),
                      caller.display_name.label("caller"), CreditCheck.caller_region_code.label("region_code"),
                      CreditCheck.business.label("business"), CreditCheck.purpose.label("purpose"),
                      CreditCheck.id_number_masked.label("id_number"), CreditCheck.found.label("found"),
                      CreditCheck.tier.label("tier"), CreditCheck.conclusion.label("conclusion"),
                      CreditCheck.household_region_code.label("household_region"))
            .join(caller, caller.id == CreditCheck.user_id))


CHECKS = ListSpec(
    name="checks", title=_l("Credit checks log"), permission="lists.read", select=_checks_select,
    region_column=CreditCheck.caller_region_code, page_endpoint="lists.credit_check_page",
    filters=(REGION,
             Filter("business", _l("Business"), "choice", CreditCheck.business, options=lambda: BUSINESS_LABELS),
             Filter("conclusion", _l("Conclusion"), "choice", CreditCheck.conclusion, options=lambda: CONCLUSIONS),
             Filter("operator", _l("Checked by"), "operator", CreditCheck.user_id),
             Filter("checked", _l("Checked on"), "dates", CreditCheck.dt)),
    sorts=_by_id(CreditCheck.id),
    columns=(TIME,
             Column("caller", _l("Checked by")),
             Column("region_code", _l("Office region"), show=_region),
             Column("business", _l("Business"), show=_label(BUSINESS_LABELS)),
             Column("purpose", _l("Purpose")),
             Column("id_number", _l("ID number")),  # stored masked: the log keeps no raw ID number
             Column("found", _l("Archive found"), show=_yes_no),
             Column("tier", _l("Tier"), show=lambda v: tier_labels().get(v, v) if v else ""),
             Column("conclusion", _l("Conclusion"), show=_label(CONCLUSIONS)),
             Column("household_region", _l("Household region"), show=_region)))


def _audit_scope(who, region):
    """As the audit trail page: a province-level viewer sees every entry (those of no region too), a regional one
    its region's; a region filter narrows either through the gate."""
    if region:
        return gate.scope(AuditEntry.region_code, who, region)
    if regions.get(who.region_code).level == "province":
        return []
    return [gate.region_clause(AuditEntry.region_code, who)]


def _audit_select():
    return sa.select(AuditEntry.id.label("entry_id"), AuditEntry.dt.label("dt"),
                     AuditEntry.actor_label.label("actor"), AuditEntry.action.label("action"),
                     AuditEntry.object_type.label("object_type"), AuditEntry.object_id.label("object_id"),
                     AuditEntry.household_id.label("household_id"), AuditEntry.region_code.label("region_code"))


AUDIT = ListSpec(
    name="audit", title=_l("Audit trail"), permission="audit.read", select=_audit_select,
    region_column=AuditEntry.region_code, scope=_audit_scope, page_endpoint="audit.trail",
    filters=(REGION,
             Filter("action", _l("Action"), "choice", AuditEntry.action,
                    options=lambda: {k: v for k, v in ACTION_LABELS.items()}),
             Filter("operator", _l("Actor"), "operator", AuditEntry.actor_id),
             Filter("dt", _l("Date"), "dates", AuditEntry.dt)),
    sorts=_by_id(AuditEntry.id),
    columns=(Column("entry_id", _l("Entry")),
             TIME,
             Column("actor", _l("Actor")),
             Column("action", _l("Action"), show=lambda v: str(action_label(v))),
             Column("object_type", _l("Object")),
             Column("object_id", _l("Object id")),
             Column("household_id", _l("Household")),
             REGION_COLUMN))

SPECS: dict[str, ListSpec] = {s.name: s for s in (ARCHIVES, RECORDS, REVIEW, WATCH, PROCEDURES, ORDERS, CHECKS,
                                                   AUDIT)}
