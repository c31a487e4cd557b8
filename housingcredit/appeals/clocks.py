"""Deadlines for objections (异议, HB 七) and credit repair (信用修复, LN 第十一条, 第十三条); SPEC §9."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from ..clock import add_months, add_working_days, working_days_warning
from ..rules.loader import Behaviour, RuleVersion


@dataclass(frozen=True)
class RepairClock:
    """For an application received on R and accepted on A (None while not accepted)."""

    acceptance_due: date
    decision_due: date | None
    decision_due_extended: date | None
    warning: str | None = None  # set when a year's holiday arrangement is missing


def objection_due(filed: date, rules_version: RuleVersion) -> date:
    """The verification deadline of an objection filed on F: F + 10 working days (from the rules)."""
    return add_working_days(filed, rules_version.objection.due_working_days)


def repair_clock(received: date, accepted: date | None, rules_version: RuleVersion) -> RepairClock:
    """Acceptance due R + 3 wd; decision due A + 7 wd, or A + 7 + 10 wd once extended (from the rules)."""
    r = rules_version.repair
    acceptance_due = add_working_days(received, r.acceptance_working_days)
    if accepted is None:
        return RepairClock(acceptance_due, None, None, working_days_warning(received, acceptance_due))
    extended = add_working_days(accepted, r.decision_working_days + r.extension_working_days)
    return RepairClock(acceptance_due=acceptance_due,
                       decision_due=add_working_days(accepted, r.decision_working_days),
                       decision_due_extended=extended,
                       warning=working_days_warning(received, extended))


def repairable_from(behaviour: Behaviour, determined: date) -> date | None:
    """The first day the minimum publicity period is met: the day after D + N months, or D itself when N = 0.

    None when the behaviour is marked not repairable.
    """
    if not behaviour.repairable:
        return None
    months = behaviour.min_publicity_months
    if not months:
        return determined
    return add_months(determined, months) + timedelta(days=1)
