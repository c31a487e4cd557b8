"""The to-do home page (待办): what waits for the signed-in staff member, by role, each with its count and the page
where it is done. The counts come from the queries the pages themselves use — the review queue
(records.service.review_queue), the caseworker's overview (records.service.overview), the due page
(lists.queries.due) — so the home page and the page behind each link always agree."""
from __future__ import annotations

import sqlalchemy as sa
from flask import url_for
from flask_babel import lazy_gettext as _l

from ..accounts import gate
from ..accounts.models import User
from ..clock import get_clock
from ..extensions import db
from ..records.models import Decision, Determination, Record, Revocation
from . import exports

SHOWN = 5  # rows shown under a to-do; its page has the rest


def _rejected_to_fix(who: User):
    """The user's rejected records not yet recorded again: no later record of the same household and behaviour
    (a rejected record is fixed by recording the behaviour anew with the missing facts or evidence)."""
    later = sa.orm.aliased(Record)
    stmt = (sa.select(Record, Determination.determination_date)
            .join(Determination, Determination.record_id == Record.id)
            .where(Record.recorded_by_id == who.id, Determination.decision == Decision.rejected,
                   ~sa.exists().where(Revocation.record_id == Record.id),
                   ~sa.exists().where(later.household_id == Record.household_id, later.code == Record.code,
                                      later.id > Record.id)))
    total = db.session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery()))
    rows = db.session.execute(stmt.order_by(Record.id.desc()).limit(SHOWN)).all()
    return total, rows


def _waiting_days(recorded_dt) -> int:
    from zoneinfo import ZoneInfo
    return (get_clock().today() - recorded_dt.astimezone(ZoneInfo("Asia/Shanghai")).date()).days


def todos(who: User) -> dict:
    """The to-dos of `who` (staff only): a list of {key, label, count, url, rows} in the order of the page, and
    the total of what needs an action."""
    from ..lists import service as lists
    from ..records import service as records
    if not gate.is_staff(who):
        from ..errors import Forbidden
        raise Forbidden()
    items: list[dict] = []

    def add(key, label, count, url, rows=(), hint=None):
        items.append({"key": key, "label": label, "count": count, "url": url, "rows": list(rows), "hint": hint})

    if gate.can("record.determine", who):
        queue = records.review_queue(who, limit=SHOWN)
        rows = [{"text": f"#{r.id} {r.code}", "url": url_for("records.show", record_id=r.id),
                 "detail": _l("waiting %(n)s days", n=_waiting_days(r.recorded_dt)),
                 "own": r.recorded_by_id == who.id} for r in queue["items"]]
        oldest = rows[0]["detail"] if rows else None
        add("review", _l("Records waiting for review"), queue["total"], url_for("records.review_queue"), rows,
            hint=_l("the oldest is %(w)s", w=oldest) if oldest else None)
    if gate.can("record.create", who):
        total, rejected = _rejected_to_fix(who)
        add("rejected", _l("My rejected records to fix"), total, url_for("workbench.list_page", name="records",
                                                                          status="rejected", operator=who.id),
            [{"text": f"#{r.id} {r.code}", "url": url_for("records.show", record_id=r.id),
              "detail": _l("rejected on %(d)s", d=d.isoformat())} for r, d in rejected])
        mine = records.overview(who, limit=SHOWN)
        add("late", _l("Late entries (LN 第九条)"), mine["region_late"], url_for("records.overview"),
            [{"text": f"#{r.id} {r.code}", "url": url_for("records.show", record_id=r.id),
              "detail": _l("recorded late by me")} for r in mine["late_records"]],
            hint=_l("%(n)s of them recorded by me", n=mine["late_entries"]))
    if gate.can("lists.read", who):
        due = lists.due(who)
        s = due["sections"]
        due_url = url_for("lists.due")
        add("procedures", _l("Procedure steps due today"), s["procedures"]["total"], due_url,
            [{"text": p["archive_no"], "url": url_for("lists.household", household_id=p["household_id"]),
              "detail": p["state_label"]} for p in due["procedures"][:SHOWN]])
        add("overdue_orders", _l("Rectification orders overdue"), s["overdue_orders"]["total"], due_url,
            [{"text": o["archive_no"], "url": url_for("lists.household", household_id=o["household_id"]),
              "detail": _l("deadline %(d)s", d=o["deadline"])} for o in due["overdue_orders"][:SHOWN]])
        add("orders_due_today", _l("Rectification orders due today"), s["orders_due_today"]["total"], due_url,
            [{"text": o["archive_no"], "url": url_for("lists.household", household_id=o["household_id"]),
              "detail": _l("deadline %(d)s", d=o["deadline"])} for o in due["orders_due_today"][:SHOWN]])
        add("watch_ending", _l("Watch periods ending within 7 days"), s["watch_ending"]["total"], due_url,
            [{"text": e["archive_no"], "url": url_for("lists.household", household_id=e["household_id"]),
              "detail": _l("until %(d)s", d=e["until_date"])} for e in due["watch_ending"][:SHOWN]])
        for kind, label, endpoint, show, arg in (
                ("objection", _l("Objections to answer"), "appeals.open_list", "appeals.show", "objection_id"),
                ("repair", _l("Credit repair applications to answer"), "appeals.open_repairs",
                 "appeals.show_repair", "application_id")):
            open_ = [a for a in due["appeals"] if a["kind"] == kind]
            overdue = sum(1 for a in open_ if a["overdue"])
            add(kind + "s", label, len(open_), url_for(endpoint),
                [{"text": f"#{a['id']}", "url": url_for(show, **{arg: a["id"]}),
                  "detail": (_l("overdue since %(d)s", d=a["due_date"]) if a["overdue"] else
                             _l("due %(d)s", d=a["due_date"])) if a["due_date"] else ""} for a in open_[:SHOWN]],
                hint=_l("%(n)s overdue", n=overdue) if overdue else None)
    if exports.may_decide(who):
        add("export_requests", _l("Unmasked exports waiting for approval"), exports.waiting_count(who),
            url_for("workbench.export_requests"))
    ready = exports.ready_count(who)
    if ready:
        add("export_ready", _l("My approved exports to download"), ready, url_for("workbench.export_requests"))
    return {"items": items, "open": sum(1 for i in items if i["count"]),
            "as_of": get_clock().today()}
