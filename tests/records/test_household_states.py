"""A household's own records page (SPEC §4): confirmed records only, each marked with its state in words."""
from __future__ import annotations

import re
from datetime import date

from housingcredit.appeals import service as appeals
from housingcredit.extensions import db
from housingcredit.records import service
from tests.conftest import login
from tests.factories import make_household, make_household_user, make_user
from tests.records.helpers import confirm, make_record, revoke


def test_spec4_household_sees_record_states(app, clock, client):
    household = make_household("420102")
    recorder, other = make_user("caseworker", "420100"), make_user("caseworker", "420100")
    reviewer = make_user("reviewer", "420100")
    clock.set(date(2026, 1, 15))
    ended = make_record(household, recorder, "HB08", occurred=date(2026, 1, 5))  # mild, counts 6 months
    confirm(ended, reviewer)
    clock.set(date(2026, 7, 20))
    counting = make_record(household, recorder, "HB06", occurred=date(2026, 7, 1))
    confirm(counting, reviewer)
    revoked = make_record(household, recorder, "HB07", occurred=date(2026, 7, 2))
    confirm(revoked, reviewer)
    revoke(revoked, other, make_user("reviewer", "420100"))
    repaired = make_record(household, recorder, "HB08", occurred=date(2026, 7, 3))
    confirm(repaired, reviewer)
    service.record_repair(repaired.id, "已整改", other)
    objected = make_record(household, recorder, "HB07", occurred=date(2026, 7, 6))
    confirm(objected, reviewer)
    home = make_household_user(household)
    appeals.file_objection(household.id, {"record_id": objected.id, "reason": "并非空置"}, [], home)
    corrected = make_record(household, recorder, "HB08", occurred=date(2026, 7, 7))
    confirm(corrected, reviewer)
    p = service.propose_correction(corrected.id, {"reason": "error", "occurred_date": "2026-07-06",
                                                  "facts": "更正后的事实：损坏未报修。"}, [], other)
    service.decide_correction(p.id, "confirmed", "", make_user("reviewer", "420100"))
    make_record(household, recorder, "HB06", occurred=date(2026, 7, 8))  # pending: never shown
    rejected = make_record(household, recorder, "HB06", occurred=date(2026, 7, 9))
    service.determine(rejected.id, "rejected", "证据不足", reviewer)
    db.session.commit()

    clock.set(date(2026, 7, 22))
    login(client, home)
    page = client.get("/my/credit").get_data(as_text=True)
    states = re.findall(r'data-state="(\w+)"', page)
    assert sorted(states) == sorted(["ended", "counting", "revoked", "repaired", "objection", "counting"])
    section = page.split('id="my-records"')[1]
    # determined 2026-01-15 + 6 months = 2026-07-15, the last day it counts
    assert "自 2026-07-16 起不再计入您的信用分。" in section
    assert "已于 2026-07-20 撤销（登记错误），不再计分。" in section
    assert "已于 2026-07-20 信用修复，不再计分，不再公示。" in section
    assert "您对该记录提出的异议正在核查中。" in section
    # the corrected record shows its current facts; the earlier version stays viewable
    assert "发生于 2026-07-06；2026-07-20 认定。" in section and "已于 2026-07-20 更正" in section
    assert "更正前：发生于 2026-07-07。" in section
    # never a pending or a rejected record, never an internal code or a login name
    assert "2026-07-08" not in section and "2026-07-09" not in section
    assert not re.search(r"HB0\d", section) and recorder.username not in section


def test_issue22_household_pages_speak_to_the_household(app, clock, client):
    """The household's own pages in its words: the behaviour and its clause (and the catalogue version, SPEC §5),
    never a behaviour code, a staff login name or a raw field name; a revocation or correction proposal is never shown
    (SPEC §4) — only what was confirmed."""
    household = make_household("420102")
    home = make_household_user(household)
    recorder, reviewer = make_user("caseworker", "420100"), make_user("reviewer", "420100")
    clock.set(date(2026, 9, 14))
    record = make_record(household, recorder, "HB06", occurred=date(2026, 9, 11))
    confirm(record, reviewer)
    service.propose_revocation(record.id, "other", "内部讨论中的撤销理由", make_user("caseworker", "420100"))
    db.session.commit()
    login(client, home)
    for url in ("/my", "/my/credit", f"/records/{record.id}"):
        html = client.get(url).get_data(as_text=True)
        main = html.split("<main>")[1]
        assert "无正当理由拖欠租金" in main, url  # the behaviour in words
        for clerk in ("HB06", recorder.username, reviewer.username, "occurred_date", "formed_date",
                      "content_sha256", "notice_id", "内部讨论中的撤销理由"):
            assert clerk not in main, (url, clerk)
        assert not re.search(r"\b[0-9a-f]{64}\b", main), url  # no file hashes
