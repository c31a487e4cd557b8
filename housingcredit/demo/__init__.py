"""Demo data (演示数据): households in every Hubei prefecture-level region and one login per role.

`flask demo load` calls `load()`. Households and members are built in Python and bulk-inserted with SQLAlchemy
Core in batches (100,000 households in well under a minute on PostgreSQL); the staff accounts and the household
login go through the account services like any other. Then a few percent of the new households (at most
CREDIT_CAP) get a credit history of the past 18 months through the records and lists services, on a walking
FixedClock, and today's daily jobs run once (`credit_history`). One audit entry summarises the load and one the
credit history — they name counts, never an ID number.

The package: `households` (bulk households and members, `_Builder`), `credit` (credit histories through the
real services), `samples` (the small PDF/PNG evidence files); this module loads them and prints the logins.
"""
from __future__ import annotations

import sqlalchemy as sa

from ..archives.models import Household
from ..audit import service as audit
from ..extensions import db
from .credit import CREDIT_CAP, HISTORY_DAYS, credit_history  # noqa: F401
from .households import _Builder, _bulk_households  # noqa: F401
from .logins import (  # noqa: F401
    DEMO_PASSWORD,
    STAFF_LOGINS,
    DemoLogin,
    _demo_household_head,
    _ensure_household_login,
    _ensure_staff,
    print_logins,
)


def load(households: int = 2000, seed: int = 7, if_empty: bool = False, echo=print) -> dict:
    """Load demo households and logins; with `if_empty`, leave a database that has households alone."""
    import click
    from flask import current_app
    if current_app.config.get("ENV_NAME") == "production":
        raise click.ClickException("demo data is never loaded in production (HOUSINGCREDIT_ENV_NAME=production)")
    existing = db.session.scalar(sa.select(sa.func.count()).select_from(Household))
    if if_empty and existing:
        echo(f"demo: {existing} households already present; nothing loaded.")
        print_logins(echo)
        return {"households": 0, "members": 0}
    staff = _ensure_staff(echo)
    stats = _bulk_households(max(0, households), seed, echo)
    _ensure_household_login(staff["caseworker"])
    audit.record("demo.load", "demo", None, actor=(None, "demo"),
                 after={"households": stats["households"], "members": stats["members"], "seed": seed,
                        "per_prefecture": stats["per_prefecture"]})
    db.session.commit()  # the households stand on their own (and the PostgreSQL table lock is released)
    echo(f"demo: loaded {stats['households']} households with {stats['members']} members.")
    stats["credit"] = credit_history(stats["first_id"], stats["households"], seed, echo)
    analyze()
    print_logins(echo)
    return stats


def analyze(tables=None) -> None:
    """Fresh planner statistics for the tables just filled (all by default), so the first queries after a bulk
    load use the indexes instead of plans made for empty tables. PostgreSQL: ANALYZE each table; SQLite:
    ANALYZE (harmless, and its planner uses it too)."""
    names = tables or [t.name for t in db.metadata.sorted_tables]
    if db.session.get_bind().dialect.name == "postgresql":
        for name in names:
            db.session.execute(sa.text(f'ANALYZE "{name}"'))
    else:
        db.session.execute(sa.text("ANALYZE"))
    db.session.commit()


