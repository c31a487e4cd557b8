"""The audit trail page for supervisors and auditors: search, readable entries, and the chain's verifier (run in
the background: the page shows its progress, then its answer)."""
from __future__ import annotations

from flask import Blueprint, jsonify, redirect, render_template, request, url_for
from flask_login import login_required

from ..accounts import gate
from ..errors import InvalidInput
from ..extensions import db
from ..validation import MAX_ID
from . import trail as queries
from . import verification

bp = Blueprint("audit", __name__)


@bp.record_once
def _init_audit_key(state):
    """The chain's key is settled when the app is made: production refuses to start without AUDIT_KEY."""
    from . import keys
    keys.init_app(state.app)


def _page(filters, before, errors=None, status=200):
    who = gate.user()
    page = queries.search(filters, who, before) if errors is None else queries.Page()
    may_verify = gate.can("audit.verify", who)
    latest = verification.latest() if may_verify else None
    return render_template("audit/trail.html", page=page, filters=filters, before=before,
                           actions=queries.actions(), errors=errors or {}, may_verify=may_verify,
                           verification=verification.view(latest) if latest else None), status


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
    """Start the chain's verifier (as `flask audit verify`) in the background, or join the run going on; the trail
    page then shows its progress and, when done, its answer."""
    v, fresh = verification.request(gate.require("audit.verify"))
    db.session.commit()
    if fresh:
        verification.start(v.id)
    return redirect(url_for("audit.trail") + "#verification", 303)


@bp.get("/audit/verifications/<int:verification_id>")
@login_required
def verification_progress(verification_id: int):
    """The run's state, progress and answer as JSON (polled by the trail page)."""
    resp = jsonify(verification.as_json(verification.get(verification_id, gate.user())))
    resp.headers["Cache-Control"] = "no-store"
    return resp
