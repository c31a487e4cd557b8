"""Written notices in the app (告知书, 警示, 催告书 …): the household's inbox and one notice."""
from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from ..accounts import gate
from ..accounts.models import Role
from ..extensions import db
from ..errors import NotFound
from . import service

bp = Blueprint("notices", __name__)


@bp.route("/my/notices")
@login_required
def inbox():
    who = gate.user()
    if who.role != Role.household:
        raise NotFound()
    return render_template("notices/inbox.html", notices=service.for_reader(who.household_id, who))


@bp.route("/notices/<int:notice_id>")
@login_required
def show(notice_id: int):
    notice = service.open_notice(notice_id, gate.user())
    db.session.commit()
    return render_template("notices/show.html", notice=notice)


@bp.route("/notices/<int:notice_id>.pdf")
@login_required
def pdf(notice_id: int):
    from ..reports import service as documents
    from ..reports.views import pdf_response
    doc, data = documents.notice_pdf(notice_id, gate.user())
    db.session.commit()  # a first download stores the rendered PDF and its hash
    return pdf_response(data, f"notice-{notice_id}.pdf")


@bp.app_context_processor
def notice_helpers():
    """The unread count of the badge in base.html, prepared before the page renders (one read, no write); a
    household's notice list (`household_notices`) is prepared by the view that shows it."""
    if current_user and current_user.is_authenticated and current_user.role == Role.household:
        return {"unread_notices": service.unread_count(current_user.household_id)}
    return {"unread_notices": 0}
