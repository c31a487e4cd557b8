"""Resident ID numbers (居民身份证号码): checksum via python-stdnum, birth date checked against the clock."""
from __future__ import annotations

from datetime import date
from functools import lru_cache

from flask_babel import lazy_gettext as _l
from stdnum.cn import ric
from stdnum.exceptions import ValidationError
from stdnum.util import isdigits

from ..clock import get_clock
from ..errors import InvalidInput


def _cache_county_lookups() -> None:
    """python-stdnum finds a number's county by walking its division-code table (`cn/loc`) for every number,
    about 0.1 ms each; what the table says about a 6-digit code never changes, so each code's answer is kept
    (there are a few thousand codes). Its answers are read, never changed, by `ric.get_birth_place`."""
    from stdnum import numdb
    table = numdb.get("cn/loc")
    if not hasattr(table.info, "cache_info"):
        table.info = lru_cache(maxsize=8192)(table.info)


_cache_county_lookups()


@lru_cache(maxsize=65536)
def _county_known(code: str, year: int) -> bool:
    """Whether python-stdnum knows the 6-digit code as a county in that year (what `ric.validate` checks of a
    number's first six digits; its answer depends on the code and the birth year only)."""
    try:
        ric.get_birth_place(f"{code}{year:04d}0101" + "0000")
    except (ValidationError, KeyError, ValueError):
        return False
    return True


def validate(value: str, field: str = "id_number") -> str:
    """The compact, upper-case ID number, or InvalidInput naming the field. Never logs the number.

    The checks of `ric.validate` (length, digits, check digit, birth date, a county python-stdnum knows for the
    birth year), each done once: `ric.validate` compacts the number four times and parses its date twice, and the
    county answer is kept per (code, year) — the import checks tens of thousands of numbers at a time."""
    try:
        value = value or ""
        if len(value) == 18 and value.isascii() and value[:17].isdigit():
            number = value.upper()  # what `ric.compact` gives for 18 plain characters (most numbers)
        else:
            number = ric.compact(value)
        if len(number) != 18 or not isdigits(number[:-1]) or number[-1] != ric.calc_check_digit(number):
            raise ValidationError()
        birth = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))  # as `ric.get_birth_date`
        if not _county_known(number[:6], birth.year):
            raise ValidationError()
    except (ValidationError, KeyError, ValueError):
        raise InvalidInput(_l("The resident ID number is not valid (check the digits and the checksum)."),
                           field=field) from None
    if birth > get_clock().today():
        raise InvalidInput(_l("The resident ID number has a birth date in the future."), field=field)
    return number.upper()
