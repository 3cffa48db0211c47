"""The e-mail templates: each turns a context dict into a subject, a plain-text body and an HTML body.

Each message is three Jinja2 files shipped in ``zamio/mail/emails`` (``<name>.subject.txt.j2``,
``<name>.txt.j2`` and ``<name>.html.j2``), the bodies extending one layout each (``mail_layout.txt.j2``,
``mail_layout.html.j2``) and sharing the sentences of ``mail_sentences.txt.j2`` and the tables of
``mail_tables.html.j2``.  A society replaces any of them with a file of the same name in ``TEMPLATES_DIR``
(``zamio.files.templates``), or extends the shipped one (``{% extends "shipped/statement_ready.html.j2" %}``).

Every value taken from the context is escaped in the HTML body (a station named ``<script>`` shows as
text), and the subject is one line of at most 200 characters, so a context value can never add a
header.  No message carries a file's place on the server: an absolute path in a context value (an
error quoted in an alert) is cut to its last name before any template sees it.  A message names the
context keys it needs and those it may be given; a missing needed key raises :class:`TemplateError` at
queueing time, where the caller can still fix it, never at sending time.  A template that names a
value its message is not given, or does not compile, is refused when the templates are loaded
(:func:`load`, at a job's start: exit 78 naming the file); one that fails only while rendering a
message raises :class:`TemplateFailed`, an item error naming the file.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

import jinja2
from jinja2 import nodes

from zamio.files import templates
from zamio.runtime.errors import DataError, ItemError
from zamio.values.money import format_amount

#: Rows of a "top tracks" list shown in a weekly summary.
TOP_TRACKS_SHOWN = 10
#: The folder of the shipped e-mail templates (package data).
SHIPPED = Path(__file__).with_name("emails")
SUBJECT_MAX = 200
PARTS = ("subject.txt", "txt", "html")


class TemplateError(DataError):
    """A template name is unknown or its context lacks a key the template needs."""


class TemplateFailed(ItemError):
    """A template of TEMPLATES_DIR failed while rendering one message: that message is not queued."""

    reason = "template_failed"


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


#: An absolute path on this machine (``/var/lib/zamio/cycles/2026-03``), not part of a URL or a word.
SERVER_PATH = re.compile(r"(?<![\w:/.~])/(?:[^\s/'\"]+/)+[^\s/'\",;:)]+")


def hide_paths(text: str) -> str:
    """Given a sentence, return it with each absolute file path cut to its last name (``…/2026-03``): an e-mail
    leaves the server, its layout does not (an error quoted in an alert names the folder; ``zamio-status``
    on the server gives it whole)."""
    return SERVER_PATH.sub(lambda m: "…/" + m.group(0).rsplit("/", 1)[1], text)


def _hidden(value: object) -> object:
    """A context value with every path in its text cut (in lists and mappings too)."""
    if isinstance(value, str):
        return hide_paths(value)
    if isinstance(value, Mapping):
        return {key: _hidden(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_hidden(item) for item in value]
    return value


def show(value: object) -> str:
    """Given a context value, return it as people read it (times in UTC to the minute)."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:.1%}" if 0 <= value <= 1 else f"{value:g}"
    return str(value)


def one_line(text: str) -> str:
    """Given a subject as rendered, return it on one line of at most 200 characters (no header can follow it)."""
    return " ".join(str(text).split())[:SUBJECT_MAX]


def duration(seconds: float) -> str:
    """Given seconds, return them as people read an outage: ``45 min``, ``3 h 05 min``."""
    minutes = int(seconds + 30) // 60
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


def plural(count: int, word: str) -> str:
    """``1 play``, ``2 plays``."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def money(units: int, currency: str) -> str:
    """Given an amount in units of a currency, return it rounded once to minor units (``GHS 9.98``)."""
    return format_amount(int(units), str(currency))


def text_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Given a header and rows, return them as aligned plain-text columns."""
    cells = [list(header)] + [[show(cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in cells)


GLOBALS: dict[str, object] = {"money": money, "plural": plural, "duration": duration, "text_table": text_table,
                              "top_tracks_shown": TOP_TRACKS_SHOWN}
FILTERS: dict[str, Callable[..., str]] = {"show": show, "duration": duration}


def _statement_ready(c: dict[str, object]) -> dict[str, object]:
    """The statement is linked (``statement_url``), attached (``attached``), or else available from the society
    (``contact``, when one is set): never a file's place on the server."""
    url = str(c.get("statement_url") or "")
    if url and not url.startswith(("https://", "http://")):
        raise TemplateError(f"statement_url must be an http:// or https:// link, not {url!r}")
    return c


def _stream_down(c: dict[str, object]) -> dict[str, object]:
    from zamio.streams import redact_url

    return {**c, "url": redact_url(str(c["url"]))}


@dataclass(frozen=True)
class Message:
    """An e-mail's context: the keys it needs, those it may be given (None when not), and a check of the values
    that gives them as the templates read them."""

    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    prepare: Callable[[dict[str, object]], dict[str, object]] | None = None

    @property
    def names(self) -> tuple[str, ...]:
        return (*self.required, *self.optional)


#: Template name → its context.  Gaps: ``{from, to, seconds, reason}`` (times as the station reads them, in
#: ``timezone``); top tracks: ``{title, artist, plays}``; stations: ``{station, plays}``; top song:
#: ``{title, plays}``; earnings: ``{amount_units, currency}``, one per currency.
TEMPLATES: dict[str, Message] = {
    "statement_ready": Message(("cycle", "amount_units", "currency"),
                               ("recipient_name", "statement_url", "attached", "contact", "balance_only",
                                "carried_units"), _statement_ready),
    "stream_down": Message(("station", "url", "since", "failures", "last_reason"),
                           ("station_ref", "stream_link_id", "priority"), _stream_down),
    "job_failing": Message(("job", "since", "last_error"), ("state",)),
    "weekly_station_summary": Message(("station", "plays", "coverage"),
                                      ("week", "first_day", "last_day", "timezone", "stream", "captures", "gaps",
                                       "gap_count", "gap_seconds", "top_tracks")),
    "weekly_artist_summary": Message(("artist", "week", "plays"),
                                     ("first_day", "last_day", "stations", "top_song", "earnings")),
}


def template_names(message: str) -> list[str]:
    """The file names of a message's subject, text and HTML templates."""
    return [f"{message}.{part}.j2" for part in PARTS]


@dataclass(frozen=True)
class MailTemplates:
    """Every e-mail's templates, compiled: the society's from ``override`` (its TEMPLATES_DIR) where it has a file
    of the same name, else the shipped ones."""

    override: Path | None = None
    compiled: dict[str, tuple[jinja2.Template, ...]] = field(default_factory=dict, repr=False)

    def render(self, template: str, context: Mapping[str, object]) -> Rendered:
        """Given a template name and its context, return the rendered message; raise TemplateError if either is
        wrong, TemplateFailed if a template fails on these values."""
        spec = TEMPLATES.get(template)
        if spec is None:
            raise TemplateError(f"unknown e-mail template {template!r}; use one of: {', '.join(sorted(TEMPLATES))}")
        missing = [key for key in spec.required if context.get(key) in (None, "")]
        if missing:
            raise TemplateError(f"e-mail template {template!r} needs context key(s): {', '.join(missing)}")
        given: dict[str, object] = {**dict.fromkeys(spec.optional), **context}
        values = {key: _hidden(value) for key, value in (spec.prepare(given) if spec.prepare else given).items()}
        subject_template, text_template, html_template = self.compiled[template]
        subject = one_line(hide_paths(_render(subject_template, values)))
        text = _render(text_template, {**values, "subject": subject})
        return Rendered(subject, _paragraphs(text), _render(html_template, {**values, "subject": subject}))


def _render(template: jinja2.Template, values: Mapping[str, object]) -> str:
    try:
        return template.render(values)
    except jinja2.TemplateError as error:
        where = template.filename or template.name
        raise TemplateFailed(f"the e-mail template {where} failed: {error}; correct it in TEMPLATES_DIR, or "
                             f"remove it there to use the shipped {template.name}") from None


def _paragraphs(text: str) -> str:
    """A text body as rendered, its paragraphs one blank line apart (a template's conditional lines leave none)."""
    return re.sub(r"\n[ \t]*\n(?:[ \t]*\n)+", "\n\n", text).strip("\n") + "\n"


def load(override: Path | None = None) -> MailTemplates:
    """Given the society's TEMPLATES_DIR (or None), return every e-mail's templates compiled; raise TemplateProblem
    (exit 78) naming the file of one that does not compile or names a value its message is not given."""
    env = templates.environment(SHIPPED, override)
    env.globals.update(GLOBALS)
    env.filters.update(FILTERS)
    compiled: dict[str, tuple[jinja2.Template, ...]] = {}
    for message, spec in TEMPLATES.items():
        if override is not None:  # the shipped templates' names are checked by the tests, not at every start
            known = {*spec.names, "subject", *env.globals}
            for name in template_names(message):
                _check_names(env, name, known)
        subject, text, html = (templates.load(env, name) for name in template_names(message))
        compiled[message] = (subject, text, html)
    return MailTemplates(override, compiled)


def _check_names(env: jinja2.Environment, name: str, known: set[str]) -> None:
    """Raise TemplateProblem naming the file of template ``name`` if it uses a value that is not in ``known``."""
    assert env.loader is not None
    try:
        source, filename, _ = env.loader.get_source(env, name)
        tree = env.parse(source, name, filename)
    except (jinja2.TemplateNotFound, jinja2.TemplateSyntaxError):
        return  # ``templates.load`` names the file (and the line)
    unknown = sorted(_read_names(tree) - known)
    if unknown:
        raise templates.TemplateProblem(
            f"TEMPLATES_DIR: the template {filename or name} uses {', '.join(unknown)}, which the e-mail is not "
            f"given (it is given: {', '.join(sorted(known - set(env.globals) - {'subject'}))}, subject); correct "
            f"it, or remove it to use the shipped {name}")


#: Names a template may read that no context gives: Jinja2's own.
JINJA_NAMES = frozenset({"loop", "caller", "super", "self", "varargs", "kwargs", "namespace", "range", "dict",
                         "lipsum", "cycler", "joiner", "true", "false", "none", "True", "False", "None"})


def _read_names(tree: nodes.Template) -> set[str]:
    """The names a template reads that it does not set itself (by set, for, import or macro), in any block."""
    read: set[str] = set()
    set_here = set(JINJA_NAMES)
    for node in tree.find_all(nodes.Name):
        (read if node.ctx == "load" else set_here).add(node.name)
    set_here.update(node.target for node in tree.find_all(nodes.Import))
    for imported in tree.find_all(nodes.FromImport):
        set_here.update(name if isinstance(name, str) else name[1] for name in imported.names)
    set_here.update(node.name for node in tree.find_all(nodes.Macro))
    return read - set_here


@lru_cache(maxsize=1)
def shipped() -> MailTemplates:
    """The shipped templates, compiled once."""
    return load(None)


def render(template: str, context: Mapping[str, object], mail_templates: MailTemplates | None = None) -> Rendered:
    """Given a template name and its context, return the rendered message with ``mail_templates`` (None: the shipped
    ones); raise TemplateError if either is wrong."""
    return (mail_templates or shipped()).render(template, context)
