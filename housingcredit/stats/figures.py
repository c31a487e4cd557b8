"""Statistics (统计) for supervisors (the province) and caseworkers (their region), from the same stored state as
every other page: households by tier and region (the credit cache), behaviours by code and month (confirmed,
unrevoked records by their formed date), watch entries and procedures opened/ended per month, objections and
repair applications with their outcome and the share answered on time, late entries per office, credit checks per
business — each a table the page draws as bars with the numbers beside them, and the .xlsx export writes.

Every query is an aggregate in the database (GROUP BY), limited by the gate's region clause; dated figures are
grouped by day there and folded into months here (the same SQL on SQLite and PostgreSQL). Only objections and
repairs are read row by row — their outcome and due dates come from the appeals services' one reading of the facts.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from marshmallow import EXCLUDE, Schema, fields, validate, validates_schema
from marshmallow import ValidationError as MarshmallowValidationError
from sqlalchemy.orm import selectinload

from ..accounts import gate, regions
from ..archives.models import Household
from ..clock import SHANGHAI, get_clock
from ..extensions import db
from ..validation import load

MAX_DAYS = 366 * 5  # the longest range one page groups (five years)


class StatsQuery(Schema):
    """The date range (both days included; default: the twelve months up to today) and a region inside the user's."""

    start = fields.Date(load_default=None, data_key="from")
    end = fields.Date(load_default=None, data_key="to")
    region = fields.String(load_default=None, validate=validate.Regexp(r"^\d{6}$"))

    class Meta:
        unknown = EXCLUDE

    @validates_schema
    def _range(self, data, **_kw):
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            raise MarshmallowValidationError(str(_l("The start of the range lies after its end.")), "from")
        if start and end and (end - start).days > MAX_DAYS:
            raise MarshmallowValidationError(str(_l("The range may span at most five years.")), "to")


def _month(d: date) -> str:
    return f"{d.year:04d}-{d.month:02d}"


def _months(start: date, end: date) -> list[str]:
    out, y, m = [], start.year, start.month
    while (y, m) <= (end.year, end.month):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _group_level(scope_code: str):
    """How a region's figures are split: a province by prefecture, a prefecture (or county) by county."""
    region = regions.get(scope_code)
    if region is not None and region.level == "province":
        return lambda code: code[:4] + "00"
    return lambda code: code


def _instants(start: date, end: date) -> tuple[datetime, datetime]:
    """The range's days (Beijing time, as the legal dates are) as instants: [start 00:00, the day after end)."""
    return (datetime.combine(start, time.min, tzinfo=SHANGHAI),
            datetime.combine(end + timedelta(days=1), time.min, tzinfo=SHANGHAI))


def _region_name(code: str) -> str:
    region = regions.get(code)
    return region.name if region else code


def _table(key: str, title, columns: list, rows: list[list], total_index: int | None = None) -> dict:
    """A table with a bar per row: its width (0–100) in proportion to the row's total (column `total_index`,
    default the last) against the largest."""
    idx = len(columns) - 1 if total_index is None else total_index
    top = max((r[idx] for r in rows if isinstance(r[idx], (int, float))), default=0) or 1
    return {"key": key, "title": title, "columns": columns,
            "rows": [{"cells": r, "total": r[idx], "bar": round(100 * (r[idx] or 0) / top, 1)} for r in rows]}


def figures(args: dict, who) -> dict:
    """Every figure of the statistics page for `who`'s region (narrowed to `args["region"]`) over the range."""
    gate.require("stats.read", who)
    q = load(StatsQuery(), args)
    today = get_clock().today()
    end = q["end"] or today
    start = q["start"] or (end.replace(day=1) - timedelta(days=335)).replace(day=1)
    if (end - start).days > MAX_DAYS:
        from ..errors import InvalidInput
        raise InvalidInput(_l("The range may span at most five years."), field="from")
    scope_code = q["region"] or who.region_code
    group = _group_level(scope_code)
    months = _months(start, end)

    def in_scope(column):
        return gate.scope(column, who, q["region"])

    tables = [_households(in_scope, group), _behaviours(in_scope, start, end, months),
              _list_entries(in_scope, start, end, months, today), _appeals(in_scope, start, end, today),
              _late(in_scope, start, end), _checks(in_scope, start, end)]
    return {"from": start, "to": end, "region": scope_code, "region_name": regions.full_name(scope_code),
            "months": months, "tables": tables}


# ---- the figures -------------------------------------------------------------------------------------------------

def _households(in_scope, group) -> dict:
    """The credit cache's tiers. Most households have no record in force: the count reads every household's region
    only (index-only on the households' region), counts the households in another tier than the one for no records
    from the cache alone (its region is kept beside the tier: index-only on (tier, region)), and gives the rest
    that tier — as it does a household with no cache row yet (no record determined: determining one writes its
    row)."""
    from ..i18n import title_of
    from ..scoring.engine import compute_credit
    from ..scoring.models import CreditState
    from ..scoring.service import rules_book
    today = get_clock().today()
    book = rules_book()
    tiers = book.version_at(today).tiers
    no_records = compute_credit([], book, today).tier
    others = [t for t in tiers if t != no_records]
    counts: dict[str, dict] = defaultdict(lambda: defaultdict(int))
    for code, n in db.session.execute(sa.select(Household.region_code, sa.func.count())
                                      .where(*in_scope(Household.region_code))
                                      .group_by(Household.region_code)).all():
        counts[group(code)][no_records] += n
    if others:
        for code, tier, n in db.session.execute(
                sa.select(CreditState.region_code, CreditState.tier, sa.func.count())
                .where(CreditState.tier.in_(others), *in_scope(CreditState.region_code))
                .group_by(CreditState.region_code, CreditState.tier)).all():
            counts[group(code)][tier] += n
            counts[group(code)][no_records] -= n
    body = [[_region_name(code)] + [counts[code][t] for t in tiers] + [sum(counts[code].values())]
            for code in sorted(counts)]
    return _table("households", _l("Households by tier and region"),
                  [_l("Region")] + [title_of(tiers[t]) for t in tiers] + [_l("Total")], body)


def _behaviours(in_scope, start, end, months) -> dict:
    """Confirmed, unrevoked records by code and formed day: the records' stored state (`confirmed_unrevoked`,
    written with the determination and the revocation, checked by `flask credit verify`), read from its partial
    index (region, formed date, code) alone."""
    from ..records.models import Record
    rows = db.session.execute(
        sa.select(Record.code, Record.formed_date, sa.func.count())
        .where(Record.confirmed_unrevoked, *in_scope(Record.region_code), Record.formed_date.between(start, end))
        .group_by(Record.code, Record.formed_date)).all()
    counts: dict[str, dict] = defaultdict(lambda: defaultdict(int))
    for code, day, n in rows:
        counts[code][_month(day)] += n
    body = [[code] + [counts[code][m] for m in months] + [sum(counts[code].values())] for code in sorted(counts)]
    return _table("behaviours", _l("Behaviours by code and month (confirmed records, by formed date)"),
                  [_l("Code")] + months + [_l("Total")], body)


def _by_month(stmt, shift: int = 0) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for day, n in db.session.execute(stmt).all():
        out[_month(day + timedelta(days=shift))] += n
    return out


def _list_entries(in_scope, start, end, months, today) -> dict:
    from ..lists.common import ENDED
    from ..lists.models import Procedure, ProcedureStep, WatchEntry
    scope_w = in_scope(WatchEntry.region_code)
    opened = _by_month(sa.select(WatchEntry.start_date, sa.func.count())
                       .where(WatchEntry.start_date.between(start, end), *scope_w).group_by(WatchEntry.start_date))
    ended = _by_month(sa.select(WatchEntry.end_date, sa.func.count())
                      .where(WatchEntry.end_date.between(start, end), *scope_w).group_by(WatchEntry.end_date))
    # an entry that ran its term ends the day after its `until` (the watch engine's reading; no end_date stored)
    last = min(end, today) - timedelta(days=1)
    expired = _by_month(sa.select(WatchEntry.until_date, sa.func.count())
                        .where(WatchEntry.end_date.is_(None),
                               WatchEntry.until_date.between(start - timedelta(days=1), last), *scope_w)
                        .group_by(WatchEntry.until_date), shift=1)
    scope_p = in_scope(Procedure.region_code)
    p_opened = _by_month(sa.select(Procedure.opened_date, sa.func.count())
                         .where(Procedure.opened_date.between(start, end), *scope_p)
                         .group_by(Procedure.opened_date))
    p_ended = _by_month(sa.select(ProcedureStep.step_date, sa.func.count())
                        .join(Procedure, Procedure.id == ProcedureStep.procedure_id)
                        .where(ProcedureStep.step == ENDED, ProcedureStep.step_date.between(start, end), *scope_p)
                        .group_by(ProcedureStep.step_date))
    body = [[m, opened[m], ended[m] + expired[m], p_opened[m], p_ended[m],
             opened[m] + ended[m] + expired[m] + p_opened[m] + p_ended[m]] for m in months]
    return _table("list_entries", _l("List entries opened and ended per month"),
                  [_l("Month"), _l("Watch entries opened"), _l("Watch entries ended"), _l("Procedures opened"),
                   _l("Procedures ended"), _l("Total")], body)


def _appeals(in_scope, start, end, today) -> dict:
    from ..appeals import repairs as repair_service, service as objection_service
    from ..appeals.models import Objection, ObjectionProposal, RepairApplication, RepairProposal
    objections = db.session.scalars(
        sa.select(Objection).where(Objection.filed_date.between(start, end), *in_scope(Objection.region_code))
        .options(selectinload(Objection.proposals).selectinload(ObjectionProposal.review))).all()
    rows = []

    def row(label, items):
        filed = decided = upheld = rejected = on_time = late_open = 0
        for outcome, decided_on, due in items:
            filed += 1
            if outcome:
                decided += 1
                upheld += outcome in ("upheld", "granted")
                rejected += outcome in ("rejected", "refused")
                on_time += due is None or decided_on <= due
            elif due is not None and due < today:
                late_open += 1
        share = round(100 * on_time / decided, 1) if decided else None
        rows.append([label, filed, decided, upheld, rejected, filed - decided, late_open, on_time,
                     f"{share} %" if share is not None else "—"])

    row(_l("Objections"), [(o, d, ob.due_date) for ob in objections
                           for o, d, _p in [objection_service.decision_of(ob)]])
    applications = db.session.scalars(
        sa.select(RepairApplication)
        .where(RepairApplication.filed_date.between(start, end), *in_scope(RepairApplication.region_code))
        .options(selectinload(RepairApplication.steps),
                 selectinload(RepairApplication.proposals).selectinload(RepairProposal.review))).all()
    views = [repair_service.view_of(a) for a in applications]
    row(_l("Credit repair applications"),
        [(v.outcome, v.decided, v.decision_due or v.acceptance_due) for v in views])
    return _table("appeals", _l("Objections and repair applications: outcome and answers on time"),
                  [_l("Kind"), _l("Filed"), _l("Decided"), _l("Upheld / granted"), _l("Rejected / refused"),
                   _l("Open"), _l("Open past due"), _l("Answered on time"), _l("Share on time")], rows,
                  total_index=1)


def _late(in_scope, start, end) -> dict:
    from ..records.models import Record
    lo, hi = _instants(start, end)
    rows = db.session.execute(
        sa.select(Record.region_code, sa.func.count())
        .where(Record.late, Record.recorded_dt >= lo, Record.recorded_dt < hi, *in_scope(Record.region_code))
        .group_by(Record.region_code).order_by(Record.region_code)).all()
    return _table("late", _l("Late entries per office"), [_l("Office"), _l("Late entries")],
                  [[regions.district_name(code), n] for code, n in rows])


def _checks(in_scope, start, end) -> dict:
    from ..lists.common import BUSINESS_LABELS
    from ..lists.models import CreditCheck
    lo, hi = _instants(start, end)
    rows = db.session.execute(
        sa.select(CreditCheck.business, sa.func.count(),
                  sa.func.count().filter(CreditCheck.found),
                  sa.func.count().filter(CreditCheck.conclusion == "restricted"))
        .where(CreditCheck.dt >= lo, CreditCheck.dt < hi, *in_scope(CreditCheck.caller_region_code))
        .group_by(CreditCheck.business).order_by(CreditCheck.business)).all()
    return _table("checks", _l("Credit checks per business (by the checking office)"),
                  [_l("Business"), _l("Found"), _l("Restricted"), _l("Checks")],
                  [[BUSINESS_LABELS.get(b, b), found, restricted, n] for b, n, found, restricted in rows])


# ---- export --------------------------------------------------------------------------------------------------

def workbook(data: dict) -> bytes:
    """The figures as an .xlsx workbook: a sheet per table, the range and region on each."""
    import io
    from openpyxl import Workbook
    from openpyxl.styles import Font
    wb = Workbook()
    wb.remove(wb.active)
    for t in data["tables"]:
        ws = wb.create_sheet(t["key"])
        ws.append([str(t["title"])])
        ws["A1"].font = Font(bold=True)
        ws.append([str(_l("Region")), data["region_name"], str(_l("From")), data["from"].isoformat(),
                   str(_l("To")), data["to"].isoformat()])
        ws.append([str(c) for c in t["columns"]])
        for r in t["rows"]:
            ws.append([str(c) if not isinstance(c, (int, float)) else c for c in r["cells"]])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
