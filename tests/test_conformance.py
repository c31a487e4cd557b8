"""The golden cases of ../shared/conformance/cases.yaml (SPEC §3, §5, §6, §7, §9) and appeals.yaml (SPEC §7 clock
stopped by objections, §8 measures and the credit check's conclusion), one test per case, through the engine
functions the services call; the procedure clocks also through the path the service writes its cache by. Under CI=true a missing conformance directory fails instead of skipping."""
from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from housingcredit.appeals.clocks import objection_due, repair_clock, repairable_from
from housingcredit.lists import procedures
from housingcredit.lists.engine import (ObjectionFact, OpeningFact, ProcedureFacts, procedure_clock,
                                        procedure_schedule, watch_history)
from housingcredit.lists.measures import measures_on
from housingcredit.rules import default_rules
from housingcredit.scoring.engine import RecordFact, compute_credit

_DIR = os.environ.get("HOUSINGCREDIT_CONFORMANCE_DIR")
CONFORMANCE_DIR = Path(_DIR) if _DIR else Path(__file__).resolve().parents[1].parent / "shared" / "conformance"
CASES_FILE = CONFORMANCE_DIR / "cases.yaml"
APPEALS_FILE = CONFORMANCE_DIR / "appeals.yaml"
_missing = [str(f) for f in (CASES_FILE, APPEALS_FILE) if not f.is_file()]
if _missing:
    message = f"conformance cases not found: {', '.join(_missing)} (set HOUSINGCREDIT_CONFORMANCE_DIR)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message, allow_module_level=True)

CASES = yaml.safe_load(CASES_FILE.read_text(encoding="utf-8"))["cases"]
APPEALS = yaml.safe_load(APPEALS_FILE.read_text(encoding="utf-8"))["cases"]


def _records(case: dict) -> list[RecordFact]:
    return [RecordFact(id=r["id"], code=r["code"], determined=r["determined"], revoked=r.get("revoked"),
                       repaired=r.get("repaired")) for r in case.get("records", [])]


def _credit(case, rules):
    records = _records(case)
    for check in case["checks"]:
        result = compute_credit(records, rules, check["as_of"])
        got = {"score": result.score, "tier": result.tier, "counting": [i.record_id for i in result.items]}
        want = {k: check[k] for k in ("score", "tier", "counting")}
        assert got == want, f"as of {check['as_of']}"


def _watch(case, rules):
    history = watch_history(_records(case), rules, case["horizon"])
    got = [{"start": e.start, "until": e.until, "end": e.end, "reason": e.reason} for e in history.entries]
    assert got == case["expect"]["watch"]
    assert [p.date for p in history.procedures_opened] == case["expect"]["procedures_opened"]


def _service_schedule(opened: date, rules, objections=()) -> dict:
    """The schedule through the same path the service uses: the daily job asks the engine each day
    (`procedures.engine_state`), takes the step it gives (`procedures.step_due`), and writes the cache from the
    answer (`procedures.schedule_of`) — here for a procedure opened by an overdue order on ground "a"."""
    p = SimpleNamespace(id=1, opened_date=opened, route="overdue_order", record_id="a", order_id=None)
    steps, day, publicity = [], opened, None
    while day <= opened + timedelta(days=180):
        state = procedures.engine_state(p, steps, rules, objections=objections, as_of=day)
        step = procedures.step_due(state, day)
        if step is not None:
            steps.append(SimpleNamespace(step=step, step_date=day, reason=None))
            publicity = day if step == "publicity" else publicity
            if step == "listed":
                break
        day += timedelta(days=1)
    final = procedures.engine_state(p, steps, rules, objections=objections, as_of=day)
    cache = procedures.schedule_of(final)
    assert cache.state == "listed"
    return {"response_due": final.response_due, "publicity_start": publicity, "publicity_end": final.publicity_end,
            "listing_effective": cache.listed_date, "listed_through": cache.listed_through}


def _procedure_clock(case, rules):
    clock = procedure_clock(case["opened"], rules.version_at(case["opened"]))
    assert {k: getattr(clock, k) for k in case["expect"]} == case["expect"]
    service = _service_schedule(case["opened"], rules)
    assert {k: service[k] for k in case["expect"]} == case["expect"]


def _repair_clock(case, rules):
    clock = repair_clock(case["received"], case["accepted"], rules.version_at(case["received"]))
    assert {k: getattr(clock, k) for k in case["expect"]} == case["expect"]


def _objection_due(case, rules):
    assert objection_due(case["filed"], rules.version_at(case["filed"])) == case["expect"]["objection_due"]


def _repairable_from(case, rules):
    behaviour = rules.behaviour_on(case["code"], None, case["determined"])
    assert repairable_from(behaviour, case["determined"]) == case["expect"]["repairable_from"]


def _objections(case: dict) -> tuple[ObjectionFact, ...]:
    return tuple(ObjectionFact(id=f"objection-{i + 1}", record_id=o["record"], filed=o["filed"],
                               decided=o.get("decided"), outcome=o.get("outcome"), repeat=bool(o.get("repeat")))
                 for i, o in enumerate(case.get("objections", [])))


def _procedures(case: dict) -> ProcedureFacts:
    """Procedures opened by a rectification order's missed deadline; their steps on their earliest dates."""
    openings = tuple(OpeningFact(date=p["opened"], route="overdue_order", record_id=p["ground"], id=f"p{i + 1}")
                     for i, p in enumerate(case.get("procedures", [])))
    return ProcedureFacts(openings=openings, objections=_objections(case))


def _paused_clock(case, rules):
    opening = OpeningFact(date=case["opened"], route="overdue_order", record_id="a", id="p1")
    # asked long after every decision: the schedule as it stands once the objections are decided
    state = procedure_schedule(opening, rules, case["expect"]["listed_through"], objections=_objections(case),
                               automatic_steps=True)
    assert {k: getattr(state, k) for k in case["expect"]} == case["expect"]
    service = _service_schedule(case["opened"], rules, _objections(case))
    assert {k: service[k] for k in case["expect"]} == case["expect"]


def _check(case, rules):
    records, procedures = _records(case), _procedures(case)
    for check in case["checks"]:
        result = measures_on(records, rules, check["as_of"], procedures)
        conclusion = result.conclusion(check["business"])
        got = {"conclusion": conclusion.conclusion,
               "restricted_by": sorted(m.code for m in conclusion.restricted_by),
               "suspended": sorted(m.code for m in result.suspended)}
        want = {"conclusion": check["conclusion"], "restricted_by": sorted(check["restricted_by"]),
                "suspended": sorted(check["suspended"])}
        assert got == want, f"as of {check['as_of']}, business {check['business']}"


RUNNERS = {"credit": _credit, "watch": _watch, "procedure_clock": _procedure_clock,
           "repair_clock": _repair_clock, "objection_due": _objection_due, "repairable_from": _repairable_from,
           "paused_clock": _paused_clock, "check": _check}


def test_every_case_has_a_known_kind():
    assert {c["kind"] for c in CASES + APPEALS} <= set(RUNNERS)
    assert {c["kind"] for c in APPEALS} == {"paused_clock", "check"}
    assert all(isinstance(v, date) for c in CASES for k, v in c.items() if k in ("opened", "filed", "horizon"))


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_conformance(case):
    RUNNERS[case["kind"]](case, default_rules())


@pytest.mark.parametrize("case", APPEALS, ids=[c["name"] for c in APPEALS])
def test_appeals_conformance(case):
    RUNNERS[case["kind"]](case, default_rules())
