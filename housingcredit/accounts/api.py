"""API: who am I, and the bearer-only guard every /api/v1 blueprint declares once (`bearer_only`)."""
from __future__ import annotations

from functools import wraps

from flask import g, request
from flask_babel import lazy_gettext as _l
from flask.views import MethodView
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import Schema, fields
from werkzeug.datastructures import WWWAuthenticate
from werkzeug.exceptions import Unauthorized

from . import gate, tokens

# The OpenAPI security requirement of the whole API (the document's default, extensions.py): a staff bearer
# token (`flask users token USERNAME`).
BEARER = [{"bearer": []}]


class TokenRefused(Unauthorized):
    """A 401 for a bearer token that exists but no longer works: the answer says why (errors.py uses `message`),
    and WWW-Authenticate carries RFC 6750's `invalid_token`."""

    def __init__(self, reason: str):
        self.message = REFUSALS[reason]
        super().__init__(www_authenticate=WWWAuthenticate(
            "bearer", {"error": "invalid_token", "error_description": f"token {reason}"}))


REFUSALS = {
    tokens.EXPIRED: _l("The API token has expired. Create a new one on the API tokens page."),
    tokens.REVOKED: _l("The API token has been revoked."),
    tokens.INACTIVE: _l("The account of this API token is deactivated."),
}


def refusal() -> Unauthorized:
    """The 401 for this request: why its token was refused, when it named a known one."""
    reason = g.get("token_refused")
    if reason in REFUSALS:
        return TokenRefused(reason)
    return Unauthorized(www_authenticate=WWWAuthenticate("bearer"))


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
        raise refusal()


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
