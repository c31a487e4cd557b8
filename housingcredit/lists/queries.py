"""Page queries of the lists: the watch list page, what is due, and the archive page's lists panel."""
from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from ..accounts import gate
from ..accounts.models import Role, User
from ..archives.models import Household, Member, Relation
from ..disclosure.masking import mask_name
from ..errors import InvalidInput
from ..extensions import db
from ..validation import load
from .check import status
from .common import ENDED, ROUTE_LABELS, STEP_LABELS, WATCH_REASON_LABELS, _readable, _today
from .engine import WatchPeriod as EngineEntry
from .models import OrderCompliance, Procedure, ProcedureGround, RectificationOrder, WatchEntry
from .orders import grounds, orders_for
from .procedures import procedure_view, procedures_for
from .schemas import MANUAL_ROUTES, DueQuery, WatchListQuery

# ---- the watch list page and what is due ---------------------------------------------------------------------

def _head_name():
    return (sa.select(Member.name).where(Member.household_id == Household.id, Member.relation == Relation.head)
            .limit(1).scalar_subquery())


def _scope(column, who: User, region: str | None = None):
    """The user's region, narrowed to `region` when given (which must lie inside it): the gate's scope."""
    return gate.scope(column, who, region)


def in_force_sql(today: date):
    """SQL for the engine's "entry in force on D" — `lists.engine.WatchPeriod.in_force`: from its start through its
    `until`, and before its `end`. The one definition is the engine's; this only lets the list page filter by
    index (tests/lists/test_engine_wiring.py holds the two to agree on boundary days)."""
    return sa.and_(WatchEntry.start_date <= today, WatchEntry.until_date >= today,
                   sa.or_(WatchEntry.end_date.is_(None), WatchEntry.end_date > today))


def _ended_page(ids, today: date, limit: int):
    """The newest `limit` ended entries among `ids`. Ended entries are the old ones, so walking the list's order
    from the newest would pass every entry in force first. Instead each way of having ended takes its newest rows
    by an index of its own, and the union gives the page: an end stored (partial index on the list's order where
    an end is stored), a term run out with no end stored yet (partial index on `until`), a start still to come."""
    newest = (WatchEntry.start_date.desc(), WatchEntry.id.desc())
    ways = (sa.and_(WatchEntry.end_date.is_not(None),
                    sa.or_(WatchEntry.end_date <= today, WatchEntry.until_date < today)),
            sa.and_(WatchEntry.end_date.is_(None), WatchEntry.until_date < today),
            WatchEntry.start_date > today)
    parts = []
    for n, way in enumerate(ways):
        rows = ids.add_columns(WatchEntry.start_date).where(way)
        if n == 1:  # planned on its own, not by walking the list's order (where these few rows are the oldest)
            run = rows.cte("term_run").prefix_with("MATERIALIZED", dialect="postgresql")
            parts.append(sa.select(run.c.id, run.c.start_date).order_by(run.c.start_date.desc(), run.c.id.desc())
                         .limit(limit).subquery())
        else:
            parts.append(rows.order_by(*newest).limit(limit).subquery())
    union = sa.union(*(sa.select(p.c.id, p.c.start_date) for p in parts)).subquery()
    return sa.select(union.c.id).order_by(union.c.start_date.desc(), union.c.id.desc()).limit(limit).subquery()


def watch_list(args: dict, who: User) -> dict:
    """The watch list of the user's region, filterable by region, status (active/ended) and end reason; newest
    first, a page at a time after the keyset cursor `after` ("start-date_id" of the last entry shown).

    The page's ids are chosen first (index on the list's order), then only those rows are joined to their
    archive number and head's name."""
    gate.require("lists.read", who)
    q = load(WatchListQuery(), args)
    today = _today()
    size = current_app.config.get("PAGE_SIZE", 50)
    active = in_force_sql(today)
    ids = sa.select(WatchEntry.id).where(*_scope(WatchEntry.region_code, who, q["region"]))
    if q["status"] == "active":
        ids = ids.where(active)
    elif q["status"] == "ended":
        ids = ids.where(~active)
    if q["reason"]:
        ids = ids.where(WatchEntry.reason == q["reason"])
    if q["after"]:
        day, _sep, last_id = q["after"].partition("_")
        try:
            ids = ids.where(sa.tuple_(WatchEntry.start_date, WatchEntry.id) < sa.tuple_(date.fromisoformat(day),
                                                                                      int(last_id)))
        except ValueError:
            raise InvalidInput(_l("Not a valid date."), field="after") from None
    elif q["page"] > 1:  # an old numbered link: still answered, but the pager hands out cursors
        ids = ids.offset((q["page"] - 1) * size)
    newest = (WatchEntry.start_date.desc(), WatchEntry.id.desc())
    if q["status"] == "ended" and not q["reason"] and not (q["page"] > 1 and not q["after"]):
        # (an end reason is stored with the end: filtered by reason, the reason's index walks ended rows only)
        chosen = _ended_page(ids, today, size + 1)
    else:
        chosen = ids.order_by(*newest).limit(size + 1).subquery()
    rows = db.session.execute(
        sa.select(WatchEntry, Household.archive_no, _head_name().label("head"))
        .join(chosen, chosen.c.id == WatchEntry.id)
        .join(Household, Household.id == WatchEntry.household_id)
        .order_by(*newest)).all()
    items = []
    for e, archive_no, head in rows[:size]:
        on = EngineEntry(start=e.start_date, until=e.until_date, end=e.end_date).in_force(today)
        items.append({"id": e.id, "household_id": e.household_id, "archive_no": archive_no,
                      "head": mask_name(head), "region_code": e.region_code, "start_date": e.start_date,
                      "until_date": e.until_date, "end_date": e.end_date or (None if on else e.until_date
                                                                             + timedelta(days=1)),
                      "reason": e.reason or (None if on else "expired"), "active": on, "grounds": e.grounds})
    last = items[-1] if items else None
    following = f"{last['start_date'].isoformat()}_{last['id']}" if last and len(rows) > size else None
    return {"items": items, "page": q["page"], "has_more": following is not None, "next": following,
            "filters": q}


def _cursor_values(cursor: str, dated: bool):
    """A section's keyset cursor: "id" or "YYYY-MM-DD_id" (the last row shown); a clear 422 otherwise."""
    try:
        if not dated:
            return (int(cursor),)
        day, _sep, last_id = cursor.partition("_")
        return date.fromisoformat(day), int(last_id)
    except ValueError:
        raise InvalidInput(_l("Not a valid cursor."), field="after") from None


def _page_ids(ids, order, cursor: str | None, size: int) -> sa.Subquery:
    """The ids of one due-page section's page after the keyset `cursor` (the last row shown; `order` is the
    section's order, ascending, ending in the id) — one more than a page, to tell whether rows follow — as a
    subquery the details are joined to. `ids` selects the section's rows (its filters only, no names joined)."""
    if cursor:
        values = _cursor_values(cursor, len(order) == 2)
        ids = ids.where(sa.tuple_(*order) > sa.tuple_(*values) if len(order) == 2 else order[0] > values[0])
    return ids.order_by(*order).limit(size + 1).subquery()


def due(who: User, today: date | None = None, args: dict | None = None) -> dict:
    """What is due in the user's region: overdue orders (most overdue first), orders due today, procedure windows
    ending today, watch periods ending in the next 7 days — every section with its total and paged on its own by a
    keyset cursor (`args`: "<section>=<cursor of the last row shown>"; `sections[name].next` is the following
    page's), so nothing is cut off unsaid — the daily jobs that missed a day (`job_warnings`), and the open
    objections and repair applications (`appeals`, page and API alike).

    Each section counts and pages over its own table (indexes on deadline, window end, period end), then joins
    archive numbers to the page's rows only. The four totals are one statement; each page one more; rows are
    read as plain columns (no entities to build for a page that only shows them)."""
    from .. import jobs
    gate.require("lists.read", who)
    q = load(DueQuery(), args or {})
    today = today or _today()
    size = current_app.config.get("PAGE_SIZE", 50)
    out: dict = {"as_of": today, "page_size": size, "sections": {}, "job_warnings": jobs.job_warnings(today)}

    def with_procedure(stmt):  # the procedure an order opened, or the one it is attached to as a ground (SPEC §7)
        return (stmt.outerjoin(Procedure, Procedure.order_id == RectificationOrder.id)
                .outerjoin(ProcedureGround, ProcedureGround.order_id == RectificationOrder.id))

    # open: not complied with, and no procedure opened by it or holding it as a ground — or one for less than
    # 7 days. Each asked per order by a scalar subquery (the unique index on order_id; at most one row, NULL when
    # none) for just the rows the deadline's index gives: an outer join, or EXISTS, with every procedure made the
    # planner read and hash all of them to count a few hundred orders.
    recent = today - timedelta(days=7)
    opened = (sa.select(Procedure.opened_date).where(Procedure.order_id == RectificationOrder.id)
              .scalar_subquery())
    attached = (sa.select(ProcedureGround.attached_date).where(ProcedureGround.order_id == RectificationOrder.id)
                .scalar_subquery())
    open_order = sa.and_(~sa.exists().where(OrderCompliance.order_id == RectificationOrder.id),
                         sa.or_(sa.and_(opened.is_(None), attached.is_(None)), opened >= recent, attached >= recent),
                         *_scope(RectificationOrder.region_code, who))
    order_ids = sa.select(RectificationOrder.id).where(open_order)
    order_cols = with_procedure(sa.select(
        RectificationOrder.id, RectificationOrder.household_id, Household.archive_no, RectificationOrder.deadline,
        RectificationOrder.ground, sa.func.coalesce(Procedure.id, ProcedureGround.procedure_id).label("pid")))
    sections = {  # name: (table, ids of its rows, order, columns shown, cursor of a row)
        "overdue_orders": (RectificationOrder, order_ids.where(RectificationOrder.deadline < today),
                           (RectificationOrder.deadline, RectificationOrder.id), order_cols,
                           lambda r: f"{r.deadline.isoformat()}_{r.id}"),
        "orders_due_today": (RectificationOrder, order_ids.where(RectificationOrder.deadline == today),
                             (RectificationOrder.id,), order_cols, lambda r: str(r.id)),
        "procedures": (Procedure, sa.select(Procedure.id).where(Procedure.window_end == today,
                                                                Procedure.state != ENDED,
                                                                *_scope(Procedure.region_code, who)),
                       (Procedure.id,), sa.select(Procedure.id, Procedure.household_id, Household.archive_no,
                                                  Procedure.state, Procedure.window_end, Procedure.next_date),
                       lambda r: str(r.id)),
        "watch_ending": (WatchEntry, sa.select(WatchEntry.id).where(
                             WatchEntry.end_date.is_(None),
                             WatchEntry.until_date.between(today, today + timedelta(days=7)),
                             *_scope(WatchEntry.region_code, who)),
                         (WatchEntry.until_date, WatchEntry.id),
                         sa.select(WatchEntry.id, WatchEntry.household_id, Household.archive_no,
                                   WatchEntry.start_date, WatchEntry.until_date),
                         lambda r: f"{r.until_date.isoformat()}_{r.id}"),
    }
    totals = db.session.execute(sa.select(*(
        sa.select(sa.func.count()).select_from(ids.order_by(None).subquery()).scalar_subquery().label(name)
        for name, (_m, ids, _o, _c, _k) in sections.items()))).one()._mapping
    pages = {}
    for name, (model, ids, order, columns, key) in sections.items():
        chosen = _page_ids(ids, order, q[name], size)
        rows = db.session.execute(columns.join(chosen, chosen.c.id == model.id)
                                  .join(Household, Household.id == model.household_id).order_by(*order)).all()
        out["sections"][name] = {"total": totals[name], "after": q[name],
                                 "next": key(rows[size - 1]) if len(rows) > size else None}
        pages[name] = rows[:size]
    out.update({
        "procedures": [{"id": p.id, "household_id": p.household_id, "archive_no": p.archive_no, "state": p.state,
                        "state_label": str(STEP_LABELS[p.state]), "window_end": p.window_end.isoformat(),
                        "next_date": p.next_date.isoformat() if p.next_date else None}
                       for p in pages["procedures"]],
        "overdue_orders": [{"id": o.id, "household_id": o.household_id, "archive_no": o.archive_no,
                            "deadline": o.deadline.isoformat(), "ground": o.ground, "procedure_id": o.pid}
                           for o in pages["overdue_orders"]],
        "orders_due_today": [{"id": o.id, "household_id": o.household_id, "archive_no": o.archive_no,
                              "deadline": o.deadline.isoformat(), "ground": o.ground, "procedure_id": o.pid}
                             for o in pages["orders_due_today"]],
        "watch_ending": [{"id": e.id, "household_id": e.household_id, "archive_no": e.archive_no,
                          "start_date": e.start_date.isoformat(), "until_date": e.until_date.isoformat()}
                         for e in pages["watch_ending"]],
    })
    out["appeals"] = _open_appeals(who, today)
    return out


def _open_appeals(who: User, today: date) -> list[dict]:
    """Open objections and repair applications with their next deadline, the overdue (earliest due) first."""
    from ..appeals import repairs, service as appeals
    rows = [{"kind": "objection", "id": o.id, "household_id": o.household_id, "due_date": o.due_date}
            for o in appeals.open_objections(who)]
    rows += [{"kind": "repair", "id": a.id, "household_id": a.household_id, "due_date": repairs.due_of(a)}
             for a in repairs.open_repairs(who)]
    rows.sort(key=lambda r: (r["due_date"] or date.max, r["kind"], r["id"]))
    return [dict(r, due_date=r["due_date"].isoformat() if r["due_date"] else None,
                 overdue=bool(r["due_date"] and r["due_date"] < today)) for r in rows]


def panel(household: Household, who: User, records=None) -> dict:
    """What the archive page shows of the lists: status, watch history, orders, procedures (read-only); a staff
    read is logged as "lists.read" (the page's one entry: its orders and procedures add none). `records`: the
    household's record facts when the page has read them already (`scoring.facts_for`)."""
    from .check import measures_of
    gate.log_read("lists.read", _readable(household.id, who), who)
    today = _today()
    entries = db.session.scalars(sa.select(WatchEntry).where(WatchEntry.household_id == household.id)
                                 .order_by(WatchEntry.start_date.desc())).all()
    return {"status": status(household, today, measures_of(household.id, today, records=records)),
            "today": today, "watch_entries": entries,
            "orders": orders_for(household.id, who),
            "procedures": [procedure_view(p) for p in procedures_for(household.id, who)],
            "grounds": grounds(), "routes": MANUAL_ROUTES, "route_labels": ROUTE_LABELS,
            "watch_reason_labels": WATCH_REASON_LABELS, "can_write": gate.can("lists.write", who)
            and who.role != Role.household}
