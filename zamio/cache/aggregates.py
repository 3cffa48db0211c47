"""Set-based aggregates over plays and captures, shared by the cache and the reports.

Each function runs one GROUP BY over all entities of a dimension (every
station, every artist ...) or, given ``entity_id``, over one; the caller splits
the rows per entity.  No query loops over days or entities.  A play counts
only while it is ``final``: not a superseded version, not an imported
duplicate of a detected airing.

A dimension says how a play reaches its entity: a station directly, an artist
through the track, a publisher through the track or else the track's artist,
and the platform as the single entity ``0``.

Money is not counted here: every money figure comes from ``zamio.royalties.statements.earnings``,
which reads the ledger as the cycle statements do.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import NotRequired, TypedDict

from sqlalchemy import Connection, text

from zamio.db.dialect import bind_time, read_time, utc_day, utc_hour

PLAY_COUNTED = "p.status = 'final'"  # not superseded versions, not imported duplicates of detected plays
IN_LIST_CHUNK = 500  # ids per IN (...) list


@dataclass(frozen=True)
class Dimension:
    name: str
    group: str  # SQL giving the entity id of play p
    joins: str  # joins from play_logs p needed by ``group``


DIMENSIONS = {
    "station": Dimension("station", "p.station_id", ""),
    "artist": Dimension("artist", "t.artist_id", "JOIN tracks t ON t.id = p.track_id"),
    "publisher": Dimension(
        "publisher", "coalesce(t.publisher_id, a.publisher_id)",
        "JOIN tracks t ON t.id = p.track_id JOIN artists a ON a.id = t.artist_id"),
    "platform": Dimension("platform", "abs(0)", ""),  # not a bare 0: SQLite reads GROUP BY 0 as a column number
}

#: Items a top list can rank, as SQL over play p.
TOP_ITEMS = {"recording": "p.recording_key", "station": "p.station_id"}


# A stretch a station was not monitored, clipped to a window ("from" is a keyword: the functional form).
Gap = TypedDict("Gap", {"from": datetime, "to": datetime, "seconds": float, "reason": str})


class TopItem(TypedDict):
    """One entry of a top list: a recording (its key, track, title, artist) or a station (its id, ref, name)."""

    plays: int
    seconds: float
    stations: int
    recording_key: NotRequired[str]
    track_id: NotRequired[int | None]
    title: NotRequired[str | None]
    artist: NotRequired[str | None]
    station_id: NotRequired[int]
    ref: NotRequired[str | None]
    name: NotRequired[str | None]


@dataclass(frozen=True)
class Window:
    """A half-open interval of instants [since, until), aware UTC."""

    since: datetime
    until: datetime


def _scope(conn: Connection, dim: Dimension, window: Window, entity_id: int | None) -> tuple[str, dict[str, object]]:
    where = f"{PLAY_COUNTED} AND p.started_at >= :since AND p.started_at < :until"
    params: dict[str, object] = {"since": bind_time(conn, window.since), "until": bind_time(conn, window.until)}
    if entity_id is not None and dim.name != "platform":
        where += f" AND {dim.group} = :entity_id"
        params["entity_id"] = entity_id
    elif dim.name == "publisher":
        where += f" AND {dim.group} IS NOT NULL"
    return where, params


PLAYS_BY_BUCKET = """
SELECT {group} AS entity, {bucket} AS bucket, count(*) AS plays, coalesce(sum(p.duration_seconds), 0) AS seconds
FROM play_logs p {joins}
WHERE {where}
GROUP BY 1, 2
"""


def plays_by_bucket(conn: Connection, dim: Dimension, window: Window, entity_id: int | None = None,
                    bucket: str = "day") -> dict[int, dict[str, tuple[int, float]]]:
    """Given a dimension and a window, return entity → UTC bucket → (plays, seconds).

    A bucket is a day ``YYYY-MM-DD`` or, with ``bucket="hour"``, an hour ``YYYY-MM-DD HH``.
    """
    where, params = _scope(conn, dim, window, entity_id)
    bucket_sql = (utc_day if bucket == "day" else utc_hour)(conn, "p.started_at")
    sql = PLAYS_BY_BUCKET.format(group=dim.group, bucket=bucket_sql, joins=dim.joins, where=where)
    result: dict[int, dict[str, tuple[int, float]]] = defaultdict(dict)
    for row in conn.execute(text(sql), params):
        result[int(row.entity)][row.bucket] = (int(row.plays), float(row.seconds))
    return result


TOP = """
SELECT entity, item, plays, seconds, stations, track_id, title, artist FROM (
    SELECT {group} AS entity, {item} AS item, count(*) AS plays, coalesce(sum(p.duration_seconds), 0) AS seconds,
           count(DISTINCT p.station_id) AS stations, max(p.track_id) AS track_id,
           max(p.title) AS title, max(p.artist) AS artist,
           row_number() OVER ({partition} ORDER BY count(*) DESC, {item}) AS rank
    FROM play_logs p {joins}
    WHERE {where}
    GROUP BY 1, 2
) ranked
WHERE rank <= :top
ORDER BY entity, rank
"""


def top_items(conn: Connection, dim: Dimension, window: Window, item: str, top: int,
              entity_id: int | None = None) -> dict[int, list[TopItem]]:
    """Given a dimension, return entity → its ``top`` recordings or stations by plays, most played first."""
    where, params = _scope(conn, dim, window, entity_id)
    # SQLite reads a constant in PARTITION BY as a column number, so the platform (entity 0) has no partition.
    partition = "" if dim.name == "platform" else f"PARTITION BY {dim.group}"
    sql = TOP.format(group=dim.group, item=TOP_ITEMS[item], joins=dim.joins, where=where, partition=partition)
    result: dict[int, list[TopItem]] = defaultdict(list)
    for row in conn.execute(text(sql), {**params, "top": top}):
        entry: TopItem = {"plays": int(row.plays), "seconds": round(float(row.seconds), 1),
                          "stations": int(row.stations)}
        if item == "recording":
            entry["recording_key"], entry["track_id"] = row.item, row.track_id
            entry["title"], entry["artist"] = row.title, row.artist
        else:
            entry["station_id"] = int(row.item)
        result[int(row.entity)].append(entry)
    _name_tracks(conn, [e for rows in result.values() for e in rows if item == "recording"])
    _name_stations(conn, [e for rows in result.values() for e in rows if item == "station"])
    return result


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), IN_LIST_CHUNK):
        yield ids[start:start + IN_LIST_CHUNK]


def _name_tracks(conn: Connection, entries: list[TopItem]) -> None:
    # Titles come from the catalog when the play has a track, so a renamed track shows its new name.
    ids = sorted({e["track_id"] for e in entries if e["track_id"] is not None})
    names: dict[int, tuple[str, str]] = {}
    for chunk in _chunks(ids):
        rows = conn.execute(text("SELECT t.id, t.title, a.name FROM tracks t JOIN artists a ON a.id = t.artist_id "
                                 f"WHERE t.id IN ({','.join(str(int(i)) for i in chunk)})"))
        names.update({int(r[0]): (r[1], r[2]) for r in rows})
    for entry in entries:
        if entry["track_id"] in names:
            entry["title"], entry["artist"] = names[entry["track_id"]]


def _name_stations(conn: Connection, entries: list[TopItem]) -> None:
    names = {r.id: r for r in conn.execute(text("SELECT id, station_ref, name FROM stations"))}
    for entry in entries:
        station = names.get(entry["station_id"])
        entry["ref"], entry["name"] = (station.station_ref, station.name) if station else (None, None)


CAPTURE_OUTCOMES = """
SELECT station_id, outcome, count(*) AS n FROM captures
WHERE started_at >= :since AND started_at < :until {filter}
GROUP BY station_id, outcome
"""


def capture_outcomes(conn: Connection, window: Window, station_id: int | None = None) -> dict[int, dict[str, int]]:
    """Return station → capture outcome (match, no_match, silence, error) → count within the window."""
    params: dict[str, object] = {"since": bind_time(conn, window.since), "until": bind_time(conn, window.until)}
    if station_id is not None:
        params["station_id"] = station_id
    sql = CAPTURE_OUTCOMES.format(filter="AND station_id = :station_id" if station_id is not None else "")
    result: dict[int, dict[str, int]] = defaultdict(dict)
    for row in conn.execute(text(sql), params):
        result[int(row.station_id)][row.outcome] = int(row.n)
    return result


def coverage_gaps(conn: Connection, window: Window, station_id: int | None = None) -> dict[int, list[Gap]]:
    """Return station → gaps overlapping the window, clipped to it: from, to (aware UTC), seconds, reason."""
    params: dict[str, object] = {"since": bind_time(conn, window.since), "until": bind_time(conn, window.until)}
    sql = "SELECT station_id, gap_from, gap_to, reason FROM coverage_gaps WHERE gap_to > :since AND gap_from < :until"
    if station_id is not None:
        sql += " AND station_id = :station_id"
        params["station_id"] = station_id
    result: dict[int, list[Gap]] = defaultdict(list)
    for row in conn.execute(text(sql + " ORDER BY station_id, gap_from"), params):
        start = max(_gap_time(row.gap_from), window.since)
        end = min(_gap_time(row.gap_to), window.until)
        result[int(row.station_id)].append(
            {"from": start, "to": end, "seconds": (end - start).total_seconds(), "reason": row.reason})
    return result


def _gap_time(value: datetime | str) -> datetime:
    moment = read_time(value)
    assert moment is not None  # gap_from and gap_to are NOT NULL columns
    return moment
