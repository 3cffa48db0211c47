"""The unidentified report's files: a CSV of the ranked unknown recordings and an HTML page to listen to them.

The **CSV** (``CSV_COLUMNS``) has one row per recording and currency held (a recording holding
nothing: one row, currency empty, 0 held), written by ``zamio.files.csvwrite``: a stream title
or station name a spreadsheet would run as a formula gets a leading ``'``; plays and amounts
stay numbers, amounts exact (``held_units`` in ten-thousandths, ``held`` the Decimal).

The **page** is the template ``unidentified.html.j2``, shipped beside the statement's
(``zamio/royalties/statements/templates``) and replaced by a file of the same name in
``TEMPLATES_DIR``; it escapes everything it prints.  Each row has an ``<audio controls>``
player whose ``src`` is the excerpt's file relative to the page's folder (URL-quoted), so the
page works opened from disk, or moved with the excerpts' folder beside it; an excerpt whose
file has gone shows "excerpt deleted", one kept by another host names that host, and a
recording heard only on streams (which keep no audio) says it has no excerpt.  A recording the
catalog check left open shows what the catalog suggests (``suggested``: each track, its captures
and best evidence) with the command that names it (``suggested_command``).  A recording whose
captures carry a stream title naming an item (``title``) names the others listed that carry it
(``same_title_as``), with the command that merges it into the oldest of them (``merge_command``;
empty for that oldest one), to be run once a person has listened to both.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import jinja2

from zamio.files import csvwrite, templates
from zamio.recognition.titles import title_key
from zamio.reports.unidentified import Hearing, Recording, Selection, excerpt_file, held_totals, money_text
from zamio.royalties.statements.formatting import TEMPLATES

PAGE_TEMPLATE = "unidentified.html.j2"
CSV_COLUMNS = [
    "rank",
    "unknown_ref",
    "plays",
    "stations",
    "station_names",
    "first_heard_utc",
    "first_heard_local",
    "first_heard_station",
    "last_heard_utc",
    "last_heard_local",
    "last_heard_station",
    "currency",
    "held_units",
    "held",
    "icy_title",
    "excerpt",
    "excerpt_status",
    "suggested",
    "suggested_command",
    "title",
    "same_title_as",
    "merge_command",
]
KEPT, DELETED, ELSEWHERE, NONE = "kept", "deleted", "on another host", "none"


@dataclass(frozen=True)
class Excerpt:
    """Where a recording's excerpt is and whether this host has it."""

    file: Path | None
    status: str  # KEPT, DELETED, ELSEWHERE (host names it) or NONE
    host: str | None = None

    @property
    def words(self) -> str:
        """What the page says instead of a player."""
        return {
            KEPT: "",
            DELETED: "excerpt deleted",
            ELSEWHERE: f"excerpt kept on host {self.host}",
            NONE: "no excerpt (heard on streams only, which keep no audio)",
        }[self.status]


def excerpt(recording: Recording, var_dir: Path, this_host: str) -> Excerpt:
    """Given a recording, this host's var folder and name, return its excerpt's state here."""
    file = excerpt_file(recording, var_dir)
    if file is None:
        return Excerpt(None, NONE)
    if file.is_file():
        return Excerpt(file, KEPT)
    if recording.excerpt_host and recording.excerpt_host != this_host:
        return Excerpt(file, ELSEWHERE, recording.excerpt_host)
    return Excerpt(file, DELETED)


def audio_src(file: Path, page: Path) -> str:
    """The ``src`` of a player on the page written at ``page`` for ``file``: a URL-quoted path relative to the
    page's folder, else (another drive) the file's ``file:`` URL."""
    target = file.resolve()
    try:
        return quote(Path(os.path.relpath(target, page.resolve().parent)).as_posix())
    except ValueError:
        return target.as_uri()


def default_paths(folder: Path, today: date) -> tuple[Path, Path]:
    """The CSV and HTML files of a report made on ``today`` in ``folder``."""
    return folder / f"unidentified-{today.isoformat()}.csv", folder / f"unidentified-{today.isoformat()}.html"


def selection_text(selection: Selection, station_refs: list[str]) -> str:
    """The selection in words, for the page and the summary."""
    where = "stations " + ", ".join(station_refs) if station_refs else "all stations"
    start, end = selection.date_from, selection.date_to
    if start is None and end is None:
        return f"{where}, every day"
    return f"{where}, UTC days {start or 'the first'} to {end or 'today'}"


# --- CSV -------------------------------------------------------------------------------------------


def csv_text(found: list[Recording], var_dir: Path, this_host: str) -> str:
    """Given the ranked recordings, return the CSV file (``CSV_COLUMNS``)."""
    rows: list[list[csvwrite.Cell]] = []
    for rank, recording in enumerate(found, 1):
        state = excerpt(recording, var_dir, this_host)
        common = _common_cells(rank, recording)
        tail: list[csvwrite.Cell] = [
            recording.icy_title or "",
            str(state.file) if state.file else "",
            state.status if state.status != ELSEWHERE else f"on host {state.host}",
            "; ".join(s.text for s in recording.suggested),
            "; ".join(s.command(recording.ref) for s in recording.suggested),
            recording.title or "",
            "; ".join(recording.same_title),
            recording.merge_command,
        ]
        for currency, amount in recording.held_amounts() or [("", Decimal(0))]:
            rows.append([*common, currency, recording.held.get(currency, 0), amount, *tail])
    return csvwrite.text(CSV_COLUMNS, rows)


def _common_cells(rank: int, recording: Recording) -> list[csvwrite.Cell]:
    first, last = recording.first, recording.last
    return [
        rank,
        recording.ref,
        recording.plays,
        "; ".join(sorted(recording.stations)),
        "; ".join(recording.stations[ref] for ref in sorted(recording.stations)),
        first.utc if first else "",
        first.local if first else "",
        first.station if first else "",
        last.utc if last else "",
        last.local if last else "",
        last.station if last else "",
    ]


# --- the page ---------------------------------------------------------------------------------------


def page_template(templates_dir: Path | None) -> jinja2.Template:
    """The page's template, compiled: the society's if it has one (raise TemplateProblem if it is broken)."""
    return templates.load(templates.environment(TEMPLATES, templates_dir), PAGE_TEMPLATE)


@dataclass(frozen=True)
class PageFacts:
    """What the page says about the report as a whole."""

    generated_at: datetime
    order: str
    selection: str
    society: str


def page_html(
    template: jinja2.Template, found: list[Recording], facts: PageFacts, page: Path, var_dir: Path, this_host: str
) -> str:
    """Given the compiled template, the ranked recordings and where the page is written, return the page."""
    rows = [
        _page_row(rank, recording, excerpt(recording, var_dir, this_host), page)
        for rank, recording in enumerate(found, 1)
    ]
    return templates.render(
        template,
        rows=rows,
        society=facts.society,
        order=facts.order,
        selection=facts.selection,
        generated_at=facts.generated_at.strftime("%Y-%m-%d %H:%M UTC"),
        recordings=len(found),
        plays=sum(r.plays for r in found),
        held=money_text(held_totals(found)),
    )


def _page_row(rank: int, recording: Recording, state: Excerpt, page: Path) -> dict[str, object]:
    first, last = recording.first, recording.last
    return {
        "rank": rank,
        "ref": recording.ref,
        "plays": recording.plays,
        "stations": [{"ref": ref, "name": recording.stations[ref]} for ref in sorted(recording.stations)],
        "first": _hearing(first),
        "last": _hearing(last),
        "held": [f"{currency} {amount}" for currency, amount in recording.held_amounts()],
        "icy_title": recording.icy_title or "",
        "src": audio_src(state.file, page) if state.status == KEPT and state.file else None,
        "excerpt_words": state.words,
        "suggested": [{"text": s.text, "command": s.command(recording.ref)} for s in recording.suggested],
        "title": recording.title or "",
        "same_title": recording.same_title,
        "merge_command": recording.merge_command,
    }


def _hearing(hearing: Hearing | None) -> dict[str, str]:
    if hearing is None:
        return {"utc": "", "local": "", "station": ""}
    return {"utc": hearing.utc, "local": hearing.local, "station": hearing.station}


# --- stdout -----------------------------------------------------------------------------------------


def summary_lines(found: list[Recording], order: str, selection: str, shown: int = 10) -> list[str]:
    """The short summary printed: the totals, then the first ``shown`` recordings."""
    lines = [
        f"unknown recordings by {order} ({selection}): {len(found)} recordings, "
        f"{sum(r.plays for r in found)} plays, held {money_text(held_totals(found))}"
    ]
    grouped = [r for r in found if r.same_title]
    if grouped:
        titles = len({title_key(r.title) for r in grouped})
        lines.append(f"{len(grouped)} recordings share a stream title with another ({titles} "
                     f"{'title' if titles == 1 else 'titles'}): listen, and merge those of one song (the page and "
                     f"the CSV give the commands)")
    for rank, recording in enumerate(found[:shown], 1):
        heard = recording.first.utc if recording.first else "-"
        title = f"  {recording.icy_title!r}" if recording.icy_title else ""
        lines.append(
            f"{rank:>4}. {recording.ref}  {recording.plays:>5} plays  {money_text(recording.held):<18}  "
            f"first heard {heard} UTC  {', '.join(sorted(recording.stations))}{title}"
        )
    return lines
