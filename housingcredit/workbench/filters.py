"""One filter / sort / page / export mechanism for every list: a list is a `ListSpec` (its rows as one SELECT of
labelled columns, its region column, its filters, its indexed orders, its columns with their masking), and the
functions below do the rest the same way for all of them.

- filters: region (a tree of the codes under the user's region, from config/regions), a choice (tier, status,
  behaviour, reason…), a date range, the operator (a staff member of the user's region); bad input → 422 naming
  the field, a region outside the user's → 403 (the gate's `scope`);
- totals: the count of what is filtered;
- paging: keyset, after the sort keys of the last row shown (an opaque cursor), never OFFSET;
- sorting: only the orders a spec lists, each one an index of its table;
- export: the same query, streamed in batches into an openpyxl write-only workbook (exports.py).
"""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Callable

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from ..accounts import gate, regions
from ..accounts.models import User
from ..clock import get_clock
from ..errors import InvalidInput
from ..extensions import db

# ---- the declarative parts ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One column of a list: `key` names a labelled column of the spec's SELECT; `show` turns the value into what
    pages and exports print; `mask` (value, row) → the masked value, applied on pages and in every export that was
    not approved unmasked (SPEC §11); `link` (row) → (endpoint, kwargs) for the page."""

    key: str
    label: Any
    show: Callable[[Any], Any] | None = None
    mask: Callable[[Any, Any], Any] | None = None
    link: Callable[[Any], tuple[str, dict]] | None = None


@dataclass(frozen=True)
class Filter:
    """One filter: `kind` is "region", "choice", "dates" or "operator". A choice offers `options()` (code → label)
    and filters `column == code`, or `clause(code)` when given; dates filter `column` from `name_from` through
    `name_to` (calendar days, Asia/Shanghai for timestamps); operator filters `column == user id`."""

    name: str
    label: Any
    kind: str
    column: Any = None
    options: Callable[[], dict] | None = None
    clause: Callable[[str], Any] | None = None


@dataclass(frozen=True)
class Sort:
    """An order of the list, served by an index on exactly these keys (the id last, to make it total)."""

    name: str
    label: Any
    keys: tuple
    descending: bool = True


@dataclass(frozen=True)
class ListSpec:
    name: str
    title: Any
    permission: str
    select: Callable[[], sa.Select]
    region_column: Any
    columns: tuple[Column, ...]
    sorts: tuple[Sort, ...]
    filters: tuple[Filter, ...] = ()
    scope: Callable[[User, str | None], list] | None = None  # default: the gate's scope on region_column
    page_endpoint: str | None = None  # the list's own page, linked from the workbench list


# ---- parsing a request's filters -----------------------------------------------------------------------------

def _day(raw: str, name: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(_l("Not a valid date."), field=name) from None


def operators(who: User) -> dict[str, str]:
    """The staff of the user's region (the operator filter's choices): id → display name."""
    rows = db.session.execute(sa.select(User.id, User.display_name, User.username)
                              .where(User.role.in_(list(gate.STAFF)), gate.region_clause(User.region_code, who))
                              .order_by(User.display_name, User.id)).all()
    return {str(i): f"{name} ({login})" for i, name, login in rows}


def parse(spec: ListSpec, args, who: User) -> dict:
    """The request's filters, checked: a dict of the non-empty ones as strings (what a URL or an export request
    carries), plus `sort` (a name of the spec's sorts) and `after` (a cursor)."""
    get = (lambda k: (args.get(k) or "").strip())
    q: dict = {}
    for f in spec.filters:
        if f.kind == "dates":
            lo, hi = get(f.name + "_from"), get(f.name + "_to")
            if lo:
                q[f.name + "_from"] = _day(lo, f.name + "_from").isoformat()
            if hi:
                q[f.name + "_to"] = _day(hi, f.name + "_to").isoformat()
            if lo and hi and q[f.name + "_from"] > q[f.name + "_to"]:
                raise InvalidInput(_l("The end date is before the start date."), field=f.name + "_to")
            continue
        value = get(f.name)
        if not value:
            continue
        if f.kind == "region":
            gate.scope(spec.region_column, who, value)  # 422 unknown, 403 outside the user's region
        elif f.kind == "choice" and value not in f.options():
            raise InvalidInput(_l("Not a valid choice."), field=f.name)
        elif f.kind == "operator" and value not in operators(who):
            raise InvalidInput(_l("Not a valid choice."), field=f.name)
        q[f.name] = value
    sort = get("sort")
    if sort and sort not in {s.name for s in spec.sorts}:
        raise InvalidInput(_l("Not a valid choice."), field="sort")
    if sort and sort != spec.sorts[0].name:
        q["sort"] = sort
    return q


def _sort(spec: ListSpec, q: dict) -> Sort:
    wanted = q.get("sort") or spec.sorts[0].name
    return next(s for s in spec.sorts if s.name == wanted)


def _is_timestamp(column) -> bool:
    kind = column.type
    return isinstance(getattr(kind, "impl", kind), sa.DateTime)


def _local_midnight_utc(day: date) -> datetime:
    """The UTC instant at which `day` begins in Asia/Shanghai (legal days are local calendar days)."""
    from zoneinfo import ZoneInfo
    from datetime import timezone
    return datetime.combine(day, time.min, ZoneInfo("Asia/Shanghai")).astimezone(timezone.utc)


def filtered(spec: ListSpec, q: dict, who: User) -> sa.Select:
    """The spec's SELECT inside the user's region with the filters `q` applied (no order, no paging)."""
    stmt = spec.select()
    region = q.get("region")
    stmt = stmt.where(*(spec.scope(who, region) if spec.scope else gate.scope(spec.region_column, who, region)))
    for f in spec.filters:
        if f.kind == "dates":
            lo, hi = q.get(f.name + "_from"), q.get(f.name + "_to")
            if _is_timestamp(f.column):
                if lo:
                    stmt = stmt.where(f.column >= _local_midnight_utc(date.fromisoformat(lo)))
                if hi:
                    stmt = stmt.where(f.column < _local_midnight_utc(date.fromisoformat(hi) + timedelta(days=1)))
            else:
                if lo:
                    stmt = stmt.where(f.column >= date.fromisoformat(lo))
                if hi:
                    stmt = stmt.where(f.column <= date.fromisoformat(hi))
        elif f.kind in ("choice", "operator") and q.get(f.name):
            value = q[f.name]
            stmt = stmt.where(f.clause(value) if f.clause else
                              f.column == (int(value) if f.kind == "operator" else value))
    return stmt


# ---- keyset cursors ------------------------------------------------------------------------------------------

def _encode(values) -> str:
    out = []
    for v in values:
        if isinstance(v, datetime):
            out.append({"t": v.isoformat()})
        elif isinstance(v, date):
            out.append({"d": v.isoformat()})
        else:
            out.append(v)
    return base64.urlsafe_b64encode(json.dumps(out, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode(raw: str, n: int) -> list:
    try:
        values = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        if not isinstance(values, list) or len(values) != n:
            raise ValueError
        out = []
        for v in values:
            if isinstance(v, dict) and "t" in v:
                out.append(datetime.fromisoformat(v["t"]))
            elif isinstance(v, dict) and "d" in v:
                out.append(date.fromisoformat(v["d"]))
            elif isinstance(v, (int, str)) and not isinstance(v, bool):
                out.append(v)
            else:
                raise ValueError
        return out
    except (ValueError, TypeError, json.JSONDecodeError, UnicodeDecodeError):
        raise InvalidInput(_l("Not a valid page link."), field="after") from None


def ordered(spec: ListSpec, stmt: sa.Select, q: dict) -> tuple[sa.Select, Sort]:
    """`stmt` ordered by the chosen sort, with its keys selected as _k0, _k1… (for the next page's cursor)."""
    sort = _sort(spec, q)
    stmt = stmt.add_columns(*(k.label(f"_k{i}") for i, k in enumerate(sort.keys)))
    return stmt.order_by(*(k.desc() if sort.descending else k.asc() for k in sort.keys)), sort


# ---- a page ----------------------------------------------------------------------------------------------------

def page(spec: ListSpec, args, who: User) -> dict:
    """One page of the list as the user may see it: rows (shown and masked), the total of what is filtered, the
    cursor of the next page; the filters as parsed (for the links and the export)."""
    gate.require(spec.permission, who)
    q = parse(spec, args, who)
    size = current_app.config.get("PAGE_SIZE", 50)
    base = filtered(spec, q, who)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(base.order_by(None).subquery()))
    stmt, sort = ordered(spec, base, q)
    after = (args.get("after") or "").strip()
    if after:
        keys = _decode(after, len(sort.keys))
        compare = sa.tuple_(*sort.keys) < sa.tuple_(*keys) if sort.descending else \
            sa.tuple_(*sort.keys) > sa.tuple_(*keys)
        stmt = stmt.where(compare)
    rows = db.session.execute(stmt.limit(size + 1)).all()
    shown = rows[:size]
    following = None
    if len(rows) > size:
        last = shown[-1]._mapping
        following = _encode([last[f"_k{i}"] for i in range(len(sort.keys))])
    return {"spec": spec, "filters": q, "sort": sort.name, "total": total, "after": after or None,
            "next": following, "rows": [render_row(spec, r, masked=True) for r in shown],
            "page_size": size}


def cell(column: Column, row, masked: bool):
    value = row._mapping[column.key]
    if masked and column.mask is not None:
        value = column.mask(value, row)
    elif column.show is not None:
        value = column.show(value)
    return value


def render_row(spec: ListSpec, row, masked: bool) -> dict:
    cells = []
    for c in spec.columns:
        value = cell(c, row, masked)
        cells.append({"value": "" if value is None else value, "link": c.link(row) if c.link else None})
    return {"cells": cells}


def export_rows(spec: ListSpec, q: dict, who: User, masked: bool, batch: int = 5000):
    """Every filtered row, in the list's order, as a list of cell values (as `sheet_value` makes them); one query,
    fetched `batch` rows at a time (a server-side cursor on PostgreSQL), never the whole result in memory.

    Per cell only what must be: a column without `show` or `mask` is its value; a mask runs per row (it may read
    the row); a `show` runs once per distinct value (a label, a region's names, a day: the same few values on many
    rows), its result kept with its cell value already made."""
    gate.require(spec.permission, who)
    stmt, _sort = ordered(spec, filtered(spec, q, who), q)
    result = db.session.execute(stmt.execution_options(yield_per=batch))
    index = {key: i for i, key in enumerate(result.keys())}
    plan = []
    for c in spec.columns:
        mask = c.mask if masked and c.mask is not None else None
        show = None if mask else c.show
        plan.append((index[c.key], mask, show, {} if show is not None else None))
    plain = [i for i, mask, show, _memo in plan if mask is None and show is None]
    if len(plain) == len(plan):  # nothing to show or mask: the row's values as they are
        for row in result:
            yield [sheet_value(row[i]) for i in plain]
        return
    for n, row in enumerate(result):
        out = []
        for i, mask, show, memo in plan:
            value = row[i]
            if mask is not None:
                value = sheet_value(mask(value, row))
            elif memo is not None:
                try:
                    value = memo[value]
                except KeyError:
                    shown = memo[value] = sheet_value(show(value))
                    if len(memo) > 10_000:
                        memo.clear()
                    value = shown
                except TypeError:  # not hashable
                    value = sheet_value(show(value))
            elif show is not None:
                value = sheet_value(show(value))
            elif type(value) not in _SHEET_PLAIN:
                value = sheet_value(value)
            out.append(value)
        yield out
        if n == _MEMO_PROBE:  # a column of distinct values (a time, an id) gains nothing from its memo: drop it
            plan = [(i, mask, show, memo if memo is None or len(memo) < _MEMO_PROBE // 2 else None)
                    for i, mask, show, memo in plan]


_MEMO_PROBE = 1000
_SHEET_PLAIN = frozenset({str, int, float, bool, date, type(None)})


def sheet_value(value):
    """What a cell holds: text, numbers and dates as themselves; lazy strings and enums as text; times naive in
    Beijing time's wall clock as given (Excel has no time zones; the lists convert before this)."""
    if type(value) in _SHEET_PLAIN:
        return value
    if isinstance(value, datetime):
        return value.replace(tzinfo=None) if value.tzinfo is not None else value
    if isinstance(value, (int, float, str, date)):
        return value
    if hasattr(value, "isoformat"):  # a time
        return value
    return str(value)


def now_utc() -> datetime:
    return get_clock().now_utc()


def region_tree(who: User) -> list[dict]:
    """The region filter's options: the user's region and every code under it, in code order (the tree's order),
    each indented by its level."""
    depth = {"province": 0, "prefecture": 1, "county": 2}
    top = depth[regions.get(who.region_code).level]
    return [{"code": r.code, "name": r.name, "depth": depth[r.level] - top}
            for r in sorted(regions.choices(who.region_code), key=lambda r: r.code)]
