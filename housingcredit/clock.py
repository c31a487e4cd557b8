"""The injected clock and the working-day calendar (工作日, State Council holiday arrangement, SPEC §9).

Domain code asks `get_clock()` for the time, never `datetime.now()`, so tests can travel in time. Legal dates are
Asia/Shanghai calendar dates. Every period and deadline in the system is computed with the functions below.
"""
from __future__ import annotations

import calendar
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import chinese_calendar
import yaml

SHANGHAI = ZoneInfo("Asia/Shanghai")
CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"


# ---- the clock ---------------------------------------------------------------------------------------------

class Clock:
    """Gives the current instant (UTC) and the current legal date (Asia/Shanghai)."""

    def now_utc(self) -> datetime:
        raise NotImplementedError

    def today(self) -> date:
        return self.now_utc().astimezone(SHANGHAI).date()


class SystemClock(Clock):
    def now_utc(self) -> datetime:
        return datetime.now(timezone.utc)


def _instant(value: datetime | date) -> datetime:
    """A date means 09:00 Asia/Shanghai that day; a naive datetime is Asia/Shanghai wall time."""
    if not isinstance(value, datetime):
        value = datetime.combine(value, time(9, 0))
    if value.tzinfo is None:
        value = value.replace(tzinfo=SHANGHAI)
    return value.astimezone(timezone.utc)


class FixedClock(Clock):
    """A clock that stands still until told to move: for tests and what-if runs."""

    def __init__(self, dt_or_date: datetime | date):
        self._now = _instant(dt_or_date)

    def now_utc(self) -> datetime:
        return self._now

    def set(self, dt_or_date: datetime | date) -> None:
        self._now = _instant(dt_or_date)

    def advance(self, days: float = 0, **timedelta_kwargs) -> None:
        self._now += timedelta(days=days, **timedelta_kwargs)


_SYSTEM_CLOCK = SystemClock()


def get_clock() -> Clock:
    """The app's clock inside a Flask app context, else the system clock."""
    try:
        from flask import current_app, has_app_context
    except ImportError:  # the pure engines run without Flask
        return _SYSTEM_CLOCK
    if has_app_context():
        return current_app.extensions["clock"]
    return _SYSTEM_CLOCK


# ---- periods (Civil Code art. 201–202) ---------------------------------------------------------------------

def add_months(d: date, n: int) -> date:
    """The same day number n months later (or earlier), or that month's last day when there is none."""
    month_index = d.year * 12 + (d.month - 1) + n
    year, month = divmod(month_index, 12)
    month += 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def add_years(d: date, n: int) -> date:
    return add_months(d, 12 * n)


# ---- working days ------------------------------------------------------------------------------------------

class CalendarError(ValueError):
    """A holiday-arrangement file in config/holidays/ is malformed."""


def holidays_dir() -> Path:
    return CONFIG_DIR / "holidays"


@lru_cache(maxsize=None)
def _package_arrangement(year: int) -> tuple[frozenset[date], frozenset[date]] | None:
    """(weekday holidays, adjusted working weekends) from chinesecalendar, or None for a year it does not know.

    Read once per year: chinesecalendar validates every single lookup slowly.
    """
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        return None
    days = [d for d in (date(year, 1, 1) + timedelta(days=i) for i in range(366)) if d.year == year]
    return (frozenset(d for d in days if d.weekday() < 5 and not chinese_calendar.is_workday(d)),
            frozenset(d for d in days if d.weekday() >= 5 and chinese_calendar.is_workday(d)))


@lru_cache(maxsize=64)
def _arrangement_file(directory: Path, year: int) -> tuple[frozenset[date], frozenset[date]] | None:
    """(holidays, adjusted working days) read from `<directory>/<year>.yaml`, or None when there is no file."""
    path = directory / f"{year}.yaml"
    if not path.is_file():
        return None
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict) or data.get("year", year) != year:
        raise CalendarError(f"{path}: must be a mapping with year: {year}, holidays: [...], workdays: [...]")
    days = {}
    for key in ("holidays", "workdays"):
        values = data.get(key) or []
        if not all(isinstance(v, date) and not isinstance(v, datetime) and v.year == year for v in values):
            raise CalendarError(f"{path}: every entry of '{key}' must be a date in {year}")
        days[key] = frozenset(values)
    if days["holidays"] & days["workdays"]:
        raise CalendarError(f"{path}: a day is listed both as a holiday and as a working day")
    return days["holidays"], days["workdays"]


def clear_calendar_cache() -> None:
    _arrangement_file.cache_clear()


def _arrangement(year: int) -> tuple[frozenset[date], frozenset[date]] | None:
    return _package_arrangement(year) or _arrangement_file(holidays_dir(), year)


def is_working_day(d: date) -> bool:
    """A working day under the State Council arrangement: adjusted working weekends count, holidays do not.

    From chinesecalendar for the years it knows, else from config/holidays/<year>.yaml, else Monday–Friday
    (see `calendar_warning`).
    """
    arrangement = _arrangement(d.year)
    if arrangement is None:
        return d.weekday() < 5
    holidays, workdays = arrangement
    return d in workdays or (d.weekday() < 5 and d not in holidays)


def _missing_years(start: date, end: date) -> list[int]:
    return [y for y in range(start.year, end.year + 1) if _arrangement(y) is None]


def _warning(years: list[int]):
    """A lazy translatable text: shown in the reader's language, stored (appended to a notice) in the official
    one through i18n.official()."""
    if not years:
        return None
    from flask_babel import lazy_gettext as _l
    listed = ", ".join(str(y) for y in years)
    return _l("The State Council holiday arrangement for %(years)s is missing: Monday to Friday were counted "
              "as working days. Check this deadline when the arrangement is published.", years=listed)


def calendar_warning(d: date) -> str | None:
    """A warning when the holiday arrangement for d's year is known neither to chinesecalendar nor to config/."""
    return _warning(_missing_years(d, d))


def working_days_warning(start: date, end: date) -> str | None:
    """A warning when any year from start to end lacks its holiday arrangement."""
    return _warning(_missing_years(min(start, end), max(start, end)))


def add_working_days(d: date, n: int) -> date:
    """The n-th working day after d, d itself not counted (n = 0 gives d)."""
    if n < 0:
        raise ValueError("add_working_days counts forward only")
    while n:
        d += timedelta(days=1)
        if is_working_day(d):
            n -= 1
    return d
