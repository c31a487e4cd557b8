"""The API documentation page's assets, served from the swagger-ui-bundle package (no CDN: DESIGN rule 8).

flask-smorest renders the page at /api/v1/docs (OPENAPI_SWAGGER_UI_PATH) and loads Swagger UI from
OPENAPI_SWAGGER_UI_URL, which points here.
"""
from __future__ import annotations

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
