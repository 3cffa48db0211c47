"""The e-mail templates: each turns a context dict into a subject, a plain-text body and an HTML body.

Every value taken from the context is escaped in the HTML body (a station
named ``<script>`` shows as text), and newlines are removed from the subject so
a context value can never add a header.  No message carries a file's place on
the server: an absolute path in a sentence (an error quoted in an alert) is cut
to its last name.  A template names the context keys it
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
    subject, paragraphs, table = build(context)
    subject, paragraphs = hide_paths(subject), [hide_paths(p) for p in paragraphs]
    return Rendered(_one_line(subject), _text_body(paragraphs, table), _html_body(subject, paragraphs, table))


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


def _one_line(text: str) -> str:
    return " ".join(str(text).split())[:200]


Table = tuple[Sequence[str], Sequence[Sequence[Any]]]


def _text_body(paragraphs: Sequence[str], table: Table | None) -> str:
    parts = list(paragraphs)
    if table is not None:
        header, rows = table
        cells = [list(header)] + [[show(cell) for cell in row] for row in rows]
        widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
        parts.append("\n".join("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() for row in cells))
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


def _html_body(subject: str, paragraphs: Sequence[str], table: Table | None) -> str:
    body = [f"<p>{html.escape(p)}</p>" for p in paragraphs]
    if table is not None:
        header, rows = table
        cells = "".join(f'<th style="text-align:left;padding:4px 8px">{html.escape(h)}</th>' for h in header)
        lines = [f'<table style="border-collapse:collapse"><tr style="background:#e6f4ef">{cells}</tr>']
        for row in rows:
            tds = "".join(f'<td style="{CELL_STYLE}">{html.escape(show(c))}</td>' for c in row)
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


def _weekly_station_summary(c: Mapping[str, Any]) -> tuple[str, list[str], Table | None]:
    rows = [(t.get("title") or "?", t.get("artist") or "?", t.get("plays", 0)) for t in c.get("top_tracks") or []]
    week = f" ({show(c['week'])})" if c.get("week") else ""
    return (
        f"Weekly summary for {show(c['station'])}{week}",
        [
            f"{show(c['station'])}: {show(c['plays'])} plays recognised this week{week}.",
            f"Monitoring coverage: {show(float(c['coverage']))} of the week.",
            "Most played:" if rows else "No recorded music was recognised this week.",
        ],
        (("Title", "Artist", "Plays"), rows[:TOP_TRACKS_SHOWN]) if rows else None,
    )


Builder = Callable[[Mapping[str, Any]], tuple[str, list[str], "Table | None"]]

#: Template name → (required context keys, builder).
TEMPLATES: dict[str, tuple[tuple[str, ...], Builder]] = {
    "statement_ready": (("cycle", "amount_units", "currency"), _statement_ready),
    "stream_down": (("station", "url", "since", "failures", "last_reason"), _stream_down),
    "job_failing": (("job", "since", "last_error"), _job_failing),
    "weekly_station_summary": (("station", "plays", "coverage"), _weekly_station_summary),
}
