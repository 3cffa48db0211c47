"""Import the catalog, stations, contributors and reference data from CSV files.

All files are loaded in one transaction; re-importing is an idempotent upsert
by reference.  In tracks, artists and stations a bad row is reported with its line
number and reason while the good rows load (exit 1).  Files that set money
(societies, contributors, agreements, repertoire, rate cards, exchange rates,
licence fees, commission rates, withholding tax rates, payees) load whole or
not at all: a bad row in one of them (a refused
number, or a change to a row money already used), like a file that cannot be
used at all (missing, no header, a missing column), stops the import after
listing every bad row, and nothing is written (exit 65).

Numbers take a point or a comma before the decimals (0.015 or 0,015), never a
thousands separator (1,234.5 and 1 234 are refused), and never more decimal
places than stored: rates and exchange rates 10, multipliers, shares and fees
6, amounts 4, a track's duration_seconds 3.  A relative audio_path in tracks.csv is relative to the CSV's
folder.  An artists file sets each artist's e-mail address; weekly_summary (yes or
no, in the artists and stations files) says whether bin/send-weekly-summaries writes
to her or to the station's contact: empty or absent keeps what is stored (yes for a
new row).  Each money reference row added or corrected (rate card, agreement,
society fee, exchange rate, licence fee) and each contributor share set or
changed is recorded in the audit log: who (--by, default the OS user), why
(--reason, default the files' names), the values before and after.

Examples:
    bin/import-catalog --tracks catalog/tracks.csv --contributors catalog/contributors.csv
    bin/import-catalog --stations stations.csv --dry-run
    bin/import-catalog --artists artists.csv
    bin/import-catalog --societies societies.csv --agreements agreements.csv --rate-cards rates.csv
    bin/import-catalog --commission-rates commission.csv --withholding-rates tax.csv --payees payees.csv
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from zamio.catalog.terms import IMPORT_ORDER
from zamio.jobs.audit_options import add_by, who
from zamio.runtime.errors import UsageError
from zamio.runtime.runner import Job, JobContext

if TYPE_CHECKING:
    from zamio.db.audit import Who

IMPORT_HELP = {
    "tracks": "tracks: track_ref,title,artist,audio_path [+isrc,iswc,album,duration_seconds,publisher,category,"
              "society_code]",
    "artists": "artists: artist [+email,weekly_summary]",
    "stations": "stations: station_ref,name,city,region,station_class,stream_url [+backup_stream_url,timezone,"
                "contact_email,weekly_summary]",
    "contributors": "contributors: track_ref,name,role,share_percent [+publisher,email,ipi]",
    "societies": "partner societies", "agreements": "reciprocal agreements", "repertoire": "partner repertoire",
    "rate_cards": "rate cards", "exchange_rates": "exchange rates", "licence_fees": "station licence fees",
    "commission_rates": "domestic commission: commission_percent,effective_from [+territory]",
    "withholding_rates": "withholding tax: recipient_type,residency,tax_percent,effective_from [+territory,authority]",
    "payees": "payees: recipient_type,recipient [+name,residency,payment_method,bank_name,account_number,"
              "branch_code,mobile_money_number,mobile_money_network]",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    for name in IMPORT_ORDER:
        parser.add_argument("--" + name.replace("_", "-"), dest=name, type=Path, metavar="CSV", help=IMPORT_HELP[name])
    add_by(parser, "why the money reference rows and shares are loaded, kept in the audit log with each row added "
                   "or corrected (default: the files' names)")


@dataclass(frozen=True)
class Settings:
    files: tuple[tuple[str, Path], ...]  # (name in IMPORT_ORDER, path), in that order
    who: Who  # who loads them, and why


def settings(args: argparse.Namespace, run_id: str = "") -> Settings:
    files = tuple((name, getattr(args, name)) for name in IMPORT_ORDER if getattr(args, name) is not None)
    if not files:
        raise UsageError("name at least one file to import, e.g. --tracks tracks.csv (see --help)")
    return Settings(files, who(args, run_id, f"loaded from {', '.join(path.name for _, path in files)}"))


def main(ctx: JobContext) -> int | None:
    """Load each CSV given, in ``IMPORT_ORDER``, all in one transaction; exit 65 if a row was refused
    as bad data, else 1 if any row was rejected."""
    from zamio.catalog.imports import import_catalog

    given = settings(ctx.args, ctx.run_id)
    return import_catalog(ctx.transaction, given.files, ctx, given.who)


JOB = Job("import-catalog", __doc__, main, add_arguments=add_arguments)
