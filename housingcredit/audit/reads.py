"""Who looked at my file (SPEC §1, §11): the staff reads of a household's credit data, as the household sees them.

Fed from the audit trail: every `*.read` entry and every `credit.check` naming the household. Shown: the office
(the reader's region name), the role, what was read, the business and purpose (a credit check's), the time —
never the staff member's name or login; the system's own reads (jobs, rebuilds, what-ifs: no acting user) and the
household's own reads are left out.
"""
from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from ..accounts import regions
from ..accounts.models import Role, User
from ..extensions import db
from .labels import action_label
from .models import AuditEntry
from .service import CHECK, read_clause

ROLE_LABELS = {Role.caseworker: _l("Caseworker"), Role.reviewer: _l("Reviewer"), Role.supervisor: _l("Supervisor"),
               Role.auditor: _l("Auditor")}


def staff_reads(household_id: int, limit: int = 200) -> list[dict]:
    """The household's file as read by staff, newest first, as plain dicts: `dt`, `office` (region name),
    `region_code`, `role`, `role_label`, `action`, `what`, `business`, `business_label`, `purpose`."""
    from ..lists.common import BUSINESS_LABELS  # labels only; the lists sit above the audit trail
    rows = db.session.execute(
        sa.select(AuditEntry.dt, AuditEntry.action, AuditEntry.after, User.role, User.region_code)
        .join(User, User.id == AuditEntry.actor_id)  # no acting user: the system's own read, not shown
        .where(AuditEntry.household_id == household_id, read_clause(),  # chained or not yet
               User.role != Role.household)
        .order_by(AuditEntry.id.desc()).limit(limit)).all()
    out = []
    for dt, action, after, role, region_code in rows:
        after = after or {}
        business = after.get("business") if action == CHECK else None
        out.append({"dt": dt, "office": regions.full_name(region_code) or region_code, "region_code": region_code,
                    "role": role.value, "role_label": str(ROLE_LABELS.get(role, role.value)), "action": action,
                    "what": str(action_label(action)), "business": business,
                    "business_label": str(BUSINESS_LABELS.get(business, business)) if business else None,
                    "purpose": after.get("purpose") if action == CHECK else None})
    return out
