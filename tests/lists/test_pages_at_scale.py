"""Issue "Every page at a million households: fast, paged, and never silently cut off".

Item 1: the due page shows how many there are in every section and reaches all of them, overdue orders first.
Item 2/5: long lists page by keyset to their last row (watch list, archive history, review queue).
Item 3: no page issues a query per row (statements counted with N and 3N rows).
Item 4: pending records are a stored state, kept in step with the facts, checked and rebuilt.
No timing here: the speed is measured by benchmarks/bench_pages.py.
"""
from __future__ import annotations

import contextlib
import re
from datetime import date

import pytest
import sqlalchemy as sa

from housingcredit.archives import service as archives
from housingcredit.extensions import db
from housingcredit.lists import service as lists
from housingcredit.records import service as records
from housingcredit.records.models import Record
from tests import factories

from .helpers import PDF, Staff, confirm_on

TODAY = date(2026, 6, 15)


@contextlib.contextmanager
def statements():
    """Counts the SQL statements sent to the database inside the block."""
    seen: list[str] = []

    def hook(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", hook)
    try:
        yield seen
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", hook)


def _order(clock, staff, household, deadline: date, issued: date = date(2026, 6, 1)):
    clock.set(issued)
    order = lists.issue_order(household.id, "use_change", deadline.isoformat(), "恢复原状", None, staff.caseworker)
    db.session.commit()
    clock.set(TODAY)
    return order


def _pending_record(household, recorder, code="HB07", formed=date(2026, 5, 1)):
    record = records.create_record(household.id, {
        "code": code, "occurred_date": formed.isoformat(), "formed_date": formed.isoformat(),
        "source": "management", "facts": "test"}, [("e.pdf", PDF)], recorder)
    db.session.commit()
    return record


# ---- item 1: the due page never cuts a list off unsaid ---------------------------------------------------------

def test_due_page_shows_every_overdue_order_first(app, clock, api_client, client, login_as):
    app.config["PAGE_SIZE"] = 3
    staff = Staff("420100")
    overdue, due_today = [], []
    for i in range(4):  # deadlines 2026-06-10 … 06-13: overdue on the 15th, most overdue first
        overdue.append(_order(clock, staff, factories.make_household("420102"), date(2026, 6, 10 + i)).id)
    for _ in range(5):  # more orders due today than a page: they used to fill the one shared LIMIT
        due_today.append(_order(clock, staff, factories.make_household("420102"), TODAY).id)
    watched = []
    for day in (16, 17, 18, 19):  # watch periods ending 2026-06-16 … 06-19: within the next 7 days
        h = factories.make_household("420102")
        confirm_on(clock, staff, h, "HB06", date(2025, 6, day))
        watched.append(h.id)
    clock.set(TODAY)

    api = api_client(staff.caseworker)
    first = api.get("/api/v1/due").get_json()
    sections = first["sections"]
    assert {k: v["total"] for k, v in sections.items()} == {"procedures": 0, "overdue_orders": 4,
                                                            "orders_due_today": 5, "watch_ending": 4}
    assert sections["procedures"]["next"] is None
    assert [o["id"] for o in first["overdue_orders"]] == overdue[:3]
    assert [o["deadline"] for o in first["overdue_orders"]] == ["2026-06-10", "2026-06-11", "2026-06-12"]
    assert [o["id"] for o in first["orders_due_today"]] == due_today[:3]
    assert [w["household_id"] for w in first["watch_ending"]] == watched[:3]
    cursors = {name: sections[name]["next"] for name in ("overdue_orders", "orders_due_today", "watch_ending")}
    assert cursors["overdue_orders"] == f"2026-06-12_{overdue[2]}"  # keyset: the last row shown
    last = api.get("/api/v1/due?" + "&".join(f"{k}={v}" for k, v in cursors.items())).get_json()
    assert [o["id"] for o in last["overdue_orders"]] == overdue[3:]
    assert [o["id"] for o in last["orders_due_today"]] == due_today[3:]
    assert [w["household_id"] for w in last["watch_ending"]] == watched[3:]
    assert all(last["sections"][k]["next"] is None for k in cursors)  # the last page says so
    assert last["sections"]["overdue_orders"]["total"] == 4  # the total whatever the page
    for bad in ("overdue_orders=2", "overdue_orders=2026-13-01_1", "procedures=x", "watch_ending=1"):
        assert api.get(f"/api/v1/due?{bad}").status_code == 422, bad

    login_as(staff.caseworker)
    page = client.get("/due").get_data(as_text=True)
    assert page.index('id="overdue_orders"') < page.index('id="orders_due_today"')  # overdue come first
    assert re.search(r'data-total="4"', page) and re.search(r'data-total="5"', page)
    for name, cursor in cursors.items():
        assert f"{name}={cursor}" in page
    second = client.get(f"/due?overdue_orders={cursors['overdue_orders']}").get_data(as_text=True)
    assert "2026-06-13" in second and "2026-06-10" not in second  # the pager reaches the last overdue order
    assert 'href="/due#overdue_orders"' in second  # back to the first page


# ---- items 2 and 5: long lists reach their last row by keyset ------------------------------------------------

def test_watch_list_pages_by_cursor_to_the_last_entry(app, clock, api_client, client, login_as):
    app.config["PAGE_SIZE"] = 2
    staff = Staff("420100")
    ids = []
    for day in (1, 2, 3, 4, 5):
        h = factories.make_household("420102")
        confirm_on(clock, staff, h, "HB06", date(2026, 5, day))
        ids.append(h.id)
    clock.set(TODAY)
    api = api_client(staff.caseworker)
    seen, after = [], None
    for _ in range(3):
        resp = api.get("/api/v1/watch-list" + (f"?after={after}" if after else ""))
        seen.extend(r["household_id"] for r in resp.get_json())
        after = resp.headers.get("X-Next-Cursor")
    assert seen == ids[::-1] and after is None  # newest first, all five, then no further page
    assert api.get("/api/v1/watch-list?after=2026-05-04_x").status_code == 422
    login_as(staff.caseworker)
    page = client.get("/watch").get_data(as_text=True)
    cursor = re.search(r'after=([0-9-]+_\d+)', page).group(1)
    assert client.get(f"/watch?after={cursor}&page=2").status_code == 200


def test_archive_history_pages_through_everything(app, clock, api_client, client, login_as):
    app.config["PAGE_SIZE"] = 3
    supervisor = factories.make_user("supervisor", "420000")
    h = factories.make_household("420102", actor=supervisor)
    for i in range(7):  # 1 creation + 7 edits = 8 changes: pages of 3, 3, 2
        data = {"region_code": "420102", "address": f"测试路{i + 2}号", "protection_category": "physical",
                "version": h.version,
                "protection_group": "低保", "members": [{"id": h.head.id, "name": h.head.name,
                                                         "id_number": h.head.id_number, "relation": "head"}]}
        archives.update_household(h.id, data, supervisor)
        db.session.commit()
    api = api_client(supervisor)
    seen, before = [], None
    for _ in range(3):
        resp = api.get(f"/api/v1/households/{h.id}/history" + (f"?before={before}" if before else ""))
        seen.extend(e["after"]["address"] for e in resp.get_json())
        before = resp.headers.get("X-Next-Before")
    assert before is None
    assert seen == [f"测试路{n}号" for n in range(8, 1, -1)] + ["江岸区测试路1号"]

    login_as(supervisor)
    page = client.get(f"/households/{h.id}").get_data(as_text=True)
    older = re.search(r'\?before=(\d+)#history', page).group(1)
    page2 = client.get(f"/households/{h.id}?before={older}").get_data(as_text=True)
    older = re.search(r'\?before=(\d+)#history', page2).group(1)
    page3 = client.get(f"/households/{h.id}?before={older}").get_data(as_text=True)
    history = page3[page3.index('id="history"'):]
    assert "测试路2号" in history and "江岸区测试路1号" in history and "?before=" not in history


# ---- item 4: pending is stored, indexed and kept in step -----------------------------------------------------

def test_review_queue_reads_the_stored_pending_state(app, clock):
    app.config["PAGE_SIZE"] = 2
    staff = Staff("420100")
    h = factories.make_household("420102")
    made = [_pending_record(h, staff.caseworker, code) for code in ("HB06", "HB07", "HB08")]
    assert [r.pending for r in made] == [True, True, True]
    records.determine(made[0].id, "confirmed", "HB 四", staff.reviewer)
    records.determine(made[1].id, "rejected", "证据不足", staff.reviewer)
    db.session.commit()
    db.session.expire_all()
    assert [db.session.get(Record, r.id).pending for r in made] == [False, False, True]
    queue = records.review_queue(staff.reviewer, limit=2)
    assert [r.id for r in queue["items"]] == [made[2].id] and queue["total"] == 1 and queue["next"] is None
    overview = records.overview(staff.caseworker)
    assert (overview["my_pending"], overview["region_pending"]) == (1, 1)
    assert records.pending_state_drift() == []

    # the stored state is what the queue reads: a row out of step shows there, and verify finds it
    db.session.execute(sa.update(Record).where(Record.id == made[0].id).values(pending=True))
    db.session.commit()
    assert records.review_queue(staff.reviewer)["total"] == 2
    assert records.pending_state_drift() == [made[0].id]
    assert records.rebuild_pending_state() == 1
    db.session.commit()
    assert records.pending_state_drift() == []
    assert [r.id for r in records.review_queue(staff.reviewer)["items"]] == [made[2].id]


def test_review_queue_pages_through_every_pending_record(app, clock, client, login_as):
    app.config["PAGE_SIZE"] = 2
    staff = Staff("420100")
    h = factories.make_household("420102")
    made = [_pending_record(h, staff.caseworker, code, date(2026, 6, d))
            for code, d in (("HB06", 1), ("HB07", 2), ("HB08", 3))]
    first = records.review_queue(staff.reviewer, limit=2)
    second = records.review_queue(staff.reviewer, limit=2, after=first["next"])
    assert [r.id for r in first["items"] + second["items"]] == [r.id for r in made]
    assert first["total"] == 3 and second["next"] is None
    login_as(staff.reviewer)
    page = client.get("/review").get_data(as_text=True)
    assert 'data-count="queue"' in page and "after=" in page


# ---- item 3: statements per page do not grow with the rows --------------------------------------------------

def _grow(clock, staff, archive, k: int) -> None:
    """k more rows in every list: watch entries, overdue and due-today orders, pending and late records,
    archives found by the search, and for `archive`: changes, records and orders."""
    for _ in range(k):
        h = factories.make_household("420102", head_name="李四")
        confirm_on(clock, staff, h, "HB06", date(2025, 6, 18))  # on the watch list, period ending this week
        clock.set(TODAY)
        _order(clock, staff, h, date(2026, 6, 10))
        _order(clock, staff, factories.make_household("420102", head_name="李五"), TODAY)
        late = _pending_record(h, staff.caseworker, "HB07", date(2026, 1, 5))  # late and pending
        _open_appeals_on(h, late, staff.caseworker)
        data = {"region_code": "420102", "address": f"路{archive.version}号", "protection_category": "physical",
                "version": archive.version,
                "protection_group": "低保", "members": [{"id": archive.head.id, "name": archive.head.name,
                                                         "id_number": archive.head.id_number,
                                                         "relation": "head"}]}
        archives.update_household(archive.id, data, staff.caseworker)
        db.session.commit()
        _pending_record(archive, staff.caseworker, "HB08", date(2026, 6, 1 + archive.version))
        _order(clock, staff, archive, date(2026, 7, archive.version))
    clock.set(TODAY)


def _open_appeals_on(h, record, by) -> None:
    """An open objection and an open repair application (stored rows: the open lists read them as they are)."""
    from datetime import datetime
    from housingcredit.appeals.models import Objection, RepairApplication
    from housingcredit.clock import SHANGHAI
    filed_dt = datetime(2026, 6, 1, tzinfo=SHANGHAI)
    db.session.add(Objection(household_id=h.id, region_code=h.region_code, record_id=record.id,
                             filed_date=date(2026, 6, 1), due_date=date(2026, 6, 12), reason="r", filed_by_id=by.id,
                             filed_dt=filed_dt))
    db.session.add(RepairApplication(household_id=h.id, region_code=h.region_code, record_id=record.id,
                                     filed_date=date(2026, 6, 1), declaration="d", filed_by_id=by.id,
                                     filed_dt=filed_dt))
    db.session.commit()


@pytest.mark.parametrize("who", ["caseworker", "reviewer", "supervisor"])
def test_list_pages_statements_do_not_grow_with_rows(app, clock, client, login_as, api_client, who):
    staff = Staff("420100")
    users = {"caseworker": staff.caseworker, "reviewer": staff.reviewer,
             "supervisor": factories.make_user("supervisor", "420000")}
    archive = factories.make_household("420102", head_name="王五")
    urls = {"caseworker": ["/watch", "/watch?status=active", "/watch?status=ended", "/watch?reason=expired",
                           "/due", "/households", "/households?q=李", "/records/overview",
                           f"/households/{archive.id}", f"/households/{archive.id}/lists", "/objections",
                           "/repairs", "/stats"],
            "reviewer": ["/review", f"/households/{archive.id}", "/objections", "/repairs"],
            "supervisor": ["/watch", "/due", "/households", f"/households/{archive.id}", "/audit",
                           "/objections", "/repairs", "/stats", "/platform"]}[who]
    apis = ["/api/v1/watch-list", "/api/v1/watch-list?status=ended", "/api/v1/due", "/api/v1/households?q=李",
            f"/api/v1/households/{archive.id}/history", "/api/v1/objections",
            "/api/v1/repairs"] if who == "caseworker" else []

    def measure() -> dict:
        login_as(users[who])
        api = api_client(users[who])
        counts = {}
        for url in urls + apis:
            get = api.get if url.startswith("/api/") else client.get
            get(url)  # warm: first-time loads (rules, regions) are not the page's
            with statements() as seen:
                resp = get(url)
            assert resp.status_code == 200, url
            counts[url] = len(seen)
        return counts

    _grow(clock, staff, archive, 2)
    small = measure()
    _grow(clock, staff, archive, 4)  # 3N rows
    large = measure()
    assert large == small  # the same statements whatever the number of rows


def test_job_warnings_read_every_jobs_newest_runs_in_one_statement(app, clock):
    """The due page's warnings about the daily jobs cost one statement however many jobs and runs there are:
    each job's newest run (whatever its outcome) and newest successful run (by legal date) are what they were."""
    from datetime import UTC, datetime
    from housingcredit.stats import service as runs
    from housingcredit.stats.models import JobRun
    started = datetime(2026, 6, 15, 0, 5, tzinfo=UTC)
    for job, legal, ok, failed in (("credit_expiry", date(2026, 6, 14), True, 0),
                                   ("credit_expiry", date(2026, 6, 15), False, 2),  # the newest failed
                                   ("watch_expiry", date(2026, 6, 14), True, 0),
                                   ("watch_expiry", date(2026, 6, 12), True, 0),  # rerun of an older day, later
                                   ("overdue_orders", date(2026, 6, 12), True, 0)):
        db.session.add(JobRun(job=job, legal_date=legal, started_dt=started, ok=ok, failed=failed))
    db.session.commit()
    names = ["credit_expiry", "watch_expiry", "overdue_orders", "listing_expiry"]
    with statements() as seen:
        got = runs.status(names, TODAY)
    assert len(seen) == 1
    assert [(s.job, s.warning) for s in got] == [("credit_expiry", "failures"), ("watch_expiry", None),
                                                 ("overdue_orders", "missed"), ("listing_expiry", "never")]
    assert (got[0].last.legal_date, got[0].last_ok.legal_date) == (date(2026, 6, 15), date(2026, 6, 14))
    assert (got[1].last.legal_date, got[1].last_ok.legal_date) == (date(2026, 6, 12), date(2026, 6, 14))
    assert got[3].last is None and got[3].last_ok is None


def test_archive_search_pages_by_keyset_to_the_last_archive(app, client, api_client, login_as):
    app.config["PAGE_SIZE"] = 2
    caseworker = factories.make_user("caseworker", "420100")
    made = [factories.make_household("420102", head_name=name).id for name in ("周一", "周二", "周三", "周四", "周五")]
    api = api_client(caseworker)
    seen, after = [], None
    for _ in range(3):
        body = api.get("/api/v1/households?q=周" + (f"&after={after}" if after else "")).get_json()
        seen.extend(h["id"] for h in body["items"])
        after = body["next"]
    assert seen == made and after is None
    login_as(caseworker)
    page = client.get("/households?q=周").get_data(as_text=True)
    link = re.search(r'href="(/households\?[^"]*after=\d+[^"]*)" rel="next"', page).group(1).replace("&amp;", "&")
    second = client.get(link).get_data(as_text=True)
    assert "周三" in second and "周四" in second and "周一" not in second


def test_watch_list_ended_entries_every_way_of_ending_newest_first(app, clock, api_client):
    """The ended filter reads each way of having ended by its own index (stored end, term run out with no end
    stored yet, start to come) and pages them together, newest first, without losing or repeating one."""
    from housingcredit.lists.models import WatchEntry
    app.config["PAGE_SIZE"] = 2
    staff = Staff("420100")
    made = {}
    for name, start, until, end, reason in (
            ("in_force", date(2026, 3, 1), date(2027, 2, 28), None, None),
            ("stored_end", date(2025, 1, 10), date(2026, 1, 9), date(2026, 1, 10), "expired"),
            ("term_run", date(2025, 5, 1), date(2026, 4, 30), None, None),  # the daily job has not stored it
            ("transferred", date(2025, 8, 1), date(2026, 7, 31), date(2026, 2, 1), "transferred"),
            ("ends_later", date(2025, 9, 1), date(2026, 8, 31), date(2026, 7, 1), "grounds_fell"),
            ("older_end", date(2024, 3, 1), date(2025, 2, 28), date(2025, 3, 1), "expired")):
        h = factories.make_household("420102")
        e = WatchEntry(household_id=h.id, region_code="420102", start_date=start, until_date=until, end_date=end,
                       reason=reason, grounds=[])
        db.session.add(e)
        db.session.commit()
        made[name] = e.id
    api = api_client(staff.caseworker)
    seen, after = [], None
    for _ in range(4):
        resp = api.get("/api/v1/watch-list?status=ended" + (f"&after={after}" if after else ""))
        seen.extend(r["id"] for r in resp.get_json())
        after = resp.headers.get("X-Next-Cursor")
        if after is None:
            break
    assert seen == [made[n] for n in ("transferred", "term_run", "stored_end", "older_end")] and after is None
    expired = api.get("/api/v1/watch-list?status=ended&reason=expired").get_json()
    assert [r["id"] for r in expired] == [made["stored_end"], made["older_end"]]
    active = api.get("/api/v1/watch-list?status=active").get_json()
    assert [r["id"] for r in active] == [made["in_force"], made["ends_later"]]
