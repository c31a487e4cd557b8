"""Resident ID numbers (居民身份证号码): checksum via python-stdnum, birth date checked against the clock."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from stdnum.cn import ric
from stdnum.exceptions import ValidationError

from ..clock import get_clock
from ..errors import InvalidInput


def _cache_county_lookups() -> None:
    """python-stdnum finds a number's county by walking its division-code table (`cn/loc`) for every number,
    about 0.1 ms each; what the table says about a 6-digit code never changes, so each code's answer is kept
    (there are a few thousand codes). Its answers are read, never changed, by `ric.get_birth_place`."""
    from functools import lru_cache
    from stdnum import numdb
    table = numdb.get("cn/loc")
    if not hasattr(table.info, "cache_info"):
        table.info = lru_cache(maxsize=8192)(table.info)


_cache_county_lookups()


def validate(value: str, field: str = "id_number") -> str:
    """The compact, upper-case ID number, or InvalidInput naming the field. Never logs the number."""
    raw = (value or "").strip()
    try:
        number = ric.validate(raw)
        birth = ric.get_birth_date(number)
    except (ValidationError, KeyError, ValueError):
        raise InvalidInput(_l("The resident ID number is not valid (check the digits and the checksum)."),
                           field=field) from None
    if birth > get_clock().today():
        raise InvalidInput(_l("The resident ID number has a birth date in the future."), field=field)
    return number.upper()
