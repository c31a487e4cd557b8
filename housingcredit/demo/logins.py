"""The demo logins: one staff account per role, and the demo household's own login; printed after a load."""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from ..accounts import regions
from ..accounts.models import Role, User
from ..archives.models import Household, Member, Relation
from ..extensions import db

DEMO_PASSWORD = "demo-pass-2026"


@dataclass(frozen=True)
class DemoLogin:
    username: str
    display_name: str
    role: Role
    region_code: str


STAFF_LOGINS = (
    DemoLogin("caseworker", "王经办（武汉）", Role.caseworker, "420100"),
    DemoLogin("caseworker_yc", "李经办（宜昌）", Role.caseworker, "420500"),
    DemoLogin("reviewer", "陈评审（武汉）", Role.reviewer, "420100"),
    DemoLogin("supervisor", "刘主管（省住建厅）", Role.supervisor, "420000"),
    DemoLogin("auditor", "赵审计（纪检）", Role.auditor, "420000"),
)

def print_logins(echo=print) -> None:
    users = {u.username: u for u in db.session.scalars(
        sa.select(User).where(User.username.in_([d.username for d in STAFF_LOGINS])))}
    lines = []
    for d in STAFF_LOGINS:
        if d.username in users:
            lines.append(f"  {d.role.value:<11} {d.username:<14} / {DEMO_PASSWORD}   "
                         f"({regions.full_name(d.region_code)} {d.region_code})")
    head = _demo_household_head()
    if head is not None:
        lines.append(f"  {'household':<11} ID {head.id_number} / {DEMO_PASSWORD}   "
                     f"({regions.full_name(head.household.region_code)}, {head.name}家)")
    if lines:
        echo("Demo logins (user / password):")
        for line in lines:
            echo(line)


def _ensure_staff(echo) -> dict[str, User]:
    from ..accounts import service
    out = {}
    for d in STAFF_LOGINS:
        user = db.session.scalar(sa.select(User).where(User.username == d.username))
        if user is None:
            user = service.create_staff(d.username, d.display_name, d.role, d.region_code, DEMO_PASSWORD,
                                        actor=(None, "demo"))
        out[d.username] = user
    db.session.flush()
    echo(f"demo: {len(out)} staff logins ready.")
    return out


def _demo_household_head() -> Member | None:
    """The head of the first activated Wuhan household login (the demo household)."""
    lo, hi = regions.code_range("420100")
    return db.session.scalar(
        sa.select(Member).join(User, User.household_id == Member.household_id)
        .join(Household, Household.id == Member.household_id)
        .where(User.role == Role.household, User.password_hash.is_not(None), Member.relation == Relation.head,
               Household.region_code.between(lo, hi))
        .order_by(User.id).limit(1))


def _ensure_household_login(caseworker: User) -> None:
    """Activate the first Wuhan household through the real activation path (code issued by the caseworker)."""
    from ..accounts import service
    if _demo_household_head() is not None:
        return
    lo, hi = regions.code_range("420100")
    household = db.session.scalar(sa.select(Household).where(Household.region_code.between(lo, hi))
                                  .order_by(Household.id).limit(1))
    if household is None or household.head is None:
        return
    code = service.issue_activation_code(household, caseworker)
    service.activate_household(household.head.id_number, code, DEMO_PASSWORD)
    db.session.flush()
