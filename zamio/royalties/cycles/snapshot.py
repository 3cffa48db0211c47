"""What a royalty cycle was computed from: its input snapshot, recorded when it is locked.

A cycle's money follows from a few inputs.  When it is locked they are recorded on
the cycle (``royalty_cycles.input_snapshot`` and its digest columns,
``sql/0013_cycle_input_snapshot.sql``), and regenerating its files first checks
that the database still holds the same inputs:

* **period**: territory, first and last day, method;
* **plays**: the pricings it pays: how many, Σ gross in units, and the SHA-256 of
  one ``play_id:version:gross`` line per pricing in key order (on PostgreSQL
  computed by the database in one aggregate, never row by row in Python);
* **shares**: who the works it pays are owed to: per work its artist, publishers,
  partner society and contributor rows (party, role, share, publisher), hashed
  in track order;
* **reference rows**: rate cards, day periods and eligibility rules (the *rates*),
  reciprocal agreements, societies' default admin fees and exchange rates starting
  on or before its last day, and for a pool cycle the licence fees it spread days
  of: small tables, kept row by row so that a change is named exactly (row added,
  removed, or which column moved).  A table added to the snapshot later is not
  compared for cycles locked before it was recorded;
* **deductions** (since version 2): the domestic commission and withholding tax rates of the
  cycle's territory starting on or before its last day (``zamio.royalties.payouts.deductions``
  applies the one in force then), kept row by row like the reference rows, with a digest of
  their own.  A snapshot of version 1 has neither: its cycle is checked without them.

The pricings and their ledger lines are never rewritten, so a changed play set
means the database was altered; a changed rate or share row is usually a
correction made after the lock, which later cycles pay as adjustments, and the
check says which row it was.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import NotRequired, TypedDict

from sqlalchemy import ColumnElement, Connection, Select, Table, and_, select, text

from zamio.db.engine import StoredRow, is_sqlite
from zamio.db.tables import (
    artists,
    contributors,
    cycle_pricings,
    day_periods,
    domestic_commission_rates,
    eligibility_rules,
    exchange_rates,
    licence_fee_parts,
    play_logs,
    rate_cards,
    reciprocal_agreements,
    royalty_pricings,
    society_admin_fees,
    station_licence_fees,
    tracks,
    withholding_tax_rates,
)

SNAPSHOT_VERSION = 2  # 2: the deduction rates recorded
RATE_TABLES = (rate_cards, day_periods, eligibility_rules)  # what rates_digest covers
DEDUCTION_TABLES = (domestic_commission_rates, withholding_tax_rates)  # what the deductions digest covers
STREAM_ROWS = 10_000
_CANONICAL = json.JSONEncoder(separators=(",", ":"), sort_keys=True, ensure_ascii=False)


class PlaysPart(TypedDict):
    """The pricings a cycle pays: how many, their gross in units, their digest."""

    pricings: int
    gross: int
    digest: str


class SharesPart(TypedDict):
    """Who the works a cycle pays are owed to: how many works and contributor rows, their digest."""

    works: int
    rows: int
    digest: str


class TableRows(TypedDict):
    """A reference table's chosen rows: its columns, and each row's values (``plain``) by id."""

    columns: list[str]
    rows: dict[str, list[object]]


class Digests(TypedDict):
    """The SHA-256 of each part of a snapshot."""

    plays: str
    shares: str
    rates: str
    references: str
    deductions: NotRequired[str]  # since version 2


class Snapshot(TypedDict):
    """What a cycle was computed from, as recorded in ``royalty_cycles.input_snapshot`` (JSON)."""

    version: int
    cycle: dict[str, str]  # territory, period_from, period_to, method
    plays: PlaysPart
    shares: SharesPart
    tables: dict[str, TableRows]  # by table name
    digests: Digests
    input_hash: str


@dataclass(frozen=True)
class CycleInputs:
    """The cycle a snapshot is taken of: its id (its assigned pricings) and what defines its period."""

    id: int
    territory: str
    period_from: date
    period_to: date
    method: str


def sha256(text_: str) -> str:
    """Given a text, return the hex SHA-256 of its UTF-8 bytes."""
    return hashlib.sha256(text_.encode("utf-8")).hexdigest()


def canonical(value: object) -> str:
    """Given JSON-able data, return its one canonical encoding (sorted keys, no spaces)."""
    return _CANONICAL.encode(value)


def plain(value: object) -> object:
    """Given a column value, return it as JSON-able text or number, the same on both databases.

    Decimals lose their trailing zeros (PostgreSQL returns ``0.0150000000`` for SQLite's ``0.015``).
    """
    if isinstance(value, Decimal):
        text_ = format(value.normalize(), "f")
        return text_ if text_ != "-0" else "0"
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


# --- the play set --------------------------------------------------------------

@dataclass(frozen=True)
class PlaySet:
    """The pricings a cycle pays, read in one pass: per currency how many and what they pay, and their digest."""

    pricings: dict[str, int]  # per currency
    priced: dict[str, int]  # Σ (gross − previous gross) per currency: what the cycle pays
    gross: int  # Σ gross, every currency
    digest: str  # SHA-256 of a "play_id:version:gross" line per pricing, by currency then key

    def part(self) -> PlaysPart:
        """The snapshot's ``plays`` part."""
        return {"pricings": sum(self.pricings.values()), "gross": self.gross, "digest": self.digest}


# PostgreSQL builds each currency's lines in one ordered aggregate (a few megabytes of text for a
# million pricings) and the join is made once, for the sums and the digest together.
PLAYS_SQL = text("""
SELECT p.currency, count(*), sum(p.gross - p.previous_gross), sum(p.gross),
       string_agg(m.play_id || ':' || m.version || ':' || p.gross, E'\\n' ORDER BY m.play_id, m.version) || E'\\n'
FROM cycle_pricings m JOIN royalty_pricings p ON p.play_id = m.play_id AND p.version = m.version
WHERE m.cycle_id = :cycle_id
GROUP BY p.currency ORDER BY p.currency
""")


def _paid_rows(cycle_id: int) -> Select[str, int, int, int, int]:
    """A SELECT of the pricings paid, in digest order: currency, play, version, gross, previous gross."""
    m, p = cycle_pricings, royalty_pricings
    return (select(p.c.currency, m.c.play_id, m.c.version, p.c.gross, p.c.previous_gross)
            .join(p, and_(p.c.play_id == m.c.play_id, p.c.version == m.c.version))
            .where(m.c.cycle_id == cycle_id).order_by(p.c.currency, m.c.play_id, m.c.version))


def play_set(conn: Connection, cycle_id: int) -> PlaySet:
    """Given a cycle with its pricings assigned, return the set it pays (see ``PlaySet``).

    PostgreSQL writes the digest's lines in the database; SQLite (no aggregate order, no hash
    function) streams the rows in the same order.
    """
    digest = hashlib.sha256()
    pricings: dict[str, int] = {}
    priced: dict[str, int] = {}
    gross = 0
    if not is_sqlite(conn):
        for currency, count, paid, total, lines_ in conn.execute(PLAYS_SQL, {"cycle_id": cycle_id}):
            pricings[currency], priced[currency] = int(count), int(paid)
            gross += int(total)
            digest.update(lines_.encode())
        return PlaySet(pricings, priced, gross, digest.hexdigest())
    result = conn.execute(_paid_rows(cycle_id), execution_options={"yield_per": STREAM_ROWS})
    for rows in result.partitions():
        digest.update("".join(f"{play}:{version}:{amount}\n" for _, play, version, amount, _ in rows).encode())
        for currency, _, _, amount, previous in rows:
            pricings[currency] = pricings.get(currency, 0) + 1
            priced[currency] = priced.get(currency, 0) + amount - previous
            gross += amount
    return PlaySet(pricings, priced, gross, digest.hexdigest())


# --- the share tables of the works paid ----------------------------------------

def _works_paid(cycle_id: int) -> Select[int]:
    """A SELECT of the distinct track ids of the plays paid."""
    return (select(play_logs.c.track_id).join(cycle_pricings, cycle_pricings.c.play_id == play_logs.c.id)
            .where(cycle_pricings.c.cycle_id == cycle_id, play_logs.c.track_id.is_not(None)).distinct())


def _share_rows(cycle_id: int) -> Select[int, *tuple[object, ...]]:
    """One row per contributor of each work paid (a work without contributors: one row of its own facts)."""
    c = contributors
    return (select(tracks.c.id, tracks.c.artist_id, artists.c.publisher_id.label("artist_publisher_id"),
                   tracks.c.publisher_id.label("track_publisher_id"), tracks.c.society_id, c.c.party_ref, c.c.role,
                   c.c.share_percent, c.c.publisher_id.label("contributor_publisher_id"))
            .join(artists, artists.c.id == tracks.c.artist_id)
            .outerjoin(c, c.c.track_id == tracks.c.id)
            .where(tracks.c.id.in_(_works_paid(cycle_id)))
            .order_by(tracks.c.id, c.c.party_ref, c.c.role))


def share_tables(conn: Connection, cycle_id: int) -> SharesPart:
    """Given a cycle, return ``{works, rows, digest}`` of who the catalog works it pays are owed to.

    Each row (track, artist, artist's publisher, track's publisher, society, contributor party, role,
    share, contributor's publisher) is hashed as one canonical JSON line, in track order.
    """
    digest, rows = hashlib.sha256(), 0
    works: set[int] = set()
    result = conn.execute(_share_rows(cycle_id), execution_options={"yield_per": STREAM_ROWS})
    for chunk in result.partitions():
        digest.update("".join(canonical([plain(v) for v in row]) + "\n" for row in chunk).encode())
        works.update(row[0] for row in chunk)
        rows += sum(1 for row in chunk if row.party_ref is not None)
    return {"works": len(works), "rows": rows, "digest": digest.hexdigest()}


# --- reference rows ------------------------------------------------------------

def _reference_tables(inputs: CycleInputs) -> list[tuple[Table, ColumnElement[bool]]]:
    """The small tables a cycle's money depends on, each with the condition choosing its rows."""
    last = inputs.period_to
    chosen = [(table, table.c.effective_from <= last) for table in RATE_TABLES]
    chosen += [(reciprocal_agreements, reciprocal_agreements.c.effective_from <= last),
               (society_admin_fees, society_admin_fees.c.effective_from <= last),
               (exchange_rates, exchange_rates.c.effective_from <= last)]
    chosen += [(table, and_(table.c.territory == inputs.territory, table.c.effective_from <= last))
               for table in DEDUCTION_TABLES]
    if inputs.method == "pool":
        spread = select(licence_fee_parts.c.fee_id).where(licence_fee_parts.c.cycle_id == inputs.id)
        chosen.append((station_licence_fees, station_licence_fees.c.id.in_(spread)))
    return chosen


def table_rows(conn: Connection, table: Table, condition: ColumnElement[bool]) -> TableRows:
    """Given a table and a condition, return ``{columns, rows}``: its chosen rows by id, creation times left out."""
    columns = [c for c in table.columns if c.name not in ("id", "created_at")]
    found = conn.execute(select(table.c.id, *columns).where(condition).order_by(table.c.id))
    return {"columns": [c.name for c in columns],
            "rows": {str(row[0]): [plain(v) for v in row[1:]] for row in found}}


def reference_rows(conn: Connection, inputs: CycleInputs) -> dict[str, TableRows]:
    """Given a cycle, return the rows of each reference table it depends on, by table name."""
    return {table.name: table_rows(conn, table, condition) for table, condition in _reference_tables(inputs)}


# --- the snapshot --------------------------------------------------------------

def take(conn: Connection, inputs: CycleInputs, plays: PlaySet | None = None) -> Snapshot:
    """Given a cycle whose pricings are assigned (and its play set, if already read), return its input
    snapshot (JSON-able).

    ``digests`` holds the digest of each part and ``input_hash`` the digest of them all.
    """
    plays = plays or play_set(conn, inputs.id)
    tables = reference_rows(conn, inputs)
    cycle = {"territory": inputs.territory, "period_from": inputs.period_from.isoformat(),
             "period_to": inputs.period_to.isoformat(), "method": inputs.method}
    paid, shares = plays.part(), share_tables(conn, inputs.id)
    rates = {t.name: tables[t.name] for t in RATE_TABLES}
    deducted = {t.name: tables[t.name] for t in DEDUCTION_TABLES}
    references = {k: v for k, v in tables.items() if k not in rates and k not in deducted}
    digests: Digests = {"plays": paid["digest"], "shares": shares["digest"], "rates": sha256(canonical(rates)),
                        "references": sha256(canonical(references)), "deductions": sha256(canonical(deducted))}
    return {"version": SNAPSHOT_VERSION, "cycle": cycle, "plays": paid, "shares": shares, "tables": tables,
            "digests": digests, "input_hash": sha256(canonical([cycle, digests]))}


def columns_of(snapshot: Snapshot) -> dict[str, str]:
    """Given a snapshot, return the ``royalty_cycles`` columns that record it."""
    digests = snapshot["digests"]
    return {"input_snapshot": canonical(snapshot), "input_hash": snapshot["input_hash"],
            "plays_digest": digests["plays"], "rates_digest": digests["rates"], "shares_digest": digests["shares"]}


def stored(cycle: StoredRow) -> Snapshot | None:
    """Given a cycle row, return the snapshot recorded when it was locked (None: locked before they were)."""
    return json.loads(cycle.input_snapshot) if getattr(cycle, "input_snapshot", None) else None


def inputs_of(cycle: StoredRow) -> CycleInputs:
    """Given a cycle row, return what defines its inputs."""
    return CycleInputs(cycle.id, cycle.territory, cycle.period_from, cycle.period_to, cycle.method)


# --- printing and comparing ----------------------------------------------------

def _counted(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def lines(snapshot: Snapshot) -> list[str]:
    """Given a snapshot, return it as printed after the reconciliation (full digests, for audits)."""
    cycle, plays, shares, tables = snapshot["cycle"], snapshot["plays"], snapshot["shares"], snapshot["tables"]
    size = {name: len(rows["rows"]) for name, rows in tables.items()}
    rates = ", ".join([_counted(size["rate_cards"], "rate card"), _counted(size["day_periods"], "day period"),
                       _counted(size["eligibility_rules"], "eligibility rule")])
    others = [_counted(size["reciprocal_agreements"], "agreement")]
    if "society_admin_fees" in size:
        others.append(_counted(size["society_admin_fees"], "society admin fee"))
    others.append(_counted(size["exchange_rates"], "exchange rate"))
    if "station_licence_fees" in size:
        others.append(_counted(size["station_licence_fees"], "licence fee"))
    printed = [
        f"input snapshot {snapshot['input_hash']}",
        f"  period      {cycle['period_from']} to {cycle['period_to']}, {cycle['method']}, "
        f"territory {cycle['territory']}",
        f"  plays       {_counted(plays['pricings'], 'pricing')}, gross {plays['gross']:,} units, "
        f"sha256 {plays['digest']}",
        f"  shares      {_counted(shares['works'], 'work')}, {_counted(shares['rows'], 'contributor row')}, "
        f"sha256 {shares['digest']}",
        f"  rates       {rates}, sha256 {snapshot['digests']['rates']}",
        f"  references  {', '.join(others)}, sha256 {snapshot['digests']['references']}",
    ]
    if "deductions" in snapshot["digests"]:  # recorded since version 2
        deductions = ", ".join([_counted(size["domestic_commission_rates"], "commission rate"),
                                _counted(size["withholding_tax_rates"], "withholding tax rate")])
        printed.append(f"  deductions  {deductions}, sha256 {snapshot['digests']['deductions']}")
    return printed


def differences(recorded: Snapshot, current: Snapshot) -> list[str]:
    """Given the snapshot recorded at the lock and one taken now, return what changed, one phrase each
    (empty when nothing did)."""
    found = [f"cycle {key}: {recorded['cycle'][key]} then, {current['cycle'][key]} now"
             for key in recorded["cycle"] if recorded["cycle"][key] != current["cycle"].get(key)]
    paid_then, paid_now = recorded["plays"], current["plays"]
    if paid_then != paid_now:
        found.append(f"pricings paid: {paid_then['pricings']:,} then, {paid_now['pricings']:,} now; gross "
                     f"{paid_then['gross']:,} units then, {paid_now['gross']:,} now; sha256 {paid_then['digest']} "
                     f"then, {paid_now['digest']} now (pricings are never rewritten: the database was altered)")
    old, new = recorded["shares"], current["shares"]
    if old != new:
        found.append(f"share tables of the works paid: {_counted(old['works'], 'work')} with "
                     f"{_counted(old['rows'], 'contributor row')} then, {_counted(new['works'], 'work')} with "
                     f"{_counted(new['rows'], 'contributor row')} now; sha256 {old['digest']} then, "
                     f"{new['digest']} now")
    for name in sorted(recorded["tables"]):  # a table recorded only since the cycle was locked is not compared
        found += table_differences(name, recorded["tables"][name], current["tables"].get(name))
    return found


def table_differences(name: str, old: TableRows | None, new: TableRows | None) -> list[str]:
    """Given a table's rows then and now, return each row added, removed or changed (naming the columns)."""
    old_rows = old.get("rows", {}) if old else {}
    new_rows = new.get("rows", {}) if new else {}
    either = new or old
    columns = either.get("columns", []) if either else []
    found = []
    for row_id in sorted(set(old_rows) | set(new_rows), key=int):
        before, after = old_rows.get(row_id), new_rows.get(row_id)
        if before == after:
            continue
        if before is None:
            assert after is not None  # not both None: equal rows were skipped
            found.append(f"{name} row {row_id} added: {_described(columns, after)}")
        elif after is None:
            found.append(f"{name} row {row_id} removed: {_described(columns, before)}")
        else:
            moved = [f"{c} {b} → {a}" for c, b, a in zip(columns, before, after) if b != a]
            found.append(f"{name} row {row_id} changed: {', '.join(moved)}")
    return found


def _described(columns: Iterable[str], values: Iterable[object]) -> str:
    return ", ".join(f"{c} {v}" for c, v in zip(columns, values) if v is not None)


def check(conn: Connection, cycle: StoredRow) -> Iterator[str]:
    """Given a locked cycle with a recorded snapshot, yield what changed in its inputs since (nothing: unchanged)."""
    recorded = stored(cycle)
    if recorded is None:
        return
    yield from differences(recorded, take(conn, inputs_of(cycle)))

