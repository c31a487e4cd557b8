"""What-if (规则试算, SPEC §13): apply a draft rules version to every household and report who would change tier.

Reads only: every household is computed as of today under the rules in force and under the rules with the draft
added; nothing in the database changes (the session is rolled back at the end, and nothing is audited).
"""
from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import sqlalchemy as sa

from ..archives.models import Household, Member, Relation
from ..clock import get_clock
from ..disclosure.masking import mask_name
from ..extensions import db
from ..scoring import service as scoring
from ..scoring.engine import compute_credit
from .loader import HOUSEHOLD_TIERS, RuleBook, RulesError, load_rules


@dataclass
class WhatIf:
    households: int = 0
    changed: list[tuple[int, int, str, int, str]] = field(default_factory=list)  # id, old score/tier, new
    transitions: Counter = field(default_factory=Counter)  # (old tier, new tier) → n, all households
    by_region: Counter = field(default_factory=Counter)  # (prefecture, old tier, new tier) → n, changed only


def prefecture(region_code: str) -> str:
    return region_code[:4] + "00"


def compare(current: RuleBook, draft: RuleBook) -> WhatIf:
    """Every household's tier today under `current` and under `draft`."""
    today = get_clock().today()
    regions = dict(db.session.execute(sa.select(Household.id, Household.region_code)).all())
    out = WhatIf(households=len(regions))
    seen = set()

    def one(hid, facts):
        old = compute_credit(facts, current, today)
        new = compute_credit(facts, draft, today)
        out.transitions[(old.tier, new.tier)] += 1
        if (old.score, old.tier) != (new.score, new.tier):
            out.changed.append((hid, old.score, old.tier, new.score, new.tier))
            if old.tier != new.tier:
                out.by_region[(prefecture(regions[hid]), old.tier, new.tier)] += 1

    for hid, facts in scoring._stream_facts():
        seen.add(hid)
        if hid in regions:
            one(hid, facts)
    rest = [hid for hid in regions if hid not in seen]
    if rest:  # households without confirmed records all answer alike: compute once, count for each
        old, new = compute_credit([], current, today), compute_credit([], draft, today)
        out.transitions[(old.tier, new.tier)] += len(rest)
        if (old.score, old.tier) != (new.score, new.tier):
            for hid in rest:
                out.changed.append((hid, old.score, old.tier, new.score, new.tier))
                if old.tier != new.tier:
                    out.by_region[(prefecture(regions[hid]), old.tier, new.tier)] += 1
    out.changed.sort()
    return out


def write_csv(result: WhatIf, path: Path | str) -> int:
    """archive no., masked head name, region, old → new tier and score, for each household that would change."""
    ids = [c[0] for c in result.changed]
    info = {}
    for start in range(0, len(ids), 1000):
        chunk = ids[start:start + 1000]
        rows = db.session.execute(
            sa.select(Household.id, Household.archive_no, Household.region_code, Member.name)
            .outerjoin(Member, sa.and_(Member.household_id == Household.id, Member.relation == Relation.head))
            .where(Household.id.in_(chunk)))
        info.update({r[0]: r[1:] for r in rows})
    with open(path, "w", newline="", encoding="utf-8-sig") as fh:  # BOM: opens in Excel with Chinese intact
        w = csv.writer(fh)
        w.writerow(["archive_no", "head_name", "region_code", "old_tier", "new_tier", "old_score", "new_score"])
        for hid, old_score, old_tier, new_score, new_tier in result.changed:
            archive_no, region, name = info.get(hid, ("", "", ""))
            w.writerow([archive_no, mask_name(name), region, old_tier, new_tier, old_score, new_score])
    return len(result.changed)


def run_cli(draft_path, csv_path, echo: Callable[[str], None] = print, rules_dir=None) -> WhatIf:
    """`flask rules what-if FILE`: load the rules with the draft added, compare, report, write the CSV."""
    import click
    try:
        current = load_rules(rules_dir) if rules_dir else scoring.rules_book()
        draft = load_rules(rules_dir or Path(current.versions[-1].path).parent, draft=draft_path)
    except RulesError as err:
        raise click.ClickException(str(err)) from None
    try:
        result = compare(current, draft)
        written = write_csv(result, csv_path)
    finally:
        db.session.rollback()  # a what-if changes nothing
    today = get_clock().today()
    echo(f"what-if as of {today.isoformat()}: {draft.version_at(today).name} instead of "
         f"{current.version_at(today).name}")
    effective = Path(draft_path)
    if not any(v.effective <= today and v.path == str(effective) for v in draft.versions):
        echo("note: the draft is not in force today (its effective date is later), so nothing changes as of today")
    echo(f"households: {result.households}; score or tier would change: {len(result.changed)}")
    order = {t: i for i, t in enumerate(HOUSEHOLD_TIERS)}
    echo("tier transitions (all households):")
    for (old, new), n in sorted(result.transitions.items(), key=lambda kv: (order[kv[0][0]], order[kv[0][1]])):
        echo(f"  {old} -> {new}: {n}")
    if result.by_region:
        echo("tier changes by prefecture:")
        for (region, old, new), n in sorted(result.by_region.items()):
            echo(f"  {region} {old} -> {new}: {n}")
    echo(f"wrote {written} households to {csv_path}")
    return result
