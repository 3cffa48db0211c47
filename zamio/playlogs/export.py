"""Current plays of a date range as CSV, JSON or JSON lines.

Only current plays (``status='final'``) are written, detected and imported alike, in
station and start order.  Times are UTC ISO 8601 (``2026-03-02T14:05:00.250000Z``).
The CSV is written by ``zamio.files.csvwrite``: text cells a spreadsheet would run as a
formula (starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return) are
prefixed with ``'``; numbers stay numbers; booleans are ``true``/``false``.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import IO

from sqlalchemy import Connection, select

from zamio.db.tables import play_logs, stations, tracks
from zamio.files import csvwrite

COLUMNS = ("station_ref", "track_ref", "isrc", "title", "artist", "started_at", "ended_at", "duration_seconds",
           "source", "confidence", "detections", "category", "end_estimated", "single_observation", "play_id")
#: One exported play: its COLUMNS, with text, numbers, flags and empty values only (they go to JSON and CSV).
Record = dict[str, str | int | float | bool | None]


def utc_days(first: date, last: date) -> tuple[datetime, datetime]:
    """The UTC range [start, end) of the days ``first`` to ``last``, ``last`` included."""
    return (datetime.combine(first, time(), UTC),
            datetime.combine(last + timedelta(days=1), time(), UTC))


def play_records(conn: Connection, start: datetime, end: datetime,
                 station_refs: Sequence[str] | None = None) -> Iterator[Record]:
    """Given a UTC range [start, end), yield each current play starting in it as a dict of COLUMNS."""
    p = play_logs.c
    query = (
        select(stations.c.station_ref, tracks.c.track_ref, p.isrc, p.title, p.artist, p.started_at, p.ended_at,
               p.duration_seconds, p.source, p.confidence_avg, p.detection_count, p.category, p.end_estimated,
               p.single_observation, p.id)
        .select_from(play_logs.join(stations, stations.c.id == p.station_id)
                     .outerjoin(tracks, tracks.c.id == p.track_id))
        .where(p.status == "final", p.started_at >= start, p.started_at < end)
        .order_by(stations.c.station_ref, p.started_at, p.id)
    )
    if station_refs:
        query = query.where(stations.c.station_ref.in_(station_refs))
    for row in conn.execute(query):
        yield dict(zip(COLUMNS, (
            row.station_ref, row.track_ref, row.isrc, row.title, row.artist, iso(row.started_at),
            iso(row.ended_at), round(row.duration_seconds, 3), row.source, row.confidence_avg,
            row.detection_count, row.category, bool(row.end_estimated), bool(row.single_observation), row.id,
        ), strict=True))


def iso(moment: datetime) -> str:
    """An aware instant as UTC ISO 8601 with a Z."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def write(handle: IO[str], records: list[Record], fmt: str) -> None:
    """Write records as ``csv``, ``json`` (an array) or ``jsonl`` (one object per line)."""
    if fmt == "json":
        json.dump(records, handle, indent=1)
        handle.write("\n")
    elif fmt == "jsonl":
        for record in records:
            handle.write(json.dumps(record) + "\n")
    else:
        writer = csvwrite.writer(handle)
        writer.writerow(COLUMNS)
        for record in records:
            writer.writerow([record[name] for name in COLUMNS])


def write_file(path: Path, records: list[Record], fmt: str) -> None:
    """Write records to ``path`` through a ``.partial`` file renamed at the end: a reader never sees half a file."""
    partial = path.with_name(path.name + ".partial")
    with open(partial, "w", newline="", encoding="utf-8") as handle:
        write(handle, records, fmt)
    partial.replace(path)


def to_text(records: list[Record], fmt: str) -> str:
    """The exported text of ``records`` (for tests and callers that want a string)."""
    buffer = io.StringIO()
    write(buffer, records, fmt)
    return buffer.getvalue()
