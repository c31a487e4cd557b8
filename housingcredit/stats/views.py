"""The statistics page (统计) and its .xlsx export: thin edges over stats.figures."""
from __future__ import annotations

from flask import Blueprint, Response, render_template, request
from flask_login import login_required

from ..accounts import gate, regions
from . import figures as service

bp = Blueprint("stats", __name__)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.route("/stats")
@login_required
def figures():
    who = gate.require("stats.read")
    data = service.figures(request.args.to_dict(), who)
    return render_template("stats/figures.html", data=data, regions=regions.choices(who.region_code),
                           export_args={k: v for k, v in request.args.items() if k in ("from", "to", "region")})


@bp.route("/stats/export.xlsx")
@login_required
def export():
    who = gate.require("stats.read")
    data = service.figures(request.args.to_dict(), who)
    name = f"statistics-{data['region']}-{data['from'].isoformat()}-{data['to'].isoformat()}.xlsx"
    return Response(service.workbook(data), mimetype=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
