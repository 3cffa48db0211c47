"""Plays reported by other monitoring services or partner societies.

CSV columns: ``station_ref, started_at`` (ISO 8601 with a UTC offset), ``duration_seconds``,
and ``track_ref`` or ``isrc``; optional ``title, artist, source, confidence, import_ref``.
Each row becomes a ``play_logs`` row with source ``imported``.  A row with an
``import_ref`` is keyed by station and reporter (``source``) with that reference: sent
again unchanged it adds nothing, sent with other facts (a corrected start or duration)
it becomes a new version of its play, superseding the old one, unless a person corrected
that play (``bin/correct-plays``): the correction stands.  A row without one is
keyed by station, start, recording and reporter.  Whoever reports an airing first bills
it: a row reporting an airing that another play bills already (a detection, another
partner, the same partner under another reference) is kept with status ``duplicate``
and ``duplicate_of`` that play, as evidence, never billed (``zamio.playlogs.billing``).
Bad rows are reported with their line numbers; the good rows still load.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select

from zamio.catalog.identifiers import normalise_isrc, validate_isrc
from zamio.db.engine import utcnow
from zamio.db.tables import play_logs, stations, tracks
from zamio.files import csvread as cv
from zamio.files.csvread import ImportReport, Row, RowError
from zamio.playlogs import billing, store
from zamio.playlogs.evidence import recording_key
from zamio.runtime.progress import Progress, Transactions
from zamio.values.decimals import CONFIDENCE, CONFIDENCE_SCORE_ABOVE, SECONDS, decimal_places
from zamio.values.instants import BadPlayTime, read_play_time

REQUIRED = ("station_ref", "started_at", "duration_seconds")
OPTIONAL = ("track_ref", "isrc", "title", "artist", "source", "confidence", "import_ref")
MAX_PLAY_SECONDS = Decimal(6 * 3600)  # longer than any airing of one recording: a typing error
MAX_CONFIDENCE = Decimal(100)  # a 0..1 confidence or a 0..100 score (ACRCloud's)


def import_playlogs(transactions: Transactions, files: Sequence[Path], default_source: str,
                    progress: Progress) -> None:
    """Load each file in a transaction of its own, rows without a ``source`` as reported by
    ``default_source``; count the loaded rows ok and the bad rows failed, with their line numbers."""
    for path in files:
        report = ImportReport(name=str(path))
        counts = {"new": 0, "duplicate": 0, "corrected": 0, "known": 0, "kept": 0}
        handle = functools.partial(_load_row, default_source=default_source, counts=counts)
        with transactions() as conn:
            cv.load_rows(conn, path, report, handle, REQUIRED, OPTIONAL)
        progress.ok(report.rows_ok)
        for line, reason in report.errors:
            progress.failed(f"{path} line {line}", reason)
        progress.note(f"{path.name}: {counts['new']} plays added, {counts['duplicate']} of them reporting airings "
                      f"billed already, {counts['corrected']} corrected, {counts['known']} already imported, "
                      + (f"{counts['kept']} kept as corrected by hand, " if counts["kept"] else "")
                      + f"{len(report.errors)} rows rejected")


def _load_row(conn: Connection, row: Row, *, default_source: str, counts: dict[str, int]) -> None:
    play = billing.with_recording_ref(play_from_row(conn, row, default_source))
    store.lock_station(conn, play["station_id"])  # the converter may be billing the same airing
    stored = _latest_version(conn, play["play_key"])
    if stored is not None and billing.same_facts(stored, play):
        counts["known"] += 1
        return
    if stored is not None and (stored["correction_id"] is not None or stored["corrected_by_id"] is not None):
        counts["kept"] += 1  # a person corrected this play (bin/correct-plays): a partner's row does not undo it
        return
    if stored is not None:  # the reporter corrected its row: a new version of the play
        play.update({"version": stored["version"] + 1, "supersedes_id": stored["id"]})
        store.retire(conn, [stored["id"]])
    billing.store(conn, [play])
    if stored is not None:
        billing.rehome(conn, [stored["id"]])
        counts["corrected"] += 1
    else:
        counts["new"] += 1
        counts["duplicate"] += int(play["status"] == "duplicate")


def _latest_version(conn: Connection, key: str) -> dict[str, Any] | None:
    c = play_logs.c
    query = (select(c.id, c.version, c.status, c.started_at, c.ended_at, c.recording_ref, c.track_id, c.isrc,
                    c.category, c.confidence_avg, c.correction_id, c.corrected_by_id)
             .where(c.play_key == key).order_by(c.version.desc()).limit(1))
    found = conn.execute(query).mappings().first()
    return dict(found) if found else None


def play_from_row(conn: Connection, row: Row, default_source: str) -> billing.PlayRow:
    """Given one CSV row, return its ``play_logs`` row; raise RowError naming the bad field, its
    value and what is accepted."""
    station_id = _station(conn, cv.text(row, "station_ref"))
    started = parse_started_at(cv.text(row, "started_at"), utcnow())
    seconds = cv.number(row, "duration_seconds", minimum=Decimal(0), maximum=MAX_PLAY_SECONDS, kind=SECONDS,
                        required=True)
    track = _track(conn, row)
    isrc = track["isrc"] if track and track["isrc"] else _isrc(row)
    if track is None and isrc is None:
        raise RowError("the row names no recording: give track_ref or isrc")
    confidence = parse_confidence(row)
    source = row.get("source") or default_source
    reference = f"{source}:{row['import_ref']}" if row.get("import_ref") else source
    key = recording_key(track["id"] if track else None, None, isrc)
    assert key is not None  # a track or an ISRC, as checked above
    now = utcnow()
    # A reporter's own reference names its row across corrections; without one the facts must.
    play_key = (f"import|s{station_id}|{reference}" if row.get("import_ref")
                else f"import|s{station_id}|{started:%Y%m%dT%H%M%SZ}|{key}|{reference}")
    return {
        "play_key": play_key, "version": 1,
        "station_id": station_id, "track_id": track["id"] if track else None, "recording_key": key,
        "isrc": isrc, "title": (track or {}).get("title") or row.get("title"),
        "artist": row.get("artist"), "category": (track or {}).get("category") or "music", "source": "imported",
        "started_at": started, "ended_at": started + timedelta(seconds=seconds), "duration_seconds": seconds,
        "status": "final", "detection_count": 0, "confidence_avg": confidence, "confidence_min": confidence,
        "society_id": (track or {}).get("society_id"),
        "society_status": "mapped" if (track or {}).get("society_id") else "unmapped",
        "import_ref": reference, "created_at": now, "finalised_at": now,
    }


def parse_started_at(text: str, now: datetime) -> datetime:
    """Given an ISO 8601 instant with a UTC offset and the current instant, return it as aware UTC;
    raise RowError if it has no offset, is not a time, or is before 1970 or more than a day ahead."""
    try:
        return read_play_time("started_at", text, now)
    except BadPlayTime as error:
        raise RowError(str(error)) from None


def parse_confidence(row: Row) -> float | None:
    """Given a row, return its confidence (0..1, or a 0..100 score) as a float, None if empty; raise
    RowError if it is outside 0..100 or has more decimal places than pricing keeps on the 0..1 scale."""
    value = cv.decimal(row, "confidence", minimum=Decimal(0), maximum=MAX_CONFIDENCE)
    if value is None:
        return None
    score = value > CONFIDENCE_SCORE_ABOVE  # pricing reads it as score / 100: two more places
    if decimal_places(value) + (2 if score else 0) > CONFIDENCE.places:
        raise RowError(f"confidence {row['confidence']!r} has more decimal places than pricing keeps: at most "
                       f"{CONFIDENCE.places} on the 0..1 scale, {CONFIDENCE.places - 2} on the 0..100 scale")
    return float(value)


def _station(conn: Connection, ref: str) -> int:
    station_id = conn.execute(select(stations.c.id).where(stations.c.station_ref == ref)).scalar()
    if station_id is None:
        raise RowError(f"station_ref {ref!r} is not a known station; import it with bin/import-catalog --stations")
    return station_id


def _track(conn: Connection, row: Row) -> dict[str, Any] | None:
    ref = row.get("track_ref")
    if not ref:
        return None
    found = conn.execute(select(tracks.c.id, tracks.c.isrc, tracks.c.title, tracks.c.category, tracks.c.society_id)
                         .where(tracks.c.track_ref == ref)).mappings().first()
    if found is None:
        raise RowError(f"track_ref {ref!r} is not in the catalog; import the track first or give its isrc")
    return dict(found)


def _isrc(row: Row) -> str | None:
    raw = row.get("isrc")
    if not raw:
        return None
    isrc = normalise_isrc(raw)
    problem = validate_isrc(isrc)
    if problem:
        raise RowError(f"isrc {raw!r}: {problem}")
    return isrc
