"""The audit trail page for supervisors and auditors."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, render_template, request
from flask_login import login_required

from ..accounts import gate, regions
from ..extensions import db
from ..validation import MAX_ID
from .labels import action_label
from .models import AuditEntry

bp = Blueprint("audit", __name__)


@bp.record_once
def _init_audit_key(state):
    """The chain's key is settled when the app is made: production refuses to start without AUDIT_KEY."""
    from . import keys
    keys.init_app(state.app)


@bp.route("/audit")
@login_required
def trail():
    gate.require("audit.read")
    before = request.args.get("before", type=int)
    if before is not None:
        before = min(before, MAX_ID)  # "before" a number no entry can reach: every entry (not a database error)
    stmt = sa.select(AuditEntry).order_by(AuditEntry.id.desc()).limit(100)
    if before:
        stmt = stmt.where(AuditEntry.id < before)
    who = gate.user()
    if regions.get(who.region_code).level != "province":
        # A regional viewer sees its region's trail only; entries of no region (system, logins, accounts without
        # one) are the province's.
        stmt = stmt.where(gate.region_clause(AuditEntry.region_code, who))
    return render_template("audit/trail.html", entries=db.session.scalars(stmt).all(), action_label=action_label)
