from flask import Blueprint

bp = Blueprint("archives", __name__)


@bp.route("/households")
def search():
    return "TODO"


@bp.route("/my")
def own():
    return "TODO"
