"""Test data builders that go through the services, so every fixture is as real as user input."""
from __future__ import annotations

import itertools
import re
from datetime import date

from stdnum.cn import ric

from housingcredit.accounts.models import Role, User
from housingcredit.extensions import db

PASSWORD = "correct-horse-9"
_seq = itertools.count(1)


def id_number(region_code: str = "420102", birth: date = date(1985, 3, 7), seq: int | None = None) -> str:
    """A valid 18-digit resident ID number with its checksum; the birth year moves later when the county code
    is newer than `birth` (python-stdnum rejects a code that did not exist in the birth year)."""
    n = seq if seq is not None else next(_seq)
    for year in range(birth.year, birth.year + 30):
        body = f"{region_code}{birth.replace(year=year):%Y%m%d}{n % 1000:03d}"
        number = body + ric.calc_check_digit(body + "0")  # stdnum expects a placeholder check digit
        try:
            ric.validate(number)
            return number
        except Exception:
            continue
    raise ValueError(f"no valid ID number for region {region_code}")


def make_user(role: str = "caseworker", region_code: str = "420100", username: str | None = None,
              password: str = PASSWORD) -> User:
    from housingcredit.accounts import service
    username = username or f"{role}-{region_code}-{next(_seq)}"
    user = service.create_staff(username, username, Role(role), region_code, password, actor=(None, "test"))
    db.session.commit()
    return user


def make_household(region_code: str = "420102", head_name: str = "张三丰", members: int = 0, actor=None, **fields):
    """A household created through the archives service by a supervisor (or `actor`)."""
    from housingcredit.archives import service
    actor = actor or make_user("supervisor", "420000")
    data = {"region_code": region_code, "address": "江岸区测试路1号", "protection_category": "physical",
            "protection_group": "低保", "members": [
                {"name": head_name, "id_number": id_number(region_code if region_code[:2] == "42" else "420102"),
                 "relation": "head"}]}
    for i in range(members):
        data["members"].append({"name": f"{head_name[0]}小{i}", "id_number": id_number(), "relation": "child"})
    data.update(fields)
    household = service.create_household(data, actor)
    db.session.commit()
    return household


def make_household_user(household, password: str = PASSWORD) -> User:
    from housingcredit.accounts import service
    actor = make_user("caseworker", household.region_code)
    code = service.issue_activation_code(household, actor)
    user = service.activate_household(household.head.id_number, code, password)
    db.session.commit()
    return user


def csrf_token(client) -> str:
    """The CSRF token of the last page the client loaded (from a hidden input)."""
    resp = client.get("/login")
    m = re.search(r'name="(?:staff-|hh-)?csrf_token" type="hidden" value="([^"]+)"', resp.get_data(as_text=True))
    if not m:
        m = re.search(r'value="([^"]+)"[^>]*name="csrf_token"|name="csrf_token" value="([^"]+)"',
                      resp.get_data(as_text=True))
        return m.group(1) or m.group(2)
    return m.group(1)
