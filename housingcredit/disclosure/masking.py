"""Masking rules for identity shown to the public or in exports (SPEC §11)."""
from __future__ import annotations


def mask_id_number(id_number: str | None) -> str:
    """420102199001011234 → 420102********1234."""
    if not id_number:
        return ""
    if len(id_number) < 10:
        return "*" * len(id_number)
    return id_number[:6] + "*" * (len(id_number) - 10) + id_number[-4:]


def mask_name(name: str | None) -> str:
    """张三丰 → 张*丰, 李四 → 李*, 欧阳娜娜 → 欧**娜."""
    if not name:
        return ""
    if len(name) <= 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_district(region_code: str | None) -> str:
    """An address shown to the public goes no further than the district (SPEC §11): the household's county-level
    division by name (湖北省 武汉市 江岸区), never the street address."""
    if not region_code:
        return ""
    from ..accounts import regions
    return regions.district_name(region_code)


# The masking rules a disclosure scope may name for a field (config/disclosure.yaml, SPEC §11).
MASKS = {"name": mask_name, "id_number": mask_id_number, "district": mask_district}


def mask(rule: str | None, value):
    """The one masking function of the public pages and exports: `rule` from the scope's data (None: shown as is)."""
    if rule is None:
        return value
    return MASKS[rule](value)
