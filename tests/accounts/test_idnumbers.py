"""Resident ID numbers (SPEC §2: an archive's members carry a valid 18-digit number; issue 18: the import checks
tens of thousands at once): `idnumbers.validate` does python-stdnum's `ric.validate` checks once each and must
accept exactly what `ric.validate` accepts (before the birth-date-in-the-future check of its own), with the same
compact number and birth date — random numbers, and every single-digit change, bad dates, unknown and retired
division codes, separators, lower-case x, wrong lengths (issue 21: the credit check uses the same one pass)."""
from __future__ import annotations

import random
from datetime import date, timedelta

import pytest
from stdnum.cn import ric
from stdnum.exceptions import ValidationError

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


def _stdnum(raw: str):
    try:
        number = ric.validate(raw)
        return number, ric.get_birth_date(number)
    except (ValidationError, KeyError, ValueError):
        return None


def _ours(raw: str):
    try:
        return idnumbers._valid(raw)
    except (ValidationError, KeyError, ValueError):
        return None


def _with_check_digit(body: str) -> str:
    return body + ric.calc_check_digit(body + "0")


def _candidates() -> list[str]:
    rng = random.Random(21)
    codes = ["420102", "420106", "420500", "110105", "440300", "110000", "999999", "000000", "420199", "320102"]
    valid = [_with_check_digit(f"{code}{y:04d}{m:02d}{d:02d}{rng.randrange(1000):03d}")
             for code in codes for y, m, d in ((1949, 12, 31), (1985, 3, 7), (2001, 2, 28), (1900, 1, 1))]
    out = list(valid)
    for number in valid[:12]:
        out += [number[:i] + str((int(number[i]) + 1) % 10) + number[i + 1:] for i in range(17)]  # one digit off
        out += [number[:-1] + c for c in "0123456789Xx" if c != number[-1]]  # every other check digit
        out += [number.lower(), f" {number} ", number[:6] + " " + number[6:], number[:17], number + "1",
                number[:6] + "-" + number[6:], number.replace("0", "O", 1), number[:-1] + "Y"]
    for y, m, d in ((2001, 2, 29), (1985, 13, 1), (1985, 0, 10), (1985, 4, 31), (0, 1, 1), (2000, 2, 29)):
        out.append(_with_check_digit(f"420102{y:04d}{m:02d}{d:02d}123"))
    out += ["", "X", "11010519491231002X", "11010519491231002x", "１１０１０５１９４９１２３１００２Ｘ",
            "110105194912310021", "11010519491231002٣"]
    return out


def test_spec2_one_pass_id_number_check_agrees_with_stdnum():
    candidates = _candidates()
    assert len(candidates) > 400
    answers = [(raw, _ours(raw), _stdnum(raw)) for raw in candidates]
    assert [a for a in answers if a[1] != a[2]] == []
    assert sum(1 for a in answers if a[1] is not None) > 40  # both sides accept the valid ones


def test_spec2_id_number_validate_answers_as_before():
    number = _with_check_digit("42010219850307123")
    assert idnumbers.validate(f" {number.lower()} ") == number.upper()
    with pytest.raises(InvalidInput):
        idnumbers.validate(number[:-1] + ("0" if number[-1] != "0" else "1"))
