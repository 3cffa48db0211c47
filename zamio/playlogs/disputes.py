"""Disputes (``bin/disputes``): a claim that plays, or a recording's shares or identity, are wrong.

A claimant (an artist, a publisher, a partner society or a station, ``terms.CLAIMANT_TYPES``)
disputes one of (``KINDS``):

* **plays**: the plays of a station over station-local days (``station``, ``day_from``,
  ``day_to``), or plays named by id (every version of each: a dispute follows the play's key,
  so a correction or a rebuild of the play stays covered);
* **shares**: the plays of a recording (its catalog track, and plays naming its ISRC) whose
  share table is contested;
* **identity**: the same plays, when what was heard is contested.

A dispute is a row of ``disputes`` (``D-000001`` is id 1) and, for plays named by id, rows of
``dispute_plays``.  While it is open, every pricing of a play it covers, the plays added to
its scope later included, books the play's money to the suspense account ``dispute:D-000001``
(``zamio.royalties.pricing.holds``, the pricing's side), and ``bin/cleanup-old-data`` keeps
the capture audio of those plays.  Resolving it records the decision (``terms.DECISIONS``) and makes
the corrections the decision implies in the same transaction, through the corrections' own
path (``zamio.playlogs.corrections.correct``: new versions of plays, each with its audit entry);
the next pricing run then prices the plays to whoever they belong to, and releases the money.

Opening and resolving each write one audit entry (``dispute.open``, ``dispute.resolve``; entity
``dispute``, the dispute's label) in their own transaction.  The same opening asked again (the
same claimant, scope and reason: a command run again after a kill) adds nothing and names the
dispute it opened; a dispute is resolved once (the update names the status it expects, so of
two resolutions at once one applies and the other is refused).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import CompoundSelect, Connection, Select, and_, insert, select, union, update

from zamio.catalog.identifiers import normalise_isrc, validate_isrc
from zamio.db import audit
from zamio.db.tables import (
    artists,
    dispute_plays,
    disputes,
    partner_societies,
    play_logs,
    publishers,
    stations,
    tracks,
)
from zamio.playlogs import corrections
from zamio.playlogs.billing import CURRENT
from zamio.playlogs.correction_requests import Request
from zamio.playlogs.terms import DECISIONS, OPEN, RESOLVED
from zamio.runtime.errors import ItemError

KINDS = ("plays", "shares", "identity")
LABEL = re.compile(r"^\s*D-?(\d{1,12})\s*$", re.IGNORECASE)
#: Each claimant type: the table and column its reference is found in, and where such references come from.
CLAIMANTS = {
    "artist": (artists.c.artist_ref, "artists (the slug of the artist's name, as statements show it)"),
    "publisher": (publishers.c.publisher_ref, "publishers (the slug of the publisher's name)"),
    "society": (partner_societies.c.code, "partner societies (the CISAC code, e.g. 058)"),
    "station": (stations.c.station_ref, "stations (station_ref)"),
}


class DisputeRefused(ItemError):
    """A dispute cannot be opened or resolved as asked (an unknown play, station or track; resolved already)."""

    reason = "dispute_refused"


class UnknownDispute(DisputeRefused):
    """No dispute has the id given."""

    reason = "unknown_dispute"


def label(dispute_id: int) -> str:
    """Given a dispute's id, return its label: ``D-000001``."""
    return f"D-{dispute_id:06d}"


def account(dispute_id: int) -> str:
    """Given a dispute's id, return the suspense account its money is held in: ``dispute:D-000001``."""
    return f"dispute:{label(dispute_id)}"


def parse_label(text: str) -> int:
    """Given a dispute's label as typed (``D-000001``, ``d-1``), return its id; raise UnknownDispute otherwise."""
    found = LABEL.match(text or "")
    if found is None or int(found[1]) == 0:
        raise UnknownDispute(f"{text!r} is not a dispute id: write it as bin/disputes list shows it (D-000001)")
    return int(found[1])


@dataclass(frozen=True)
class Scope:
    """What a dispute covers, as asked: plays of a station over days, plays by id, or a recording."""

    kind: str
    station_ref: str | None = None
    day_from: date | None = None
    day_to: date | None = None
    play_ids: tuple[int, ...] = ()
    recording: str | None = None  # a track reference or an ISRC

    def asked(self) -> dict[str, object]:
        fields = {"kind": self.kind, "station": self.station_ref, "from": self.day_from, "to": self.day_to,
                  "plays": list(self.play_ids), "recording": self.recording}
        return {name: value for name, value in fields.items() if value not in (None, [])}

    def phrase(self) -> str:
        if self.play_ids:
            return f"plays {', '.join(map(str, self.play_ids))}"
        if self.station_ref is not None:
            return f"the plays of {self.station_ref} from {self.day_from} to {self.day_to} (station-local days)"
        what = "shares" if self.kind == "shares" else "identity"
        return f"the {what} of recording {self.recording}"


@dataclass(frozen=True)
class Claim:
    """A dispute as asked: who claims, and what."""

    claimant_type: str
    claimant_ref: str
    scope: Scope

    def event_key(self, reason: str) -> str:
        """The key of this opening made for ``reason``: the same claim sent again has it."""
        text = audit.to_json({"claimant": [self.claimant_type, self.claimant_ref], "scope": self.scope.asked(),
                              "reason": reason.strip()}) or ""
        return f"dispute.open:{hashlib.sha256(text.encode()).hexdigest()[:32]}"


@dataclass(frozen=True)
class Dispute:
    """A stored dispute."""

    id: int
    kind: str
    claimant_type: str
    claimant_ref: str
    station_id: int | None
    station_ref: str | None
    period_from: date | None
    period_to: date | None
    starts_at: datetime | None
    ends_at: datetime | None
    track_id: int | None
    isrc: str | None
    recording: str | None
    status: str
    opened_at: datetime
    opened_by: str
    reason: str
    decision: str | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    resolution: str | None = None
    play_keys: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return label(self.id)

    @property
    def account(self) -> str:
        return account(self.id)

    def covers(self) -> str:
        """What the dispute covers, in words."""
        if self.kind == "plays" and self.station_ref is not None:
            return f"the plays of {self.station_ref} from {self.period_from} to {self.period_to} (station-local days)"
        if self.kind == "plays":
            return f"{len(self.play_keys)} play{'' if len(self.play_keys) == 1 else 's'} named by id"
        return f"the {self.kind} of recording {self.recording}"

    def as_json(self) -> dict[str, object]:
        return {"id": self.label, "kind": self.kind, "claimant_type": self.claimant_type,
                "claimant": self.claimant_ref, "covers": self.covers(), "station": self.station_ref,
                "from": self.period_from, "to": self.period_to, "recording": self.recording, "isrc": self.isrc,
                "status": self.status, "opened_at": self.opened_at, "opened_by": self.opened_by,
                "reason": self.reason, "decision": self.decision, "resolved_at": self.resolved_at,
                "resolved_by": self.resolved_by, "resolution": self.resolution, "account": self.account}


_d = disputes.c
_DISPUTE_QUERY = (select(disputes, stations.c.station_ref)
                  .outerjoin(stations, stations.c.id == _d.station_id))


def _dispute(conn: Connection, row: Any) -> Dispute:
    keys = tuple(conn.execute(select(dispute_plays.c.play_key).where(dispute_plays.c.dispute_id == row.id)
                              .order_by(dispute_plays.c.play_id)).scalars())
    return Dispute(row.id, row.kind, row.claimant_type, row.claimant_ref, row.station_id, row.station_ref,
                   row.period_from, row.period_to, row.starts_at, row.ends_at, row.track_id, row.isrc,
                   row.recording, row.status, row.opened_at, row.opened_by, row.reason, row.decision,
                   row.resolved_at, row.resolved_by, row.resolution, keys)


def find(conn: Connection, dispute_id: int) -> Dispute:
    """Given a dispute's id, return it; raise UnknownDispute naming it when there is none."""
    row = conn.execute(_DISPUTE_QUERY.where(_d.id == dispute_id)).first()
    if row is None:
        raise UnknownDispute(f"there is no dispute {label(dispute_id)}; bin/disputes list shows the disputes")
    return _dispute(conn, row)


def listed(conn: Connection, status: str | None = None, claimant_type: str | None = None,
           claimant_ref: str | None = None, station_ref: str | None = None) -> list[Dispute]:
    """Given filters (None: any), return the disputes, oldest first."""
    query = _DISPUTE_QUERY.order_by(_d.id)
    if status is not None:
        query = query.where(_d.status == status)
    if claimant_type is not None:
        query = query.where(_d.claimant_type == claimant_type)
    if claimant_ref is not None:
        query = query.where(_d.claimant_ref == claimant_ref)
    if station_ref is not None:
        query = query.where(stations.c.station_ref == station_ref)
    return [_dispute(conn, row) for row in conn.execute(query)]


def covered_ids(dispute_id: int) -> CompoundSelect[int]:
    """The query of the ids of the plays (of any status) a dispute covers: its station over the period, its
    recording (catalog track or ISRC), or its key named.  One branch per way of covering, each an equality an
    index of play_logs answers (station and start, track, ISRC, key), so a dispute reads its own plays, not
    every play."""
    p = play_logs.c
    return union(
        select(p.id).join(disputes, and_(_d.station_id == p.station_id, p.started_at >= _d.starts_at,
                                         p.started_at < _d.ends_at)).where(_d.id == dispute_id),
        select(p.id).join(disputes, _d.track_id == p.track_id).where(_d.id == dispute_id),
        select(p.id).join(disputes, _d.isrc == p.isrc).where(_d.id == dispute_id),
        select(p.id).join(dispute_plays, dispute_plays.c.play_key == p.play_key)
        .where(dispute_plays.c.dispute_id == dispute_id),
    )


def covered_plays(dispute_id: int, statuses: Sequence[str] = ("final",)) -> Select[*tuple[object, ...]]:
    """The query of the plays of ``statuses`` a dispute covers (play_logs rows), in play id order."""
    return (select(play_logs).where(play_logs.c.status.in_(list(statuses)),
                                    play_logs.c.id.in_(covered_ids(dispute_id)))
            .order_by(play_logs.c.id))


# --- opening ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Opened:
    """A dispute opened (or, when ``already`` is set, the one this same claim opened before)."""

    dispute: Dispute
    plays: int  # the current plays it covers now
    already: bool = False

    def lines(self) -> list[str]:
        d = self.dispute
        if self.already:
            return [f"{d.label} was opened already for this claim ({d.opened_at:%Y-%m-%d %H:%M:%S} UTC, by "
                    f"{d.opened_by}): nothing to do"]
        return [f"opened {d.label}: {d.claimant_type} {d.claimant_ref} disputes {d.covers()}",
                f"  {self.plays} current play{'' if self.plays == 1 else 's'} covered; their money is held in "
                f"suspense account {d.account} from the next calculate-royalty-distributions run until the dispute "
                "is resolved"]


def _claimant(conn: Connection, claimant_type: str, ref: str) -> None:
    column, where = CLAIMANTS[claimant_type]
    if conn.execute(select(column).where(column == ref)).first() is None:
        raise DisputeRefused(f"{claimant_type} {ref!r} is not known: name one of the {where}")


def _station(conn: Connection, ref: str) -> tuple[int, ZoneInfo]:
    row = conn.execute(select(stations.c.id, stations.c.timezone).where(stations.c.station_ref == ref)).first()
    if row is None:
        raise DisputeRefused(f"station {ref!r} is not a known station; station references are the station_ref of "
                             "bin/import-catalog --stations")
    try:
        return int(row.id), ZoneInfo(row.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise DisputeRefused(f"station {ref!r} has the time zone {row.timezone!r}, which is not known: correct the "
                             "station's timezone (bin/import-catalog --stations) first") from None


def _recording(conn: Connection, given: str) -> tuple[int | None, str | None]:
    """A recording named by track reference or ISRC: (its catalog track, its normalised ISRC)."""
    track = conn.execute(select(tracks.c.id, tracks.c.isrc).where(tracks.c.track_ref == given)).first()
    if track is not None:
        return int(track.id), normalise_isrc(track.isrc) if track.isrc else None
    isrc = normalise_isrc(given)
    if isrc is None or validate_isrc(isrc):
        raise DisputeRefused(f"recording {given!r} is neither a catalog track (track_ref) nor a valid ISRC: name the "
                             "recording as bin/import-catalog --tracks or the play logs do")
    carried = conn.execute(select(tracks.c.id).where(tracks.c.isrc == isrc).limit(2)).scalars().all()
    return (int(carried[0]) if len(carried) == 1 else None), isrc


def _named_plays(conn: Connection, ids: Sequence[int]) -> list[Any]:
    found = {row.id: row for row in conn.execute(select(play_logs.c.id, play_logs.c.play_key, play_logs.c.status)
                                                 .where(play_logs.c.id.in_(list(ids))))}
    for play_id in ids:
        row = found.get(play_id)
        if row is None:
            raise DisputeRefused(f"play {play_id} does not exist; play ids are in the play_id column of "
                                 "bin/export-playlogs")
        if row.status not in CURRENT:
            current = conn.execute(select(play_logs.c.id).where(play_logs.c.play_key == row.play_key,
                                                                play_logs.c.status.in_(CURRENT))).scalar()
            instead = f": its current version is play {current}; name that one" if current else \
                " and no version of it stands"
            raise DisputeRefused(f"play {play_id} is superseded{instead}")
    return [found[i] for i in ids]


def open_dispute(conn: Connection, claim: Claim, who: audit.Who, now: datetime) -> Opened:
    """Given a claim and who opens it (and why), open the dispute in ``conn``'s transaction with its audit entry;
    return it.  Raise DisputeRefused naming the claimant, station, play or recording in the way, or a scope that
    covers no current play; ``audit.MissingReason`` without a reason.  Nothing is changed then."""
    who = audit.check(who)
    key = claim.event_key(who.reason)
    done = conn.execute(select(_d.id).where(_d.event_key == key)).scalar()
    if done is not None:
        dispute = find(conn, int(done))
        return Opened(dispute, _count(conn, dispute.id), already=True)
    _claimant(conn, claim.claimant_type, claim.claimant_ref)
    scope = claim.scope
    row: dict[str, Any] = {"event_key": key, "kind": scope.kind, "claimant_type": claim.claimant_type,
                           "claimant_ref": claim.claimant_ref, "status": OPEN, "opened_at": now,
                           "opened_by": who.actor, "reason": who.reason}
    named: list[Any] = []
    if scope.play_ids:
        named = _named_plays(conn, scope.play_ids)
    elif scope.station_ref is not None:
        assert scope.day_from is not None and scope.day_to is not None  # the adapter requires both
        station_id, zone = _station(conn, scope.station_ref)
        row.update(station_id=station_id, period_from=scope.day_from, period_to=scope.day_to,
                   starts_at=_midnight(scope.day_from, zone), ends_at=_midnight(scope.day_to + timedelta(days=1), zone))
    else:
        assert scope.recording is not None  # the adapter requires a scope
        track_id, isrc = _recording(conn, scope.recording)
        row.update(track_id=track_id, isrc=isrc, recording=scope.recording)
    result = conn.execute(insert(disputes).values(**row))
    primary = result.inserted_primary_key
    assert primary is not None  # a single-row INSERT returns its key
    dispute_id = int(primary[0])
    if named:
        conn.execute(insert(dispute_plays), [{"dispute_id": dispute_id, "play_key": p.play_key, "play_id": p.id}
                                             for p in named])
    plays = _count(conn, dispute_id)
    if plays == 0:
        raise DisputeRefused(f"{claim.scope.phrase()} cover no current play, so there is nothing to hold: check the "
                             "station, the days (station-local, --from and --to inclusive) or the recording")
    dispute = find(conn, dispute_id)
    audit.record(conn, who, audit.Change("dispute.open", "dispute", dispute.label, before=None,
                                         after={**dispute.as_json(), "plays": plays}), event_key=key)
    return Opened(dispute, plays)


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    """The instant a station-local day starts."""
    return datetime.combine(day, time(0), zone)


def _count(conn: Connection, dispute_id: int) -> int:
    return len(conn.execute(covered_plays(dispute_id).with_only_columns(play_logs.c.id)).all())


# --- resolving ------------------------------------------------------------------------------


@dataclass
class Resolved:
    """A dispute resolved: the decision and the corrections it made."""

    dispute: Dispute
    made: list[corrections.Outcome] = field(default_factory=list)

    def lines(self) -> list[str]:
        d = self.dispute
        found = [f"resolved {d.label}: {d.decision} ({d.resolution}), by {d.resolved_by}"]
        if not self.made:
            found.append("  no play corrected: the plays stand as they are")
        found.append(f"  the money held in {d.account} is released by the next calculate-royalty-distributions run, "
                     "to whoever the plays belong to then (paid by the next cycle, as adjustments where a locked "
                     "cycle paid the plays before)")
        return found


def corrections_for(conn: Connection, dispute: Dispute, void: bool, reassign_to: str | None) -> list[Request]:
    """Given a dispute and what its decision does to every play it covers (void them, or reassign them to a
    track reference or ISRC), return the corrections that do it, one per current play, in play id order."""
    if not void and reassign_to is None:
        return []
    ids = conn.execute(covered_plays(dispute.id).with_only_columns(play_logs.c.id)).scalars().all()
    if void:
        return [Request("void", (int(i),)) for i in ids]
    assert reassign_to is not None
    isrc = normalise_isrc(reassign_to)
    by_isrc = conn.execute(select(tracks.c.id).where(tracks.c.track_ref == reassign_to)).first() is None
    if by_isrc and (isrc is None or validate_isrc(isrc)):
        raise DisputeRefused(f"--reassign-to {reassign_to!r} is neither a catalog track (track_ref) nor a valid ISRC")
    return [Request("reassign", (int(i),), track_ref=None if by_isrc else reassign_to, isrc=isrc if by_isrc else None)
            for i in ids]


def resolve(conn: Connection, dispute_id: int, decision: str, who: audit.Who, now: datetime,
            asked: Sequence[tuple[Request, audit.Who, str]] = ()) -> Resolved:
    """Given a dispute, its decision, who decides (and why) and the corrections it implies (each request with who
    makes it and where it was asked: a line of a file, or the option), record the decision and make the
    corrections in ``conn``'s transaction, with the audit entries; return what was done.

    Raise UnknownDispute, or DisputeRefused for a dispute resolved already, a rejection that corrects plays, or a
    correction of a play the dispute does not cover or that cannot be made (``CorrectionRefused`` naming where it
    was asked); ``audit.MissingReason`` without a reason.  Nothing is changed then.
    """
    who = audit.check(who)
    dispute = find(conn, dispute_id)
    if decision not in DECISIONS:
        raise DisputeRefused(f"{decision!r} is not a decision: give one of {', '.join(DECISIONS)}")
    if decision == "rejected" and asked:
        raise DisputeRefused(f"{dispute.label} is rejected: a rejection corrects no play, so give no corrections "
                             "(the plays stand and their money goes back to whom it was owed)")
    changed = conn.execute(update(disputes).where(_d.id == dispute_id, _d.status == OPEN).values(
        status=RESOLVED, decision=decision, resolved_at=now, resolved_by=who.actor, resolution=who.reason))
    if changed.rowcount != 1:
        done = find(conn, dispute_id)
        raise DisputeRefused(f"{done.label} was resolved already ({done.decision}, "
                             f"{done.resolved_at:%Y-%m-%d %H:%M:%S} UTC, by {done.resolved_by}: {done.resolution}); "
                             "nothing was changed")
    covered = set(conn.execute(covered_plays(dispute_id, CURRENT).with_only_columns(play_logs.c.id)).scalars())
    made = []
    for request, maker, where in asked:
        outside = [i for i in request.play_ids if i not in covered]
        if outside:
            raise DisputeRefused(f"{where}: play {outside[0]} is not covered by {dispute.label} ({dispute.covers()}); "
                                 "correct it with bin/correct-plays, not through the dispute")
        try:
            made.append(corrections.correct(conn, request, maker))
        except corrections.CorrectionRefused as error:
            raise DisputeRefused(f"{where}: {error}; nothing was changed") from None
    resolved = find(conn, dispute_id)
    audit.record(conn, who, audit.Change(
        "dispute.resolve", "dispute", resolved.label, before={"status": OPEN, "covers": dispute.covers()},
        after={"status": RESOLVED, "decision": decision,
               "corrections": [{"audit_id": o.audit_id, "action": o.request.action,
                                "plays": list(o.request.play_ids)} for o in made]}),
        event_key=f"dispute.resolve:{resolved.label}")
    return Resolved(resolved, made)


def history(conn: Connection, dispute: Dispute) -> list[audit.Entry]:
    """Given a dispute, return its audit entries (opened, resolved) and those of the corrections its resolution
    made, in the order they were written."""
    found = [e for e in audit.entries(conn, actions=("dispute.",)) if e.entity_id == dispute.label]
    made: set[int] = set()
    for entry in found:
        if entry.action == "dispute.resolve" and entry.after:
            made |= {int(c["audit_id"]) for c in json.loads(entry.after).get("corrections", [])}
    found += [e for e in (audit.entry(conn, i) for i in sorted(made)) if e is not None]
    return sorted(found, key=lambda e: (e.at, e.id))
