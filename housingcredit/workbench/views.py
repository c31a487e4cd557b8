"""Pages of the workbench: the to-do home page, every list with its filters / totals / paging / sorting, its
masked .xlsx export, and the unmasked-export requests (ask, decide, download once). Thin edges."""
from __future__ import annotations

import os
from urllib.parse import quote

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from ..accounts import gate
from ..clock import get_clock
from ..errors import DomainError
from ..extensions import db
from . import exports, filters, todo
from .specs import SPECS

bp = Blueprint("workbench", __name__)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.route("/home")
@login_required
def home():
    who = gate.user()
    return render_template("workbench/home.html", data=todo.todos(who))


def _lists_for(who) -> list[dict]:
    return [{"name": s.name, "title": s.title, "url": url_for("workbench.list_page", name=s.name)}
            for s in SPECS.values() if gate.can(s.permission, who) and who.role in gate.STAFF]


def _filter_fields(spec, q: dict, who) -> list[dict]:
    """The filter form's fields, values and options (the region as a tree, the operators of the region)."""
    fields = []
    for f in spec.filters:
        field = {"name": f.name, "label": f.label, "kind": f.kind, "value": q.get(f.name, "")}
        if f.kind == "region":
            field["options"] = [{"value": r["code"], "label": "\u3000" * r["depth"] + f"{r['name']} {r['code']}"}
                                for r in filters.region_tree(who)]
        elif f.kind == "choice":
            field["options"] = [{"value": k, "label": str(v)} for k, v in f.options().items()]
        elif f.kind == "operator":
            field["options"] = [{"value": k, "label": v} for k, v in filters.operators(who).items()]
        elif f.kind == "dates":
            field["from"], field["to"] = q.get(f.name + "_from", ""), q.get(f.name + "_to", "")
        fields.append(field)
    return fields


@bp.route("/workbench/<name>")
@login_required
def list_page(name: str):
    who = gate.user()
    spec = exports.spec_of(name)
    data = filters.page(spec, request.args, who)
    q = data["filters"]
    rows = [[{"value": c["value"], "url": url_for(c["link"][0], **c["link"][1]) if c["link"] else None}
             for c in r["cells"]] for r in data["rows"]]
    return render_template(
        "workbench/list.html", spec=spec, data=data, rows=rows, fields=_filter_fields(spec, q, who),
        sorts=[{"value": s.name, "label": s.label} for s in spec.sorts], lists=_lists_for(who),
        headers=[c.label for c in spec.columns], filter_args=q,
        first_url=url_for("workbench.list_page", name=name, **q) if data["after"] else None,
        next_url=url_for("workbench.list_page", name=name, after=data["next"], **q) if data["next"] else None,
        export_url=url_for("workbench.export", name=name, **q),
        request_url=url_for("workbench.request_export", name=name),
        own_page=url_for(spec.page_endpoint) if spec.page_endpoint else None)


def _send(path: str, filename: str) -> Response:
    """Stream the finished workbook in chunks, then remove it."""
    size = os.path.getsize(path)

    def chunks():
        try:
            with open(path, "rb") as fh:
                while block := fh.read(256 * 1024):
                    yield block
        finally:
            os.unlink(path)

    response = Response(chunks(), mimetype=XLSX, direct_passthrough=True)
    response.headers["Content-Length"] = str(size)
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response


def _filename(spec, tag: str = "") -> str:
    return f"{spec.name}{tag}-{get_clock().today().isoformat()}.xlsx"


@bp.route("/workbench/<name>/export.xlsx")
@login_required
def export(name: str):
    who = gate.user()
    path, _n = exports.masked_export(name, request.args, who)
    try:
        db.session.commit()  # the export is audited before a byte leaves
    except BaseException:
        os.unlink(path)
        raise
    return _send(path, _filename(exports.spec_of(name)))


@bp.route("/workbench/<name>/export-requests", methods=["POST"])
@login_required
def request_export(name: str):
    who = gate.user()
    args = {k: v for k, v in request.form.items() if k not in ("csrf_token", "purpose")}
    try:
        exports.request_unmasked(name, args, request.form.get("purpose", ""), who)
    except DomainError as err:
        db.session.rollback()
        if err.status != 422:
            raise
        flash(str(err.message), "error")
        return redirect(url_for("workbench.list_page", name=name, **{k: v for k, v in args.items() if v}), 303)
    db.session.commit()
    flash(_("The unmasked export was requested; a supervisor will decide it."), "success")
    return redirect(url_for("workbench.export_requests"), 303)


@bp.route("/workbench/exports")
@login_required
def export_requests():
    who = gate.user()
    data = exports.requests_for(who)
    for r in data["mine"] + data["waiting"]:
        r["list_url"] = url_for("workbench.list_page", name=r["list_name"], **r["filters"])
        r["download_url"] = (url_for("workbench.download", request_id=r["id"]) if r["state"] == "ready" else None)
        r["decide_url"] = url_for("workbench.decide", request_id=r["id"])
    return render_template("workbench/exports.html", data=data, may_decide=exports.may_decide(who))


@bp.route("/workbench/exports/<int:request_id>/decision", methods=["POST"])
@login_required
def decide(request_id: int):
    req = exports.decide(request_id, request.form.get("decision", ""), request.form.get("note", ""), gate.user())
    db.session.commit()
    flash(_("The export was approved.") if req.decision == "approved" else _("The export was refused."), "success")
    return redirect(url_for("workbench.export_requests"), 303)


@bp.route("/workbench/exports/<int:request_id>/download")
@login_required
def download(request_id: int):
    req, path = exports.download_unmasked(request_id, gate.user())
    try:
        db.session.commit()  # downloaded once: marked and audited before the file is sent
    except BaseException:
        os.unlink(path)
        raise
    return _send(path, _filename(exports.spec_of(req.list_name), f"-unmasked-{req.id}"))
