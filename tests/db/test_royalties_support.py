"""Builders of catalog, stations and plays shared by the royalty tests (no tests here).

Rows are inserted directly with SQLAlchemy Core, as the catalog import and the
play-log job would leave them, so each scenario states exactly what it starts from.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import Engine, insert, select

from zamio.db.tables import (
    artists,
    captures,
    contributors,
    detections,
    partner_repertoire,
    partner_societies,
    play_detections,
    play_logs,
    publishers,
    rate_cards,
    reciprocal_agreements,
    station_licence_fees,
    stations,
    tracks,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def utc(text: str) -> datetime:
    """'2026-03-02 07:00' → an aware UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


class Books:
    """Insert the rows a royalty scenario needs and return their ids."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._keys = itertools.count(1)

    def _insert(self, table, **values) -> int:
        with self.engine.begin() as conn:
            return conn.execute(insert(table).values(**values)).inserted_primary_key[0]

    def society_id(self, code: str) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(partner_societies.c.id).where(partner_societies.c.code == code)).scalar_one()

    def station(self, ref: str = "st1", station_class: str = "class_a", tz: str = "Africa/Accra",
                name: str | None = None, email: str | None = None) -> int:
        return self._insert(stations, station_ref=ref, name=name or f"Radio {ref}", station_class=station_class,
                            timezone=tz, country="GH", contact_email=email, created_at=NOW)

    def publisher(self, ref: str, name: str, email: str | None = None) -> int:
        return self._insert(publishers, publisher_ref=ref, name=name, email=email, created_at=NOW)

    def artist(self, ref: str, name: str, publisher_id: int | None = None, email: str | None = None) -> int:
        return self._insert(artists, artist_ref=ref, name=name, publisher_id=publisher_id, email=email,
                            created_at=NOW)

    def track(self, ref: str, title: str, artist_id: int, *, society_id: int | None = None,
              publisher_id: int | None = None, isrc: str | None = None, iswc: str | None = None) -> int:
        return self._insert(tracks, track_ref=ref, title=title, artist_id=artist_id, society_id=society_id,
                            publisher_id=publisher_id, isrc=isrc, iswc=iswc, created_at=NOW, updated_at=NOW)

    def contributor(self, track_id: int, party_ref: str, name: str, share: str, role: str = "composer",
                    publisher_id: int | None = None, email: str | None = None, ipi: str | None = None) -> int:
        return self._insert(contributors, track_id=track_id, party_ref=party_ref, name=name, role=role,
                            share_percent=Decimal(share), publisher_id=publisher_id, email=email, ipi=ipi,
                            created_at=NOW)

    def agreement(self, code: str, fee: str | None, effective_from: date, expires_on: date | None = None,
                  status: str = "active") -> int:
        return self._insert(reciprocal_agreements, society_id=self.society_id(code), territory="GH",
                            admin_fee_percent=Decimal(fee) if fee is not None else None,
                            effective_from=effective_from, expires_on=expires_on, status=status, created_at=NOW)

    def repertoire(self, code: str, isrc: str, title: str = "t") -> int:
        return self._insert(partner_repertoire, society_id=self.society_id(code), isrc=isrc, title=title,
                            created_at=NOW)

    def rate_card(self, station_class: str, period: str, rate: str, multiplier: str, effective_from: date) -> int:
        return self._insert(rate_cards, territory="GH", station_class=station_class, period=period,
                            rate_per_second=Decimal(rate), multiplier=Decimal(multiplier), currency="GHS",
                            effective_from=effective_from, created_at=NOW)

    def licence_fee(self, station_id: int, period_from: date, period_to: date, units: int) -> int:
        return self._insert(station_licence_fees, station_id=station_id, period_from=period_from,
                            period_to=period_to, amount=units, currency="GHS", created_at=NOW)

    def play(self, station_id: int, started_at: datetime, seconds: float, *, track_id: int | None = None,
             society_id: int | None = None, society_status: str = "unmapped", isrc: str | None = None,
             status: str = "final", confidence: float | None = 0.9, category: str = "music",
             play_key: str | None = None, version: int = 1, supersedes_id: int | None = None,
             title: str | None = None, artist: str | None = None) -> int:
        key = play_key or f"play-{next(self._keys)}"
        return self._insert(
            play_logs, play_key=key, version=version, station_id=station_id, track_id=track_id,
            recording_key=f"track:{track_id}" if track_id else f"isrc:{isrc}", isrc=isrc, title=title,
            artist=artist, category=category, source="local" if track_id else "acrcloud", started_at=started_at,
            ended_at=started_at, duration_seconds=seconds, status=status, supersedes_id=supersedes_id,
            confidence_avg=confidence, society_id=society_id, society_status=society_status, created_at=NOW)

    def detection_for(self, play_id: int, station_id: int, at: datetime, sha256: str, isrc: str | None = None,
                      track_id: int | None = None) -> int:
        capture = self._insert(captures, capture_key=f"cap-{next(self._keys)}", station_id=station_id,
                               source="stream", started_at=at, seconds=20, audio_sha256=sha256, outcome="match",
                               created_at=NOW)
        detection = self._insert(detections, capture_id=capture, station_id=station_id, detected_at=at,
                                 source="local", track_id=track_id, isrc=isrc, confidence=0.9, created_at=NOW)
        with self.engine.begin() as conn:
            conn.execute(insert(play_detections).values(play_id=play_id, detection_id=detection))
        return detection
