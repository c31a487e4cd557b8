"""The golden cases of ../shared/conformance/cases.yaml (SPEC §3, §5, §6, §7, §9), one test per case."""
from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest
import yaml

from housingcredit.appeals.clocks import objection_due, repair_clock, repairable_from
from housingcredit.lists.engine import procedure_clock, watch_history
from housingcredit.rules import default_rules
from housingcredit.scoring.engine import RecordFact, compute_credit

_DIR = os.environ.get("HOUSINGCREDIT_CONFORMANCE_DIR")
CASES_FILE = (Path(_DIR) if _DIR else Path(__file__).resolve().parents[1].parent / "shared" / "conformance") \
    / "cases.yaml"
if not CASES_FILE.is_file():
    pytest.skip(f"conformance cases not found at {CASES_FILE}", allow_module_level=True)

CASES = yaml.safe_load(CASES_FILE.read_text(encoding="utf-8"))["cases"]


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


def _procedure_clock(case, rules):
    clock = procedure_clock(case["opened"], rules.version_at(case["opened"]))
    assert {k: getattr(clock, k) for k in case["expect"]} == case["expect"]


def _repair_clock(case, rules):
    clock = repair_clock(case["received"], case["accepted"], rules.version_at(case["received"]))
    assert {k: getattr(clock, k) for k in case["expect"]} == case["expect"]


def _objection_due(case, rules):
    assert objection_due(case["filed"], rules.version_at(case["filed"])) == case["expect"]["objection_due"]


def _repairable_from(case, rules):
    behaviour = rules.behaviour_on(case["code"], None, case["determined"])
    assert repairable_from(behaviour, case["determined"]) == case["expect"]["repairable_from"]


RUNNERS = {"credit": _credit, "watch": _watch, "procedure_clock": _procedure_clock,
           "repair_clock": _repair_clock, "objection_due": _objection_due, "repairable_from": _repairable_from}


def test_every_case_has_a_known_kind():
    assert {c["kind"] for c in CASES} <= set(RUNNERS)
    assert all(isinstance(v, date) for c in CASES for k, v in c.items() if k in ("opened", "filed", "horizon"))


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_conformance(case):
    RUNNERS[case["kind"]](case, default_rules())
