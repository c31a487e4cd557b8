"""Measures (惩戒措施清单, SPEC §8), the household's list status, and the credit check (信用查询, HB 六).

One engine: the measures, the lists and the conclusion come from `lists.measures.measures_on` — the function the
conformance cases (shared/conformance/appeals.yaml, kind `check`) run through — fed with the household's facts:

- records: `scoring.service.facts_for` (one SELECT);
- procedures: `procedure_facts(household_id)` — openings, steps and ends from the procedures and procedure_steps
  tables (one SELECT), with the objections from `objection_facts` (the hook the objection work fills).

`status()` is what the archive page's lists panel and the household's own pages show; the credit check answers
from the same result. Who may check, and how much they see, is the gate's (`gate.may_check`, `gate.check_scope`).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa

from ..accounts import gate, idnumbers, regions
from ..accounts.models import User
from ..archives.models import Household, Member
from ..audit import service as audit
from ..clock import get_clock
from ..disclosure.masking import mask_id_number
from ..extensions import db
from ..records.models import Record
from ..i18n import title_of
from ..scoring import service as scoring
from ..validation import load
from . import common
from .common import BUSINESS_LABELS, _rules, _today
from .procedures import procedure_facts
from .engine import (ProcedureFacts)
from .measures import APPLICATION_BAN, LISTING, MAY_PROCEED, MeasuresResult, measures_on
from .models import CreditCheck, Procedure
from .schemas import BUSINESSES, CreditCheckIn

FULL, LIMITED = "full", "limited"

# ---- facts from the database ---------------------------------------------------------------------------------

_NO_FACTS: dict = {}


def _without_facts(rules, today: date) -> MeasuresResult:
    """The engine's answer for a household with no record, procedure or objection — most households: the same for
    all of them on one day under one rules book, so computed once per (rules book, day), not per check."""
    key = (id(rules), today)
    result = _NO_FACTS.get(key)
    if result is None or result[0] is not rules:
        if len(_NO_FACTS) > 8:
            _NO_FACTS.clear()
        result = _NO_FACTS[key] = (rules, measures_on([], rules, today, ProcedureFacts()))
    return result[1]


def measures_of(household_id: int, today: date | None = None, *, has_records: bool = True,
                has_procedures: bool = True, has_objections: bool = True, records=None) -> MeasuresResult:
    """The engine's answer for the household on `today`: a SELECT for the records, one for the procedures with
    their steps and grounds, and the objections' — each left out when the caller already knows the household has
    none (the check asks in its first SELECT), the records' also when the caller has just read them
    (`records`: `scoring.facts_for`'s list for the household)."""
    today = today or _today()
    if records is None and not (has_records or has_procedures or has_objections):
        return _without_facts(_rules(), today)
    if records is None:
        records = scoring.facts_for([household_id])[household_id] if has_records else []
    objections = common.objection_facts(household_id) if has_objections else ()
    facts = procedure_facts(household_id, objections) if has_procedures else ProcedureFacts(objections=objections)
    return measures_on(records, _rules(), today, facts)


# ---- plain views of the engine's answer ----------------------------------------------------------------------

def _ref(value) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


def _objection_ref(objection_id) -> str:
    """The objection's reference as the answer shows it beside a suspended measure (SPEC §8)."""
    return f"objection:{objection_id}"


def _measure_view(m, limited: bool = False) -> dict:
    """A measure as plain data: code, title, clause, restricted businesses, until, bases, suspension."""
    bases = []
    for b in m.bases:
        # the procedure id is internal to the issuing region: outside it only the kind and the dates are told
        ref = None if limited and b.kind in (LISTING, APPLICATION_BAN) else _ref(b.ref)
        bases.append({"kind": b.kind, "ref": ref, "clause": b.clause, "since": b.since, "until": b.until,
                      "suspended_by": [_objection_ref(r) for r in b.suspended_by]})
    return {"code": m.code, "title": title_of(m), "clause": m.clause, "restricts": list(m.restricts),
            "until": m.until, "basis": [b["kind"] for b in bases], "bases": bases,
            "suspended": not m.in_force, "suspended_by": [_objection_ref(r) for r in m.suspended_by]}


def _lists_view(result: MeasuresResult, limited: bool = False) -> dict:
    """The list status with its dates: the watch entry, the open procedure's step, the listing, the ban."""
    w = result.watch
    watch = {"start_date": w.start, "until_date": w.until, "last_day": w.last_day} if w else None
    p = result.procedure
    procedure = {"id": None if limited else p.id, "route": p.route, "state": p.state, "opened_date": p.opened,
                 "response_due": p.response_due, "publicity_start": p.publicity_start,
                 "publicity_end": p.publicity_end, "listing_effective": p.listing_effective,
                 "listed_through": p.listed_through, "next_step": p.next_step, "next_date": p.next_date,
                 "clock_stopped": p.clock_stopped} if p else None
    listing = result.listing
    listing_view = {"listed_date": listing.listing_effective, "listed_through": listing.listed_through,
                    "last_day": listing.end - timedelta(days=1) if listing.end else listing.listed_through
                    } if listing else None
    ban = result.ban
    ban_view = {"since": ban.listing_effective, "until": ban.ban_through} if ban else None
    return {"watch": watch, "procedure": procedure, "listing": listing_view, "application_ban": ban_view,
            "listed": listing is not None}


def status(h: Household, today: date | None = None, result: MeasuresResult | None = None) -> dict:
    """Tier, score, list status and the measures in force and suspended today — read-only, the one source of what
    the archive page's lists panel, the household's own pages and the credit check show (SPEC §8)."""
    today = today or _today()
    result = result or measures_of(h.id, today)
    band = _rules().version_at(today).tiers[result.tier]
    measures = [_measure_view(m) for m in (*result.in_force, *result.suspended)]
    out = {"as_of": today, "score": result.score, "tier": result.tier, "tier_title": title_of(band),
           "measures": measures, "measures_in_force": [m for m in measures if not m["suspended"]],
           "measures_suspended": [m for m in measures if m["suspended"]],
           "suspended": bool(result.suspended)}
    out.update(_lists_view(result))
    return out


# ---- the credit check ----------------------------------------------------------------------------------------

@dataclass
class CheckResult:
    check_id: int
    found: bool
    business: str
    id_number_masked: str
    scope: str | None
    answer: dict


_FOUND = None
_LOG_TABLE = CreditCheck.__table__


def _found(number: str):
    """(household id, region code, archive number, has records, has procedures, has objections) of the household
    any current member's ID number names — one SELECT, so that a household without records, procedures or
    objections costs no more. Built once (a bound parameter), not per check, and run on the session's connection
    (a plain Core statement: no ORM execution machinery per check)."""
    global _FOUND
    if _FOUND is None:
        from ..appeals.models import Objection  # the appeals build on the lists: asked at call time
        # on the tables, not the mapped classes: a plain Core statement, no ORM result machinery per check
        h, m = Household.__table__, Member.__table__
        has_records = sa.exists().where(Record.__table__.c.household_id == h.c.id)
        has_procedures = sa.exists().where(Procedure.__table__.c.household_id == h.c.id)
        has_objections = sa.exists().where(Objection.__table__.c.household_id == h.c.id)
        _FOUND = (sa.select(h.c.id, h.c.region_code, h.c.archive_no, has_records, has_procedures, has_objections)
                  .join(m, m.c.household_id == h.c.id)
                  .where(m.c.id_number == sa.bindparam("number")))
    return db.session.connection().execute(_FOUND, {"number": number}).first()


_CHECK_IN = CreditCheckIn()
_BUSINESSES = frozenset(BUSINESSES)


def _max_length(name: str) -> int:
    """The schema's own Length bound of a field: the fast path below takes its limits from the schema."""
    return next(v.max for v in _CHECK_IN.fields[name].validators if getattr(v, "max", None) is not None)


_ID_MAX, _PURPOSE_MAX = _max_length("id_number"), _max_length("purpose")


def _check_input(id_number, business, purpose) -> dict:
    """The check's input as CreditCheckIn loads it. Input the schema would take unchanged (strings of the allowed
    lengths, a known business, no NUL) is taken as is; anything else goes through the schema, for its 422."""
    purpose = (purpose or "").strip()
    if (isinstance(id_number, str) and isinstance(business, str) and business in _BUSINESSES
            and 0 < len(id_number) <= _ID_MAX and 0 < len(purpose) <= _PURPOSE_MAX
            and "\x00" not in id_number and "\x00" not in purpose):
        return {"id_number": id_number, "business": business, "purpose": purpose}
    return load(_CHECK_IN, {"id_number": id_number, "business": business, "purpose": purpose})


def credit_check(id_number: str, business: str, purpose: str, who: User) -> CheckResult:
    """The credit check before a housing-security business (HB 六: 在受理或实施住房保障相关业务时，应当查询…;
    SPEC §1, §8), province-wide for the roles the gate lets check.

    Inside the caller's region the whole answer; outside it (scope "limited") only what the check needs — tier,
    list status with its dates, measures in force and suspended with their clauses, the conclusion, the issuing
    region — never the score, archive, names, members or records. An unknown ID number answers found=False,
    conclusion may_proceed. Always logged (CreditCheck row and audit entry, no raw ID number), in the caller's
    transaction; the answer is plain data built before the commit.
    """
    gate.may_check(who)
    clean = _check_input(id_number, business, purpose)
    number = idnumbers.validate(clean["id_number"])
    masked = mask_id_number(number)
    today = _today()
    found = _found(number)
    answer = {"found": found is not None, "scope": None, "as_of": today, "business": clean["business"],
              "business_label": str(BUSINESS_LABELS[clean["business"]]), "purpose": clean["purpose"],
              "id_number": masked, "conclusion": MAY_PROCEED, "restricted_by": [], "household_id": None,
              "archive_no": None, "score": None, "tier": None, "tier_title": None, "region_code": None,
              "region_name": None, "watch": None, "procedure": None, "listing": None, "application_ban": None,
              "listed": False, "measures": [], "measures_in_force": [], "measures_suspended": [],
              "suspended": False}
    household_id = region_code = None
    if found is not None:
        household_id, region_code, archive_no, has_records, has_procedures, has_objections = found
        scope = gate.check_scope(who, region_code)
        limited = scope == LIMITED
        result = measures_of(household_id, today, has_records=has_records, has_procedures=has_procedures,
                             has_objections=has_objections)
        band = _rules().version_at(today).tiers[result.tier]
        measures = [_measure_view(m, limited) for m in (*result.in_force, *result.suspended)]
        conclusion = result.conclusion(clean["business"])
        answer.update(_lists_view(result, limited))
        answer.update(
            scope=scope, tier=result.tier, tier_title=title_of(band), region_code=region_code,
            region_name=regions.full_name(region_code) or region_code, conclusion=conclusion.conclusion,
            restricted_by=[{"code": m.code, "title": title_of(m), "clause": m.clause, "until": m.until}
                           for m in conclusion.restricted_by],
            measures=measures, measures_in_force=[m for m in measures if not m["suspended"]],
            measures_suspended=[m for m in measures if m["suspended"]], suspended=bool(result.suspended))
        if not limited:
            answer.update(household_id=household_id, archive_no=archive_no, score=result.score)
    row = {"dt": get_clock().now_utc(), "user_id": who.id, "household_id": household_id,
           "id_number_masked": masked, "business": clean["business"], "purpose": clean["purpose"],
           "tier": answer["tier"], "found": found is not None, "conclusion": answer["conclusion"],
           "caller_region_code": who.region_code, "household_region_code": region_code}
    # the log row and its read-log entry in one statement (two on SQLite), never read back in this request
    check_id = audit.log_read_with(
        _LOG_TABLE, row, "credit.check", "credit_check", household_id=household_id, region_code=region_code,
        after={"business": row["business"], "purpose": row["purpose"], "id_number": masked, "tier": row["tier"],
               "found": row["found"], "conclusion": row["conclusion"], "scope": answer["scope"],
               "caller_region_code": who.region_code},
        actor=(who.id, who.username))
    answer["check_id"] = check_id
    return CheckResult(check_id=check_id, found=row["found"], business=row["business"], id_number_masked=masked,
                       scope=answer["scope"], answer=answer)


def check_view(result: CheckResult) -> dict:
    """The check's answer as plain data (API and page)."""
    return result.answer
