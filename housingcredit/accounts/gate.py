"""The one gate for access (DESIGN rule 5): role permissions and region scope for every household query."""
from __future__ import annotations


from flask_login import current_user

from ..errors import Forbidden, NotFound
from . import regions
from .models import Role, User

STAFF = {Role.caseworker, Role.reviewer, Role.supervisor, Role.auditor}

# What each role may do. Region scope applies on top of these for every household.
PERMISSIONS: dict[str, set[Role]] = {
    "archive.read": STAFF,
    "archive.write": {Role.caseworker, Role.supervisor},
    "archive.read_id_number": {Role.caseworker, Role.supervisor},
    "account.activate_household": {Role.caseworker, Role.supervisor},
    "account.manage": {Role.supervisor},
    "record.create": {Role.caseworker, Role.supervisor},
    "record.determine": {Role.reviewer, Role.supervisor},
    "record.revoke": {Role.caseworker, Role.supervisor},
    "credit.read": STAFF,
    "credit.check": {Role.caseworker, Role.reviewer, Role.supervisor},
    "lists.read": STAFF,
    "lists.write": {Role.caseworker, Role.supervisor},
    "rules.manage": {Role.supervisor},
    "audit.read": {Role.supervisor, Role.auditor},
    "platform.read": {Role.supervisor, Role.auditor}, "platform.manage": {Role.supervisor},
    "own.read": {Role.household},
}


def user() -> User:
    if not current_user or not current_user.is_authenticated:
        raise Forbidden()
    return current_user._get_current_object()


def can(permission: str, who: User | None = None) -> bool:
    who = who or (current_user if current_user and current_user.is_authenticated else None)
    return bool(who) and who.role in PERMISSIONS[permission]


def require(permission: str, who: User | None = None) -> User:
    who = who or user()
    if who.role not in PERMISSIONS[permission]:
        raise Forbidden()
    return who


def region_clause(column, who: User):
    """A WHERE clause limiting `column` (a region code) to the user's region."""
    lo, hi = regions.code_range(who.region_code)
    if lo == hi:
        return column == lo
    return column.between(lo, hi)


def scope_households(stmt, who: User, household_model=None):
    """Limit a select over households to what `who` may see: their region, or their own household."""
    from ..archives.models import Household
    hh = household_model or Household
    if who.role == Role.household:
        return stmt.where(hh.id == who.household_id)
    return stmt.where(region_clause(hh.region_code, who))


def check_household(household, permission: str, who: User | None = None):
    """Raise NotFound for a household outside the user's reach (no existence leak), Forbidden for a missing role."""
    who = who or user()
    if household is None:
        raise NotFound()
    if who.role == Role.household:
        if household.id != who.household_id or permission not in ("own.read", "archive.read", "credit.read"):
            raise NotFound()
        return household
    if not regions.covers(who.region_code, household.region_code):
        raise NotFound()
    require(permission, who)
    return household


def check_region(code: str, who: User | None = None) -> str:
    """A region code the user may write to (staff only)."""
    who = who or user()
    if regions.get(code) is None:
        from ..errors import InvalidInput
        from flask_babel import lazy_gettext as _l
        raise InvalidInput(_l("Unknown region code."), field="region_code")
    if who.role == Role.household or not regions.covers(who.region_code, code):
        raise Forbidden()
    return code


# ---- the credit check: province-wide (SPEC §1 exception, HB 六 联合惩戒) -------------------------------------

def may_check(who: User | None = None) -> User:
    """Who may run the credit check (SPEC §8): the roles with "credit.check", on any ID number of the province —
    the one exception to the region rule (SPEC §1). Households and auditors get Forbidden."""
    return require("credit.check", who)


def check_scope(who: User, household_region_code: str) -> str:
    """How much a credit check answers: "full" for a household inside the caller's region, else "limited" —
    only what the check needs (tier, list status with dates, measures with clauses, conclusion, issuing region;
    SPEC §1). Takes the household's region code (or a household)."""
    code = getattr(household_region_code, "region_code", household_region_code)
    return "full" if regions.covers(who.region_code, code) else "limited"
