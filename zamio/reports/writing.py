"""Writing a report document to files: CSV (one file per section), JSON and HTML, each appearing whole."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path

from zamio.reports import csvout, html
from zamio.reports.document import Report


def base_name(doc: Report) -> str:
    """The file name stem: ``<type>-<ref>-<from>[_<to>]``, with the ref reduced to safe characters."""
    meta = doc["report"]
    ref = re.sub(r"[^A-Za-z0-9._-]+", "_", meta["ref"]).strip("._") or "unnamed"
    span = meta["from"] if meta["from"] == meta["to"] else f"{meta['from']}_{meta['to']}"
    return f"{meta['type']}-{ref}-{span}" if meta["type"] != "platform" else f"platform-{span}"


def write(doc: Report, folder: Path, base: str, formats: Sequence[str]) -> list[Path]:
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


def _json_default(value: object) -> str:
    return value.isoformat() if isinstance(value, (datetime, date)) else str(value)
