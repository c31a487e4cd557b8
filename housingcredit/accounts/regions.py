"""Hubei administrative divisions (行政区划) from config/regions; a region covers every code under it."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import yaml

from .. import ROOT


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    level: str  # province | prefecture | county
    parent: str | None


@lru_cache(maxsize=1)
def all_regions() -> dict[str, Region]:
    data = yaml.safe_load((ROOT / "config" / "regions" / "hubei.yaml").read_text(encoding="utf-8"))
    return {r["code"]: Region(r["code"], r["name"], r["level"], r["parent"]) for r in data["regions"]}


def get(code: str) -> Region | None:
    return all_regions().get(code)


def code_range(code: str) -> tuple[str, str]:
    """The inclusive range of 6-digit codes a region covers: 420000 → 420000–429999, 420100 → 420100–420199."""
    region = all_regions()[code]
    if region.level == "province":
        return code[:2] + "0000", code[:2] + "9999"
    if region.level == "prefecture":
        return code[:4] + "00", code[:4] + "99"
    return code, code


def covers(scope_code: str, code: str) -> bool:
    lo, hi = code_range(scope_code)
    return lo <= code <= hi


def full_name(code: str) -> str:
    """湖北省 武汉市 江岸区 — the chain of names from the province down."""
    names, region = [], get(code)
    while region:
        names.append(region.name)
        region = get(region.parent) if region.parent else None
    return " ".join(reversed(names))


def district_name(code: str) -> str:
    region = get(code)
    return full_name(code) if region else code


def counties_under(code: str) -> list[Region]:
    lo, hi = code_range(code)
    return [r for r in all_regions().values() if r.level == "county" and lo <= r.code <= hi]


def choices(scope_code: str) -> list[Region]:
    lo, hi = code_range(scope_code)
    return [r for r in all_regions().values() if lo <= r.code <= hi]
