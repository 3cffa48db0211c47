"""What the dashboards read: one JSON value per cache key, computed from plays, captures and the ledger.

Key families (the JSON shapes are documented in ``docs/operations.md``):

* ``station:<id>``   plays per UTC day for 30 days, top tracks, detection coverage;
* ``artist:<id>``    plays, seconds, plays per day, top stations and tracks, earnings by cycle;
* ``publisher:<id>`` the same for a publisher's catalogue;
* ``platform:overview`` stations live, plays today and per day, unmatched share, suspense;
* ``charts:week``, ``charts:month`` the most played recordings of the last 7 and 30 days.

Money (earnings, suspense) comes from ``zamio.royalties.statements.earnings``: the figures of the
cycle statements, per recipient and cycle, to the unit.

Each family function computes every key of its family with a handful of
set-based queries, or one key when given an entity id.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TypeAlias, TypedDict

from sqlalchemy import Connection, text

from zamio.cache.aggregates import DIMENSIONS, Gap, Window, capture_outcomes, coverage_gaps, plays_by_bucket, top_items
from zamio.db.dialect import bind_time
from zamio.db.engine import StoredRow
from zamio.royalties.statements.earnings import Earning, artist_earnings, held_in_suspense, recipient_earnings

SCHEMA_VERSION = 2  # bump when a value's shape changes; readers ignore entries of another version
WINDOW_DAYS = 30
CHART_DAYS = {"week": 7, "month": 30}
TOP_TRACKS = 10
TOP_STATIONS = 10
CHART_SIZE = 20
LIVE_WITHIN = timedelta(hours=1)  # a station is live if one of its links succeeded this recently
UNMATCHED_WINDOW = timedelta(hours=24)

#: A cache value: one JSON object (each family's shape is in docs/operations.md).
CacheValue: TypeAlias = dict[str, object]


class DayCount(TypedDict):
    """Plays and their seconds on one UTC day."""

    date: str
    plays: int
    seconds: float


def last_days(now: datetime, days: int) -> tuple[Window, list[str]]:
    """Return the window of the last ``days`` UTC days including today (up to ``now``) and their dates."""
    today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    first = today - timedelta(days=days - 1)
    return Window(first, now), [(first + timedelta(days=n)).date().isoformat() for n in range(days)]


def _envelope(key: str, now: datetime, dates: list[str]) -> CacheValue:
    return {"schema_version": SCHEMA_VERSION, "key": key, "computed_at": now.isoformat(),
            "window": {"from": dates[0], "to": dates[-1], "days": len(dates)}}


def _series(by_day: dict[str, tuple[int, float]], dates: list[str]) -> list[DayCount]:
    return [{"date": d, "plays": by_day.get(d, (0, 0.0))[0], "seconds": round(by_day.get(d, (0, 0.0))[1], 1)}
            for d in dates]


def _totals(series: list[DayCount]) -> tuple[int, float]:
    return sum(d["plays"] for d in series), round(sum(d["seconds"] for d in series), 1)


def _entities(conn: Connection, sql: str, entity_id: int | None) -> list[StoredRow]:
    if entity_id is not None:
        return list(conn.execute(text(sql + " WHERE id = :id"), {"id": entity_id}))
    return list(conn.execute(text(sql + " ORDER BY id")))


class Coverage(TypedDict):
    """A station's coverage block: its captures by outcome, and the gaps of the window."""

    captures: int
    matched: int
    no_match: int
    silence: int
    errors: int
    match_share: float | None  # None without a capture that matched or did not (only silence, errors)
    gap_count: int
    gap_seconds: float
    monitored_share: float


def coverage(outcomes: dict[str, int], gaps: Sequence[Gap], window: Window) -> Coverage:
    """Given capture outcome counts and gaps of one station, return its coverage block."""
    matched, no_match = outcomes.get("match", 0), outcomes.get("no_match", 0)
    gap_seconds = sum(g["seconds"] for g in gaps)
    span = max((window.until - window.since).total_seconds(), 1.0)
    return {
        "captures": sum(outcomes.values()), "matched": matched, "no_match": no_match,
        "silence": outcomes.get("silence", 0), "errors": outcomes.get("error", 0),
        "match_share": round(matched / (matched + no_match), 4) if matched + no_match else None,
        "gap_count": len(gaps), "gap_seconds": round(gap_seconds, 1),
        "monitored_share": round(max(0.0, 1 - gap_seconds / span), 4),
    }


def station_entries(conn: Connection, now: datetime, entity_id: int | None = None) -> dict[str, CacheValue]:
    window, dates = last_days(now, WINDOW_DAYS)
    dim = DIMENSIONS["station"]
    stations = _entities(conn, "SELECT id, station_ref, name, timezone, active FROM stations", entity_id)
    by_day = plays_by_bucket(conn, dim, window, entity_id)
    tops = top_items(conn, dim, window, "recording", TOP_TRACKS, entity_id)
    outcomes = capture_outcomes(conn, window, entity_id)
    gaps = coverage_gaps(conn, window, entity_id)
    entries = {}
    for s in stations:
        key = f"station:{s.id}"
        series = _series(by_day.get(s.id, {}), dates)
        plays, seconds = _totals(series)
        entries[key] = {
            **_envelope(key, now, dates),
            "station": {"id": s.id, "ref": s.station_ref, "name": s.name, "timezone": s.timezone,
                        "active": bool(s.active)},
            "plays": plays, "seconds": seconds, "plays_by_day": series, "top_tracks": tops.get(s.id, []),
            "coverage": coverage(outcomes.get(s.id, {}), gaps.get(s.id, []), window),
        }
    return entries


def _earnings(conn: Connection, family: str, parties: list[StoredRow], entity_id: int | None
              ) -> dict[int, list[Earning]]:
    """Party id → its money per cycle: an artist's as artist, contributor and through her publisher;
    a publisher's, what is paid to it."""
    if family == "artist":
        return artist_earnings(conn, entity_id)
    by_ref = recipient_earnings(conn, "publisher", [p.ref for p in parties] if entity_id is not None else None)
    return {p.id: by_ref[p.ref] for p in parties if p.ref in by_ref}


def _party_entries(conn: Connection, now: datetime, family: str, entity_id: int | None) -> dict[str, CacheValue]:
    window, dates = last_days(now, WINDOW_DAYS)
    dim = DIMENSIONS[family]
    parties = _entities(conn, f"SELECT id, {family}_ref AS ref, name FROM {family}s", entity_id)
    by_day = plays_by_bucket(conn, dim, window, entity_id)
    stations = top_items(conn, dim, window, "station", TOP_STATIONS, entity_id)
    tracks = top_items(conn, dim, window, "recording", TOP_TRACKS, entity_id)
    earnings = _earnings(conn, family, parties, entity_id)
    entries = {}
    for p in parties:
        key = f"{family}:{p.id}"
        series = _series(by_day.get(p.id, {}), dates)
        plays, seconds = _totals(series)
        entries[key] = {
            **_envelope(key, now, dates), family: {"id": p.id, "ref": p.ref, "name": p.name},
            "plays": plays, "seconds": seconds, "plays_by_day": series,
            "top_stations": stations.get(p.id, []), "top_tracks": tracks.get(p.id, []),
            "earnings_by_cycle": [e.as_json() for e in earnings.get(p.id, [])],
        }
    return entries


def artist_entries(conn: Connection, now: datetime, entity_id: int | None = None) -> dict[str, CacheValue]:
    return _party_entries(conn, now, "artist", entity_id)


def publisher_entries(conn: Connection, now: datetime, entity_id: int | None = None) -> dict[str, CacheValue]:
    return _party_entries(conn, now, "publisher", entity_id)


PLATFORM_COUNTS = """
SELECT
  (SELECT count(*) FROM stations WHERE active) AS stations_active,
  (SELECT count(DISTINCT station_id) FROM stream_links
   WHERE active AND last_success_at >= :live_since) AS stations_live,
  (SELECT count(*) FROM detections WHERE detected_at >= :day_ago) AS detections_24h
"""


def platform_entries(conn: Connection, now: datetime, _entity_id: int | None = None) -> dict[str, CacheValue]:
    window, dates = last_days(now, WINDOW_DAYS)
    series = _series(plays_by_bucket(conn, DIMENSIONS["platform"], window).get(0, {}), dates)
    counts = conn.execute(text(PLATFORM_COUNTS), {"live_since": bind_time(conn, now - LIVE_WITHIN),
                                                  "day_ago": bind_time(conn, now - UNMATCHED_WINDOW)}).one()
    outcomes: dict[str, int] = {}
    for per_station in capture_outcomes(conn, Window(now - UNMATCHED_WINDOW, now)).values():
        for outcome, n in per_station.items():
            outcomes[outcome] = outcomes.get(outcome, 0) + n
    matched, unmatched = outcomes.get("match", 0), outcomes.get("no_match", 0)
    suspense = held_in_suspense(conn)
    plays, seconds = _totals(series)
    key = "platform:overview"
    return {key: {
        **_envelope(key, now, dates),
        "stations_active": int(counts.stations_active), "stations_live": int(counts.stations_live),
        "plays_today": series[-1]["plays"], "plays": plays, "seconds": seconds, "plays_by_day": series,
        "detections_24h": int(counts.detections_24h), "captures_24h": sum(outcomes.values()),
        "unmatched_share_24h": round(unmatched / (matched + unmatched), 4) if matched + unmatched else None,
        "suspense": suspense,
    }}


def chart_entries(conn: Connection, now: datetime, _entity_id: int | None = None) -> dict[str, CacheValue]:
    entries = {}
    for name, days in CHART_DAYS.items():
        window, dates = last_days(now, days)
        key = f"charts:{name}"
        rows = top_items(conn, DIMENSIONS["platform"], window, "recording", CHART_SIZE).get(0, [])
        entries[key] = {**_envelope(key, now, dates), "tracks": [{"rank": n, **r} for n, r in enumerate(rows, 1)]}
    return entries


Family = Callable[[Connection, datetime, "int | None"], dict[str, CacheValue]]

#: Family name (the part of a key before the colon) → function computing its entries.
FAMILIES: dict[str, Family] = {
    "station": station_entries,
    "artist": artist_entries,
    "publisher": publisher_entries,
    "platform": platform_entries,
    "charts": chart_entries,
}
