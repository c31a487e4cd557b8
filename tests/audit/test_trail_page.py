"""Issue 18 — the audit trail page: searchable by actor, household, action and date range, readable action names
and objects, keyset-paged, and a "verify the chain" button running the verifier of `flask audit verify`."""
from __future__ import annotations

import re
from datetime import date, datetime

import pytest
import sqlalchemy as sa

from housingcredit.audit import service as audit
from housingcredit.audit.labels import ACTION_LABELS, OBJECT_KINDS, OBJECT_LABELS
from housingcredit.audit.models import AuditEntry
from housingcredit.extensions import db
from tests.audit import action_codes
from tests.audit.test_audit_chain import _tamper
from tests.conftest import login
from tests.factories import make_household, make_user
from tests.records.helpers import make_record


def _shown(page: str) -> set[int]:
    return {int(i) for i in re.findall(r"<tr><td>(\d+)</td>", page)}


def _ids(*where) -> set[int]:
    db.session.expire_all()
    return set(db.session.scalars(sa.select(AuditEntry.id).where(*where)))


@pytest.fixture
def world(app, clock):
    """Two days of entries: archives by a supervisor on 2026-06-10, a caseworker's record and reads on
    2026-06-12, an entry of the system."""
    clock.set(datetime(2026, 6, 10, 10, 0))
    supervisor = make_user("supervisor", "420000", username="sup_hb")
    supervisor.display_name = "王主管"
    db.session.commit()
    jiangan = make_household("420102", head_name="张三丰", actor=supervisor)
    yichang = make_household("420502", head_name="李四", actor=supervisor)
    clock.set(datetime(2026, 6, 12, 23, 30))  # late evening in Wuhan: still the 12th there (15:30 UTC)
    caseworker = make_user("caseworker", "420100", username="cw_wh")
    record = make_record(jiangan, caseworker)
    audit.record("credit.rebuild", "credit_state", None, after={"households": 2})
    db.session.commit()
    auditor = make_user("auditor", "420000", username="aud_hb")
    return {"supervisor": supervisor, "caseworker": caseworker, "auditor": auditor, "jiangan": jiangan,
            "yichang": yichang, "record": record}


def test_issue18_trail_filters_by_actor_username_name_or_system_label(app, client, world):
    login(client, world["auditor"])
    page = client.get("/audit?actor=cw_wh").get_data(as_text=True)
    assert _shown(page) == _ids(AuditEntry.actor_id == world["caseworker"].id) != set()
    page = client.get("/audit?actor=王主管").get_data(as_text=True)
    assert _shown(page) == _ids(AuditEntry.actor_id == world["supervisor"].id) != set()
    page = client.get("/audit?actor=system").get_data(as_text=True)
    assert _shown(page) == _ids(AuditEntry.actor_id.is_(None), AuditEntry.actor_label == "system") != set()
    assert _shown(client.get("/audit?actor=nobody").get_data(as_text=True)) == set()


def test_issue18_trail_filters_by_household_number_or_archive_number(app, client, world):
    login(client, world["auditor"])
    h = world["jiangan"]
    expected = _ids(AuditEntry.household_id == h.id)
    assert len(expected) >= 2  # the archive and its record
    for value in (str(h.id), f"#{h.id}", h.archive_no):
        assert _shown(client.get("/audit", query_string={"household": value}).get_data(as_text=True)) == expected
    assert _shown(client.get("/audit?household=NO-SUCH-ARCHIVE").get_data(as_text=True)) == set()


def test_issue18_trail_filters_by_action_and_refuses_an_unknown_one(app, client, world):
    login(client, world["auditor"])
    page = client.get("/audit?action=household.create").get_data(as_text=True)
    assert _shown(page) == _ids(AuditEntry.action == "household.create") and len(_shown(page)) == 2
    resp = client.get("/audit?action=drop.table")
    assert resp.status_code == 422 and "请从列表中选择操作" in resp.get_data(as_text=True)


def test_issue18_trail_filters_by_legal_date_range(app, client, world):
    login(client, world["auditor"])
    tenth = _ids(AuditEntry.dt < datetime.fromisoformat("2026-06-11T00:00:00+00:00"))
    twelfth = _ids(AuditEntry.dt >= datetime.fromisoformat("2026-06-12T00:00:00+00:00"))
    assert tenth and twelfth
    assert _shown(client.get("/audit?from=2026-06-10&to=2026-06-10").get_data(as_text=True)) == tenth
    # 23:30 in Wuhan on the 12th is 15:30 UTC: the 12th, not the 13th
    shown = _shown(client.get("/audit?from=2026-06-12&to=2026-06-12").get_data(as_text=True))
    assert shown >= twelfth - _ids(AuditEntry.action.in_(("login", "logout")))
    assert _shown(client.get("/audit?from=2026-06-13").get_data(as_text=True)) <= _ids(AuditEntry.action == "login")
    assert _shown(client.get("/audit?to=2026-06-09").get_data(as_text=True)) == set()
    bad = client.get("/audit?from=2026-13-01&to=yesterday")
    assert bad.status_code == 422 and bad.get_data(as_text=True).count("请按 YYYY-MM-DD 填写日期") == 2
    backwards = client.get("/audit?from=2026-06-12&to=2026-06-10")
    assert backwards.status_code == 422 and "结束日期早于开始日期" in backwards.get_data(as_text=True)


def test_issue18_trail_shows_readable_actions_and_objects_with_links(app, client, world):
    login(client, world["supervisor"])
    h, record = world["jiangan"], world["record"]
    page = client.get("/audit").get_data(as_text=True)
    assert f'<a href="/households/{h.id}">户 #{h.id} 张*丰 · {h.archive_no}</a>' in page
    assert f'<a href="/records/{record.id}">记录 #{record.id}</a>' in page
    assert "张三丰" not in page  # the head's name is masked
    assert ">记录失信行为<" in page or str(ACTION_LABELS["record.create"]) in page
    assert 'title="record.create"' in page
    assert "王主管 (sup_hb)" in page  # the actor by name and login
    caseworker = world["caseworker"]
    assert f'<a href="/admin/staff/{caseworker.id}">账户 #{caseworker.id}' in page  # a supervisor may manage it
    assert "重建信用分与等级" in page and "信用状态" in page  # a job's entry without an object id


def test_issue18_trail_is_keyset_paged_with_its_filters(app, client, world):
    for i in range(130):
        audit.record("credit.rebuild", "credit_state", None, after={"n": i})
    db.session.commit()
    login(client, world["auditor"])
    every = _ids(AuditEntry.action == "credit.rebuild")
    first = client.get("/audit?action=credit.rebuild").get_data(as_text=True)
    one = _shown(first)
    assert len(one) == 100 and min(one) > max(every - one)  # the newest hundred
    older = re.search(r'href="(/audit\?[^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    assert "action=credit.rebuild" in older and "before=" in older
    second = client.get(older).get_data(as_text=True)
    assert _shown(second) == every - one
    assert 'rel="next"' not in second  # the last page


def test_issue18_every_action_code_in_the_code_base_has_a_label(app):
    codes, passing = action_codes.collect()
    assert passing == action_codes.PASS_THROUGH  # a new site passing an action on: teach the collector
    assert {"household.create", "record.create", "procedure.publicity", "repair.accepted", "credit.check",
            "login", "user.deactivate", "token.revoke", "audit.verify"} <= codes  # the collector really reads
    assert sorted(c for c in codes if c not in ACTION_LABELS) == []
    assert sorted(c for c in ACTION_LABELS if c not in codes) == []  # and no label is left for a code gone


def test_issue18_every_object_type_has_a_label():
    import ast
    types = set()
    for path in action_codes.PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "record" \
                    and getattr(node.func.value, "id", None) == "audit" and len(node.args) > 1 \
                    and isinstance(node.args[1], ast.Constant):
                types.add(node.args[1].value)
    assert {"household", "record", "user"} <= types
    assert sorted(t for t in types if t not in OBJECT_LABELS and t not in OBJECT_KINDS) == []


def test_issue18_verify_button_answers_ok_then_reports_a_tampered_row(app, client, world):
    app.config["AUDIT_VERIFY_BACKGROUND"] = False  # the run in the clicking request: its answer on the next page
    auditor = world["auditor"]
    login(client, auditor)
    page = client.get("/audit").get_data(as_text=True)
    assert 'action="/audit/verify"' in page
    db.session.expire_all()
    count = db.session.scalar(sa.select(sa.func.count(AuditEntry.id)))
    head = db.session.scalar(sa.select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1))
    resp = client.post("/audit/verify", data={"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"',
                                                                       page).group(1)})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/audit#verification")
    html = client.get("/audit").get_data(as_text=True)
    assert 'id="verify-result" data-ok="1"' in html and "日志链完整" in html
    assert f"已校验 {count} 条" in html and f"第 {head.id} 条" in html and head.hash in html
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "audit.verify"))
    assert entry.actor_id == auditor.id and entry.after["ok"] is True and entry.after["checked"] == count

    target = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "record.create"))
    _tamper("UPDATE audit_entries SET actor_label = 'someone else' WHERE id = :id", {"id": target.id})
    resp = client.post("/audit/verify", data={"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"',
                                                                       html).group(1)}, follow_redirects=True)
    html = resp.get_data(as_text=True)
    assert 'id="verify-result" data-ok="0"' in html and "日志链已被破坏" in html
    assert f"首个异常条目：第 {target.id} 条" in html and "有日志条目被篡改" in html
    assert f"此前已校验 {target.id - 1} 条" in html
    assert audit.verify().first_bad_id == target.id  # the same answer as `flask audit verify`


def _token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _click_verify(client, monkeypatch) -> int:
    """POST the button as a user would, holding the background start back (returns the run's id): the test then
    looks at the page while the run is "going on", and starts the real thread itself once its own session has
    nothing open (SQLite lets one writer commit while no reader holds the file)."""
    from housingcredit.audit import verification
    started = []
    monkeypatch.setattr(verification, "start", started.append)
    resp = client.post("/audit/verify", data={"csrf_token": _token(client.get("/audit").get_data(as_text=True))})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/audit#verification")
    monkeypatch.undo()
    assert len(started) == 1
    return started[0]


def _run_in_background(vid: int) -> None:
    from housingcredit.audit import verification
    db.session.commit()
    verification.start(vid).join(timeout=300)  # the real thread, as in production
    db.session.expire_all()


def test_issue18_verify_runs_in_the_background_and_the_page_shows_its_progress_then_its_answer(
        app, client, world, monkeypatch):
    """A click starts the run and returns at once; while it runs the page shows a progress bar (entries checked of
    the chain's length) polled from a JSON endpoint; when done, the verifier's answer."""
    from housingcredit.audit import verification
    from housingcredit.audit.models import AuditVerification
    app.config["AUDIT_VERIFY_BACKGROUND"] = True
    login(client, world["auditor"])
    vid = _click_verify(client, monkeypatch)
    length = db.session.scalar(sa.select(sa.func.max(AuditEntry.seq)))
    html = client.get("/audit").get_data(as_text=True)
    assert 'id="verify-progress"' in html and 'data-state="running"' in html and "正在校验日志链" in html
    assert f"已校验 0 / {length} 条" in html and "progress.js" in html
    state = client.get(f"/audit/verifications/{vid}").get_json()
    assert state["state"] == "running" and state["checked"] == 0 and state["total"] == length
    assert state["percent"] == 0 and state["ok"] is None
    # a second click while it runs joins it: one walk at a time
    started = []
    monkeypatch.setattr(verification, "start", started.append)
    client.post("/audit/verify", data={"csrf_token": _token(html)})
    monkeypatch.undo()
    assert started == [] and db.session.scalar(sa.select(sa.func.count(AuditVerification.id))) == 1

    seen = []
    real_beat = verification._beat
    monkeypatch.setattr(verification, "_beat", lambda i, **values: (seen.append(values), real_beat(i, **values)))
    _run_in_background(vid)
    assert {"checked": length} in seen  # the progress is written as the walk goes (after each batch)
    state = client.get(f"/audit/verifications/{vid}").get_json()
    assert state["state"] == "done" and state["ok"] is True and state["checked"] == length
    assert state["percent"] == 100 and state["head_id"] == length
    html = client.get("/audit").get_data(as_text=True)
    assert 'id="verify-result" data-ok="1"' in html and 'id="verify-progress"' not in html
    assert f"已校验 {length} 条" in html


def test_issue18_verify_in_the_background_still_finds_a_tampered_entry(app, client, world, monkeypatch):
    """Tampering is detected through the button's path: the background run gives the verifier's answer, shown
    on the page and audited as by whom asked."""
    app.config["AUDIT_VERIFY_BACKGROUND"] = True
    login(client, world["auditor"])
    target = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "record.create"))
    _tamper("UPDATE audit_entries SET after = NULL WHERE id = :id", {"id": target.id})
    _run_in_background(_click_verify(client, monkeypatch))
    html = client.get("/audit").get_data(as_text=True)
    assert 'id="verify-result" data-ok="0"' in html and f"首个异常条目：第 {target.id} 条" in html
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "audit.verify"))
    assert entry.after["ok"] is False and entry.after["first_bad_id"] == target.id
    assert entry.actor_id == world["auditor"].id


def test_issue18_a_verification_whose_process_stopped_is_shown_stopped_and_a_click_starts_anew(app, client,
                                                                                               world, clock):
    from housingcredit.audit import verification
    from housingcredit.audit.models import AuditVerification
    app.config["AUDIT_VERIFY_BACKGROUND"] = False
    login(client, world["auditor"])
    stuck, fresh = verification.request(world["auditor"])
    assert fresh
    db.session.commit()
    clock.advance(seconds=verification.STALE_SECONDS + 1)
    html = client.get("/audit").get_data(as_text=True)
    assert 'data-state="stopped"' in html and "校验在完成前已停止" in html
    client.post("/audit/verify", data={"csrf_token": _token(html)})
    db.session.expire_all()
    runs = db.session.scalars(sa.select(AuditVerification).order_by(AuditVerification.id)).all()
    assert len(runs) == 2 and runs[0].status == "running" and runs[1].status == "done" and runs[1].ok


def test_issue18_the_progress_of_a_verification_is_for_those_who_may_verify(app, client, world):
    from housingcredit.audit import verification
    v, _fresh = verification.request(world["auditor"])
    db.session.commit()
    login(client, world["caseworker"])
    assert client.get(f"/audit/verifications/{v.id}").status_code == 403


def test_issue18_caseworkers_reach_neither_the_trail_nor_the_verifier(app, client, world):
    login(client, world["caseworker"])
    assert client.get("/audit").status_code == 403
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/households").get_data(as_text=True))
    assert client.post("/audit/verify", data={"csrf_token": token.group(1)}).status_code == 403
    assert _ids(AuditEntry.action == "audit.verify") == set()


def test_issue18_trail_dates_are_legal_dates(app):
    from housingcredit.audit.trail import _utc
    assert _utc(date(2026, 6, 12)).isoformat() == "2026-06-11T16:00:00+00:00"
