"""The scoring service around the pure engine: the cached CreditState, rebuild, the nightly job, what-if, start-up
validation of the rules data, and concurrent determinations (SPEC §5, §13; DESIGN rule 2)."""
from __future__ import annotations

import csv
import re
import shutil
import threading
from datetime import date

import pytest
import sqlalchemy as sa

from housingcredit import ROOT, create_app
from housingcredit.accounts.models import User
from housingcredit.extensions import db
from housingcredit.records import service as records
from housingcredit.rules.loader import RulesError
from housingcredit.scoring import service
from housingcredit.scoring.models import CreditState
from tests.conftest import _config, is_postgres
from tests.factories import make_household, make_user
from tests.records.helpers import confirm, make_record
from housingcredit.accounts.gate import SYSTEM

RULES = ROOT / "config" / "rules" / "2018-12-01-hubei.yaml"


def _states() -> dict[int, tuple]:
    db.session.expire_all()
    return {s.household_id: (s.score, s.tier, s.next_change_date)
            for s in db.session.scalars(sa.select(CreditState))}


def _history(clock):
    """Households whose records were made, determined, revoked and repaired while the clock moved."""
    caseworker, reviewer = make_user("caseworker", "420100"), make_user("reviewer", "420100")
    hh = [make_household("420102", head_name=f"测试{i}") for i in range(6)]
    clock.set(date(2025, 3, 3))
    confirm(make_record(hh[0], caseworker, "HB06", occurred=date(2025, 2, 27)), reviewer)  # expires 2026-03
    confirm(make_record(hh[1], caseworker, "HB04", occurred=date(2025, 2, 27)), reviewer)  # counts 3 years
    clock.set(date(2025, 11, 20))
    confirm(make_record(hh[2], caseworker, "HB07", occurred=date(2025, 11, 17)), reviewer)  # expires 2026-05
    revoked = make_record(hh[3], caseworker, "HB09", occurred=date(2025, 11, 18))
    confirm(revoked, reviewer)
    clock.set(date(2026, 2, 10))
    proposal = records.propose_revocation(revoked.id, "error", "认定错误", caseworker)
    records.decide_revocation(proposal.id, "confirmed", "", make_user("reviewer", "420000"))
    confirm(make_record(hh[2], caseworker, "HB08", occurred=date(2026, 2, 9)), reviewer)
    confirm(make_record(hh[2], caseworker, "HB03", occurred=date(2026, 2, 6)), reviewer)
    repaired = make_record(hh[4], caseworker, "HB05", occurred=date(2026, 2, 9))
    confirm(repaired, reviewer)
    clock.set(date(2026, 5, 12))
    records.record_repair(repaired.id, "整改完毕", caseworker)
    db.session.commit()
    make_record(hh[5], caseworker, "HB06", occurred=date(2026, 5, 11))  # pending: counts nowhere
    clock.set(date(2026, 6, 15))
    return hh


def test_spec_5_rebuild_from_facts_equals_incremental_cache(app, clock, runner):
    hh = _history(clock)
    service.nightly_expire(clock.today(), who=SYSTEM)  # the incremental path includes the nightly job
    db.session.commit()
    incremental = _states()
    result = runner.invoke(args=["credit", "rebuild"])
    assert result.exit_code == 0, result.output
    assert "rebuilt 6 households" in result.output
    rebuilt = _states()
    assert {k: rebuilt[k] for k in incremental} == incremental
    assert set(rebuilt) == {h.id for h in hh}
    assert rebuilt[hh[5].id][:2] == (100, "good")
    assert [rebuilt[h.id][:2] for h in hh] == [(100, "good"), (70, "severe"), (85, "moderate"), (100, "good"),
                                              (100, "good"), (100, "good")]
    # rebuilding again changes nothing
    service.rebuild_all()
    assert _states() == rebuilt


def test_spec_5_nightly_job_expires_use_periods_idempotently(app, clock):
    household = make_household("420102")
    confirm(make_record(household, make_user("caseworker", "420100"), "HB08"), make_user("reviewer", "420100"))
    state = db.session.get(CreditState, household.id)
    assert (state.score, state.next_change_date) == (95, date(2026, 12, 16))
    assert service.nightly_expire(date(2026, 12, 15), who=SYSTEM)["refreshed"] == 0  # still counts on D + 6 months
    clock.set(date(2026, 12, 16))
    first = service.nightly_expire(clock.today(), who=SYSTEM)
    db.session.commit()
    assert (first["refreshed"], first["changed"]) == (1, 1)
    state = db.session.get(CreditState, household.id)
    assert (state.score, state.tier, state.next_change_date) == (100, "good", None)
    second = service.nightly_expire(clock.today(), who=SYSTEM)
    db.session.commit()
    assert (second["refreshed"], second["changed"]) == (0, 0)
    assert _states()[household.id] == (100, "good", None)


def test_spec_13_what_if_reports_tier_changes_and_changes_nothing(app, clock, runner, tmp_path):
    caseworker, reviewer = make_user("caseworker", "420100"), make_user("reviewer", "420100")
    a, b, c = (make_household("420102", head_name=n) for n in ("张三丰", "李四", "王五"))
    confirm(make_record(a, caseworker, "HB06"), reviewer)
    confirm(make_record(a, caseworker, "HB08"), reviewer)   # 80 moderate
    confirm(make_record(b, caseworker, "HB06"), reviewer)   # 85 moderate
    db.session.commit()
    text = RULES.read_text(encoding="utf-8").replace("effective: 2018-12-01", "effective: 2026-01-01")
    text = text.replace("name: hubei-2018", "name: hubei-2026-draft")
    text = re.sub(r"(code: HB06\n(?:    .*\n)*?    deduct: )15", r"\g<1>29", text)
    draft = tmp_path / "draft.yaml"
    draft.write_text(text, encoding="utf-8")
    out = tmp_path / "changed.csv"
    tables = [t.name for t in db.metadata.sorted_tables]
    counts = {t: db.session.scalar(sa.text(f"SELECT count(*) FROM {t}")) for t in tables}
    before = _states()
    result = runner.invoke(args=["rules", "what-if", str(draft), "--csv", str(out)])
    assert result.exit_code == 0, result.output
    assert "moderate -> severe: 1" in result.output and "420100 moderate -> severe: 1" in result.output
    assert "good -> good: 1" in result.output and "moderate -> moderate: 1" in result.output
    with open(out, encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["archive_no"], r["head_name"], r["old_tier"], r["new_tier"], r["old_score"], r["new_score"])
            for r in rows] == [(a.archive_no, "张*丰", "moderate", "severe", "80", "66"),
                               (b.archive_no, "李*", "moderate", "moderate", "85", "71")]
    db.session.expire_all()
    assert {t: db.session.scalar(sa.text(f"SELECT count(*) FROM {t}")) for t in tables} == counts
    assert _states() == before


def test_spec_13_what_if_refuses_a_draft_that_breaks_the_rules(app, runner, tmp_path):
    draft = tmp_path / "bad.yaml"
    draft.write_text(RULES.read_text(encoding="utf-8").replace("effective: 2018-12-01", "effective: 2026-01-01")
                     .replace("name: hubei-2018", "name: bad").replace("deduct: 50", "deduct: 5"), encoding="utf-8")
    result = runner.invoke(args=["rules", "what-if", str(draft), "--csv", str(tmp_path / "x.csv")])
    assert result.exit_code != 0 and "HB02" in result.output and "band" in result.output
    assert not (tmp_path / "x.csv").exists()


def test_spec_13_start_up_refuses_inconsistent_rules_data(tmp_path):
    bad = tmp_path / "rules"
    bad.mkdir()
    (bad / "2018-12-01-hubei.yaml").write_text(
        RULES.read_text(encoding="utf-8").replace("local: {}", 'local:\n  "420100":\n    - {code: HB06-420100-01, '
                                                  'parent: HB99, clause: x, title_zh: x, title_en: x, deduct: 15, '
                                                  'tier: moderate, use_months: 12}'), encoding="utf-8")
    with pytest.raises(RulesError, match="unknown parent 'HB99'"):
        create_app(_config(RULES_DIR=str(bad)))
    good = tmp_path / "good"
    good.mkdir()
    shutil.copy(RULES, good / RULES.name)
    assert create_app(_config(RULES_DIR=str(good))).extensions["rules"].versions[0].name == "hubei-2018"


@pytest.mark.postgres
@pytest.mark.skipif(not is_postgres(), reason="row locks (SELECT … FOR UPDATE) need PostgreSQL; SQLite "
                                              "serialises every writer anyway")
def test_hb_five_two_reviewers_confirming_at_once_leave_a_correct_score(app):
    caseworker = make_user("caseworker", "420100")
    reviewers = [make_user("reviewer", "420100").id, make_user("reviewer", "420100").id]
    for attempt in range(3):
        household = make_household("420102", head_name=f"并发{attempt}")
        ids = [make_record(household, caseworker, "HB06").id, make_record(household, caseworker, "HB04").id]
        barrier, errors = threading.Barrier(2), []

        def work(record_id, reviewer_id):
            try:
                with app.app_context():
                    reviewer = db.session.get(User, reviewer_id)
                    barrier.wait(timeout=10)
                    records.determine(record_id, "confirmed", "HB 四", reviewer)
                    db.session.commit()
                    db.session.remove()
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(ids[i], reviewers[i])) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert not errors, errors
        db.session.expire_all()
        state = db.session.get(CreditState, household.id)
        assert (state.score, state.tier) == (55, "severe")
        assert service.credit_for(household, who=SYSTEM).score == 55
