"""Measures (惩戒措施清单, SPEC §8), the household's list status, and the credit check (信用查询, HB 六)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa

from ..accounts import gate, idnumbers
from ..accounts.models import User
from ..archives.models import Household, Member
from ..audit import service as audit
from ..clock import get_clock
from ..disclosure.masking import mask_id_number
from ..extensions import db
from ..i18n import title_of
from ..scoring import service as scoring
from ..scoring.engine import compute_credit
from ..validation import load
from .common import ENDED, LISTED, _rules, _today, suspension_providers
from .models import CreditCheck, Procedure, WatchEntry
from .schemas import CreditCheckIn

# ---- status, measures, the credit check ----------------------------------------------------------------------

@dataclass
class Measure:
    code: str
    title: str
    clause: str
    basis: list[str] = field(default_factory=list)
    suspended_by: list[str] = field(default_factory=list)

    @property
    def suspended(self) -> bool:
        return bool(self.suspended_by)


def _watch_in_force(household_id: int, today: date) -> WatchEntry | None:
    """The cached entry in force today; an entry past its period counts as ended even before the job runs."""
    return db.session.scalar(sa.select(WatchEntry).where(
        WatchEntry.household_id == household_id, WatchEntry.start_date <= today, WatchEntry.until_date >= today,
        sa.or_(WatchEntry.end_date.is_(None), WatchEntry.end_date > today)))


def _open_procedures(household_id: int, today: date) -> list[Procedure]:
    return [p for p in db.session.scalars(sa.select(Procedure).where(Procedure.household_id == household_id,
                                                                     Procedure.state != ENDED)
                                          .order_by(Procedure.id))
            if not (p.state == LISTED and p.listed_through < today)]


def measures_for(household_id: int, tier: str, watched: bool, listed_ids: list[int], on: date) -> list[Measure]:
    """The measures that apply (惩戒措施清单, SPEC §8): per household tier and per list, from the rules data."""
    version = _rules().version_at(on)
    out: dict[str, Measure] = {}

    def add(items, basis):
        for item in items:
            m = out.setdefault(item.code, Measure(item.code, title_of(item), item.clause))
            m.basis.append(basis)

    if tier != "good":
        add(version.measures_for_tier(tier), "tier")
    if watched:
        add(version.measures_for_list("watch"), "watch")
    for pid in listed_ids:
        add(version.measures_for_list("punishment"), f"procedure:{pid}")
    for m in out.values():
        # A measure is suspended only when every basis it stands on is suspended (HB 七: 核实期间暂不执行).
        found = [[ref for provider in suspension_providers for ref in provider(household_id, b)] for b in m.basis]
        if found and all(found):
            m.suspended_by = [ref for refs in found for ref in refs]
    return list(out.values())


def status(h: Household, today: date | None = None) -> dict:
    """Tier, score, list memberships and the measures that apply today — read-only, for pages and checks."""
    today = today or _today()
    rules = _rules()
    credit = compute_credit(scoring.facts_for([h.id])[h.id], rules, today)
    watch = _watch_in_force(h.id, today)
    procedures = _open_procedures(h.id, today)
    listed = [p.id for p in procedures if p.state == LISTED]
    measures = measures_for(h.id, credit.tier, watch is not None, listed, today)
    band = rules.version_at(today).tiers[credit.tier]
    return {"as_of": today, "score": credit.score, "tier": credit.tier, "tier_title": title_of(band),
            "watch": watch, "procedures": procedures, "listed": bool(listed), "measures": measures,
            "suspended": any(m.suspended for m in measures)}


@dataclass
class CheckResult:
    check: CreditCheck
    found: bool
    business: str
    id_number_masked: str
    household: Household | None = None
    status: dict | None = None


def credit_check(id_number: str, business: str, purpose: str, who: User) -> CheckResult:
    """The credit check before a housing-security business (HB 六: 在受理或实施住房保障相关业务时，应当查询…).

    Always logged (who, business, purpose, masked ID, tier) with an audit entry, also when no archive answers;
    the caller commits and answers 404 when `found` is False. A household outside the user's region is treated
    as unknown, like the archive.
    """
    gate.require("credit.check", who)
    clean = load(CreditCheckIn(), {"id_number": id_number, "business": business, "purpose": purpose or ""})
    number = idnumbers.validate(clean["id_number"])
    masked = mask_id_number(number)
    h = db.session.scalar(sa.select(Household).join(Member, Member.household_id == Household.id)
                          .where(Member.id_number == number))
    if h is not None and not gate.reaches(who, h):
        h = None
    today = _today()
    answer = status(h, today) if h is not None else None
    row = CreditCheck(dt=get_clock().now_utc(), user_id=who.id, household_id=h.id if h else None,
                      id_number_masked=masked, business=clean["business"], purpose=clean["purpose"],
                      tier=answer["tier"] if answer else None)
    db.session.add(row)
    db.session.flush()
    audit.record("credit.check", "credit_check", row.id, household_id=h.id if h else None,
                 region_code=h.region_code if h else None,
                 after={"business": row.business, "purpose": row.purpose, "id_number": masked, "tier": row.tier,
                        "found": h is not None}, actor=(who.id, who.username))
    return CheckResult(check=row, found=h is not None, business=row.business, id_number_masked=masked,
                       household=h, status=answer)


def check_view(result: CheckResult) -> dict:
    """The check's answer as plain data (API and page)."""
    out = {"check_id": result.check.id, "found": result.found, "as_of": _today(), "business": result.business,
           "id_number": result.id_number_masked, "household_id": None, "archive_no": None, "score": None,
           "tier": None, "tier_title": None, "watch": None, "procedures": [], "listed": False, "measures": [],
           "suspended": False}
    if result.found:
        s = result.status
        out.update(household_id=result.household.id, archive_no=result.household.archive_no, score=s["score"],
                   tier=s["tier"], tier_title=s["tier_title"], listed=s["listed"], suspended=s["suspended"],
                   as_of=s["as_of"],
                   watch={"start_date": s["watch"].start_date, "until_date": s["watch"].until_date}
                   if s["watch"] else None,
                   procedures=[{"id": p.id, "route": p.route, "state": p.state, "opened_date": p.opened_date,
                                "window_end": p.window_end, "listed_date": p.listed_date,
                                "listed_through": p.listed_through} for p in s["procedures"]],
                   measures=[{"code": m.code, "title": m.title, "clause": m.clause, "basis": m.basis,
                              "suspended": m.suspended, "suspended_by": m.suspended_by} for m in s["measures"]])
    return out
