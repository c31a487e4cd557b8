"""Hardening: creating a household numbers its archive once, with a value that fits `archive_no` (32 characters).

The temporary number built from a timestamp and an object id ("tmp-1781487012.345678-140234567890123", 37
characters) did not fit: PostgreSQL refused every creation on a running clock (a FixedClock standing on a whole
second hid it). SQLite does not enforce a string's length, so these tests also check every written string against
its column's length — the suite then fails on SQLite where PostgreSQL would. With TEST_DATABASE_URL they run on
PostgreSQL as they are.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from housingcredit.archives.models import Household
from housingcredit.extensions import db
from tests.conftest import login
from tests.factories import id_number, make_user


@pytest.fixture
def lengths_enforced():
    """Refuse, as PostgreSQL does, any flush writing a string longer than its column (on every dialect)."""
    too_long = []

    def check(session, _context, _instances):
        for obj in [*session.new, *session.dirty]:
            for attr in sa.inspect(type(obj)).column_attrs:
                length = getattr(attr.columns[0].type, "length", None)
                value = getattr(obj, attr.key, None)
                if length and isinstance(value, str) and len(value) > length:
                    too_long.append((type(obj).__name__, attr.key, value))
                    raise ValueError(f"{type(obj).__name__}.{attr.key} is {len(value)} characters, the column "
                                     f"holds {length}")

    sa.event.listen(Session, "before_flush", check)
    yield too_long
    sa.event.remove(Session, "before_flush", check)


@pytest.fixture
def running_clock(clock):
    """A clock that stands on a fraction of a second, as a real one does."""
    clock.set(datetime(2026, 6, 15, 1, 30, 12, 345678, tzinfo=timezone.utc))
    return clock


def _body(region="420102", head="赵六"):
    return {"region_code": region, "address": "江岸区解放大道1号", "protection_category": "physical",
            "protection_group": "低保",
            "members": [{"name": head, "id_number": id_number(region, date(1995, 5, 5)), "relation": "head"}]}


def test_hb_three_create_through_the_api_on_a_running_clock_numbers_the_archive(
        app, api_client, running_clock, lengths_enforced):
    api = api_client(make_user("caseworker", "420100"))
    first = api.post("/api/v1/households", json=_body())
    second = api.post("/api/v1/households", json=_body("420103", "钱七"))
    assert (first.status_code, second.status_code) == (201, 201), (first.get_json(), second.get_json())
    a, b = first.get_json(), second.get_json()
    assert a["archive_no"] == f"420102-{a['id']:08d}" and b["archive_no"] == f"420103-{b['id']:08d}"
    assert a["archive_no"] != b["archive_no"]
    assert lengths_enforced == []
    hits = api.get(f"/api/v1/households?q={a['archive_no']}").get_json()["items"]
    assert [h["id"] for h in hits] == [a["id"]]


def test_hb_three_create_through_the_page_on_a_running_clock_numbers_the_archive(
        app, client, running_clock, lengths_enforced):
    login(client, make_user("caseworker", "420100"))
    page = client.get("/households/new").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    resp = client.post("/households/new", data={
        "csrf_token": token, "region_code": "420102", "address": "江岸区幸福路8号", "protection_category": "physical",
        "members-0-name": "王建国", "members-0-id_number": id_number("420102"), "members-0-relation": "head"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:1000]
    household_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    archive_no = db.session.get(Household, household_id).archive_no
    assert archive_no == f"420102-{household_id:08d}"
    assert archive_no in client.get(f"/households/{household_id}").get_data(as_text=True)
    assert lengths_enforced == []


def test_hb_three_the_archive_number_is_written_once_in_the_insert(app, running_clock):
    """No temporary number: the INSERT carries the final number and no UPDATE of households follows."""
    from housingcredit.archives import service
    statements = []

    def seen(_conn, _cursor, statement, _params, _context, _many):
        if "households" in statement and statement.lstrip().upper().startswith(("INSERT", "UPDATE")):
            statements.append(statement.lstrip().split()[0].upper())

    engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", seen)
    try:
        h = service.create_household(_body(), make_user("supervisor", "420000"))
        db.session.commit()
    finally:
        sa.event.remove(engine, "before_cursor_execute", seen)
    assert statements == ["INSERT"]
    assert h.archive_no == f"420102-{h.id:08d}"
