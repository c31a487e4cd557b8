"""Import pages (批量导入): the template, upload and checked preview, confirm, progress (JSON, polled by the page),
the report. Thin edges: each view calls one service function and commits once."""
from __future__ import annotations

import io

from flask import Blueprint, flash, jsonify, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import login_required

from ..accounts import gate
from ..errors import InvalidInput
from ..extensions import db
from . import service
from .models import ImportStatus

bp = Blueprint("imports", __name__)

STATUS_LABELS = {ImportStatus.checked: _l("Checked, not yet confirmed"), ImportStatus.running: _l("Importing"),
                 ImportStatus.done: _l("Finished"), ImportStatus.cancelled: _l("Dropped")}


@bp.context_processor
def import_helpers():
    return {"import_status_label": lambda s: STATUS_LABELS.get(s, s)}

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PREVIEW_ROWS = 200  # rows of each kind listed on the page; the report lists every row


@bp.route("/imports")
@login_required
def index():
    who = gate.require("archive.write")
    return render_template("imports/index.html", recent=service.recent(who), error=None)


@bp.route("/imports/template.xlsx")
@login_required
def template():
    who = gate.require("archive.write")
    return send_file(io.BytesIO(service.template(who)), mimetype=XLSX, as_attachment=True,
                     download_name="家庭档案导入模板.xlsx")


@bp.route("/imports", methods=["POST"])
@login_required
def upload():
    who = gate.require("archive.write")
    f = request.files.get("file")
    try:
        if f is None or not f.filename:
            raise InvalidInput(_("Please choose a file."), field="file")
        batch = service.check_file(f.read(), f.filename, who)
    except InvalidInput as err:
        db.session.rollback()
        return render_template("imports/index.html", recent=service.recent(who),
                               error=str(err.errors.get("file", [err.message])[0])), 422
    db.session.commit()
    return redirect(url_for("imports.show", batch_id=batch.id))


@bp.route("/imports/<int:batch_id>")
@login_required
def show(batch_id: int):
    batch = service.get(batch_id, gate.user())
    rows = batch.rows or []
    good = [r for r in rows if r["ok"]]
    bad = [r for r in rows if not r["ok"]]
    return render_template("imports/show.html", batch=batch, good=good[:PREVIEW_ROWS], bad=bad[:PREVIEW_ROWS],
                           good_count=len(good), bad_count=len(bad), progress=service.progress(batch),
                           statuses=ImportStatus)


@bp.route("/imports/<int:batch_id>/confirm", methods=["POST"])
@login_required
def confirm(batch_id: int):
    batch = service.confirm(batch_id, gate.user())
    db.session.commit()
    service.start(batch.id)
    return redirect(url_for("imports.show", batch_id=batch_id))


@bp.route("/imports/<int:batch_id>/cancel", methods=["POST"])
@login_required
def cancel(batch_id: int):
    service.cancel(batch_id, gate.user())
    db.session.commit()
    flash(_("The import was dropped; nothing was written."), "success")
    return redirect(url_for("imports.index"))


@bp.route("/imports/<int:batch_id>/progress")
@login_required
def progress(batch_id: int):
    batch = service.get(batch_id, gate.user())
    return jsonify(service.progress(batch))


@bp.route("/imports/<int:batch_id>/report.xlsx")
@login_required
def report(batch_id: int):
    batch = service.get(batch_id, gate.user())
    return send_file(io.BytesIO(service.report_bytes(batch)), mimetype=XLSX, as_attachment=True,
                     download_name=f"导入结果-{batch.id}.xlsx")
