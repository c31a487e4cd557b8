"""Shared pieces of the list use cases (名单, HB 六): labels, hooks, the household gate, notices and pushes.

Text kept in the database or sent to the household is written in the default language (Chinese first).
"""
from __future__ import annotations

from datetime import date
from typing import Callable

from flask_babel import lazy_gettext as _l

from ..accounts import gate
from ..accounts.models import Role, User
from ..archives.models import Household
from ..clock import get_clock
from ..errors import NotFound
from ..extensions import db
from ..i18n import official
from ..notices import service as notices
from ..platform import service as platform
from ..scoring import service as scoring
from .engine import WATCH_TRANSFER, ObjectionFact
from .schemas import BUSINESSES

OPENED, PUBLICITY, LISTED, ENDED = "opened", "publicity", "listed", "ended"
NEXT_STEP = {OPENED: PUBLICITY, PUBLICITY: LISTED, LISTED: ENDED}
OVERDUE_ORDER = "overdue_order"

ROUTE_LABELS = {
    WATCH_TRANSFER: _l("Transfer from the watch list"),
    OVERDUE_ORDER: _l("Rectification order not complied with by its deadline"),
    "court_judgment": _l("Court judgment"),
    "criminal_penalty": _l("Criminal penalty"),
    "administrative_penalty": _l("Administrative penalty"),
}
# The clause each route stands on (HB 六) is read from the rules data: `version.route_clause(route)`.
STEP_LABELS = {OPENED: _l("Opened, risk notice issued"), PUBLICITY: _l("Publicity"), LISTED: _l("Listed"),
               ENDED: _l("Ended")}
END_REASON_LABELS = {"expired": _l("listing term expired"),
                     "statement_accepted": _l("statement accepted"), "revoked": _l("grounding record revoked"),
                     "repaired": _l("grounding record repaired"), "objection_upheld": _l("objection upheld")}
WATCH_REASON_LABELS = {"expired": _l("period expired"), "transferred": _l("transferred to a procedure"),
                       "grounds_fell": _l("grounds fell")}
BUSINESS_LABELS = {"application": _l("Application"), "allocation": _l("Allocation"), "renewal": _l("Renewal"),
                   "swap": _l("Unit swap"), "subsidy": _l("Rental subsidy"), "exit": _l("Exit"),
                   "other": _l("Other")}
ORDER_STATUS_LABELS = {"open": _l("open"), "complied": _l("complied"), "overdue": _l("overdue"),
                       "procedure": _l("procedure opened")}
assert set(BUSINESS_LABELS) == set(BUSINESSES)

def objection_facts(household_id: int) -> tuple[ObjectionFact, ...]:
    """The household's objections (异议, HB 七) as the list engine reads them: the ONE place objection facts come
    from — a pending one stops a procedure's clock (SPEC §7) and suspends measures (SPEC §8)."""
    from ..appeals import service as appeals  # appeals builds on the lists: asked at call time
    return appeals.objection_facts(household_id)


def _today() -> date:
    return get_clock().today()


def _rules():
    return scoring.rules_book()


def _household(household_id: int) -> Household:
    h = db.session.get(Household, household_id)
    if h is None:
        raise NotFound()
    return h


def _gated(household_id: int, permission: str, who: User) -> Household:
    return gate.check_household(db.session.get(Household, household_id), permission, who)


def _readable(household_id: int, who: User) -> Household:
    """Staff with lists.read in their region; a household its own lists only."""
    return _gated(household_id, "own.read" if who.role == Role.household else "lists.read", who)


def _subject(h: Household) -> dict:
    head = h.head
    return {"name": head.name if head else "", "id_number": head.id_number if head else ""}


def _push(h: Household, kind: str, payload: dict) -> None:
    """Queue a list change for the provincial platform (SPEC §10), subject as in the records' payloads."""
    body = {"archive_no": h.archive_no, "region_code": h.region_code, "subject": _subject(h)}
    body.update(payload)
    platform.enqueue(h.id, kind, body)


_stored = official  # text kept in the database or sent to the household: housingcredit.i18n.official


def _notice(h: Household, kind: str, ref_type: str, ref_id, on: date, title, body_fn: Callable[[], str]) -> None:
    """A written notice in the household's language (Chinese first), issued once per (kind, ref)."""
    text_title, text_body = official(title), official(body_fn)
    notices.issue(h.id, kind, ref_type, ref_id, text_title, text_body, issued_date=on, region_code=h.region_code)
