"""The report page's daily chart: weekdays dark, weekends light, whatever days the range holds."""

from __future__ import annotations

import re
from datetime import date, timedelta

from zamio.reports import html
from zamio.reports.document import Report

DARK, LIGHT = "#0b6e4f", "#8fd1b5"


def document(first: date, last: date) -> Report:
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    return {
        "report": {"type": "artist", "ref": "ama-ghana", "name": "Ama", "from": str(first), "to": str(last),
                   "timezone": "UTC", "generated_at": "2026-03-20T08:00:00+00:00", "sources": {}},
        "plays_by_day": [{"date": str(d), "plays": 3, "seconds": 540.0} for d in days],
        "plays_by_hour": [{"hour": h, "plays": 3 * len(days) if h == 9 else 0, "seconds": 0.0} for h in range(24)],
        "top_tracks": [], "top_stations": [], "earnings": [], "coverage_gaps": [], "coverage": None,
        "confidence": {"bins": [{"from": n / 10, "to": (n + 1) / 10, "detections": 0} for n in range(10)],
                       "unknown": 0, "by_source": {}},
        "totals": {"plays": 3 * len(days), "seconds": 540.0 * len(days), "recordings_listed": 0,
                   "stations_listed": 0, "detections": 0, "earnings": []},
    }


def daily_colours(page: str) -> dict[str, str]:
    """Each bar of the "Plays per day" chart: its day label → its fill."""
    chart = re.search(r'aria-label="Plays per day".*?</svg>', page, re.S)
    assert chart is not None
    return {label: fill for fill, label in re.findall(r'fill="(#\w+)"><title>([^:<]+):', chart.group(0))}


def test_a_weekend_alone_is_drawn_light() -> None:
    # 7 March 2026 is a Saturday, 8 March a Sunday.
    assert daily_colours(html.render(document(date(2026, 3, 7), date(2026, 3, 8)))) == {
        "07 Mar": LIGHT, "08 Mar": LIGHT}


def test_weekdays_alone_are_drawn_dark() -> None:
    # Monday 9 to Friday 13 March 2026.
    assert daily_colours(html.render(document(date(2026, 3, 9), date(2026, 3, 13)))) == {
        "09 Mar": DARK, "10 Mar": DARK, "11 Mar": DARK, "12 Mar": DARK, "13 Mar": DARK}


def test_a_week_across_a_weekend_has_both() -> None:
    # Friday 6 to Monday 9 March 2026.
    assert daily_colours(html.render(document(date(2026, 3, 6), date(2026, 3, 9)))) == {
        "06 Mar": DARK, "07 Mar": LIGHT, "08 Mar": LIGHT, "09 Mar": DARK}
