"""A locked cycle's folder of files, in one pass through the four steps.

``write_cycle_files`` writes, from the ledger only, what ``zamio.royalties.statements.write``
lists: ``statements.csv``, ``remittances.csv`` and ``balances.csv`` (select, then format), the per-recipient
statements (select, shape, format, write: shared between processes by
``zamio.royalties.statements.workers``), the partner societies' usage reports, and the
cycle's reconciliation as ``summary.txt`` (given by the caller, which recorded it at the lock).
"""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import Connection

from zamio.db.engine import StoredRow
from zamio.royalties.statements.formatting import SHIPPED, Presentation
from zamio.royalties.statements.usage import write_usage_reports
from zamio.royalties.statements.workers import write_statements
from zamio.royalties.statements.write import balances_csv, remittances_csv, statements_csv, write_text

log = logging.getLogger(__name__)


def write_cycle_files(conn: Connection, cycle: StoredRow, folder: Path, summary: list[str],
                      presentation: Presentation = SHIPPED) -> None:
    """Given a locked cycle and its reconciliation lines, (re)write all its files in ``folder``; the statements
    with ``presentation``'s letterhead and templates."""
    presentation.page_template()  # a broken template of the society's stops here, before any file is written
    write_text(folder / "statements.csv", statements_csv(conn, cycle.id))
    write_text(folder / "remittances.csv", remittances_csv(conn, cycle.id))
    balances = balances_csv(conn, cycle.id)
    if balances is not None:
        write_text(folder / "balances.csv", balances)
    write_statements(conn, cycle, folder, presentation=presentation)
    invalid = write_usage_reports(conn, cycle, folder)
    for code, count in sorted(invalid.items()):
        if count:
            log.warning("usage report for society %s: %d rows with invalid identifiers (listed, not dropped)",
                        code, count)
    write_text(folder / "summary.txt", "\n".join(summary) + "\n")
