"""Documents on the web: issue and download credit reports, and the public verification page (SPEC §12)."""
from __future__ import annotations

import logging
import threading

from flask import (Blueprint, Response, current_app, flash, jsonify, redirect, render_template, request,
                   send_file, url_for)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..accounts import gate
from ..accounts.models import Role
from ..errors import DomainError, NotFound
from ..extensions import db, limiter
from . import service

bp = Blueprint("reports", __name__)
log = logging.getLogger(__name__)


def pdf_response(data: bytes, filename: str) -> Response:
    resp = Response(data, mimetype="application/pdf")
    resp.headers["Content-Disposition"] = f"inline; filename=\"{filename}\""
    return resp


@bp.route("/households/<int:household_id>/credit-report", methods=["POST"])
@login_required
def issue(household_id: int):
    doc = service.issue_credit_report(household_id, gate.user())
    db.session.commit()
    return redirect(url_for("reports.download", document_id=doc.id))


@bp.route("/my/credit-report", methods=["POST"])
@login_required
def issue_own():
    who = gate.user()
    if who.role != Role.household:
        raise NotFound()
    doc = service.issue_credit_report(who.household_id, who)
    db.session.commit()
    return redirect(url_for("reports.download", document_id=doc.id))


@bp.route("/reports/<int:document_id>.pdf")
@login_required
def download(document_id: int):
    doc, data = service.report_pdf(document_id, gate.user())
    db.session.commit()
    return pdf_response(data, f"credit-report-{doc.id}.pdf")


@bp.route("/credit-checks/<int:check_id>/slip.pdf")
@login_required
def check_slip(check_id: int):
    """The slip of a logged credit check (one page): for the staff member who made it, or their office."""
    from . import slips
    doc, data = slips.slip_pdf(check_id, gate.user())
    db.session.commit()  # the first download issues it (number, stored bytes and hash)
    return pdf_response(data, f"credit-check-{check_id}.pdf")


# ---- batches for an allocation round (supervisors anywhere, a caseworker in their region) ----------------------

def _start(batch_id: int, user_id: int) -> None:
    """Run the batch outside the request: a thread of this process (the rows make it resumable — after a restart
    the page offers "continue", or `flask reports batch --resume ID`). REPORT_BATCH_INLINE runs it in the request
    (tests)."""
    from . import batch
    if current_app.config.get("REPORT_BATCH_INLINE"):
        batch.run(batch_id, gate.user())
        return
    app = current_app._get_current_object()
    base = request.host_url  # the verification address printed in each report: this site's

    def work():
        with app.app_context():
            from ..accounts.models import User
            try:
                batch.run(batch_id, db.session.get(User, user_id), verify_base=base)
            except Exception:  # logged; the batch stays resumable
                db.session.rollback()
                log.exception("report batch %s stopped", batch_id)
            finally:
                db.session.remove()
    threading.Thread(target=work, name=f"report-batch-{batch_id}", daemon=True).start()


def _batch_page(batch_id: int):
    from . import batch
    b = batch.get_batch(batch_id, gate.user())
    return {"batch": b, "progress": batch.progress(b)}


@bp.route("/report-batches", methods=["GET", "POST"])
@login_required
def batches():
    from ..accounts import regions
    from . import batch
    who = gate.user()
    error = None
    if request.method == "POST":
        upload = request.files.get("file")
        try:
            tokens = batch.parse_csv(upload.read() if upload else b"")
            b = batch.create_batch(request.form.get("region_code", ""), tokens, who)
            db.session.commit()
        except DomainError as err:
            db.session.rollback()
            error = err
        else:
            _start(b.id, who.id)
            flash(_("The batch was started."), "success")
            return redirect(url_for("reports.batch_page", batch_id=b.id), 303)
    rows = [{"batch": b, "progress": batch.progress(b)} for b in batch.batches_for(who)]
    return render_template("reports/batches.html", rows=rows, regions=regions.choices(who.region_code),
                           error=error), (error.status if error else 200)


@bp.route("/report-batches/<int:batch_id>")
@login_required
def batch_page(batch_id: int):
    return render_template("reports/batch.html", **_batch_page(batch_id))


@bp.route("/report-batches/<int:batch_id>/progress")
@login_required
def batch_progress(batch_id: int):
    resp = jsonify(_batch_page(batch_id)["progress"])
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.route("/report-batches/<int:batch_id>/continue", methods=["POST"])
@login_required
def batch_continue(batch_id: int):
    from ..errors import Conflict
    from . import batch
    data = _batch_page(batch_id)
    if data["progress"]["running"]:
        raise Conflict(_("This batch is being run already."))
    if data["batch"].status != batch.DONE:
        _start(batch_id, gate.user().id)
    return redirect(url_for("reports.batch_page", batch_id=batch_id), 303)


@bp.route("/report-batches/<int:batch_id>.zip")
@login_required
def batch_zip(batch_id: int):
    from . import batch
    path = batch.zip_for(batch_id, gate.user())
    db.session.commit()  # the download is audited
    return send_file(path, mimetype="application/zip", as_attachment=True, download_name=path.name)


def _verify_limit() -> str:
    return current_app.config.get("RATELIMIT_VERIFY", "30/minute")


@bp.route("/verify/<code>")
@limiter.limit(_verify_limit)
def verify(code: str):
    result = service.verify(code)
    resp = current_app.make_response((render_template("reports/verify.html", result=result, code=code),
                                      200 if result else 404))
    resp.headers["Cache-Control"] = "public, max-age=300"
    return resp


def reports_panel(household) -> list:
    """The household's credit reports for templates/reports/_panel.html (context `reports`): prepared by the view
    that includes the panel (templates only render)."""
    if not (gate.can("credit.read") or current_user.role == Role.household):
        return []
    return service.reports_for(household.id, gate.user())


@bp.app_context_processor
def report_helpers():
    def may_issue_report():
        return gate.can("credit.check") or current_user.role == Role.household

    return {"may_issue_report": may_issue_report}
