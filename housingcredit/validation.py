"""Input validation shared by API and forms: marshmallow errors become one translated 422 (DESIGN rule 7)."""
from __future__ import annotations

from flask_babel import gettext, lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validate
from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter

from .errors import InvalidInput

#: the largest id a database row can have (BIGINT on PostgreSQL, INTEGER on SQLite: both signed 64-bit)
MAX_ID = 2**63 - 1


class IdConverter(IntegerConverter):
    """`<int:…>` in every route: a number no row can have (≥ 2**63) does not match, so it is a 404 — never a value
    handed to the database, which would refuse it (PostgreSQL "bigint out of range", SQLite OverflowError)."""

    def __init__(self, map, fixed_digits: int = 0, min: int | None = None, max: int | None = MAX_ID,
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)

    def to_python(self, value: str):
        # Not a mere non-match: werkzeug would then answer 405 when a rule of another method has the same path.
        digits = value.lstrip("0")
        if self.max == MAX_ID and digits.isdigit() and (len(digits) > 19 or int(digits) > MAX_ID):
            raise NotFound()
        return super().to_python(value)


def IdField(**kw) -> fields.Integer:  # noqa: N802 (a field factory, used like a field class)
    """An integer input naming a row: 1 … MAX_ID, else the field's 422 (never a value the database refuses)."""
    return fields.Integer(strict=False, validate=validate.Range(min=1, max=MAX_ID), **kw)

# marshmallow's own messages, listed so they are extracted into the catalogues and translated at run time.
MARSHMALLOW_MESSAGES = [
    _l("Missing data for required field."), _l("Field may not be null."), _l("Not a valid string."),
    _l("Not a valid integer."), _l("Not a valid number."), _l("Not a valid date."), _l("Not a valid boolean."),
    _l("Not a valid list."), _l("Invalid input type."), _l("Unknown field."), _l("Invalid value."),
    _l("Length must be between {min} and {max}."), _l("Shorter than minimum length {min}."),
    _l("Longer than maximum length {max}."), _l("Must be one of: {choices}."),
    _l("Must be greater than or equal to {min}."), _l("Must be less than or equal to {max}."),
    _l("Must be greater than or equal to {min} and less than or equal to {max}."),
    _l("Not a valid datetime."), _l("Not a valid mapping type."), _l("Invalid enum member {input}"),
    _l("Must be one of: {choices}."), _l("Field may not be blank."), _l("String does not match expected pattern."),
    _l("Not a valid mapping type."), _l("Must be greater than {min}."), _l("Must be less than {max}."),
    _l("Number too large."), _l("Special numeric values (nan or infinity) are not permitted."),
]


def _template_patterns():
    """marshmallow formats some messages ("Longer than maximum length 40."); match them back to their msgid."""
    import re
    out = []
    for msg in MARSHMALLOW_MESSAGES:
        msgid = msg._args[0] if hasattr(msg, "_args") else str(msg)  # the lazy string's msgid, untranslated
        if not isinstance(msgid, str) or "{" not in msgid:
            continue
        pattern = "".join(f"(?P<{part[1:-1]}>.+?)" if part.startswith("{") else re.escape(part)
                          for part in re.split(r"(\{\w+\})", msgid))
        out.append((re.compile(f"^{pattern}$"), msgid))
    return sorted(out, key=lambda p: -len(p[1]))  # "… {min} and … {max}." before "… {min}."


_PATTERNS: list = []


def _translate_one(message: str) -> str:
    translated = gettext(message)
    if translated != message or "{" in message:
        return translated
    if not _PATTERNS:
        _PATTERNS.extend(_template_patterns())
    for pattern, msgid in _PATTERNS:
        m = pattern.match(message)
        if m:
            return gettext(msgid).format(**m.groupdict())
    return translated


def translate(errors):
    """Translate marshmallow's messages (nested dicts/lists of strings) in the current locale."""
    if isinstance(errors, dict):
        return {k: translate(v) for k, v in errors.items()}
    if isinstance(errors, list):
        return [translate(v) for v in errors]
    return _translate_one(errors) if isinstance(errors, str) else str(errors)


def _nul_fields(data, path=()):
    """Paths (tuples) of strings carrying a NUL character, which no database text column accepts (PostgreSQL
    refuses)."""
    if isinstance(data, str):
        return [path or ("_schema",)] if "\x00" in data else []
    if isinstance(data, dict):
        return [p for k, v in data.items() for p in _nul_fields(v, path + (k,))]
    if isinstance(data, (list, tuple)):
        return [p for i, v in enumerate(data) for p in _nul_fields(v, path + (i,))]
    return []


def _nested(paths: list[tuple], message: str) -> dict:
    """Paths as marshmallow nests its errors: ("members", 0, "name") → {"members": {0: {"name": [message]}}}."""
    out: dict = {}
    for *parents, leaf in paths:  # a string's path is never the prefix of another's (strings have no children)
        node = out
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = [message]
    return out


def load(schema: Schema, data, **kw):
    """Validate with the schema; every problem comes back as one InvalidInput (422) naming the fields."""
    bad = _nul_fields(data)
    if bad:
        raise InvalidInput(_l("The input is not valid."), errors=_nested(
            bad, str(_l("Contains a character that is not allowed."))))
    try:
        return schema.load(data, **kw)
    except ValidationError as err:
        messages = translate(err.messages)
        raise InvalidInput(_l("The input is not valid."), field=None, errors=messages
                           if isinstance(messages, dict) else {"_schema": messages}) from None
