"""Document numbers (文号, SPEC §12): office abbreviation + series + 〔year〕 + 第NNNN号, gapless per office/series/year."""
from __future__ import annotations

from datetime import date
from functools import lru_cache

import sqlalchemy as sa
import yaml

from .. import ROOT
from ..accounts import regions
from ..extensions import db
from .models import DocumentCounter


@lru_cache(maxsize=1)
def config() -> dict:
    return yaml.safe_load((ROOT / "config" / "documents.yaml").read_text(encoding="utf-8"))


def office_for(region_code: str | None) -> str:
    """The issuing office of a region: the nearest office at or above it (county → prefecture → province)."""
    offices = config()["offices"]
    code = region_code
    while code:
        if code in offices:
            return code
        region = regions.get(code)
        code = region.parent if region else None
    return "420000"


def office(code: str) -> dict:
    return config()["offices"][code]


def series_for(kind: str) -> str:
    table = config()["series"]
    return table.get(kind, table["default"])


def format_number(office_code: str, series: str, year: int, n: int) -> str:
    return f"{office(office_code)['abbr']}{series}〔{year}〕第{n:04d}号"


def _lock(office_code: str, series: str, year: int) -> DocumentCounter | None:
    return db.session.scalar(sa.select(DocumentCounter).where(
        DocumentCounter.office_code == office_code, DocumentCounter.series == series, DocumentCounter.year == year)
        .with_for_update())


def next_number(office_code: str, series: str, on: date) -> str:
    """Take the next number in the caller's transaction (row lock until it commits; a rollback gives it back)."""
    year = on.year
    row = _lock(office_code, series, year)
    if row is None:
        try:
            with db.session.begin_nested():
                db.session.add(DocumentCounter(office_code=office_code, series=series, year=year, last=0))
        except sa.exc.IntegrityError:  # another transaction created the row first: wait for its lock
            pass
        row = _lock(office_code, series, year)
    row.last += 1
    db.session.flush()
    return format_number(office_code, series, year, row.last)


def chinese_date(d: date) -> str:
    """2026-11-26 → 2026年11月26日."""
    return f"{d.year}年{d.month}月{d.day}日"
