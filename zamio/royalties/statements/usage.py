"""Usage reports for partner societies: every play of their repertoire paid in a cycle.

One CSV per society (``usage/<code>-<acronym>.csv``) with the columns
``station, played_at_utc, isrc, iswc, title, artist, ipi, seconds, amount,
currency, kind, valid, problems``.  Identifiers are checked before writing
(ISRC syntax, ISWC check digit, IPI name number check digits); a row that fails
is kept with ``valid=no`` and the reasons, and also listed in
``usage/<code>-<acronym>-invalid.csv``, never dropped.  Written by
``zamio.files.csvwrite``: a title or name a spreadsheet would run as a formula gets a
leading ``'``; seconds and amounts stay numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from sqlalchemy import Connection, and_, func, select

from zamio.catalog.identifiers import (
    normalise_ipi_name,
    normalise_isrc,
    normalise_iswc,
    validate_ipi_name,
    validate_isrc,
    validate_iswc,
)
from zamio.db.engine import StoredRow
from zamio.db.tables import artists, contributors, partner_repertoire, partner_societies, play_logs, stations, tracks
from zamio.files import csvwrite
from zamio.royalties.pricing.paid import cycle_lines
from zamio.royalties.statements.formatting import decimal_text, seconds_text
from zamio.royalties.statements.write import write_text

USAGE_COLUMNS = ["station", "played_at_utc", "isrc", "iswc", "title", "artist", "ipi", "seconds", "amount",
                 "currency", "kind", "valid", "problems"]


def identifier_problems(isrc: str | None, iswc: str | None, ipis: Iterable[str]) -> list[str]:
    """Given a usage row's identifiers, return the reasons it cannot be reported as is ([] if valid).

    A missing ISRC is a problem (a recording is reported by it); a missing ISWC is not
    (partners often send recordings without works) but a malformed one is.
    """
    problems = []
    reason = validate_isrc(normalise_isrc(isrc))
    if reason:
        problems.append("ISRC missing" if not isrc else reason)
    if iswc:
        reason = validate_iswc(normalise_iswc(iswc))
        if reason:
            problems.append(reason)
    for ipi in ipis:
        reason = validate_ipi_name(normalise_ipi_name(ipi))
        if reason:
            problems.append(reason)
    return problems


def _contributor_ipis(conn: Connection, track_ids: set[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    ids = sorted(track_ids)
    for start in range(0, len(ids), 1000):
        rows = conn.execute(select(contributors.c.track_id, contributors.c.ipi).where(
            contributors.c.track_id.in_(ids[start:start + 1000]), contributors.c.ipi.is_not(None))
            .order_by(contributors.c.track_id, contributors.c.ipi))
        for track_id, ipi in rows:
            found.setdefault(track_id, []).append(ipi)
    return found


def usage_rows(conn: Connection, cycle_id: int, method: str) -> Sequence[StoredRow]:
    """Given a cycle, return the society share lines it pays with their play and identifiers."""
    e = cycle_lines(cycle_id, method)
    return conn.execute(
        select(partner_societies.c.code, partner_societies.c.short_name, stations.c.name.label("station"),
               play_logs.c.started_at, play_logs.c.track_id, e.c.seconds, e.c.amount, e.c.currency, e.c.kind,
               func.coalesce(tracks.c.isrc, play_logs.c.isrc).label("isrc"),
               func.coalesce(tracks.c.iswc, partner_repertoire.c.iswc).label("iswc"),
               func.coalesce(tracks.c.title, play_logs.c.title, partner_repertoire.c.title).label("title"),
               func.coalesce(artists.c.name, play_logs.c.artist, partner_repertoire.c.artist).label("artist"))
        .join(partner_societies, partner_societies.c.id == e.c.society_id)
        .join(play_logs, play_logs.c.id == e.c.play_id)
        .join(stations, stations.c.id == play_logs.c.station_id)
        .outerjoin(tracks, tracks.c.id == play_logs.c.track_id)
        .outerjoin(artists, artists.c.id == tracks.c.artist_id)
        .outerjoin(partner_repertoire, and_(partner_repertoire.c.society_id == e.c.society_id,
                                            partner_repertoire.c.isrc == play_logs.c.isrc))
        .where(e.c.recipient_type == "society")
        .order_by(partner_societies.c.code, play_logs.c.started_at, e.c.id)).all()


def write_usage_reports(conn: Connection, cycle: StoredRow, folder: Path) -> dict[str, int]:
    """Given a cycle, write each partner society's usage report; return invalid row counts by society code."""
    rows = usage_rows(conn, cycle.id, cycle.method)
    ipis = _contributor_ipis(conn, {r.track_id for r in rows if r.track_id is not None})
    by_society: dict[tuple[str, str], list[list[str]]] = {}
    for row in rows:
        row_ipis = ipis.get(row.track_id, []) if row.track_id is not None else []
        problems = identifier_problems(row.isrc, row.iswc, row_ipis)
        by_society.setdefault((row.code, row.short_name), []).append([
            row.station, row.started_at.strftime("%Y-%m-%d %H:%M:%S"), row.isrc or "", row.iswc or "",
            row.title or "", row.artist or "", ";".join(row_ipis), seconds_text(row.seconds),
            decimal_text(row.amount, row.currency), row.currency, row.kind, "no" if problems else "yes",
            "; ".join(problems)])
    invalid = {}
    for (code, short), cells in sorted(by_society.items()):
        stem = f"{code}-{short}"
        write_text(folder / "usage" / f"{stem}.csv", csvwrite.text(USAGE_COLUMNS, cells))
        bad = [c for c in cells if c[11] == "no"]
        write_text(folder / "usage" / f"{stem}-invalid.csv", csvwrite.text(USAGE_COLUMNS, bad))
        invalid[code] = len(bad)
    return invalid
