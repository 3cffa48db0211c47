"""From a ledger line back to the evidence: pricing, rate row, play, detections, captures (audio hash).

``trace_entry(conn, entry_id)`` returns the whole chain as plain JSON-ready data;
``bin/process-royalty-cycle --trace ENTRY_ID`` prints it.  The reference rows shown
are those the pricing names (its rate card; in its details the agreement and the
society's default fee row), which are never edited once used (``zamio.catalog.reference``),
so they hold the values that produced the amount.  A pool line also shows the
licence fee and the part of it (days, units) it was spread from.  A play without a
catalog track shows the mapping of its ISRC (``isrc_mappings``), which gave it its
society when mapped (``zamio.royalties.pricing.works.with_mapped_societies``).
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from decimal import Decimal
from typing import TypeAlias, TypedDict

from sqlalchemy import ColumnElement, Connection, Table, select

from zamio.catalog.identifiers import normalise_isrc
from zamio.db.engine import StoredRow
from zamio.db.tables import (
    captures,
    cycle_pricings,
    detections,
    isrc_mappings,
    licence_fee_parts,
    play_detections,
    play_logs,
    rate_cards,
    reciprocal_agreements,
    royalty_cycles,
    royalty_ledger,
    royalty_pricings,
    society_admin_fees,
    station_licence_fees,
    stations,
)
from zamio.runtime.errors import DataError

POOL_KEY = re.compile(r"^c\d+:f(?P<fee>\d+):(?:d(?P<day>\d{4}-\d\d-\d\d):)?")  # zamio.royalties.cycles.pool

#: A stored row as JSON-ready data: column name → value, instants and dates as ISO text, decimals as text.
PlainRow: TypeAlias = dict[str, object]


class Chain(TypedDict, total=False):
    """A ledger entry's way back to the evidence, as ``trace_entry`` returns it: each row plain (None where the
    entry has none); ``agreement`` and ``society_admin_fee`` only where its pricing names them, the licence fee
    only for a pool line, the play, its station and detections only for a line of a play."""

    entry: PlainRow
    reverses: PlainRow | None
    pricing: PlainRow | None
    rate_card: PlainRow | None
    agreement: PlainRow | None
    society_admin_fee: PlainRow | None
    licence_fee: PlainRow | None
    licence_fee_part: PlainRow | None
    cycle: PlainRow | None
    play: PlainRow | None
    isrc_mapping: PlainRow | None
    station: PlainRow | None
    detections: list[PlainRow]


def _plain(row: StoredRow) -> PlainRow:
    out: PlainRow = {}
    for key, value in row._mapping.items():
        if isinstance(value, (datetime, date)):
            value = value.isoformat()
        elif isinstance(value, Decimal):
            value = format(value, "f")
        out[key] = value
    return out


def _row(conn: Connection, table: Table, *where: ColumnElement[bool]) -> StoredRow | None:
    return conn.execute(select(table).where(*where)).first()


def _one(conn: Connection, table: Table, *where: ColumnElement[bool]) -> PlainRow | None:
    row = _row(conn, table, *where)
    return _plain(row) if row is not None else None


def _evidence(conn: Connection, play_id: int) -> list[PlainRow]:
    rows = conn.execute(
        select(detections.c.id.label("detection_id"), detections.c.source, detections.c.detected_at,
               detections.c.track_id, detections.c.acrcloud_id, detections.c.isrc, detections.c.confidence,
               detections.c.offset_seconds, detections.c.speed, captures.c.id.label("capture_id"),
               captures.c.capture_key, captures.c.started_at.label("capture_started_at"), captures.c.seconds,
               captures.c.audio_sha256, captures.c.audio_path, captures.c.url_used)
        .join(play_detections, play_detections.c.detection_id == detections.c.id)
        .join(captures, captures.c.id == detections.c.capture_id)
        .where(play_detections.c.play_id == play_id).order_by(detections.c.detected_at, detections.c.id))
    return [_plain(r) for r in rows]


def _paying_cycle(conn: Connection, play_id: int, version: int) -> int | None:
    """Given a pricing's key, return the id of the cycle that pays it, or None while no locked cycle does."""
    return conn.execute(select(cycle_pricings.c.cycle_id).where(
        cycle_pricings.c.play_id == play_id, cycle_pricings.c.version == version)).scalar()


def _fee_part(conn: Connection, chain: Chain, entry: StoredRow, pricing: StoredRow | None) -> None:
    """A pool line: add the licence fee it was spread from and the part (days, units) its play's date fell in."""
    found = POOL_KEY.match(entry.entry_key) if entry.cycle_id is not None else None
    if found is None:
        return
    fee_id = int(found["fee"])
    chain["licence_fee"] = _one(conn, station_licence_fees, station_licence_fees.c.id == fee_id)
    parts = licence_fee_parts
    if found["day"] is not None:
        day = date.fromisoformat(found["day"])
        chain["licence_fee_part"] = _one(conn, parts, parts.c.fee_id == fee_id, parts.c.day_from == day)
    elif pricing is not None:
        day = pricing.play_date
        chain["licence_fee_part"] = _one(conn, parts, parts.c.fee_id == fee_id, parts.c.day_from <= day,
                                         parts.c.day_to >= day)
    else:  # a fee without plays spread whole before its parts were keyed by day
        chain["licence_fee_part"] = _one(conn, parts, parts.c.fee_id == fee_id, parts.c.cycle_id == entry.cycle_id)


def _isrc_mapping(conn: Connection, play: StoredRow) -> PlainRow | None:
    """The mapping of the ISRC of a play without a catalog track (a play with one is owed through its work)."""
    isrc = normalise_isrc(play.isrc) if play.track_id is None else None
    return _one(conn, isrc_mappings, isrc_mappings.c.isrc == isrc) if isrc else None


def trace_entry(conn: Connection, entry_id: int) -> Chain:
    """Given a ledger entry id, return its chain: entry, reversed entry, pricing, rate card, cycle,
    play, station, detections with their captures.  Raise DataError if the entry does not exist."""
    entry = _row(conn, royalty_ledger, royalty_ledger.c.id == entry_id)
    if entry is None:
        raise DataError(f"no royalty ledger entry with id {entry_id}; ids are in the statements' entry_id column")
    chain: Chain = {"entry": _plain(entry)}
    if entry.reverses_id is not None:
        chain["reverses"] = _one(conn, royalty_ledger, royalty_ledger.c.id == entry.reverses_id)
    play_id = entry.play_id
    pricing = None
    if play_id is not None:
        pricing = _row(conn, royalty_pricings, royalty_pricings.c.play_id == play_id,
                       royalty_pricings.c.version == entry.version)
    chain["pricing"] = _plain(pricing) if pricing is not None else None
    card_id = entry.rate_card_id or (pricing.rate_card_id if pricing is not None else None)
    chain["rate_card"] = _one(conn, rate_cards, rate_cards.c.id == card_id) if card_id else None
    decided = json.loads((pricing.details if pricing is not None else None) or "{}")
    if "agreement_id" in decided:
        chain["agreement"] = _one(conn, reciprocal_agreements, reciprocal_agreements.c.id == decided["agreement_id"])
    if "society_fee_id" in decided:
        chain["society_admin_fee"] = _one(conn, society_admin_fees,
                                          society_admin_fees.c.id == decided["society_fee_id"])
    _fee_part(conn, chain, entry, pricing)
    cycle_id = entry.cycle_id or (_paying_cycle(conn, play_id, entry.version) if pricing is not None else None)
    chain["cycle"] = _one(conn, royalty_cycles, royalty_cycles.c.id == cycle_id) if cycle_id else None
    if play_id is not None:
        play = _row(conn, play_logs, play_logs.c.id == play_id)
        assert play is not None  # a ledger line's play_id references its play
        chain["play"] = _plain(play)
        chain["isrc_mapping"] = _isrc_mapping(conn, play)
        chain["station"] = _one(conn, stations, stations.c.id == play.station_id)
        chain["detections"] = _evidence(conn, play_id)
    return chain
