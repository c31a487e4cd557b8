"""The one gate for access (DESIGN rule 5): role permissions, region scope and the audit of staff reads.

Every read and write of household data passes here with an explicit actor: a logged-in user, or `SYSTEM` for the
scheduled jobs, the `flask` commands, the demo loader and the cache rebuilds. Region logic (which codes a region
covers) lives only in accounts/: other packages ask `reaches`, `scope`, `scope_households` or `check_household`.
"""
from __future__ import annotations

from flask import has_request_context, request
from flask_login import current_user

from ..errors import Forbidden, NotFound
from . import regions
from .models import Role, User

STAFF = {Role.caseworker, Role.reviewer, Role.supervisor, Role.auditor}

# The reach of a grant: REGION — every household in the user's region; OWN — the user's own household only;
# ALL — every household of the province (the system actor).
REGION, OWN, ALL = "region", "own", "all"


def _grants(roles, reach: str = REGION) -> dict[Role, str]:
    return {role: reach for role in roles}


# What each role may do, and over which households. One table for staff, households and the system actor.
PERMISSIONS: dict[str, dict[Role, str]] = {
    "archive.read": {**_grants(STAFF), Role.household: OWN, Role.system: ALL},
    "archive.search": _grants(STAFF),
    "archive.write": _grants({Role.caseworker, Role.supervisor}),
    "archive.read_id_number": _grants({Role.caseworker, Role.supervisor}),
    "account.activate_household": _grants({Role.caseworker, Role.supervisor}),
    "record.create": _grants({Role.caseworker, Role.supervisor}),
    "record.determine": _grants({Role.reviewer, Role.supervisor}),
    "record.revoke": _grants({Role.caseworker, Role.supervisor}),
    "credit.read": {**_grants(STAFF), Role.household: OWN, Role.system: ALL},
    "credit.check": _grants({Role.caseworker, Role.reviewer, Role.supervisor}),
    "lists.read": {**_grants(STAFF), Role.system: ALL},
    "lists.write": {**_grants({Role.caseworker, Role.supervisor}), Role.system: ALL},
    "credit.rebuild": {Role.system: ALL},  # the nightly refresh and `flask credit rebuild` of the caches
    "rules.manage": _grants({Role.supervisor}),
    "audit.read": _grants({Role.supervisor, Role.auditor}),
    "audit.verify": _grants({Role.supervisor, Role.auditor}),  # run the chain's verifier from the trail page
    "own.read": {Role.household: OWN},
    "account.manage": _grants({Role.supervisor}),  # staff accounts of the region (accounts/staff.py)
    "token.own": _grants(STAFF),  # list, create and revoke one's own API tokens (accounts/tokens.py)
    "platform.read": _grants({Role.supervisor, Role.auditor}),
    "stats.read": _grants({Role.caseworker, Role.supervisor}),  # the statistics page and its export
    "platform.manage": _grants({Role.supervisor}),
}


class SystemActor:
    """The system itself (系统): the daily jobs, `flask` commands, the demo loader and cache rebuilds act as this
    named actor, with its own permissions in PERMISSIONS (role `system`), never as "nobody". It is no row of
    `users`: its audit entries carry no actor id and the label "system"; its reads are never staff reads."""

    id = None
    username = "system"
    display_name = "system"
    role = Role.system
    region_code = "420000"
    household_id = None
    household = None
    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self):  # Flask-Login's interface, never used to log in
        return None

    def __repr__(self) -> str:
        return "<SYSTEM>"


SYSTEM = SystemActor()

Actor = User | SystemActor


def user() -> User:
    if not current_user or not current_user.is_authenticated:
        raise Forbidden()
    return current_user._get_current_object()


def _grant(permission: str, who) -> str | None:
    return PERMISSIONS[permission].get(who.role) if who is not None else None


def can(permission: str, who: Actor | None = None) -> bool:
    """May `who` (default: the request's user) do this at all (somewhere)?"""
    if who is None:
        who = current_user if current_user and current_user.is_authenticated else None
    return _grant(permission, who) is not None


def require(permission: str, who: Actor | None = None) -> Actor:
    """`who` (default: the request's user) holding `permission` over a region (an own-household grant does not
    open region-wide pages such as the search or the lists), else Forbidden."""
    who = who if who is not None else user()
    grant = _grant(permission, who)
    if grant is None or (grant == OWN and not permission.startswith("own.")):
        raise Forbidden()
    return who


def _own_only(role: Role) -> bool:
    """Whether every grant of `role` holds on its own household only (a household's account)."""
    return all(grants.get(role) in (None, OWN) for grants in PERMISSIONS.values())


def is_staff(who) -> bool:
    """A staff member (whose reads of a household are audited), not a household and not the system."""
    return who is not None and who.role in STAFF


def reaches(who: Actor, household) -> bool:
    """Whether `who` reaches this household at all: its region (staff), its own (household), any (system)."""
    if household is None or who is None:
        return False
    if who.role == Role.system:
        return True
    if who.role == Role.household:
        return who.household_id is not None and household.id == who.household_id
    return regions.covers(who.region_code, household.region_code)


def region_clause(column, who: Actor, region: str | None = None):
    """A WHERE clause limiting `column` (a region code) to the user's region, or to `region`."""
    lo, hi = regions.code_range(region or who.region_code)
    if lo == hi:
        return column == lo
    return column.between(lo, hi)


def scope(column, who: Actor, region: str | None = None) -> list:
    """WHERE clauses limiting `column` (a region code) to the user's region, narrowed to `region` when given
    (unknown → 422 naming `region`, outside the user's region → 403)."""
    clauses = [region_clause(column, who)]
    if region:
        if regions.get(region) is None:
            from flask_babel import lazy_gettext as _l
            from ..errors import InvalidInput
            raise InvalidInput(_l("Unknown region code."), field="region")
        if not regions.covers(who.region_code, region):
            raise Forbidden()
        clauses.append(region_clause(column, who, region))
    return clauses


def scope_households(stmt, who: Actor, household_model=None):
    """Limit a select over households to what `who` may see: their region, or their own household."""
    from ..archives.models import Household
    hh = household_model or Household
    if who.role == Role.household:
        return stmt.where(hh.id == who.household_id)
    return stmt.where(region_clause(hh.region_code, who))


def check_household(household, permission: str, who: Actor):
    """The household, if `who` holds `permission` over it. NotFound for one out of reach (no hint that it exists
    elsewhere), Forbidden for one in reach without the permission."""
    if who is None:
        raise Forbidden()
    if household is None or not reaches(who, household):
        raise NotFound()
    grant = _grant(permission, who)
    if grant is None:  # a role that reaches only its own household learns nothing more (like a household)
        raise NotFound() if _own_only(who.role) else Forbidden()
    if grant == OWN and household.id != who.household_id:
        raise NotFound()
    return household


def check_region(code: str, who: Actor) -> str:
    """A region code the user may write to (staff only)."""
    if regions.get(code) is None:
        from ..errors import InvalidInput
        from flask_babel import lazy_gettext as _l
        raise InvalidInput(_l("Unknown region code."), field="region_code")
    if who.role not in STAFF or not regions.covers(who.region_code, code):
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


# ---- staff reads of one household's file are audited (DESIGN rule 6, SPEC §1) ---------------------------------

_LOGGED = "housingcredit.reads_logged"


def log_read(action: str, household, who: Actor, object_type: str = "household", object_id=None):
    """Log a staff member's read of one household's data as `<what>.read` (SPEC §1, §11): once per request and
    household, whatever the page gathers (the archive page's credit and lists panels add nothing to its
    `household.read`). A household's reads of its own file and the system's reads are not staff reads."""
    if not is_staff(who) or household is None:
        return None
    if not action.endswith(".read"):
        raise ValueError(f"a read is logged as '<what>.read', not {action!r}")
    if has_request_context():
        logged = request.environ.setdefault(_LOGGED, set())  # per request (tests share one app context)
        if household.id in logged:
            return None
        logged.add(household.id)
    from ..audit import service as audit
    return audit.record(action, object_type, household.id if object_id is None else object_id,
                        household_id=household.id, region_code=household.region_code, actor=(who.id, who.username))


def read_household(household, permission: str, who: Actor, action: str, object_type: str = "household",
                   object_id=None):
    """`check_household`, then the staff read logged (`log_read`): the one call for a read of one household."""
    h = check_household(household, permission, who)
    log_read(action, h, who, object_type, object_id)
    return h
