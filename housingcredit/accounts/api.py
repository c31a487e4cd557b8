"""API: who am I, and the bearer-only guard every /api/v1 blueprint declares once (`bearer_only`)."""
from __future__ import annotations

from functools import wraps

from flask import g, request
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import Unauthorized

from . import gate

# The OpenAPI security requirement of the whole API (the document's default, extensions.py): a staff bearer
# token (`flask users token USERNAME`).
BEARER = [{"bearer": []}]


def _require_bearer() -> None:
    """Let through only requests authenticated by a bearer token.

    The API is for staff clients; a browser session (staff or household) is not accepted here, so a page that
    carries cookies can never drive the API (no CSRF surface, no household access to staff operations).
    """
    if request.method == "OPTIONS":  # a preflight carries no credentials and reaches no operation
        return
    # Asking current_user loads the user, and marks a bearer request in g.via_token.
    authenticated = bool(current_user) and current_user.is_authenticated
    if not (authenticated and g.get("via_token")):
        raise Unauthorized(www_authenticate=WWWAuthenticate("bearer"))


def bearer_only(blueprint: Blueprint) -> Blueprint:
    """Declare once, for every operation of an API blueprint, that it needs a bearer token (DESIGN rule 5)."""
    blueprint.before_request(_require_bearer)
    return blueprint


def bearer_required(view):
    """The same guard on one view (kept for a view outside a bearer-only blueprint); the blueprints use
    `bearer_only`."""
    @wraps(view)
    def wrapped(*args, **kwargs):
        _require_bearer()
        return view(*args, **kwargs)
    return wrapped


blp = bearer_only(Blueprint("accounts_api", __name__, url_prefix="/api/v1", description="Accounts"))


class MeSchema(Schema):
    id = fields.Integer()
    username = fields.String()
    display_name = fields.String()
    role = fields.Function(lambda u: u.role.value)
    region_code = fields.String()
    household_id = fields.Integer(allow_none=True)


@blp.route("/me")
class Me(MethodView):
    @blp.response(200, MeSchema)
    def get(self):
        """The account behind the bearer token."""
        return gate.user()
