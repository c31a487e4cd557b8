"""`flask demo load`: demo households in every prefecture-level region, valid ID numbers, one login per role."""
from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from stdnum.cn import ric

from housingcredit import demo
from housingcredit.accounts import regions
from housingcredit.accounts.models import Role, User
from housingcredit.archives.models import Household, Member, Relation
from housingcredit.archives.service import archive_number
from housingcredit.audit.models import AuditEntry
from housingcredit.extensions import db

from .conftest import login
from housingcredit.accounts.gate import SYSTEM


@pytest.fixture
def loaded(app):
    lines: list[str] = []
    stats = demo.load(households=60, seed=11, echo=lines.append)
    return stats, lines


def test_spec_2_demo_households_in_every_prefecture_level_region(loaded):
    stats, _ = loaded
    codes = db.session.scalars(sa.select(Household.region_code)).all()
    assert len(codes) == stats["households"] == 60
    prefectures = [r.code for r in regions.all_regions().values() if r.level == "prefecture"]
    for prefecture in prefectures:
        assert any(regions.covers(prefecture, c) for c in codes), prefecture
    # Households sit in county-level regions, and Wuhan carries the most.
    assert all(regions.get(c).level == "county" for c in codes)
    per_prefecture = {p: sum(regions.covers(p, c) for c in codes) for p in prefectures}
    assert max(per_prefecture, key=per_prefecture.get) == "420100"


def test_spec_2_demo_members_have_valid_resident_id_numbers(loaded, clock):
    members = db.session.scalars(sa.select(Member)).all()
    assert len(members) == loaded[0]["members"]
    assert 60 <= len(members) <= 300
    for m in members:
        assert ric.validate(m.id_number) == m.id_number
        assert ric.get_birth_date(m.id_number) <= clock.today()
        assert regions.covers("420000", m.id_number[:6])
    assert len({m.id_number for m in members}) == len(members)


def test_spec_2_demo_households_have_one_head_protection_situation_and_archive_number(loaded):
    for h in db.session.scalars(sa.select(Household)).all():
        assert [m.relation for m in h.members].count(Relation.head) == 1
        assert 1 <= len(h.members) <= 5
        assert h.archive_no == archive_number(h.region_code, h.id)
        assert h.protection_category.value in ("physical", "subsidy")
        assert h.protection_group and h.address.startswith("湖北省")


def test_spec_1_demo_logins_one_per_role(loaded):
    _, lines = loaded
    users = db.session.scalars(sa.select(User)).all()
    staff = {(u.role, u.region_code) for u in users if u.role != Role.household}
    assert staff == {(Role.caseworker, "420100"), (Role.caseworker, "420500"), (Role.reviewer, "420100"),
                     (Role.supervisor, "420000"), (Role.auditor, "420000")}
    household_users = [u for u in users if u.role == Role.household]
    assert len(household_users) == 1 and regions.covers("420100", household_users[0].region_code)
    printed = "\n".join(lines)
    assert household_users[0].household.head.id_number in printed
    assert all(u.username in printed for u in users if u.role != Role.household)


@pytest.mark.parametrize("username", [d.username for d in demo.STAFF_LOGINS] + ["household"])
def test_spec_1_demo_login_works_through_the_login_form(loaded, client, username):
    if username == "household":
        user = db.session.scalar(sa.select(User).where(User.role == Role.household))
    else:
        user = db.session.scalar(sa.select(User).where(User.username == username))
    login(client, user, password=demo.DEMO_PASSWORD)  # asserts the redirect of a successful login (401 if not)
    assert db.session.scalar(sa.select(AuditEntry.actor_id).where(AuditEntry.action == "login")) == user.id


def test_demo_load_if_empty_leaves_a_loaded_database_alone(loaded):
    counts = (db.session.scalar(sa.select(sa.func.count()).select_from(Household)),
              db.session.scalar(sa.select(sa.func.count()).select_from(Member)),
              db.session.scalar(sa.select(sa.func.count()).select_from(User)),
              db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)))
    lines: list[str] = []
    stats = demo.load(households=60, seed=11, if_empty=True, echo=lines.append)
    assert stats["households"] == 0
    assert counts == (db.session.scalar(sa.select(sa.func.count()).select_from(Household)),
                      db.session.scalar(sa.select(sa.func.count()).select_from(Member)),
                      db.session.scalar(sa.select(sa.func.count()).select_from(User)),
                      db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)))
    assert any("supervisor" in line for line in lines)  # the logins are printed anyway


def test_demo_load_again_without_if_empty_adds_households_and_reuses_logins(loaded, make_household):
    stats = demo.load(households=20, seed=12, echo=lambda _: None)
    assert stats["households"] == 20
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Household)) == 80
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User).where(User.role != Role.household)) == 5
    # The id sequence is past the bulk-inserted rows: an ordinary create still works.
    h = make_household(region_code="420102", head_name="周新建")
    assert h.id > 80


def test_demo_load_audit_entry_summarises_without_id_numbers(loaded):
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "demo.load"))
    assert entry.after["households"] == 60
    text = json.dumps([e.after for e in db.session.scalars(sa.select(AuditEntry))], ensure_ascii=False)
    for number in db.session.scalars(sa.select(Member.id_number)):
        assert number not in text


def test_demo_builder_is_deterministic_with_its_seed():
    def build(seed):
        builder = demo._Builder(seed, date(2026, 6, 15), set())
        return [builder.household(i, "420100", None) for i in range(1, 30)]
    assert build(5) == build(5)
    assert build(5) != build(6)


def test_demo_load_is_refused_in_production(app):
    import click
    app.config["ENV_NAME"] = "production"
    with pytest.raises(click.ClickException):
        demo.load(households=5, echo=lambda _: None)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


# ---- the credit history: records, lists and orders through the real services --------------------------------

def _user(username):
    return db.session.scalar(sa.select(User).where(User.username == username))


def test_demo_credit_history_leaves_households_below_good_standing(loaded, clock):
    from housingcredit.scoring import service as scoring
    from housingcredit.scoring.models import CreditState
    stats, _ = loaded
    assert 0 < stats["credit"]["households"] <= demo.CREDIT_CAP
    assert stats["credit"]["skipped"] == 0
    tiers = {hid: scoring.credit_for(hid, who=SYSTEM).tier for hid in db.session.scalars(sa.select(Household.id))}
    assert {"mild", "moderate", "severe"} & set(tiers.values())
    # The services kept the cache right: every cached state equals the engine's answer today, no rebuild needed.
    states = db.session.scalars(sa.select(CreditState)).all()
    assert states and all(s.computed_date == clock.today() or s.next_change_date is None
                          or s.next_change_date > clock.today() for s in states)
    assert all((s.score, s.tier) == (scoring.credit_for(s.household_id, who=SYSTEM).score, tiers[s.household_id])
               for s in states)


def test_demo_credit_history_wuhan_watch_list_and_review_queue(loaded):
    from housingcredit.lists import service as lists
    from housingcredit.records import service as records
    reviewer, caseworker = _user("reviewer"), _user("caseworker")
    watch = lists.watch_list({"status": "active"}, reviewer)["items"]
    assert watch and all(regions.covers("420100", e["region_code"]) for e in watch)
    queue = records.review_queue(reviewer)["items"]
    assert queue and all(r.recorded_by_id == caseworker.id for r in queue)  # the reviewer may determine them all
    assert all(r.evidence for r in queue)


def test_hb_five_demo_four_eyes_and_dates_from_the_walking_clock(loaded, app, clock):
    from housingcredit.records.models import Determination, Record
    assert app.extensions["clock"] is clock  # the original clock is back
    rows = db.session.execute(sa.select(Record, Determination).join(Determination)).all()
    assert len(rows) >= 8
    assert all(d.reviewer_id != r.recorded_by_id for r, d in rows)
    # Never back-dated: determined on or after the day recorded, never after today, spread over the months.
    assert all(r.recorded_dt.date() <= d.determination_date <= clock.today() for r, d in rows)
    months = {(d.determination_date.year, d.determination_date.month) for _, d in rows}
    assert len(months) >= 4
    assert min(d.determination_date for _, d in rows) >= clock.today() - timedelta(days=demo.HISTORY_DAYS)


def test_hb_six_demo_watch_transfer_and_overdue_order_open_procedures(loaded, clock):
    from housingcredit.lists.models import Procedure, RectificationOrder
    from housingcredit.lists.service import orders_for
    procedures = db.session.scalars(sa.select(Procedure)).all()
    routes = {p.route for p in procedures}
    assert {"watch_transfer", "overdue_order"} <= routes
    # Today's jobs ran: no procedure is left behind its clock.
    assert all(p.state == "ended" or p.next_date > clock.today() for p in procedures)
    supervisor = _user("supervisor")
    statuses = {o["status"] for hid in db.session.scalars(sa.select(RectificationOrder.household_id))
                for o in orders_for(hid, supervisor)}
    assert {"procedure", "open"} <= statuses


def test_hb_five_demo_evidence_files_are_stored_pdf_or_png(loaded):
    from housingcredit.records import storage
    from housingcredit.records.models import Evidence
    evidence = db.session.scalars(sa.select(Evidence)).all()
    assert evidence and {e.content_type for e in evidence} <= {"application/pdf", "image/png"}
    for e in evidence:
        data = storage.path_for(e.sha256).read_bytes()
        assert storage.sniff(data) == e.content_type and len(data) == e.size


def test_demo_credit_history_keeps_the_audit_chain_intact(loaded, runner):
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "intact" in result.output
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "demo.credit"))
    assert entry.after["records"] == loaded[0]["credit"]["records"] > 0


def test_demo_credit_history_is_capped_whatever_the_total(app, monkeypatch):
    from housingcredit.records.models import Record
    monkeypatch.setattr(demo.credit, "CREDIT_CAP", 5)  # the credit histories live in housingcredit.demo.credit
    stats = demo.load(households=300, seed=3, echo=lambda _: None)
    assert stats["credit"]["households"] == 5
    assert db.session.scalar(sa.select(sa.func.count(sa.distinct(Record.household_id)))) == 5
