"""The unknown recordings ranked, to be listened to and named: what ``bin/unidentified-report`` reads.

An unknown recording (``U-000001``, ``zamio.recognition.unknown``) is music heard at least
twice that the catalog does not hold; its plays carry the recording key ``U-000001`` and are
priced into the suspense account ``unidentified:U-000001``.  For each recording with a
current play (``status`` ``final``) or money held in the report's **selection** (every play,
or those of ``--station`` and of the UTC days ``--from``..``--to``), the report gives

* its plays and the stations that aired them;
* the first and last time it was heard: the start of the first and last capture behind those
  plays, in UTC and in the time of the station that heard it;
* the **money held**, per currency: the sum of the lines booked to its suspense account for
  those plays (``zamio.royalties.pricing.paid``: the lines that are money), exact, reversals
  netted, so money released when the recording is named, or declared non-distributable, is
  no longer held;
* the first stream title a station sent with it, and its excerpt (the first of its captures
  that kept audio) and whether the file is still on this host;
* the **same title** group: the other recordings listed whose captures carry the same stream title
  naming an item (``zamio.recognition.titles.recording_title``), parts of one song that no airing
  heard together, or two airings that never overlapped, for a person to listen to and merge with
  the ``bin/identify-unknown --merge-into`` command given (into the group's oldest recording);
* what the catalog suggests, when the check against newly registered tracks
  (``zamio.playlogs.catalog_naming``) left the recording open: each track its captures named,
  by how many captures and their best evidence, and the ``bin/identify-unknown`` command that
  names it so once a person has listened.

Ranked by plays (then money held) or by money held (then plays); money in several currencies
ranks by its sum of units.  The CSV and HTML files are written by
``zamio.reports.unidentified_page``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import ColumnElement, Connection, Select, and_, func, select

from zamio.db.tables import captures, detections, play_detections, play_logs, stations, unknown_recordings
from zamio.recognition.titles import Runs, recording_title, title_key
from zamio.royalties.pricing.paid import paid_lines
from zamio.royalties.statements.shape import local_text, time_text, zone
from zamio.runtime.errors import UsageError
from zamio.values.money import from_units

ACCOUNT_PREFIX = "unidentified:"
UNKNOWN_KEYS = "U-%"  # the recording keys of unknown recordings' plays


@dataclass(frozen=True)
class Selection:
    """Which plays the report counts: every current play of an unknown recording, or those of some
    stations (ids) and UTC days (inclusive)."""

    station_ids: tuple[int, ...] = ()
    date_from: date | None = None
    date_to: date | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        """The SQL conditions on ``play_logs`` that keep the selected plays (of any version)."""
        found: list[ColumnElement[bool]] = [play_logs.c.recording_key.like(UNKNOWN_KEYS)]
        if self.station_ids:
            found.append(play_logs.c.station_id.in_(self.station_ids))
        if self.date_from is not None:
            found.append(play_logs.c.started_at >= datetime.combine(self.date_from, time(), UTC))
        if self.date_to is not None:
            found.append(play_logs.c.started_at < datetime.combine(self.date_to + timedelta(days=1), time(), UTC))
        return found


@dataclass(frozen=True)
class Hearing:
    """When a recording was heard, and on which station (its ref and time zone name)."""

    at: datetime
    station: str
    timezone: str

    @property
    def utc(self) -> str:
        return time_text(self.at.astimezone(UTC))

    @property
    def local(self) -> str:
        return local_text(self.at.astimezone(UTC).replace(tzinfo=None), zone(self.timezone))


@dataclass(frozen=True)
class Suggestion:
    """A track the catalog suggests for a recording left open: its captures that named it and their best
    evidence (``unknown_recordings.catalog_suggestion``)."""

    track_ref: str
    title: str
    captures: int
    evidence: float

    @property
    def text(self) -> str:
        """``T-A Side A (2 captures, evidence 41.5)``."""
        noun = "capture" if self.captures == 1 else "captures"
        title = f" {self.title}" if self.title else ""
        return f"{self.track_ref}{title} ({self.captures} {noun}, evidence {self.evidence:.1f})"

    def command(self, unknown_ref: str) -> str:
        """What names the recording as this track, once a person has listened and says why."""
        return f'bin/identify-unknown {unknown_ref} --track {self.track_ref} --reason "<why>"'


def suggestions(kept: str | None) -> list[Suggestion]:
    """The suggestions kept on a recording (JSON, or NULL: none)."""
    if not kept:
        return []
    return [Suggestion(str(item["track_ref"]), str(item.get("title") or ""), int(item["captures"]),
                       float(item["evidence"])) for item in json.loads(kept)]


@dataclass
class Recording:
    """One unknown recording as the report shows it."""

    ref: str
    plays: int = 0
    stations: dict[str, str] = field(default_factory=dict)  # station ref -> name
    first: Hearing | None = None
    last: Hearing | None = None
    held: dict[str, int] = field(default_factory=dict)  # currency -> units held
    icy_title: str | None = None
    excerpt_path: str | None = None
    excerpt_host: str | None = None
    suggested: list[Suggestion] = field(default_factory=list)
    title: str | None = None  # the stream title naming an item its captures carry (open recordings only)
    same_title: list[str] = field(default_factory=list)  # the other listed recordings carrying it, oldest first
    merge_into: str | None = None  # the oldest of them, if older than this one

    @property
    def merge_command(self) -> str:
        """What merges it into the oldest recording of its title's group, once a person has listened ("" for the
        oldest, or a recording in no group)."""
        if self.merge_into is None:
            return ""
        return f'bin/identify-unknown {self.ref} --merge-into {self.merge_into} --reason "<why>"'

    @property
    def held_units(self) -> int:
        """Every currency's units summed: the money ranking's key."""
        return sum(self.held.values())

    def held_amounts(self) -> list[tuple[str, Decimal]]:
        """(currency, exact amount) of each currency held, in currency order."""
        return [(currency, from_units(units)) for currency, units in sorted(self.held.items())]


def station_ids(conn: Connection, refs: list[str]) -> tuple[int, ...]:
    """Given station refs, return their ids; raise UsageError naming any ref no station has."""
    found = dict(
        conn.execute(select(stations.c.station_ref, stations.c.id).where(stations.c.station_ref.in_(refs)))
        .tuples()
        .all()
    )
    missing = [ref for ref in refs if ref not in found]
    if missing:
        raise UsageError(f"--station {', '.join(missing)}: no such station; give a station_ref of the catalog")
    return tuple(found[ref] for ref in refs)


def _plays_query(selection: Selection) -> Select[*tuple[object, ...]]:
    """Current plays per recording and station, with the first and last capture behind them."""
    heard = func.coalesce(captures.c.started_at, play_logs.c.started_at)
    source = (
        play_logs.join(unknown_recordings, unknown_recordings.c.unknown_ref == play_logs.c.recording_key)
        .join(stations, stations.c.id == play_logs.c.station_id)
        .outerjoin(play_detections, play_detections.c.play_id == play_logs.c.id)
        .outerjoin(detections, detections.c.id == play_detections.c.detection_id)
        .outerjoin(captures, captures.c.id == detections.c.capture_id)
    )
    return (
        select(
            play_logs.c.recording_key,
            stations.c.station_ref,
            stations.c.name,
            stations.c.timezone,
            func.count(play_logs.c.id.distinct()).label("plays"),
            func.min(heard).label("first"),
            func.max(heard).label("last"),
        )
        .select_from(source)
        .where(play_logs.c.status == "final", *selection.conditions())
        .group_by(play_logs.c.recording_key, stations.c.station_ref, stations.c.name, stations.c.timezone)
    )


def _held_query(selection: Selection) -> Select[*tuple[object, ...]]:
    """The money on each unknown recording's suspense account for the selected plays, per currency."""
    line = paid_lines()
    return (
        select(line.c.recipient_ref, line.c.currency, func.sum(line.c.amount).label("units"))
        .select_from(line.join(play_logs, play_logs.c.id == line.c.play_id))
        .where(
            line.c.recipient_type == "suspense",
            line.c.recipient_ref.like(ACCOUNT_PREFIX + UNKNOWN_KEYS),
            and_(*selection.conditions()),
        )
        .group_by(line.c.recipient_ref, line.c.currency)
    )


def recordings(conn: Connection, selection: Selection) -> list[Recording]:
    """Given a connection and a selection, return the unknown recordings with a current play or money
    held in it, unordered."""
    found: dict[str, Recording] = {}
    for row in conn.execute(_plays_query(selection)):
        recording = found.setdefault(row.recording_key, Recording(row.recording_key))
        recording.plays += int(row.plays)
        recording.stations[row.station_ref] = row.name
        first, last = (
            Hearing(row.first, row.station_ref, row.timezone),
            Hearing(row.last, row.station_ref, row.timezone),
        )
        if recording.first is None or first.at < recording.first.at:
            recording.first = first
        if recording.last is None or last.at > recording.last.at:
            recording.last = last
    for row in conn.execute(_held_query(selection)):
        ref = row.recipient_ref.removeprefix(ACCOUNT_PREFIX)
        if int(row.units):
            found.setdefault(ref, Recording(ref)).held[row.currency] = int(row.units)
    known = _describe(conn, found)  # an account named like one whose recording does not exist is not listed
    listed = [r for r in found.values() if r.ref in known and (r.plays or r.held)]
    _group_by_title(conn, listed, known)
    return listed


def _describe(conn: Connection, found: dict[str, Recording]) -> dict[str, int | None]:
    """Fill in each recording's stream title and excerpt from ``unknown_recordings``; return the refs found, each
    with its id if it is open (neither named nor merged), else None."""
    known: dict[str, int | None] = {}
    refs = list(found)
    for start in range(0, len(refs), 500):
        query = select(
            unknown_recordings.c.unknown_ref,
            unknown_recordings.c.id,
            unknown_recordings.c.resolved_at,
            unknown_recordings.c.icy_title,
            unknown_recordings.c.excerpt_path,
            unknown_recordings.c.excerpt_host,
            unknown_recordings.c.catalog_suggestion,
        ).where(unknown_recordings.c.unknown_ref.in_(refs[start : start + 500]))
        for row in conn.execute(query):
            known[row.unknown_ref] = int(row.id) if row.resolved_at is None else None
            recording = found[row.unknown_ref]
            recording.icy_title, recording.excerpt_path, recording.excerpt_host = (
                row.icy_title,
                row.excerpt_path,
                row.excerpt_host,
            )
            recording.suggested = suggestions(row.catalog_suggestion)
    return known


def _group_by_title(conn: Connection, listed: list[Recording], ids: dict[str, int | None]) -> None:
    """Give each open recording listed its stream title, and the others listed carrying the same one."""
    runs = Runs()
    by_title: dict[str, list[Recording]] = {}
    open_ones = [(recording_id, r) for r in listed if (recording_id := ids[r.ref]) is not None]
    for recording_id, recording in sorted(open_ones, key=lambda pair: pair[0]):
        recording.title = recording_title(conn, recording_id, runs)
        key = title_key(recording.title)
        if key is not None:
            by_title.setdefault(key, []).append(recording)
    for group in by_title.values():
        for recording in group:
            recording.same_title = [other.ref for other in group if other is not recording]
            recording.merge_into = group[0].ref if recording is not group[0] else None


def ranked(found: list[Recording], order: str, limit: int | None = None) -> list[Recording]:
    """Given recordings, return them ranked by ``order`` (plays or money; ties by the other, then by
    ref), the first ``limit`` only if given."""
    return sorted(found, key=_by_money if order == "money" else _by_plays)[:limit]


def _by_plays(recording: Recording) -> tuple[int, int, str]:
    return -recording.plays, -recording.held_units, recording.ref


def _by_money(recording: Recording) -> tuple[int, int, str]:
    return -recording.held_units, -recording.plays, recording.ref


def excerpt_file(recording: Recording, var_dir: Path) -> Path | None:
    """The excerpt's file on this host (a relative path is under ``var_dir``), or None if it has none."""
    if not recording.excerpt_path:
        return None
    path = Path(recording.excerpt_path)
    return path if path.is_absolute() else var_dir / path


def held_totals(found: list[Recording]) -> dict[str, int]:
    """Units held per currency over the recordings."""
    totals: dict[str, int] = {}
    for recording in found:
        for currency, units in recording.held.items():
            totals[currency] = totals.get(currency, 0) + units
    return totals


def money_text(amounts: dict[str, int]) -> str:
    """``GHS 2.6400, USD 1.0000`` (exact), or ``nothing``."""
    return ", ".join(f"{c} {from_units(u)}" for c, u in sorted(amounts.items()) if u) or "nothing"
