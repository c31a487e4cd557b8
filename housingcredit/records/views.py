from flask import Blueprint

bp = Blueprint("records", __name__)


@bp.route("/review")
def review_queue():
    return "TODO"
