"""Domain errors carry translated messages; one handler maps them to 400/403/404/409/422 (DESIGN rule 7)."""
from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _, lazy_gettext as _l
from marshmallow import Schema, fields
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


class ErrorSchema(Schema):
    """The JSON body of every error answer of /api/v1, as the handlers below write it (OpenAPI `Error`).

    flask-smorest's default documents `code` as an integer and a `status` field; the body really carries a
    string code, a translated message, and per-field messages on validation errors.
    """
    code = fields.String(required=True, metadata={
        "description": "What went wrong, as a stable word: `invalid` (422, see `errors`), `bad_request`, "
                       "`unauthorized`, `forbidden`, `not_found`, `conflict`, `method_not_allowed`, "
                       "`request_entity_too_large`, `too_many_requests`, `server_error`, …",
        "example": "invalid"})
    message = fields.String(required=True, metadata={"description": "Translated message for people "
                                                                    "(Accept-Language / ?lang=)."})
    errors = fields.Dict(keys=fields.String(), metadata={
        "description": "Per field, its translated messages; nested like the input for members "
                       "(`{\"members\": {\"0\": {\"id_number\": [\"…\"]}}}`); `_schema` for the body as a whole."})
    detail = fields.String(metadata={"description": "More about a 400/409/422 that has no field errors."})


class DomainError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message, field: str | None = None, errors: dict | None = None):
        super().__init__(str(message))
        self.message = message
        self.field = field
        self.errors = errors or ({field: [message]} if field else {})

    def to_dict(self) -> dict:
        return {"code": self.code, "message": str(self.message),
                "errors": {str(k): _plain(v) if isinstance(v, (dict, list, tuple)) else [str(v)]
                           for k, v in self.errors.items()}}


def _plain(value):
    """Messages as JSON-ready strings, keeping nesting ({"members": {0: {"id_number": [...]}}})."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return str(value)


class InvalidInput(DomainError):
    """Input that cannot be accepted; names the field(s)."""
    status = 422
    code = "invalid"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"

    def __init__(self, message=None, **kw):
        super().__init__(message or _l("You do not have permission to do this."), **kw)


class NotFound(DomainError):
    status = 404
    code = "not_found"

    def __init__(self, message=None, **kw):
        super().__init__(message or _l("Not found."), **kw)


class Conflict(DomainError):
    status = 409
    code = "conflict"


_WEBARGS_LOCATIONS = {"json", "query", "querystring", "form", "json_or_form", "headers", "cookies", "files",
                      "view_args", "path"}


def _webargs_errors(messages) -> dict:
    """webargs nests errors by location ({"query": {"page": [...]}}); answer {field: [translated...]}."""
    from .validation import translate
    if not isinstance(messages, dict):
        return {"_schema": translate(messages if isinstance(messages, list) else [messages])}
    flat: dict = {}
    for key, value in messages.items():
        if key in _WEBARGS_LOCATIONS and isinstance(value, dict):
            flat.update(value)
        else:
            flat[key] = value
    return translate(flat)


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


EXPLANATIONS = {
    403: _l("Your role or your region does not allow this. Each office sees and changes only the households of "
            "its own region (HB 八); ask your supervisor if you need this."),
    404: _l("The page or the item does not exist, or it belongs to a region outside yours. Check the address, "
            "or find the household through the archive search."),
    409: _l("Someone else changed this in the meantime, or it is no longer in a state that allows this step. "
            "Open it again to see its current state, then repeat what you wanted to do."),
}


def _same_site_referrer() -> str | None:
    """Where the user came from, if it is a page of this site (a way back that cannot lead elsewhere)."""
    from urllib.parse import urlsplit
    ref = request.referrer
    if not ref:
        return None
    parts = urlsplit(ref)
    if parts.netloc and parts.netloc != request.host:
        return None
    path = parts.path or "/"
    if not path.startswith("/") or path.startswith("//") or path == request.path:
        return None
    return path + (f"?{parts.query}" if parts.query else "")


def error_page(status: int, message: str, errors: dict):
    """The HTML error page: what happened, why it may have happened, and a way back (templates only render)."""
    flat = []
    for value in (errors or {}).values():  # messages only: a raw field key is never shown
        stack = [value]
        while stack:
            v = stack.pop(0)
            if isinstance(v, dict):
                stack.extend(v.values())
            elif isinstance(v, (list, tuple)):
                stack.extend(v)
            else:
                flat.append(str(v))
    explain = EXPLANATIONS.get(status)
    if status == 413:
        from flask import current_app
        explain = _("One upload may carry at most %(mb)s MB; send fewer or smaller files.",
                    mb=(current_app.config.get("MAX_CONTENT_LENGTH") or 0) // 1048576)
    return render_template("error.html", status=status, message=message, messages=flat,
                           explain=str(explain) if explain else None, back_url=_same_site_referrer())


def init_app(app: Flask) -> None:
    from .extensions import db

    @app.errorhandler(DomainError)
    def domain_error(err: DomainError):
        db.session.rollback()  # one transaction per use case: nothing half-written
        if wants_json():
            return jsonify(err.to_dict()), err.status
        return error_page(err.status, str(err.message), err.to_dict()["errors"]), err.status

    from sqlalchemy.orm.exc import StaleDataError

    @app.errorhandler(StaleDataError)
    def concurrent_edit(err: StaleDataError):
        # Two edits raced past the version check; the later flush matched no row (optimistic lock — only the
        # household archive carries a version column today).
        message = _l("Someone else changed this archive since you opened it; reload and edit again.")
        return domain_error(Conflict(message, field="version"))

    from sqlalchemy.exc import IntegrityError

    @app.errorhandler(IntegrityError)
    def constraint_race(err: IntegrityError):
        # The services check uniqueness first; only a concurrent request can still trip a constraint.
        log.warning("integrity error on %s %s: %s", request.method, request.path, type(err.orig).__name__)
        return domain_error(Conflict(_l("This conflicts with a change saved at the same moment; reload and try "
                                        "again.")))

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException):
        db.session.rollback()
        messages = {
            400: _l("The request could not be understood."),
            401: _l("Please log in."),
            403: _l("You do not have permission to do this."),
            404: _l("Not found."),
            405: _l("This method is not allowed here."),
            413: _l("The upload is too large."),
            429: _l("Too many attempts; please wait a minute and try again."),
        }
        # an exception may carry its own translated message (accounts/api.py TokenRefused: why a token failed)
        message = str(getattr(err, "message", None) or messages.get(err.code, err.description or err.name))
        # Keep the exception's own headers (WWW-Authenticate, Allow, Retry-After), not its content type.
        headers = [(k, v) for k, v in err.get_headers() if k.lower() != "content-type"]
        if wants_json():
            body = {"code": err.name.lower().replace(" ", "_"), "message": message}
            data = getattr(err, "data", None)  # flask-smorest / webargs validation errors
            if data and "messages" in data:
                # The same shape as InvalidInput: {"code": "invalid", "message", "errors": {field: [...]}}.
                body["code"] = "invalid" if err.code == 422 else body["code"]
                body["errors"] = _webargs_errors(data["messages"])
                body["message"] = _("The input is not valid.")
            elif getattr(err, "description", None) and err.code in (400, 409, 422) and err.description != message:
                body["detail"] = err.description
            return jsonify(body), err.code, headers
        return error_page(err.code, message, {}), err.code, headers

    @app.errorhandler(Exception)
    def unexpected(err: Exception):
        db.session.rollback()
        log.exception("unexpected error on %s %s", request.method, request.path)
        message = _("Something went wrong on our side; nothing was saved. Please try again.")
        if wants_json():
            return jsonify({"code": "server_error", "message": message}), 500
        return error_page(500, message, {}), 500
