"""The ISO weeks of the weekly summaries: written and read, and their instants in a station's zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from zamio.reports.weekly import IsoWeek


def test_a_week_is_read_as_written_and_a_wrong_one_says_how_to_write_it() -> None:
    week = IsoWeek.parse("2026-W48")
    assert (week.name, week.monday, week.sunday) == ("2026-W48", date(2026, 11, 23), date(2026, 11, 29))
    assert IsoWeek.parse("2026-W53").monday == date(2026, 12, 28)  # 2026 ends on a Thursday: it has a week 53
    for wrong in ("2025-W53", "2026-W00", "2026-48", "W48", "2026-W4"):
        with pytest.raises(ValueError, match="write it as 2026-W48"):
            IsoWeek.parse(wrong)


def test_a_week_runs_from_monday_to_monday_in_the_zone_given() -> None:
    week = IsoWeek.parse("2026-W48")
    accra, nairobi = week.window(ZoneInfo("Africa/Accra")), week.window(ZoneInfo("Africa/Nairobi"))
    assert (accra.since, accra.until) == (datetime(2026, 11, 23, tzinfo=UTC), datetime(2026, 11, 30, tzinfo=UTC))
    # UTC+3: Monday 00:00 in Nairobi is Sunday 21:00 UTC
    assert (nairobi.since, nairobi.until) == (datetime(2026, 11, 22, 21, tzinfo=UTC),
                                              datetime(2026, 11, 29, 21, tzinfo=UTC))
    # The week the clocks go back in London (Sunday 25 October 2026) is an hour longer.
    london = IsoWeek.parse("2026-W43").window(ZoneInfo("Europe/London"))
    assert london.until - london.since == timedelta(days=7, hours=1)


def test_the_last_week_ended_is_the_one_before_today_in_the_zone() -> None:
    monday_5am = datetime(2026, 11, 30, 5, tzinfo=UTC)
    assert IsoWeek.last_ended(monday_5am, ZoneInfo("Africa/Accra")).name == "2026-W48"
    # 19:00 on Sunday in Honolulu (UTC-10): its week 48 is not over, the last ended is 47
    assert IsoWeek.last_ended(monday_5am, ZoneInfo("Pacific/Honolulu")).name == "2026-W47"
    wednesday = datetime(2026, 12, 2, 12, tzinfo=UTC)
    assert IsoWeek.last_ended(wednesday, ZoneInfo("Africa/Accra")).name == "2026-W48"
    new_year = datetime(2027, 1, 4, 6, tzinfo=UTC)  # Monday of 2027-W01: the last ended is 2026-W53
    assert IsoWeek.last_ended(new_year, ZoneInfo("Africa/Accra")).name == "2026-W53"
