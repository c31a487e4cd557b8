"""The audit trail page for supervisors and auditors: search, readable entries, and the chain's verifier."""
from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import login_required

from ..accounts import gate
from ..errors import InvalidInput
from ..extensions import db
from ..validation import MAX_ID
from . import trail as queries

bp = Blueprint("audit", __name__)


@bp.record_once
def _init_audit_key(state):
    """The chain's key is settled when the app is made: production refuses to start without AUDIT_KEY."""
    from . import keys
    keys.init_app(state.app)


def _page(filters, before, verification=None, errors=None, status=200):
    who = gate.user()
    page = queries.search(filters, who, before) if errors is None else queries.Page()
    return render_template("audit/trail.html", page=page, filters=filters, before=before,
                           actions=queries.actions(), verification=verification, errors=errors or {},
                           may_verify=gate.can("audit.verify", who)), status


@bp.route("/audit")
@login_required
def trail():
    gate.require("audit.read")
    before = request.args.get("before", type=int)
    if before is not None:
        before = min(before, MAX_ID)  # "before" a number no entry can reach: every entry (not a database error)
    try:
        filters = queries.parse_filters(request.args)
    except InvalidInput as err:
        raw = queries.Filters(actor=(request.args.get("actor") or "")[:80],
                              household=(request.args.get("household") or "")[:32])
        return _page(raw, before, errors=err.to_dict()["errors"], status=422)
    return _page(filters, before)


@bp.post("/audit/verify")
@login_required
def verify():
    """Run the chain's verifier (as `flask audit verify`) and show its answer above the newest entries."""
    verification = queries.verify_chain(gate.require("audit.verify"))
    db.session.commit()
    return _page(queries.Filters(), None, verification=verification)
