"""The API documentation page's assets, served from the swagger-ui-bundle package (no CDN: DESIGN rule 8).

flask-smorest renders the page at /api/v1/docs (OPENAPI_SWAGGER_UI_PATH) and loads Swagger UI from
OPENAPI_SWAGGER_UI_URL, which points here.
"""
from __future__ import annotations

from apispec import BasePlugin
from flask import Blueprint, send_from_directory
from werkzeug.exceptions import NotFound

bp = Blueprint("apidocs", __name__, url_prefix="/api/v1/docs/assets")

# Only what the page loads (and the source maps a browser's developer tools ask for).
ASSETS = frozenset({"swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js",
                    "swagger-ui.css.map", "swagger-ui-bundle.js.map", "swagger-ui-standalone-preset.js.map",
                    "favicon-16x16.png", "favicon-32x32.png"})


@bp.route("/<filename>")
def asset(filename: str):
    if filename not in ASSETS:
        raise NotFound()
    from swagger_ui_bundle import swagger_ui_path
    return send_from_directory(str(swagger_ui_path), filename, max_age=86400)


class ErrorAnswersPlugin(BasePlugin):
    """Every error answer documented as what errors.py sends (the `Error` schema, DESIGN rule 7).

    An operation behind a bearer token (the default of the whole document) documents its 401 (without a token, reads and writes alike answer 401), and
    an error response documented only by a description gets the `Error` body.
    """

    def operation_helper(self, path=None, operations=None, **kwargs):
        for operation in (operations or {}).values():
            if not isinstance(operation, dict):
                continue
            responses = operation.setdefault("responses", {})
            # the document's default security is the bearer token; only `security: []` opts out of it
            if operation.get("security", True) != [] and not ({401, "401"} & set(responses)):
                responses["401"] = "UNAUTHORIZED"  # flask-smorest's component: the Error body
            for code, response in responses.items():
                if str(code)[:1] in ("4", "5") and isinstance(response, dict) and "content" not in response:
                    response["content"] = {"application/json": {"schema": "Error"}}
