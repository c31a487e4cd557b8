"""Input validation shared by API and forms: marshmallow errors become one translated 422 (DESIGN rule 7)."""
from __future__ import annotations

from flask_babel import gettext, lazy_gettext as _l
from marshmallow import Schema, ValidationError

from .errors import InvalidInput

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
    """Paths of strings carrying a NUL character, which no database text column accepts (PostgreSQL refuses)."""
    if isinstance(data, str):
        return [".".join(map(str, path)) or "_schema"] if "\x00" in data else []
    if isinstance(data, dict):
        return [p for k, v in data.items() for p in _nul_fields(v, path + (k,))]
    if isinstance(data, (list, tuple)):
        return [p for i, v in enumerate(data) for p in _nul_fields(v, path + (i,))]
    return []


def load(schema: Schema, data, **kw):
    """Validate with the schema; every problem comes back as one InvalidInput (422) naming the fields."""
    bad = _nul_fields(data)
    if bad:
        raise InvalidInput(_l("The input is not valid."),
                           errors={f: [str(_l("Contains a character that is not allowed."))] for f in bad})
    try:
        return schema.load(data, **kw)
    except ValidationError as err:
        messages = translate(err.messages)
        raise InvalidInput(_l("The input is not valid."), field=None, errors=messages
                           if isinstance(messages, dict) else {"_schema": messages}) from None
