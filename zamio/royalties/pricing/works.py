"""The facts a batch of plays needs, loaded set-based: a few queries per batch, never per play.

``load_plays`` and ``load_works`` take the ids of one batch; ``Societies.load``
reads the (small) societies and agreements tables once per run.  A play without a
catalog track is owed through its society: the one its normalised ISRC is mapped to
in ``isrc_mappings`` (``bin/update-pro-mappings``), else the play's own ``society_id``
(``with_mapped_societies``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Connection, bindparam, select
from sqlalchemy.orm import aliased

from zamio.catalog.identifiers import normalise_isrc
from zamio.catalog.mappings import mapped_societies
from zamio.db.tables import (
    artists,
    contributors,
    partner_societies,
    play_logs,
    publishers,
    reciprocal_agreements,
    society_admin_fees,
    stations,
    tracks,
)
from zamio.royalties.pricing.split import Agreement, Contributor, Payee, Society, SocietyFee, Work
from zamio.runtime.errors import DataError


class PlayFacts(NamedTuple):
    """What pricing reads from a play and its station (a named tuple: made from a row as it is)."""

    id: int
    status: str
    station_id: int
    station_class: str
    timezone: str
    territory: str
    started_at: datetime
    seconds: float | None
    confidence: float | None
    category: str
    track_id: int | None
    society_id: int | None  # the play's own; for a play without a track, its ISRC's mapping once looked up
    recording_key: str
    isrc: str | None


PLAY_COLUMNS = (  # PlayFacts, field by field
    play_logs.c.id, play_logs.c.status, play_logs.c.station_id, stations.c.station_class,
    stations.c.timezone, stations.c.country.label("territory"), play_logs.c.started_at,
    play_logs.c.duration_seconds.label("seconds"), play_logs.c.confidence_avg.label("confidence"),
    play_logs.c.category, play_logs.c.track_id, play_logs.c.society_id, play_logs.c.recording_key,
    play_logs.c.isrc,
)
PLAY_FIELDS = len(PLAY_COLUMNS)

PLAYS_QUERY = (
    select(*PLAY_COLUMNS)
    .join(stations, stations.c.id == play_logs.c.station_id)
    .where(play_logs.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(play_logs.c.id)
)

_artist_publisher = aliased(publishers, name="artist_publisher")
_track_publisher = aliased(publishers, name="track_publisher")
WORKS_QUERY = (
    select(
        tracks.c.id, tracks.c.society_id, artists.c.artist_ref, artists.c.name.label("artist_name"),
        _artist_publisher.c.publisher_ref.label("ap_ref"), _artist_publisher.c.name.label("ap_name"),
        _track_publisher.c.publisher_ref.label("tp_ref"), _track_publisher.c.name.label("tp_name"),
    )
    .join(artists, artists.c.id == tracks.c.artist_id)
    .outerjoin(_artist_publisher, _artist_publisher.c.id == artists.c.publisher_id)
    .outerjoin(_track_publisher, _track_publisher.c.id == tracks.c.publisher_id)
    .where(tracks.c.id.in_(bindparam("ids", expanding=True)))
)

CONTRIBUTORS_QUERY = (
    select(
        contributors.c.track_id, contributors.c.party_ref, contributors.c.name, contributors.c.share_percent,
        publishers.c.publisher_ref, publishers.c.name.label("publisher_name"),
    )
    .outerjoin(publishers, publishers.c.id == contributors.c.publisher_id)
    .where(contributors.c.track_id.in_(bindparam("ids", expanding=True)))
    .order_by(contributors.c.track_id, contributors.c.party_ref, contributors.c.role)
)


def load_plays(conn: Connection, ids: Sequence[int]) -> list[PlayFacts]:
    """Given play ids, return their facts (with their station's class, zone, territory and the society of
    their ISRC), by id."""
    if not ids:
        return []
    plays = [PlayFacts._make(row) for row in conn.execute(PLAYS_QUERY, {"ids": list(ids)})]  # in field order
    return with_mapped_societies(conn, plays)


def with_mapped_societies(conn: Connection, plays: list[PlayFacts]) -> list[PlayFacts]:
    """Given plays as read, return them with the society of each play without a catalog track taken from its
    normalised ISRC's mapping when it is mapped (a play with a track is owed through the track's work)."""
    isrcs = {play.id: key for play in plays
             if play.track_id is None and play.isrc and (key := normalise_isrc(play.isrc)) is not None}
    mapped = mapped_societies(conn, set(isrcs.values()))
    if not mapped:
        return plays
    return [play._replace(society_id=mapped[isrcs[play.id]]) if isrcs.get(play.id) in mapped else play
            for play in plays]


def load_works(conn: Connection, track_ids: Iterable[int], known: dict[int, Work] | None = None) -> dict[int, Work]:
    """Given track ids, return each track's artist, publishers, society and contributors, by track id.

    With ``known`` (a run's cache), only the missing tracks are read, and they are added to it.
    """
    if known is not None:
        missing = {t for t in track_ids if t not in known}
        known.update(load_works(conn, missing) if missing else {})
        return known
    ids = sorted(set(track_ids))
    if not ids:
        return {}
    shares: dict[int, list[Contributor]] = {}
    for share in conn.execute(CONTRIBUTORS_QUERY, {"ids": ids}):
        publisher = Payee("publisher", share.publisher_ref, share.publisher_name) if share.publisher_ref else None
        shares.setdefault(share.track_id, []).append(
            Contributor(share.party_ref, share.name, share.share_percent, publisher))
    works = {}
    for row in conn.execute(WORKS_QUERY, {"ids": ids}):
        works[row.id] = Work(
            track_id=row.id,
            artist=Payee("artist", row.artist_ref, row.artist_name),
            artist_publisher=Payee("publisher", row.ap_ref, row.ap_name) if row.ap_ref else None,
            track_publisher=Payee("publisher", row.tp_ref, row.tp_name) if row.tp_ref else None,
            society_id=row.society_id,
            contributors=tuple(shares.get(row.id, ())),
        )
    return works


class Societies:
    """Every society (with its dated default fees) and reciprocal agreement, loaded once per run."""

    def __init__(self, societies: Iterable[Society], agreements: Iterable[Agreement]) -> None:
        self.by_id = {s.id: s for s in societies}
        self.by_code = {s.code: s for s in self.by_id.values()}
        local = [s for s in self.by_id.values() if s.is_local]
        if len(local) != 1:
            raise DataError(
                f"partner_societies must have exactly one local society (is_local), found {len(local)}; "
                "mark the society this deployment collects for (GHAMRO, 285, is seeded as local)")
        self.local = local[0]
        self.agreements: dict[int, list[Agreement]] = {}
        for agreement in agreements:
            self.agreements.setdefault(agreement.society_id, []).append(agreement)

    @classmethod
    def load(cls, conn: Connection) -> Societies:
        """Given a connection, return every society and agreement; raise DataError without a local society."""
        fees: dict[int, list[SocietyFee]] = {}
        for row in conn.execute(select(society_admin_fees).order_by(society_admin_fees.c.society_id,
                                                                    society_admin_fees.c.effective_from.desc())):
            fees.setdefault(row.society_id, []).append(SocietyFee(row.id, row.admin_fee_percent, row.effective_from))
        societies = [Society(
            id=row.id, code=row.code, short_name=row.short_name, name=row.name, currency=row.currency,
            default_fee=row.default_admin_fee_percent, is_local=bool(row.is_local), email=row.email,
            fees=tuple(fees.get(row.id, ())),
        ) for row in conn.execute(select(partner_societies))]
        agreements = [Agreement(
            id=row.id, society_id=row.society_id, territory=row.territory, fee=row.admin_fee_percent,
            effective_from=row.effective_from, expires_on=row.expires_on, status=row.status,
        ) for row in conn.execute(select(reciprocal_agreements))]
        return cls(societies, agreements)
