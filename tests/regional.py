"""Households anywhere in Hubei for access tests.

factories.make_household draws the head's ID number with a 1985 birth date, which python-stdnum rejects for
codes created later (every Yichang district dates from 1986 or after); these are born in 1995.
"""
from __future__ import annotations

from datetime import date
import itertools

from housingcredit.extensions import db
from tests.factories import id_number, make_user

_seq = itertools.count(500)


def make_regional_household(region_code: str, head_name: str, actor=None):
    from housingcredit.archives import service
    actor = actor or make_user("supervisor", "420000")
    data = {"region_code": region_code, "address": f"{head_name}家", "protection_category": "subsidy",
            "members": [{"name": head_name, "id_number": id_number(region_code, date(1995, 5, 5), next(_seq)),
                         "relation": "head"}]}
    household = service.create_household(data, actor)
    db.session.commit()
    return household
