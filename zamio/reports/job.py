"""``bin/generate-analytics-report``: compute a report and write it as CSV, JSON and/or HTML files."""

from __future__ import annotations

import argparse
import json
import os
import re
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from zamio.db.engine import utcnow
from zamio.runtime.errors import UsageError
from zamio.reports import csvout, data, html

FORMATS = ("csv", "json", "html")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--type", required=True, choices=data.REPORT_TYPES, help="what the report is about")
    parser.add_argument("--ref", help="the station, artist or publisher ref (or numeric id); not for platform")
    parser.add_argument("--from", dest="date_from", type=_date, metavar="YYYY-MM-DD",
                        help="first day, inclusive (default: yesterday)")
    parser.add_argument("--to", dest="date_to", type=_date, metavar="YYYY-MM-DD",
                        help="last day, inclusive (default: --from, or yesterday)")
    parser.add_argument("--format", default=",".join(FORMATS), metavar="LIST",
                        help="comma-separated: csv, json, html (default: all three)")
    parser.add_argument("--out", type=Path, metavar="DIR", help="output folder (default: $ZAMIO_VAR_DIR/reports)")


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-03-31") from None


def formats_of(text: str) -> list[str]:
    """Given ``--format``, return the formats in a fixed order; raise UsageError for an unknown one."""
    wanted = {f.strip().lower() for f in text.split(",") if f.strip()}
    unknown = wanted - set(FORMATS)
    if unknown or not wanted:
        raise UsageError(f"--format takes a list of {', '.join(FORMATS)}; got {text!r}")
    return [f for f in FORMATS if f in wanted]


def base_name(doc: dict[str, Any]) -> str:
    """The file name stem: ``<type>-<ref>-<from>[_<to>]``, with the ref reduced to safe characters."""
    meta = doc["report"]
    ref = re.sub(r"[^A-Za-z0-9._-]+", "_", meta["ref"]).strip("._") or "unnamed"
    span = meta["from"] if meta["from"] == meta["to"] else f"{meta['from']}_{meta['to']}"
    return f"{meta['type']}-{ref}-{span}" if meta["type"] != "platform" else f"platform-{span}"


def generate_report(ctx: Any) -> int | None:
    """The job: resolve the subject, build the document in one read transaction, write the requested files."""
    args = ctx.args
    formats = formats_of(args.format)
    now = utcnow()
    date_from = args.date_from or (now - timedelta(days=1)).date()
    date_to = args.date_to or (args.date_from or date_from)
    with ctx.transaction(read_only=True) as conn:
        subject = data.find_subject(conn, args.type, args.ref)
        doc = data.build(conn, subject, date_from, date_to, now)
    folder = args.out or ctx.config.var_dir / "reports"
    base = base_name(doc)
    if ctx.dry_run:
        ctx.note(f"would write {', '.join(formats)} as {folder / base}.*")
        return None
    folder.mkdir(parents=True, exist_ok=True)
    written = write(doc, folder, base, formats)
    for path in written:
        print(path)
    ctx.ok(len(written))
    ctx.note(f"{doc['totals']['plays']} plays, {len(written)} file(s) in {folder}")
    return None


def write(doc: dict[str, Any], folder: Path, base: str, formats: list[str]) -> list[Path]:
    """Write ``doc`` in each format; each file appears whole (written aside, then renamed)."""
    written: list[Path] = []
    if "csv" in formats:
        written += csvout.write_csv(doc, folder, base)
    if "json" in formats:
        written.append(_replace(folder / f"{base}.json", json.dumps(doc, indent=2, default=_json_default) + "\n"))
    if "html" in formats:
        written.append(_replace(folder / f"{base}.html", html.render(doc)))
    return written


def _replace(path: Path, content: str) -> Path:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(content, encoding="utf-8")
    os.replace(temporary, path)
    return path


def _json_default(value: Any) -> str:
    return value.isoformat() if isinstance(value, (datetime, date)) else str(value)
