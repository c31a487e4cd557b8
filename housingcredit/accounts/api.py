"""API: who am I, and the bearer-only guard every /api/v1 operation uses."""
from __future__ import annotations

from functools import wraps

from flask import g
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import Unauthorized

from . import gate

blp = Blueprint("accounts_api", __name__, url_prefix="/api/v1", description="Accounts")

# The OpenAPI security requirement of every operation: a staff bearer token (`flask users token USERNAME`).
BEARER = [{"bearer": []}]


def bearer_required(view):
    """Let through only requests authenticated by a bearer token.

    The API is for staff clients; a browser session (staff or household) is not accepted here, so a page that
    carries cookies can never drive the API (no CSRF surface, no household access to staff operations).
    """
    @wraps(view)
    def wrapped(*args, **kwargs):
        # Asking current_user loads the user, and marks a bearer request in g.via_token.
        authenticated = bool(current_user) and current_user.is_authenticated
        if not (authenticated and g.get("via_token")):
            raise Unauthorized(www_authenticate=WWWAuthenticate("bearer"))
        return view(*args, **kwargs)
    return wrapped


class MeSchema(Schema):
    id = fields.Integer()
    username = fields.String()
    display_name = fields.String()
    role = fields.Function(lambda u: u.role.value)
    region_code = fields.String()
    household_id = fields.Integer(allow_none=True)


@blp.route("/me")
class Me(MethodView):
    decorators = [bearer_required]

    @blp.response(200, MeSchema)
    @blp.doc(security=BEARER)
    def get(self):
        """The account behind the bearer token."""
        return gate.user()
