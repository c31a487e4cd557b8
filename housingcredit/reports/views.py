"""Documents on the web: issue and download credit reports, and the public verification page (SPEC §12)."""
from __future__ import annotations

from flask import Blueprint, Response, current_app, redirect, render_template, url_for
from flask_login import current_user, login_required

from ..accounts import gate
from ..accounts.models import Role
from ..errors import NotFound
from ..extensions import db, limiter
from . import service

bp = Blueprint("reports", __name__)


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


@bp.app_context_processor
def report_helpers():
    def household_reports(household):
        if not (gate.can("credit.read") or current_user.role == Role.household):
            return []
        return service.reports_for(household.id, gate.user())

    def may_issue_report():
        return gate.can("credit.check") or current_user.role == Role.household

    return {"household_reports": household_reports, "may_issue_report": may_issue_report}
