"""CSV files of a report, one per section, safe to open in a spreadsheet.

Written by ``zamio.files.csvwrite``: a text cell beginning with ``=``, ``+``, ``-``,
``@``, a tab or a carriage return would be read as a formula by spreadsheet
programs (CSV injection), so it is written with a leading apostrophe.  Numbers
are written as numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path

from zamio.files import csvwrite
from zamio.reports.document import Report

Section = tuple[Sequence[str], Callable[[Report], list[Sequence[object]]]]

SECTIONS: dict[str, Section] = {
    "plays-by-day": (("date", "plays", "seconds"),
                     lambda d: [(r["date"], r["plays"], r["seconds"]) for r in d["plays_by_day"]]),
    "plays-by-hour": (("hour", "plays", "seconds"),
                      lambda d: [(r["hour"], r["plays"], r["seconds"]) for r in d["plays_by_hour"]]),
    "top-tracks": (("rank", "title", "artist", "recording_key", "track_id", "plays", "seconds", "stations"),
                   lambda d: [(n, r.get("title"), r.get("artist"), r.get("recording_key"), r.get("track_id"),
                               r["plays"], r["seconds"], r["stations"]) for n, r in enumerate(d["top_tracks"], 1)]),
    "top-stations": (("rank", "station_ref", "station", "plays", "seconds"),
                     lambda d: [(n, r.get("ref"), r.get("name"), r["plays"], r["seconds"])
                                for n, r in enumerate(d["top_stations"], 1)]),
    "earnings": (("cycle", "recipient_type", "recipient", "kind", "currency", "amount", "amount_units", "plays"),
                 lambda d: [(r["cycle"], r.get("recipient_type"), r.get("recipient"), r.get("kind"), r["currency"],
                             Decimal(r["amount"]), r["amount_units"], r["plays"]) for r in d["earnings"]]),
    "confidence": (("confidence_from", "confidence_to", "detections"),
                   lambda d: [(b["from"], b["to"], b["detections"]) for b in d["confidence"]["bins"]]),
    "coverage-gaps": (("station", "from_utc", "to_utc", "seconds", "reason"),
                      lambda d: [(g.get("station"), str(g["from"]), str(g["to"]), g["seconds"], g["reason"])
                                 for g in d["coverage_gaps"]]),
}


def _cell(value: object) -> csvwrite.Cell:
    """A report value as a CSV cell: numbers and text as they are, anything else (a date) as its text,
    which is what the csv module writes for it."""
    if value is None or isinstance(value, (str, int, float, Decimal)):
        return value
    return str(value)


def write_csv(doc: Report, folder: Path, base: str) -> list[Path]:
    """Write one ``<base>.<section>.csv`` per section of ``doc`` into ``folder``; return the paths written."""
    paths = []
    for name, (header, rows_of) in SECTIONS.items():
        path = folder / f"{base}.{name}.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csvwrite.writer(handle)
            writer.writerow(header)
            writer.writerows([_cell(value) for value in row] for row in rows_of(doc))
        paths.append(path)
    return paths
