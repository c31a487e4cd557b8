"""API: who am I."""
from __future__ import annotations

from flask.views import MethodView
from flask_login import login_required
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from . import gate

blp = Blueprint("accounts_api", __name__, url_prefix="/api/v1", description="Accounts")


class MeSchema(Schema):
    id = fields.Integer()
    username = fields.String()
    display_name = fields.String()
    role = fields.Function(lambda u: u.role.value)
    region_code = fields.String()
    household_id = fields.Integer(allow_none=True)


@blp.route("/me")
class Me(MethodView):
    decorators = [login_required]

    @blp.response(200, MeSchema)
    @blp.doc(security=[{"bearer": []}])
    def get(self):
        """The account behind the bearer token."""
        return gate.user()
