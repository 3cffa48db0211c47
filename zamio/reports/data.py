"""The figures of an analytics report, computed with set-based queries (or taken from fresh cache entries).

A report covers whole days ``date_from`` .. ``date_to`` (inclusive) in the
report's time zone: the station's own zone for a station report, UTC for the
others.  Plays are bucketed by UTC hour in SQL and the buckets moved to local
time here, so both databases give the same figures (exact for zones whose
offset is a whole number of hours, as in West Africa).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import cast
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, text

from zamio.cache import store
from zamio.cache.aggregates import (
    DIMENSIONS,
    Dimension,
    TopItem,
    Window,
    capture_outcomes,
    coverage_gaps,
    plays_by_bucket,
    top_items,
)
from zamio.cache.families import Coverage, coverage
from zamio.db.dialect import bind_time
from zamio.reports.document import Confidence, DayPlays, Figures, HourPlays, Report, StationGap, Totals
from zamio.royalties.statements.earnings import (
    NOT_IN_A_CYCLE,
    Aired,
    KindFigure,
    RecipientFigure,
    artist_earnings,
    kind_earnings,
    recipient_earnings,
)
from zamio.royalties.statements.formatting import decimal_text
from zamio.runtime.errors import UsageError

TOP_TRACKS = 20
TOP_STATIONS = 15
CONFIDENCE_BINS = 10  # 0.0-0.1 ... 0.9-1.0


@dataclass(frozen=True)
class Subject:
    """What a report is about: type, database id (0 for the platform), ref, name and time zone."""

    kind: str
    entity_id: int
    ref: str
    name: str
    timezone: str


def find_subject(conn: Connection, kind: str, ref: str | None) -> Subject:
    """Resolve ``--type``/``--ref`` (a ref or a numeric id); raise UsageError if missing or unknown."""
    if kind == "platform":
        return Subject("platform", 0, "platform", "All stations", "UTC")
    if not ref:
        raise UsageError(f"--ref is required for a {kind} report (the {kind}'s ref or id)")
    zone = "timezone" if kind == "station" else "'UTC'"
    sql = f"SELECT id, {kind}_ref AS ref, name, {zone} AS tz FROM {kind}s WHERE {kind}_ref = :ref"
    params: dict[str, object] = {"ref": ref}
    if ref.isdigit():
        sql += " OR id = :id"
        params["id"] = int(ref)
    row = conn.execute(text(sql + " ORDER BY id LIMIT 1"), params).first()
    if row is None:
        raise UsageError(f"no {kind} with ref or id {ref!r}")
    return Subject(kind, int(row.id), row.ref, row.name, row.tz)


def local_window(subject: Subject, date_from: date, date_to: date) -> Window:
    """The UTC instants covering local days ``date_from``..``date_to`` of the subject's zone."""
    if date_to < date_from:
        raise UsageError(f"--to {date_to} is before --from {date_from}")
    zone = ZoneInfo(subject.timezone)
    start = datetime.combine(date_from, datetime.min.time(), zone)
    end = datetime.combine(date_to + timedelta(days=1), datetime.min.time(), zone)
    return Window(start.astimezone(UTC), end.astimezone(UTC))


def build(conn: Connection, subject: Subject, date_from: date, date_to: date, now: datetime) -> Report:
    """Return the whole report document (the JSON output; CSV and HTML are drawn from it)."""
    window = local_window(subject, date_from, date_to)
    dim = DIMENSIONS[subject.kind]
    entity = None if subject.kind == "platform" else subject.entity_id
    dates = [(date_from + timedelta(days=n)).isoformat() for n in range((date_to - date_from).days + 1)]
    by_day, by_hour = _local_series(conn, dim, window, entity, subject.timezone, dates)
    gaps, station_coverage = _coverage(conn, subject, window)
    doc: Figures = {
        "report": {"type": subject.kind, "ref": subject.ref, "name": subject.name, "from": dates[0], "to": dates[-1],
                   "timezone": subject.timezone, "generated_at": now.isoformat(), "sources": {}},
        "plays_by_day": by_day, "plays_by_hour": by_hour,
        "top_tracks": top_items(conn, dim, window, "recording", TOP_TRACKS, entity).get(subject.entity_id, []),
        "top_stations": [] if subject.kind == "station" else
        top_items(conn, dim, window, "station", TOP_STATIONS, entity).get(subject.entity_id, []),
        "earnings": earnings(conn, subject, window),
        "confidence": confidence(conn, subject, window),
        "coverage_gaps": gaps, "coverage": station_coverage,
    }
    _reuse_cache(conn, subject, doc, now)
    return {**doc, "totals": _totals(doc)}


def _local_series(conn: Connection, dim: Dimension, window: Window, entity: int | None, zone_name: str,
                  dates: list[str]) -> tuple[list[DayPlays], list[HourPlays]]:
    zone = ZoneInfo(zone_name)
    hours = plays_by_bucket(conn, dim, window, entity, bucket="hour").get(0 if entity is None else entity, {})
    days: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
    per_hour: dict[int, list[float]] = defaultdict(lambda: [0, 0.0])
    for bucket, (plays, seconds) in hours.items():
        local = datetime.strptime(bucket, "%Y-%m-%d %H").replace(tzinfo=UTC).astimezone(zone)
        for target in (days[local.date().isoformat()], per_hour[local.hour]):
            target[0] += plays
            target[1] += seconds
    by_day: list[DayPlays] = [{"date": d, "plays": int(days[d][0]), "seconds": round(days[d][1], 1)} for d in dates]
    by_hour: list[HourPlays] = [{"hour": h, "plays": int(per_hour[h][0]), "seconds": round(per_hour[h][1], 1)}
                                for h in range(24)]
    return by_day, by_hour


def earnings(conn: Connection, subject: Subject, window: Window) -> list[RecipientFigure] | list[KindFigure]:
    """The money of the plays aired in the window, as the cycle statements count it
    (``zamio.royalties.statements.earnings``): for an artist or publisher what is paid to them, per cycle
    and recipient; for a station or the platform everything its plays earned, per cycle and line kind.
    Amounts in integer units and in minor units."""
    aired = Aired(window.since, window.until)
    if subject.kind == "artist":
        found = artist_earnings(conn, subject.entity_id, aired).get(subject.entity_id, [])
    elif subject.kind == "publisher":
        found = recipient_earnings(conn, "publisher", [subject.ref], aired).get(subject.ref, [])
    else:
        return kind_earnings(conn, aired, subject.entity_id if subject.kind == "station" else None)
    return [e.as_json(NOT_IN_A_CYCLE) for e in found]


def _bin_case(column: str) -> str:
    branches = " ".join(f"WHEN {column} < {(n + 1) / CONFIDENCE_BINS} THEN {n}" for n in range(CONFIDENCE_BINS - 1))
    return f"CASE WHEN {column} IS NULL THEN -1 {branches} ELSE {CONFIDENCE_BINS - 1} END"


CONFIDENCE = """
SELECT {bin} AS bin, d.source, count(*) AS n
FROM detections d {joins}
WHERE d.detected_at >= :since AND d.detected_at < :until {filter}
GROUP BY 1, 2
"""

DETECTION_SCOPE = {
    "station": ("", "AND d.station_id = :id"),
    "artist": ("JOIN tracks t ON t.id = d.track_id", "AND t.artist_id = :id"),
    "publisher": ("JOIN tracks t ON t.id = d.track_id JOIN artists a ON a.id = t.artist_id",
                  "AND coalesce(t.publisher_id, a.publisher_id) = :id"),
    "platform": ("", ""),
}


def confidence(conn: Connection, subject: Subject, window: Window) -> Confidence:
    """The detections of the window by confidence (ten bins of 0.1) and by source (local, acrcloud)."""
    joins, filt = DETECTION_SCOPE[subject.kind]
    params = {"since": bind_time(conn, window.since), "until": bind_time(conn, window.until), "id": subject.entity_id}
    sql = CONFIDENCE.format(bin=_bin_case("d.confidence"), joins=joins, filter=filt)
    bins = [0] * CONFIDENCE_BINS
    by_source: dict[str, int] = defaultdict(int)
    unknown = 0
    for row in conn.execute(text(sql), params):
        by_source[row.source] += int(row.n)
        if row.bin < 0:
            unknown += int(row.n)
        else:
            bins[int(row.bin)] += int(row.n)
    return {"bins": [{"from": n / CONFIDENCE_BINS, "to": (n + 1) / CONFIDENCE_BINS, "detections": bins[n]}
                     for n in range(CONFIDENCE_BINS)], "unknown": unknown, "by_source": dict(sorted(by_source.items()))}


def _coverage(conn: Connection, subject: Subject, window: Window) -> tuple[list[StationGap], Coverage | None]:
    if subject.kind not in ("station", "platform"):
        return [], None  # an artist's plays span every station: station coverage is in the station reports
    station = subject.entity_id if subject.kind == "station" else None
    gaps_by_station = coverage_gaps(conn, window, station)
    names = {r.id: r.name for r in conn.execute(text("SELECT id, name FROM stations"))}
    gaps: list[StationGap] = [{"station_id": sid, "station": names.get(sid), **g}
                              for sid, rows in sorted(gaps_by_station.items()) for g in rows]
    outcomes: dict[str, int] = defaultdict(int)
    for per_station in capture_outcomes(conn, window, station).values():
        for outcome, n in per_station.items():
            outcomes[outcome] += n
    block = coverage(outcomes, gaps, window) if subject.kind == "station" else None
    return gaps, block


def _reuse_cache(conn: Connection, subject: Subject, doc: Figures, now: datetime) -> None:
    # The warmed 30-day entry answers the "last 30 days" report (in UTC-aligned zones) without recounting.
    key = "platform:overview" if subject.kind == "platform" else f"{subject.kind}:{subject.entity_id}"
    entry = store.read(conn, key)
    offset = ZoneInfo(subject.timezone).utcoffset(now.replace(tzinfo=None))
    if entry is None or not entry.fresh(now) or offset != timedelta(0):
        return
    # A fresh entry is of this code's schema version: its sections have the shapes the families write.
    window = entry.value.get("window")
    if not isinstance(window, dict) or (window.get("from"), window.get("to")) != (doc["report"]["from"],
                                                                                   doc["report"]["to"]):
        return
    doc["plays_by_day"] = cast(list[DayPlays], entry.value["plays_by_day"])
    for section in ("top_tracks", "top_stations"):
        cached = cast(list[TopItem], entry.value.get(section) or [])
        if cached and len(cached) >= len(doc[section]):
            doc[section] = cached
    doc["report"]["sources"]["plays_by_day"] = f"cache {key} computed {entry.computed_at:%Y-%m-%d %H:%M} UTC"


def _totals(doc: Figures) -> Totals:
    money: dict[str, int] = defaultdict(int)
    for row in doc["earnings"]:
        money[row["currency"]] += row["amount_units"]
    return {
        "plays": sum(d["plays"] for d in doc["plays_by_day"]),
        "seconds": round(sum(d["seconds"] for d in doc["plays_by_day"]), 1),
        "recordings_listed": len(doc["top_tracks"]),
        "stations_listed": len(doc["top_stations"]),
        "detections": sum(b["detections"] for b in doc["confidence"]["bins"]) + doc["confidence"]["unknown"],
        "earnings": [{"currency": c, "amount_units": u, "amount": decimal_text(u, c)}
                     for c, u in sorted(money.items())],
    }
