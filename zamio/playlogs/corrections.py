"""Plays corrected by hand (``bin/correct-plays``): void, reassign, retime, add, merge, split.

Each correction is made in one transaction, with its audit entry (``zamio.db.audit``:
who, why, the plays before and after):

* **void** ``PLAY``: a false detection.  The play is superseded with no current version
  (the withdrawal the converter also makes); its ledger lines are reversed by the next
  pricing run.
* **reassign** ``PLAY`` to another recording (a catalog track, or an ISRC: the catalog
  track carrying it if there is one).
* **retime** ``PLAY``: another start and/or length.
* **add**: an airing the detections missed, which the station's own log proves
  (``evidence``): a new play, ``source='manual'``, under a play key of its own.
* **merge** ``PLAY PLAY...``: reports of one airing (same station, same recording) become
  one play spanning them, a new version of the earliest; the others are superseded.
* **split** ``PLAY`` at an instant: two plays, the first a new version of the play, the
  second a new play; the play's detections go to the part their capture began in.

A correction never edits a play's facts: it stores version n+1 of the play
(``supersedes_id`` = version n) and marks version n superseded, as every other writer of
plays does.  The versions a correction writes carry its audit entry in ``correction_id``,
those it replaced or voided in ``corrected_by_id``: ``bin/convert-matches`` leaves them,
and the detections they hold, alone (``zamio.playlogs.store.pinned``), so a rebuild from
a late detection never undoes a correction, and ``bin/import-playlogs`` does not replace
them with a partner's row sent again.  Billing follows the usual rule
(``zamio.playlogs.billing``): a new version reporting an airing another play bills is
stored as its duplicate, and a duplicate of a play that stops standing may be billed in
its place.  Money follows by itself: the next ``calculate-royalty-distributions`` run
reverses what the superseded plays were owed and prices the new versions; a play of a
locked cycle is paid for by the next cycle as an adjustment.

A correction is keyed by what it asks and why (``event_key``): sending the same one again
(a file run again after a kill) adds nothing and says it was applied already.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Connection, select

from zamio.db import audit
from zamio.db.engine import utcnow
from zamio.db.tables import artists, captures, detections, play_detections, play_logs, stations, tracks
from zamio.files import csvread
from zamio.playlogs import billing, store
from zamio.playlogs.billing import CURRENT
from zamio.playlogs.correction_requests import (
    COLUMN_NAMES,
    FILE_COLUMNS,
    MAX_PLAY_SECONDS,
    BadCorrection,
    Request,
    parse_request,
)
from zamio.playlogs.evidence import recording_key
from zamio.runtime.errors import ItemError
from zamio.runtime.progress import Progress, Transactions

SOURCE_MANUAL = "manual"


class CorrectionRefused(ItemError):
    """A well-formed correction cannot be made (an unknown or superseded play, plays of two stations)."""

    reason = "correction_refused"


# --- what is stored ---------------------------------------------------------------


@dataclass(frozen=True)
class PlayFacts:
    """A play as a reviewer reads it in the audit log and in the job's report."""

    id: int | None
    play_key: str
    version: int
    station_ref: str
    track_ref: str | None
    isrc: str | None
    title: str | None
    started_at: datetime
    ended_at: datetime
    duration_seconds: float
    source: str
    status: str

    def as_json(self) -> dict[str, object]:
        """The play as the audit log keeps it (a version not stored yet has no id: its key and version name it)."""
        facts: dict[str, object] = {} if self.id is None else {"id": self.id}
        facts.update(play_key=self.play_key, version=self.version, station=self.station_ref, track_ref=self.track_ref,
                     isrc=self.isrc, title=self.title, started_at=self.started_at, ended_at=self.ended_at,
                     duration_seconds=self.duration_seconds, source=self.source, status=self.status)
        return facts

    def phrase(self) -> str:
        recording = self.track_ref or (f"ISRC {self.isrc}" if self.isrc else "an unnamed recording")
        title = f" {self.title!r}" if self.title else ""
        number = f"play {self.id}" if self.id is not None else "a new play"
        return (f"{number} (version {self.version}, {self.station_ref}, {recording}{title}, "
                f"{self.started_at:%Y-%m-%d %H:%M:%S} UTC, {self.duration_seconds:.3f} s, {self.status})")


@dataclass(frozen=True)
class Outcome:
    """What one correction did (or, when ``already`` is set, the entry that recorded it before)."""

    request: Request
    audit_id: int
    before: tuple[PlayFacts, ...] = ()
    after: tuple[PlayFacts, ...] = ()
    retired: tuple[int, ...] = ()  # the plays superseded
    billed_instead: tuple[int, ...] = ()  # duplicates of a superseded play now billed in its place
    already: audit.Entry | None = None

    @property
    def billed(self) -> tuple[int, ...]:
        """The plays this correction made billable: new versions stored final, and duplicates billed instead."""
        return tuple(p.id for p in self.after if p.status == "final" and p.id is not None) + self.billed_instead

    def lines(self) -> list[str]:
        """What was done, as printed."""
        if self.already is not None:
            return [f"{self.request.phrase()}: applied already (audit entry {self.already.id}, "
                    f"{self.already.at:%Y-%m-%d %H:%M:%S} UTC, by {self.already.actor}): nothing to do"]
        head = f"{self.request.phrase()} (audit entry {self.audit_id}):"
        found = [head] + [f"  was {p.phrase()}" for p in self.before]
        found += [f"  now {p.phrase()}" for p in self.after]
        if self.request.action == "void" or (self.retired and not self.after):
            found.append("  no version of it stands now")
        found += [f"  play {d}, a duplicate report of the same airing, is billed in its place"
                  for d in self.billed_instead]
        return found


_c = play_logs.c
_PLAY_QUERY = (select(play_logs, stations.c.station_ref, tracks.c.track_ref)
               .join(stations, stations.c.id == _c.station_id)
               .outerjoin(tracks, tracks.c.id == _c.track_id))
#: The columns a new version takes over from the play it replaces, unless the correction changes them.
_KEPT = [c.name for c in play_logs.columns if c.name not in (
    "id", "version", "status", "supersedes_id", "duplicate_of", "superseded_at", "created_at", "finalised_at",
    "first_captured_at", "recording_ref", "correction_id", "corrected_by_id")]


def _facts(row: Mapping[str, Any], station_ref: str, track_ref: str | None, status: str | None = None
           ) -> PlayFacts:
    return PlayFacts(row.get("id"), row["play_key"], row["version"], station_ref, track_ref, row.get("isrc"),
                     row.get("title"), row["started_at"], row["ended_at"], float(row["duration_seconds"]),
                     row["source"], status or row["status"])


def _plays(conn: Connection, ids: Sequence[int]) -> list[dict[str, Any]]:
    """Given play ids, return their rows (with ``station_ref`` and ``track_ref``) in the order given; raise
    CorrectionRefused naming an unknown or superseded one."""
    if not ids:
        return []
    found = {row["id"]: dict(row) for row in conn.execute(_PLAY_QUERY.where(_c.id.in_(list(ids)))).mappings()}
    for play_id in ids:
        row = found.get(play_id)
        if row is None:
            raise CorrectionRefused(f"play {play_id} does not exist; play ids are in the play_id column of "
                                    "bin/export-playlogs")
        if row["status"] not in CURRENT:
            raise CorrectionRefused(_superseded(conn, row))
    return [found[play_id] for play_id in ids]


def _superseded(conn: Connection, row: Mapping[str, Any]) -> str:
    """Why a superseded play cannot be corrected, and which play to correct instead."""
    current = conn.execute(select(_c.id, _c.version).where(_c.play_key == row["play_key"], _c.status.in_(CURRENT))
                           ).first()
    since = f" since {row['superseded_at']:%Y-%m-%d %H:%M:%S} UTC" if row["superseded_at"] else ""
    if current is not None:
        return (f"play {row['id']} is superseded{since}: its current version is play {current.id} (version "
                f"{current.version}); correct play {current.id} instead")
    by = audit.entry(conn, row["corrected_by_id"]) if row["corrected_by_id"] is not None else None
    if by is not None:
        return (f"play {row['id']} is superseded{since} by a correction ({by.action}, audit entry {by.id}, "
                f"by {by.actor}: {by.reason}) and no version of it stands; nothing is left to correct "
                "(bin/zamio-status --audit lists the corrections)")
    return (f"play {row['id']} is superseded{since} and no version of it stands (its detections joined another "
            "airing, or a partner withdrew it); nothing is left to correct")


def _station(conn: Connection, ref: str) -> int:
    found = conn.execute(select(stations.c.id).where(stations.c.station_ref == ref)).scalar()
    if found is None:
        raise CorrectionRefused(f"station {ref!r} is not a known station; import it with bin/import-catalog "
                                "--stations")
    return int(found)


def _recording(conn: Connection, request: Request) -> dict[str, Any]:
    """The play columns naming the recording a reassign or add gives: a catalog track (by reference, or the one
    carrying the ISRC), else the ISRC alone, or an unknown recording (``U-000001``)."""
    if request.unknown_ref:  # an unknown recording: no track, no society, its plays held in suspense
        return {"track_id": None, "track_ref": None, "isrc": None, "title": request.unknown_ref, "artist": None,
                "category": "music", "acrcloud_id": None, "society_id": None, "society_status": "unmapped",
                "recording_key": request.unknown_ref}
    query = (select(tracks.c.id, tracks.c.track_ref, tracks.c.isrc, tracks.c.title, tracks.c.category,
                    tracks.c.society_id, artists.c.name.label("artist"))
             .outerjoin(artists, artists.c.id == tracks.c.artist_id))
    if request.track_ref:
        track = conn.execute(query.where(tracks.c.track_ref == request.track_ref)).mappings().first()
        if track is None:
            raise CorrectionRefused(f"track {request.track_ref!r} is not in the catalog; import it with "
                                    "bin/import-catalog --tracks, or name the recording by --isrc")
    else:
        matches = conn.execute(query.where(tracks.c.isrc == request.isrc).limit(2)).mappings().all()
        track = matches[0] if len(matches) == 1 else None
    if track is None:
        return {"track_id": None, "track_ref": None, "isrc": request.isrc, "title": None, "artist": None,
                "category": "music", "acrcloud_id": None, "society_id": None, "society_status": "unmapped",
                "recording_key": recording_key(None, None, request.isrc)}
    isrc = track["isrc"] or request.isrc
    return {"track_id": track["id"], "track_ref": track["track_ref"], "isrc": isrc, "title": track["title"],
            "artist": track["artist"], "category": track["category"] or "music", "acrcloud_id": None,
            "society_id": track["society_id"], "society_status": "mapped" if track["society_id"] else "unmapped",
            "recording_key": recording_key(track["id"], None, isrc)}


@dataclass
class _Plan:
    """What a correction changes: plays to supersede, rows to store (with their detections), the audit entry."""

    entity_id: str
    retire: list[int] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)  # new play rows, with "_detections" and "_refs"
    evidence: str | None = None


def _version_of(old: Mapping[str, Any], version: int, **changes: Any) -> dict[str, Any]:
    """The row of version ``version`` of play ``old`` with ``changes``: a new version superseding it."""
    row = {name: old[name] for name in _KEPT}
    now = utcnow()
    row.update(version=version, supersedes_id=old["id"], status="final", duplicate_of=None, created_at=now,
               finalised_at=now)
    row.update(changes)
    return row


def _linked(conn: Connection, play_ids: Iterable[int]) -> list[tuple[int, datetime, float | None]]:
    """The detections linked to plays: (detection id, its capture's start, confidence), by capture time."""
    query = (select(detections.c.id, captures.c.started_at, detections.c.confidence)
             .join(play_detections, play_detections.c.detection_id == detections.c.id)
             .join(captures, captures.c.id == detections.c.capture_id)
             .where(play_detections.c.play_id.in_(list(play_ids))).distinct()
             .order_by(captures.c.started_at, detections.c.id))
    return [(int(d), at, confidence) for d, at, confidence in conn.execute(query)]


def _with_detections(row: dict[str, Any], linked: Sequence[tuple[int, datetime, float | None]]) -> dict[str, Any]:
    """The row linked to ``linked`` detections, its counts and confidences from them (kept when it has none)."""
    row["_detections"] = [d for d, _, _ in linked]
    if linked:
        row["detection_count"] = len(linked)
        confidences = [c for _, _, c in linked if c is not None]
        if confidences:
            row["confidence_avg"], row["confidence_min"] = sum(confidences) / len(confidences), min(confidences)
    return row


def new_play_key(station_id: int, recording: str, tag: str) -> str:
    """The key of a play a correction adds (or the second part of a split): station, recording and the correction's
    own tag (from its event key), so that two corrections never share a play key."""
    return f"manual|s{station_id}|{recording}|{tag}"


def _plan(conn: Connection, request: Request, plays: list[dict[str, Any]], versions: Mapping[str, int],
          tag: str) -> _Plan:
    """Given a checked request and the current rows of its plays, return what it changes."""
    action = request.action
    if action == "add":
        return _plan_add(conn, request, tag)
    old = plays[0]
    version = versions[old["play_key"]] + 1
    plan = _Plan(entity_id=" ".join(str(p["id"]) for p in plays), retire=[p["id"] for p in plays])
    if action == "void":
        return plan
    if action == "reassign":
        recording = _recording(conn, request)
        if recording["recording_key"] == old["recording_key"] and recording["isrc"] == old["isrc"]:
            raise CorrectionRefused(f"play {old['id']} names that recording already; nothing to change")
        row = _version_of(old, version, **{k: v for k, v in recording.items() if k != "track_ref"})
        plan.rows.append(_with_detections(row, _linked(conn, [old["id"]])) | {"_refs": recording["track_ref"]})
        return plan
    if action == "retime":
        start = request.start or old["started_at"]
        seconds = float(request.seconds) if request.seconds is not None else float(old["duration_seconds"])
        if start == old["started_at"] and abs(seconds - float(old["duration_seconds"])) < 1e-9:
            raise CorrectionRefused(f"play {old['id']} already starts at {start:%Y-%m-%d %H:%M:%S} UTC and lasts "
                                    f"{seconds:.3f} s; nothing to change")
        row = _version_of(old, version, started_at=start, ended_at=start + timedelta(seconds=seconds),
                          duration_seconds=seconds, end_estimated=False)
        plan.rows.append(_with_detections(row, _linked(conn, [old["id"]])) | {"_refs": old["track_ref"]})
        return plan
    if action == "merge":
        return _plan_merge(conn, plays, versions, plan)
    return _plan_split(conn, request, old, version, tag, plan)


def _plan_add(conn: Connection, request: Request, tag: str) -> _Plan:
    station_id = _station(conn, request.station_ref or "")
    recording = _recording(conn, request)
    assert request.start is not None and request.seconds is not None  # parse_request requires them
    seconds = float(request.seconds)
    now = utcnow()
    row = {"play_key": new_play_key(station_id, recording["recording_key"], tag), "version": 1,
           "station_id": station_id, **{k: v for k, v in recording.items() if k != "track_ref"},
           "source": SOURCE_MANUAL, "started_at": request.start,
           "ended_at": request.start + timedelta(seconds=seconds), "duration_seconds": seconds,
           "end_estimated": False, "single_observation": False, "status": "final", "supersedes_id": None,
           "detection_count": 0, "confidence_avg": None, "confidence_min": None, "import_ref": None,
           "created_at": now, "finalised_at": now, "_detections": [], "_refs": recording["track_ref"]}
    return _Plan(entity_id=row["play_key"], rows=[row], evidence=request.evidence)


def _plan_merge(conn: Connection, plays: list[dict[str, Any]], versions: Mapping[str, int], plan: _Plan) -> _Plan:
    stations_ = {p["station_ref"] for p in plays}
    if len(stations_) > 1:
        listed = ", ".join(f"play {p['id']} on {p['station_ref']}" for p in plays)
        raise CorrectionRefused(f"merge joins reports of one airing on one station, but {listed}: merge only plays "
                                "of one station, and correct the others one by one")
    recordings = {p["recording_ref"] for p in plays}
    if len(recordings) > 1:
        listed = ", ".join(f"play {p['id']} is {p['track_ref'] or p['recording_ref']}" for p in plays)
        raise CorrectionRefused(f"merge joins reports of one recording, but {listed}: reassign the wrong one "
                                "first (correct-plays reassign), then merge")
    ordered = sorted(plays, key=lambda p: (p["started_at"], p["id"]))
    first, last = ordered[0], max(plays, key=lambda p: (p["ended_at"], p["id"]))
    start, end = first["started_at"], last["ended_at"]
    if (end - start).total_seconds() > float(MAX_PLAY_SECONDS):
        raise CorrectionRefused(f"plays {', '.join(str(p['id']) for p in plays)} span {end - start}, more than the "
                                "six hours an airing can last: they are not one airing")
    confidences = [p["confidence_avg"] for p in plays if p["confidence_avg"] is not None]
    minimums = [p["confidence_min"] for p in plays if p["confidence_min"] is not None]
    row = _version_of(first, versions[first["play_key"]] + 1, started_at=start, ended_at=end,
                      duration_seconds=(end - start).total_seconds(),
                      end_estimated=last["end_estimated"], single_observation=False,
                      detection_count=sum(p["detection_count"] for p in plays),
                      confidence_avg=sum(confidences) / len(confidences) if confidences else None,
                      confidence_min=min(minimums) if minimums else None)
    plan.entity_id = " ".join(str(p["id"]) for p in ordered)
    plan.retire = [p["id"] for p in ordered]
    plan.rows.append(_with_detections(row, _linked(conn, plan.retire)) | {"_refs": first["track_ref"]})
    return plan


def _plan_split(conn: Connection, request: Request, old: dict[str, Any], version: int, tag: str,
                plan: _Plan) -> _Plan:
    at = request.at
    assert at is not None  # parse_request requires it
    if not old["started_at"] < at < old["ended_at"]:
        runs = f"{old['started_at']:%Y-%m-%d %H:%M:%S} to {old['ended_at']:%Y-%m-%d %H:%M:%S} UTC"
        raise CorrectionRefused(f"the split at {at:%Y-%m-%d %H:%M:%S} UTC is not inside play {old['id']}, which runs "
                                f"from {runs}: give an instant between its start and its end")
    linked = _linked(conn, [old["id"]])
    first = _version_of(old, version, ended_at=at, duration_seconds=(at - old["started_at"]).total_seconds(),
                        end_estimated=False)
    second = _version_of(old, 1, play_key=new_play_key(old["station_id"], old["recording_key"], tag),
                         started_at=at, duration_seconds=(old["ended_at"] - at).total_seconds())
    for row, part in ((first, [d for d in linked if d[1] < at]), (second, [d for d in linked if d[1] >= at])):
        if linked:
            row["detection_count"] = len(part)
            row["single_observation"] = len(part) == 1
        plan.rows.append(_with_detections(row, part) | {"_refs": old["track_ref"]})
    return plan


def correct(conn: Connection, request: Request, who: audit.Who) -> Outcome:
    """Given a checked request and who makes it (and why), make the correction in ``conn``'s transaction; return
    what it did.  Raise CorrectionRefused naming the play, station or track in the way and what to do, and
    ``audit.MissingReason`` without a reason; nothing is changed then."""
    who = audit.check(who)
    key = request.event_key(who.reason)
    done = audit.find(conn, key)
    if done is not None:
        return Outcome(request, done.id, already=done)
    plays = _plays(conn, request.play_ids)
    station_ids = sorted({p["station_id"] for p in plays})
    if request.action == "add":
        station_ids = [_station(conn, request.station_ref or "")]
    for station_id in station_ids:  # serialise with the converter and imports of these stations
        store.lock_station(conn, station_id)
    plays = _plays(conn, request.play_ids)  # as they stand now that no other writer can change them
    versions = store.latest_versions(conn, [p["play_key"] for p in plays])
    plan = _plan(conn, request, plays, versions, key.rsplit(":", 1)[1][:12])
    before = tuple(_facts(p, p["station_ref"], p["track_ref"]) for p in plays)
    station_refs = {p["station_ref"] for p in plays} | ({request.station_ref} if request.station_ref else set())
    after = tuple(_facts(r, next(iter(station_refs)), r["_refs"], "final") for r in plan.rows)
    change = audit.Change(f"play.{request.action}", "play", plan.entity_id,
                          before={"plays": [p.as_json() for p in before]},
                          after={"plays": [p.as_json() for p in after], "superseded": plan.retire,
                                 **({"evidence": plan.evidence} if plan.evidence else {})})
    audit_id = audit.record(conn, who, change, event_key=key)
    store.retire(conn, plan.retire, corrected_by=audit_id)
    rows = [{k: v for k, v in r.items() if not k.startswith("_")} | {"correction_id": audit_id} for r in plan.rows]
    ids = billing.store(conn, cast(list[billing.PlayRow], rows))  # the new versions, less the plan's own keys
    promoted = billing.rehome(conn, plan.retire)
    pairs = [(ids[(row["play_key"], row["version"])], d) for row, planned in zip(rows, plan.rows)
             for d in planned["_detections"]]
    store.link(conn, pairs)
    stored = tuple(
        _facts(row | {"id": ids[(row["play_key"], row["version"])]}, next(iter(station_refs)), planned["_refs"])
        for row, planned in zip(rows, plan.rows))
    return Outcome(request, audit_id, before, stored, tuple(plan.retire), tuple(promoted))


# --- many corrections ---------------------------------------------------------------

Inspect = Callable[[Connection, Outcome], None]


def correct_one(transactions: Transactions, request: Request, who: audit.Who, inspect: Inspect) -> Outcome:
    """Given a request and who makes it, make it in a transaction of its own; ``inspect(conn, outcome)`` runs in that
    transaction once it is made (to show the money it moves).  Raise as ``correct`` does."""
    with transactions() as conn:
        outcome = correct(conn, request, who)
        inspect(conn, outcome)
    return outcome


def correct_file(transactions: Transactions, path: Path, who: audit.Who, now: datetime, progress: Progress,
                 inspect: Inspect) -> list[Outcome]:
    """Given a CSV file of corrections (``FILE_COLUMNS``: ``action`` and ``reason`` required), make each row's
    correction in a transaction of its own (``correct_one``), the rows in file order.  A bad row is refused with
    its line number and reason (counted failed) and the others are made; a row made before (the file run again)
    is counted skipped.  Raise DataError when the file cannot be read or lacks a required column."""
    done: list[Outcome] = []
    for line, row in csvread.read_rows(path, ("action", "reason"), FILE_COLUMNS):
        if progress.should_stop():
            break
        where = f"{path} line {line}"
        try:
            if any(value is not None and "\x00" in value for value in row.values()):
                raise BadCorrection("a field contains a NUL character, which no text field can hold; remove it")
            request = parse_request(row, now, COLUMN_NAMES)
            outcome = correct_one(transactions, request, who.because(row.get("reason") or ""), inspect)
        except (ItemError, audit.MissingReason) as error:
            progress.failed(where, error)
            continue
        if outcome.already is not None:
            progress.skipped()
        else:
            progress.ok()
        done.append(outcome)
    return done


