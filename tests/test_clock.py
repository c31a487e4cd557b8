"""The injected clock and the working-day calendar (SPEC §3 periods, §9 calendar)."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from flask import Flask

from housingcredit import clock
from housingcredit.appeals.clocks import objection_due, repair_clock
from housingcredit.clock import (
    CalendarError, FixedClock, SystemClock, add_months, add_working_days, add_years, calendar_warning, get_clock,
    is_working_day, working_days_warning,
)
from housingcredit.lists.engine import procedure_clock
from housingcredit.rules import default_rules

RULES = default_rules()  # read before any test points CONFIG_DIR elsewhere

# A made-up arrangement, used only to prove the file is read: the real 2027 file is added when published.
FIXTURE_2027 = """\
year: 2027
source: test fixture, not the State Council arrangement
holidays: [2027-01-01, 2027-02-08, 2027-02-09]
workdays: [2027-02-07]
"""


@pytest.fixture
def config_dir(tmp_path, monkeypatch):
    """An empty config directory in place of config/, with the calendar cache cleared around the test."""
    (tmp_path / "holidays").mkdir()
    monkeypatch.setattr(clock, "CONFIG_DIR", tmp_path)
    clock.clear_calendar_cache()
    yield tmp_path
    clock.clear_calendar_cache()


# ---- the clock ----

def test_fixed_clock_date_means_nine_in_the_morning_in_shanghai():
    c = FixedClock(date(2026, 3, 2))
    assert c.now_utc() == datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)
    assert c.today() == date(2026, 3, 2)


def test_fixed_clock_today_is_the_shanghai_date():
    c = FixedClock(datetime(2026, 3, 1, 17, 30, tzinfo=timezone.utc))
    assert c.today() == date(2026, 3, 2)
    c.set(date(2026, 12, 31))
    c.advance(days=1, hours=2)
    assert c.today() == date(2027, 1, 1)
    assert c.now_utc().tzinfo is not None


def test_get_clock_uses_the_app_clock_inside_an_app_context():
    assert isinstance(get_clock(), SystemClock)
    app = Flask(__name__)
    fixed = FixedClock(date(2026, 1, 5))
    app.extensions["clock"] = fixed
    with app.app_context():
        assert get_clock() is fixed
    assert get_clock().now_utc().tzinfo is not None


# ---- periods (Civil Code art. 202) ----

@pytest.mark.parametrize("start, months, expected", [
    (date(2025, 8, 31), 6, date(2026, 2, 28)),
    (date(2023, 8, 31), 6, date(2024, 2, 29)),
    (date(2024, 2, 29), -12, date(2023, 2, 28)),
    (date(2026, 1, 15), 3, date(2026, 4, 15)),
    (date(2026, 3, 31), -1, date(2026, 2, 28)),
    (date(2026, 12, 31), 1, date(2027, 1, 31)),
])
def test_spec_3_add_months_takes_the_same_day_or_the_month_end(start, months, expected):
    assert add_months(start, months) == expected


def test_spec_3_add_years_from_a_leap_day():
    assert add_years(date(2024, 2, 29), 3) == date(2027, 2, 28)


# ---- the State Council calendar (SPEC §9) ----

def test_spec_9_adjusted_working_sunday_2026_counts():
    assert date(2026, 9, 20).weekday() == 6
    assert is_working_day(date(2026, 9, 20))
    assert add_working_days(date(2026, 9, 18), 1) == date(2026, 9, 20)


def test_spec_9_spring_festival_2026_is_skipped():
    assert not is_working_day(date(2026, 2, 16))
    assert is_working_day(date(2026, 2, 14))  # Saturday worked in lieu
    assert add_working_days(date(2026, 2, 13), 1) == date(2026, 2, 14)
    assert add_working_days(date(2026, 2, 13), 2) == date(2026, 2, 24)
    assert calendar_warning(date(2026, 2, 16)) is None


def test_add_working_days_does_not_count_the_start_day():
    assert add_working_days(date(2026, 6, 8), 0) == date(2026, 6, 8)
    assert add_working_days(date(2026, 6, 12), 1) == date(2026, 6, 15)
    with pytest.raises(ValueError):
        add_working_days(date(2026, 6, 12), -1)


def test_spec_9_unknown_year_read_from_the_config_file(config_dir):
    (config_dir / "holidays" / "2027.yaml").write_text(FIXTURE_2027, encoding="utf-8")
    assert not is_working_day(date(2027, 1, 1))  # a Friday, listed as a holiday
    assert is_working_day(date(2027, 2, 7))  # a Sunday, listed as a working day
    assert not is_working_day(date(2027, 2, 8))
    assert is_working_day(date(2027, 2, 10))
    assert add_working_days(date(2026, 12, 31), 1) == date(2027, 1, 4)
    assert calendar_warning(date(2027, 3, 1)) is None
    assert working_days_warning(date(2026, 12, 20), date(2027, 1, 10)) is None


def test_spec_9_missing_year_falls_back_to_monday_to_friday_with_a_warning(config_dir):
    assert is_working_day(date(2027, 1, 1))  # a Friday: without the arrangement, simply a weekday
    assert not is_working_day(date(2027, 1, 2))
    assert "2027" in calendar_warning(date(2027, 1, 1))
    assert "2027" in working_days_warning(date(2026, 12, 20), date(2027, 1, 10))
    assert working_days_warning(date(2026, 1, 1), date(2026, 12, 31)) is None


def test_spec_9_deadlines_into_a_missing_year_carry_the_warning(config_dir):
    version = RULES.version_at(date(2026, 12, 1))
    assert "2027" in procedure_clock(date(2026, 12, 24), version).warning
    assert procedure_clock(date(2026, 6, 8), version).warning is None
    assert "2027" in repair_clock(date(2026, 12, 28), date(2026, 12, 30), version).warning
    assert objection_due(date(2026, 12, 28), version) == date(2027, 1, 11)  # Mon–Fri only, 1 Jan counted


def test_the_default_config_has_no_invented_2027_arrangement():
    assert not (clock.CONFIG_DIR / "holidays" / "2027.yaml").exists()


def test_a_malformed_holiday_file_is_refused(config_dir):
    (config_dir / "holidays" / "2027.yaml").write_text("holidays: [2028-01-03]\n", encoding="utf-8")
    with pytest.raises(CalendarError, match="2027.yaml"):
        is_working_day(date(2027, 1, 4))
