"""The audit trail page for supervisors and auditors."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, render_template, request
from flask_login import login_required

from ..accounts import gate
from ..extensions import db
from ..validation import MAX_ID
from .labels import action_label
from .models import AuditEntry

bp = Blueprint("audit", __name__)


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
    if who.region_code != "420000":
        stmt = stmt.where(sa.or_(AuditEntry.region_code.is_(None), gate.region_clause(AuditEntry.region_code, who)))
    return render_template("audit/trail.html", entries=db.session.scalars(stmt).all(), action_label=action_label)
