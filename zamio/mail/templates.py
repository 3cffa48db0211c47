"""The e-mail templates: each turns a context dict into a subject, a plain-text body and an HTML body.

Every value taken from the context is escaped in the HTML body (a station
named ``<script>`` shows as text), and newlines are removed from the subject so
a context value can never add a header.  No message carries a file's place on
the server: an absolute path in a sentence or a table's cell (an error quoted in
an alert) is cut to its last name.  A message has paragraphs and then one table,
or several, each under its heading (:class:`Titled`).  A template names the context keys it
needs; a missing key raises :class:`TemplateError` at queueing time, where the
caller can still fix it, never at sending time.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from zamio.runtime.errors import DataError
from zamio.values.money import format_amount

#: Rows of a "top tracks" list shown in a weekly summary.
TOP_TRACKS_SHOWN = 10


class TemplateError(DataError):
    """A template name is unknown or its context lacks a key the template needs."""


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def render(template: str, context: Mapping[str, Any]) -> Rendered:
    """Given a template name and its context, return the rendered message; raise TemplateError if either is wrong."""
    spec = TEMPLATES.get(template)
    if spec is None:
        raise TemplateError(f"unknown e-mail template {template!r}; use one of: {', '.join(sorted(TEMPLATES))}")
    required, build = spec
    missing = [key for key in required if context.get(key) in (None, "")]
    if missing:
        raise TemplateError(f"e-mail template {template!r} needs context key(s): {', '.join(missing)}")
    subject, paragraphs, tables = build(context)
    subject, paragraphs = hide_paths(subject), [hide_paths(p) for p in paragraphs]
    return Rendered(_one_line(subject), _text_body(paragraphs, tables), _html_body(subject, paragraphs, tables))


#: An absolute path on this machine (``/var/lib/zamio/cycles/2026-03``), not part of a URL or a word.
SERVER_PATH = re.compile(r"(?<![\w:/.~])/(?:[^\s/'\"]+/)+[^\s/'\",;:)]+")


def hide_paths(text: str) -> str:
    """Given a sentence, return it with each absolute file path cut to its last name (``…/2026-03``): an e-mail
    leaves the server, its layout does not (an error quoted in an alert names the folder; ``zamio-status``
    on the server gives it whole)."""
    return SERVER_PATH.sub(lambda m: "…/" + m.group(0).rsplit("/", 1)[1], text)


def show(value: object) -> str:
    """Given a context value, return it as people read it (times in UTC to the minute)."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:.1%}" if 0 <= value <= 1 else f"{value:g}"
    return str(value)


def _cell(value: object) -> str:
    """A table's cell as people read it, with no place on the server (a title may quote one)."""
    return hide_paths(show(value))


def _one_line(text: str) -> str:
    return " ".join(str(text).split())[:200]


Table = tuple[Sequence[str], Sequence[Sequence[Any]]]


@dataclass(frozen=True)
class Titled:
    """A table under a heading of its own: a message with several tables gives a list of them."""

    heading: str
    table: Table


#: What a builder gives after its paragraphs: one table, several under their headings, or none.
Tables = Table | list[Titled] | None


def _sections(tables: Tables) -> list[tuple[str | None, Table]]:
    if tables is None:
        return []
    if isinstance(tables, list):
        return [(hide_paths(t.heading), t.table) for t in tables]
    return [(None, tables)]


def _text_body(paragraphs: Sequence[str], tables: Tables) -> str:
    parts = list(paragraphs)
    for heading, (header, rows) in _sections(tables):
        cells = [list(header)] + [[_cell(cell) for cell in row] for row in rows]
        widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
        table = "\n".join("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() for row in cells)
        parts.append(f"{heading}\n\n{table}" if heading else table)
    parts.append("-- \nzamio broadcast monitoring (automatic message; replies are not read)")
    return "\n\n".join(parts) + "\n"


HTML_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title}</title></head>
<body style="font-family:Helvetica,Arial,sans-serif;color:#1f2933;max-width:640px;margin:0 auto;padding:16px">
<h2 style="color:#0b6e4f;font-weight:600">{title}</h2>
{body}
<p style="color:#7b8794;font-size:12px;margin-top:32px">zamio broadcast monitoring &middot; automatic message</p>
</body></html>
"""


CELL_STYLE = "padding:4px 8px;border-top:1px solid #e4e7eb"


def _html_body(subject: str, paragraphs: Sequence[str], tables: Tables) -> str:
    body = [f"<p>{html.escape(p)}</p>" for p in paragraphs]
    for heading, (header, rows) in _sections(tables):
        if heading:
            body.append(f'<h3 style="font-weight:600;margin-bottom:4px">{html.escape(heading)}</h3>')
        cells = "".join(f'<th style="text-align:left;padding:4px 8px">{html.escape(h)}</th>' for h in header)
        lines = [f'<table style="border-collapse:collapse"><tr style="background:#e6f4ef">{cells}</tr>']
        for row in rows:
            tds = "".join(f'<td style="{CELL_STYLE}">{html.escape(_cell(c))}</td>' for c in row)
            lines.append(f"<tr>{tds}</tr>")
        body.append("".join(lines) + "</table>")
    return HTML_PAGE.format(title=html.escape(_one_line(subject)), body="\n".join(body))


def _statement_ready(c: Mapping[str, Any]) -> tuple[str, list[str], Table | None]:
    """The statement is linked (``statement_url``), attached (``attached``), or else available from the society
    (``contact``, when one is set): never a file's place on the server."""
    amount = format_amount(int(c["amount_units"]), str(c["currency"]))
    greeting = f"Dear {show(c['recipient_name'])}," if c.get("recipient_name") else "Hello,"
    contact = show(c["contact"]) if c.get("contact") else None
    url = str(c.get("statement_url") or "")
    if url and not url.startswith(("https://", "http://")):
        raise TemplateError(f"statement_url must be an http:// or https:// link, not {url!r}")
    if url:
        where = f"Read your statement here: {url}"
    elif c.get("attached"):
        where = ("Your statement is attached: a page to read (HTML) and a spreadsheet (CSV) of the plays behind "
                 "each amount.")
    else:
        ask = f"write to {contact} for a copy" if contact else "ask the society for a copy"
        where = f"Your statement is ready, but too large to send by e-mail: it is available from the society; {ask}."
    return (
        f"Your royalty statement for {show(c['cycle'])} is ready",
        [
            greeting,
            f"The royalty cycle {show(c['cycle'])} is closed. Your statement shows {amount}.",
            where,
            "Every figure on it can be traced to the plays behind it; "
            + (f"write to {contact} if one looks wrong." if contact else "write to the society if one looks wrong."),
        ],
        None,
    )


def _stream_down(c: Mapping[str, Any]) -> tuple[str, list[str], Table | None]:
    from zamio.streams import redact_url

    return (
        f"Stream down: {show(c['station'])}",
        [
            f"The stream of {show(c['station'])} has failed {show(c['failures'])} times in a row "
            f"since {show(c['since'])}.",
            f"Stream address: {redact_url(str(c['url']))}",
            f"Last reason: {show(c['last_reason'])}",
            "Plays on this station are not being monitored until the stream answers again. "
            "Check the address with the station, or add a backup link.",
        ],
        None,
    )


def _job_failing(c: Mapping[str, Any]) -> tuple[str, list[str], Table | None]:
    state = show(c.get("state") or "failing")
    return (
        f"zamio job {state}: {show(c['job'])}",
        [
            f"The scheduled job {show(c['job'])} is {state}; it has not succeeded since {show(c['since'])}.",
            f"Last error: {show(c['last_error'])}",
            "Run bin/zamio-status on the server for details, and the job by hand with -v to see it fail.",
        ],
        None,
    )


def _week(c: Mapping[str, Any]) -> str:
    """The week a summary covers, as its heading says it: ``2026-W48`` and, when given, its days."""
    days = f", {show(c['first_day'])} to {show(c['last_day'])}" if c.get("first_day") and c.get("last_day") else ""
    return f"{show(c['week'])}{days}" if c.get("week") else days.lstrip(", ")


def duration(seconds: float) -> str:
    """Given seconds, return them as people read an outage: ``45 min``, ``3 h 05 min``."""
    minutes = int(seconds + 30) // 60
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _coverage(c: Mapping[str, Any]) -> str:
    """The coverage sentence of a station's summary: the share of the week its stream was heard, and its outages."""
    if c.get("stream") is False:
        uploaded = int(c.get("captures") or 0)
        heard = f"; it heard {_plural(uploaded, 'recording')} the station uploaded" if uploaded else ""
        return f"Monitoring coverage: none, zamio has no stream of this station to listen to{heard}."
    gaps = c.get("gaps") or []
    share = f"Monitoring coverage: {show(float(c['coverage']))} of the week"
    if not gaps:
        return f"{share}: the stream was heard all week."
    count = int(c.get("gap_count") or len(gaps))
    total = duration(float(c["gap_seconds"])) if c.get("gap_seconds") is not None else None
    return f"{share}; {_plural(count, 'outage')}" + (f", {total} without coverage in all." if total else ".")


def _weekly_station_summary(c: Mapping[str, Any]) -> tuple[str, list[str], Tables]:
    """Plays logged, the monitoring coverage and the longest outages (``gaps``: ``{from, to, seconds, reason}``,
    times as the station reads them, in ``timezone``), and the most played recordings (``top_tracks``)."""
    rows = [(t.get("title") or "?", t.get("artist") or "?", t.get("plays", 0)) for t in c.get("top_tracks") or []]
    week = _week(c)
    tables: list[Titled] = []
    gaps = [(g["from"], g["to"], duration(float(g["seconds"])), g.get("reason") or "") for g in c.get("gaps") or []]
    if gaps:
        zone = f" ({show(c['timezone'])} time)" if c.get("timezone") else ""
        tables.append(Titled(f"Longest outages{zone}", (("From", "To", "Without coverage", "Reason"), gaps)))
    if rows:
        tables.append(Titled("Most played", (("Title", "Artist", "Plays"), rows[:TOP_TRACKS_SHOWN])))
    return (
        f"Weekly summary for {show(c['station'])}" + (f" ({show(c['week'])})" if c.get("week") else ""),
        [
            f"{show(c['station'])}: {_plural(int(c['plays']), 'play')} logged" + (f" in {week}." if week else "."),
            _coverage(c),
            *([] if rows else ["No recorded music was recognised this week."]),
        ],
        tables or None,
    )


def _weekly_artist_summary(c: Mapping[str, Any]) -> tuple[str, list[str], Tables]:
    """Plays of the artist's music heard in the week by station (``stations``: ``{station, plays}``), her most
    played song (``top_song``: ``{title, plays}``), and what her priced plays would pay that no cycle has paid yet
    (``earnings``: ``{amount_units, currency}``, one per currency)."""
    plays, week = int(c["plays"]), _week(c)
    stations = [(s["station"], s["plays"]) for s in c.get("stations") or []]
    paragraphs = [f"Dear {show(c['artist'])},"]
    if plays:
        paragraphs.append(f"{_plural(plays, 'play')} of your music {'was' if plays == 1 else 'were'} logged in {week}"
                          + (f" on {_plural(len(stations), 'station')}." if stations else "."))
    else:
        paragraphs.append(f"None of your music was logged in {week}.")
    top = c.get("top_song")
    if top:
        paragraphs.append(f"Most played: {show(top['title'])} ({_plural(int(top['plays']), 'play')}).")
    waiting = [format_amount(int(e["amount_units"]), str(e["currency"])) for e in c.get("earnings") or []]
    if waiting:
        paragraphs.append(f"Estimated earnings not yet in a royalty cycle: {' and '.join(waiting)}. This is what "
                          "your plays priced so far would pay; the amount paid is the one on the cycle's statement.")
    else:
        paragraphs.append("No earnings of yours are waiting for a royalty cycle.")
    return (
        f"Your week on air: {show(c['week'])}",
        paragraphs,
        [Titled("Plays by station", (("Station", "Plays"), stations))] if stations else None,
    )


Builder = Callable[[Mapping[str, Any]], tuple[str, list[str], Tables]]

#: Template name → (required context keys, builder).
TEMPLATES: dict[str, tuple[tuple[str, ...], Builder]] = {
    "statement_ready": (("cycle", "amount_units", "currency"), _statement_ready),
    "stream_down": (("station", "url", "since", "failures", "last_reason"), _stream_down),
    "job_failing": (("job", "since", "last_error"), _job_failing),
    "weekly_station_summary": (("station", "plays", "coverage"), _weekly_station_summary),
    "weekly_artist_summary": (("artist", "week", "plays"), _weekly_artist_summary),
}
