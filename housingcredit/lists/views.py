from flask import Blueprint

bp = Blueprint("lists", __name__)


@bp.route("/watch")
def watch_list():
    return "TODO"


@bp.route("/due")
def due():
    return "TODO"


@bp.route("/credit-check")
def credit_check_page():
    return "TODO"
