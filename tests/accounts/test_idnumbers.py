"""Resident ID numbers (SPEC §2: an archive's members carry a valid 18-digit number; issue 18: the import checks
tens of thousands at once): `idnumbers.validate` does python-stdnum's `ric.validate` checks once each and must
accept exactly what `ric.validate` accepts (before the birth-date-in-the-future check of its own)."""
from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from stdnum.cn import ric

from housingcredit.accounts import idnumbers
from housingcredit.clock import get_clock
from housingcredit.errors import InvalidInput


def _numbers() -> list[str]:
    rng = random.Random(2026)
    codes = ["420102", "420103", "420502", "110101", "420100", "429004", "999999", "000000", "422801", "421381",
             "420112", "12345a"]
    out = []
    for _ in range(3000):
        code = rng.choice(codes)
        born = date(1930, 1, 1) + timedelta(days=rng.randrange(33000))
        body = f"{code}{born:%Y%m%d}{rng.randrange(1000):03d}"
        kind = rng.randrange(8)
        if kind == 0:
            body = body[:10] + "1399" + body[14:]  # no such date
        check = ric.calc_check_digit(body + "0") if body[:-1].isdigit() and body.isascii() else "0"
        if kind == 1:
            check = "0" if check != "0" else "1"
        number = body + check
        if kind == 2:
            number = number[:-1]
        if kind == 3:
            number = " " + number.lower() + " "
        out.append(number)
    return out


def _stdnum_accepts(number: str) -> bool:
    try:
        ric.validate(number)
        return True
    except Exception:  # noqa: BLE001 — anything stdnum refuses
        return False


def test_spec2_id_number_validate_accepts_exactly_what_stdnum_accepts(app):
    numbers = _numbers()
    accepted = 0
    today = get_clock().today()
    with app.test_request_context():
        for number in numbers:
            expected = _stdnum_accepts(number)
            if expected and ric.get_birth_date(number) > today:
                continue  # the clock's own check, below
            try:
                got = idnumbers.validate(number)
                ok = True
            except InvalidInput:
                ok = False
            assert ok == expected, number
            if ok:
                accepted += 1
                assert got == ric.compact(number)
    assert 300 < accepted < len(numbers) - 300  # both kinds were tried


def test_spec2_id_number_validate_refuses_a_birth_date_in_the_future(app):
    body = f"420102{get_clock().today().year + 1}0101123"
    with app.test_request_context(), pytest.raises(InvalidInput):
        idnumbers.validate(body + ric.calc_check_digit(body + "0"))
