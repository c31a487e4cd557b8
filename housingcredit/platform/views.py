"""The push console (推送监控) for supervisors: counts by status, messages with the platform's answers in order per
household, dead letters as alerts, retry, reconciliation against the platform's holdings, and repair."""
from __future__ import annotations

import httpx
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from ..accounts import gate
from ..errors import DomainError
from ..extensions import db
from . import sender, service
from .models import STATUSES

bp = Blueprint("platform", __name__)


@bp.route("/platform")
@login_required
def console():
    gate.require("platform.read")
    status = request.args.get("status") if request.args.get("status") in STATUSES else None
    stream = (request.args.get("stream") or "").strip()[:40] or None
    return render_template("platform/console.html", counts=service.counts(), status=status, stream=stream,
                           messages=service.messages(status, stream), statuses=STATUSES, result=None)


@bp.post("/platform/<int:event_id>/retry")
@login_required
def retry(event_id: int):
    who = gate.require("platform.manage")
    try:
        row = service.retry(event_id, who)
        db.session.commit()
        flash(_("Message %(seq)s of stream %(stream)s is queued again.", seq=row.seq, stream=row.stream), "success")
    except DomainError as err:
        db.session.rollback()
        flash(str(err.message), "error")
    return redirect(url_for("platform.console"), 303)


@bp.post("/platform/reconcile")
@login_required
def reconcile():
    gate.require("platform.manage")
    try:
        result = service.reconcile(sender.holdings())
    except (sender.NotConfigured, httpx.HTTPError, ValueError, KeyError) as err:  # the platform unreachable or not configured: an answer, not a 500
        db.session.rollback()
        flash(_("The platform could not be reached: %(error)s", error=type(err).__name__), "error")
        return redirect(url_for("platform.console"), 303)
    return render_template("platform/console.html", counts=service.counts(), status=None, stream=None,
                           messages=service.messages(), statuses=STATUSES, result=result)


@bp.post("/platform/repair")
@login_required
def repair():
    who = gate.require("platform.manage")
    keys = [k[:64] for k in request.form.getlist("key")][:10000]
    n = service.repair(keys, who)
    db.session.commit()
    flash(_("%(n)s message(s) queued to be sent again.", n=n), "success")
    return redirect(url_for("platform.console"), 303)


@bp.app_context_processor
def _labels():
    from flask_babel import lazy_gettext as _l
    status_labels = {"pending": _l("Pending"), "sent": _l("Sent"), "acknowledged": _l("Acknowledged"),
                     "failed": _l("Failed (retrying)"), "dead": _l("Dead-lettered")}
    difference_labels = {"missing": _l("Acknowledged but not held by the platform"),
                         "unknown": _l("Held by the platform, never queued here"),
                         "unconfirmed": _l("Held by the platform, not yet acknowledged here"),
                         "mismatch": _l("Held with another stream, number or kind"),
                         "duplicate": _l("Held twice"), "out_of_order": _l("Held out of order")}
    return {"status_label": lambda s: status_labels.get(s, s),
            "difference_label": lambda d: difference_labels.get(d, d)}
