"""How a statement looks: an HTML page from a template, and its CSV files (no database here).

The third step of writing a cycle's statements: a shaped ``Statement``
(``zamio.royalties.statements.shape``) becomes

* its **page**: the template ``statement.html.j2`` (shipped in ``templates/``, replaced by a file of
  the same name in ``TEMPLATES_DIR``) given the statement as ready-made text: letterhead,
  recipient, period, summary, earnings by work and station, and the detail rows, which are
  formatted here (a statement can have a million of them) and handed to the template whole;
* its **detail CSV** (``LINE_COLUMNS``): one row per ledger line, the amount as the page shows it;
* its **summary CSV** (``SUMMARY_COLUMNS``): the summary's lines (section ``summary``, a subtotal
  ``subtotal``), the total, and the earnings by work and station, the same numbers as the page.

Text cells are written by ``zamio.files.csvwrite`` (quoted, a formula-like title or name
neutralised) and escaped for HTML (the template escapes what it prints); amounts are in the
currency's minor units as the shape step shares them out, numbers in the CSV files
(``-12.35``) and written with thousands separators on the page; UTC times are
``YYYY-MM-DD HH:MM:SS``, as are the station-local ones.  Each distinct text (a station, a title)
is escaped and quoted once per process.
"""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, TypedDict

from markupsafe import Markup

from zamio.files import csvwrite, templates
from zamio.files.csvwrite import Number
from zamio.royalties.statements.shape import Statement
from zamio.values.money import currency_exponent, minor_units

if TYPE_CHECKING:
    import jinja2

    from zamio.royalties.statements.select import StatementCycle

TEMPLATES = Path(__file__).with_name("templates")
PAGE_TEMPLATE = "statement.html.j2"
LINE_COLUMNS = ["entry_id", "play_id", "station", "played_at_utc", "title", "artist", "isrc", "seconds",
                "kind", "share_percent", "amount", "adjustment", "reason", "played_at_local", "note"]
SUMMARY_COLUMNS = ["section", "label", "title", "artist", "isrc", "station", "plays", "minutes", "amount"]
MINUS = "\u2212"
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
TYPE_LABELS = {"contributor": "Writer, composer or other contributor", "artist": "Performing artist",
               "publisher": "Publisher", "society": "Partner society",
               "local_society": "Administration fees of the society", "suspense": "Suspense account",
               "ineligible": "Plays not paid", "non_distributable": "Non-distributable account",
               "domestic_commission": "Domestic commission of the society",
               "tax_authority": "Tax authority: withholding tax"}
METHODS = {"per_second": "each play paid by the second, at the tariff in force for its station and time of day",
           "pool": "each station's licence fee shared among its plays by seconds weighted by time of day"}


@dataclass(frozen=True)
class Letterhead:
    """The society at the head of every statement: its name, address lines and logo (a ``data:`` URI or None)."""

    name: str
    address: tuple[str, ...] = ()
    logo: str | None = None


def logo_uri(image: bytes, media_type: str) -> str:
    """Given a logo's bytes and media type, return it as a ``data:`` URI (the page then stands alone)."""
    return f"data:{media_type};base64,{base64.b64encode(image).decode('ascii')}"


class PresentationJson(TypedDict):
    """A ``Presentation`` as JSON, handed to the statement writers' processes."""

    name: str | None
    address: list[str]
    logo: str | None
    templates_dir: str | None


@dataclass(frozen=True)
class Presentation:
    """How statements look: the letterhead (its name None: the local society's name in the catalog) and the
    society's own templates folder (None: the shipped templates)."""

    name: str | None = None
    address: tuple[str, ...] = ()
    logo: str | None = None
    templates_dir: Path | None = None

    def as_json(self) -> PresentationJson:
        return {"name": self.name, "address": list(self.address), "logo": self.logo,
                "templates_dir": str(self.templates_dir) if self.templates_dir else None}

    @classmethod
    def of_json(cls, told: PresentationJson) -> Presentation:
        folder = told.get("templates_dir")
        return cls(told.get("name"), tuple(told.get("address") or ()), told.get("logo"),
                   Path(folder) if folder else None)

    def page_template(self) -> jinja2.Template:
        """The statement page's template, compiled: the society's if it has one (raise TemplateProblem if it is
        broken, before anything is written)."""
        return templates.load(templates.environment(TEMPLATES, self.templates_dir), PAGE_TEMPLATE)


SHIPPED = Presentation()  # the shipped templates, the local society's name, no address nor logo


# --- numbers as shown ------------------------------------------------------------------------------

def decimal_text(units: int, currency: str) -> Number:
    """Given units and a currency, return the amount in minor units as a plain decimal ("-12.35")."""
    return minor_text(minor_units(units, currency), currency)


def minor_text(minor: int, currency: str) -> Number:
    """Given an amount in a currency's minor units, return it as a plain decimal ("-12.35")."""
    exponent = currency_exponent(currency)
    if exponent == 0:
        return Number(minor)
    whole, fraction = divmod(abs(minor), 10**exponent)
    return Number(f"{'-' if minor < 0 else ''}{whole}.{fraction:0{exponent}d}")


def shown_amount(minor: int, currency: str) -> str:
    """Given an amount in minor units, return it as a page shows it ("1,234.57", "−0.75")."""
    exponent = currency_exponent(currency)
    whole, fraction = divmod(abs(minor), 10**exponent)
    text = f"{whole:,}" + (f".{fraction:0{exponent}d}" if exponent else "")
    return MINUS + text if minor < 0 else text


def seconds_text(seconds: float) -> Number:
    """Given played seconds, return them with three places ("120.000"; a reversal's "-120.000")."""
    return Number(f"{seconds:.3f}")


def minutes_text(tenths: int) -> Number:
    """Given tenths of a minute, return minutes with one place ("12.5")."""
    whole, tenth = divmod(abs(tenths), 10)
    return Number(f"{'-' if tenths < 0 else ''}{whole}.{tenth}")


def trimmed(number: str) -> str:
    """A decimal without trailing zeros ("120.000" → "120", "33.333300" → "33.3333")."""
    return number.rstrip("0").rstrip(".") if "." in number else number


def day_text(day: date) -> str:
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def period_text(first: date, last: date) -> str:
    """Given a period, return it in words ("1 to 31 March 2026", "1 March to 30 June 2026")."""
    if (first.year, first.month) == (last.year, last.month):
        return f"{first.day} to {day_text(last)}" if first != last else day_text(last)
    if first.year == last.year:
        return f"{first.day} {MONTHS[first.month - 1]} to {day_text(last)}"
    return f"{day_text(first)} to {day_text(last)}"


# --- the files -------------------------------------------------------------------------------------

class _Cells(dict[str, tuple[str, str]]):
    """A text's CSV cell (as ``csvwrite`` writes it) and HTML text, remembered per distinct text."""

    def __init__(self) -> None:
        super().__init__()
        self.lines = csvwrite.Lines()

    def __missing__(self, text: str) -> tuple[str, str]:
        cells = self[text] = (self.lines.cell(text), html.escape(text))
        return cells


class _Numbers(dict[str, tuple[str, str]]):
    """A number's CSV cell and HTML text, remembered per distinct text (a share, seconds)."""

    def __init__(self) -> None:
        super().__init__()
        self.lines = csvwrite.Lines()

    def __missing__(self, text: str) -> tuple[str, str]:
        cells = self[text] = (self.lines.cell(Number(text)), html.escape(trimmed(text)))
        return cells


class _Amounts(dict[int, tuple[Number, str]]):
    """An amount in minor units of one currency as the CSV files write it and as a page shows it, remembered per
    amount (most amounts of a cycle recur: a play's price, zero)."""

    def __init__(self, currency: str) -> None:
        super().__init__()
        self.currency = currency

    def __missing__(self, minor: int) -> tuple[Number, str]:
        texts = self[minor] = (minor_text(minor, self.currency), shown_amount(minor, self.currency))
        return texts


class _Minutes(dict[int, Number]):
    """Tenths of a minute as minutes with one place, remembered per value."""

    def __missing__(self, tenths: int) -> Number:
        text = self[tenths] = minutes_text(tenths)
        return text


class CycleFacts(NamedTuple):
    """The cycle as the page shows it (``cycle``)."""

    name: str
    period: str
    first: str
    last: str
    method: str


class RecipientFacts(NamedTuple):
    """Who the page is for (``recipient``)."""

    name: str
    type: str
    type_label: str
    ref: str
    identifiers: list[tuple[str, str]]


class SummaryRow(NamedTuple):
    """A line of the page's summary (``summary``), or its total (``total``: not a subtotal)."""

    label: str
    amount: str
    subtotal: bool = False


class StationRow(NamedTuple):
    """A station within a work of the page (``work.stations``)."""

    station: str
    plays: int
    minutes: str
    amount: str


class WorkRow(NamedTuple):
    """A work of the page (``works``)."""

    title: str
    artist: str
    isrc: str
    plays: int
    minutes: str
    amount: str
    stations: list[StationRow]


class TotalRow(NamedTuple):
    """The works' total (``works_total``)."""

    plays: int
    minutes: str
    amount: str


LINE_HEADER = csvwrite.text(LINE_COLUMNS, [])
SUMMARY_HEADER = csvwrite.text(SUMMARY_COLUMNS, [])


class Formatter:
    """Formats the statements of one cycle (one per process): its texts are quoted and escaped once, its amounts
    and minutes formatted once.

    The page's values are tuples with named fields (``work.title``, as a template reads them), which the template
    reads without the lookups a dictionary costs: a statement can list thousands of works and stations.
    """

    def __init__(self, cycle: StatementCycle, letterhead: Letterhead, template: jinja2.Template) -> None:
        self.cycle, self.letterhead, self.template = cycle, letterhead, template
        self.texts, self.numbers, self.minutes = _Cells(), _Numbers(), _Minutes()
        self.amounts: dict[str, _Amounts] = {}
        self.facts = CycleFacts(cycle.name, period_text(cycle.period_from, cycle.period_to),
                                cycle.period_from.isoformat(), cycle.period_to.isoformat(),
                                METHODS.get(cycle.method, cycle.method))

    def _amounts(self, currency: str) -> _Amounts:
        found = self.amounts.get(currency)
        if found is None:
            found = self.amounts[currency] = _Amounts(currency)
        return found

    def detail(self, statement: Statement) -> tuple[str, str]:
        """Given a statement, return its detail CSV file and its detail rows in HTML."""
        texts, numbers = self.texts, self.numbers
        amounts = self._amounts(statement.recipient.currency)
        csv_lines, rows = [LINE_HEADER], []
        for line, minor, note in zip(statement.lines, statement.minor, statement.notes):
            st_csv, st_html = texts[line.station]
            ti_csv, ti_html = texts[line.title]
            ar_csv, ar_html = texts[line.artist]
            is_csv, is_html = texts[line.isrc]
            ki_csv, _ = texts[line.kind]
            re_csv, _ = texts[line.reason]
            no_csv, no_html = texts[note]
            sh_csv, sh_html = numbers[line.share]
            se_csv, se_html = numbers[f"{line.seconds:.3f}"]
            money, shown = amounts[minor]
            play = str(line.play) if line.play else ""
            adjusted = "adjustment" if line.adjustment else ""
            csv_lines.append(f"{line.entry},{play},{st_csv},{line.played_utc},{ti_csv},{ar_csv},{is_csv},{se_csv},"
                             f"{ki_csv},{sh_csv},{money},{adjusted},{re_csv},{line.played_local},{no_csv}\n")
            marked = ' class="adj"' if adjusted else ""
            rows.append(f'<tr{marked}><td class="t">{line.played_local}</td>'
                        f'<td class="t">{line.played_utc}</td><td>{st_html}</td><td>{ti_html}'
                        f'<span class="sub">{ar_html}{" · " + is_html if is_html else ""}</span></td>'
                        f'<td class="n">{se_html}</td><td class="n">{sh_html + " %" if sh_html else ""}</td>'
                        f'<td class="n">{shown}</td><td class="why">{no_html}</td></tr>\n')
        return "".join(csv_lines), "".join(rows)

    def summary_csv(self, statement: Statement) -> str:
        """Given a statement, return its summary CSV: the summary, the total and the earnings by work and
        station, as the page shows them (each row the cells ``csvwrite`` writes, from remembered cells)."""
        texts, minutes = self.texts, self.minutes
        amounts = self._amounts(statement.recipient.currency)
        out = [SUMMARY_HEADER]
        out += [f"{'subtotal' if line.subtotal else 'summary'},{texts[line.label][0]},,,,,,,{amounts[line.minor][0]}\n"
                for line in statement.summary]
        out.append(f"total,{texts[statement.total.label][0]},,,,,,,{amounts[statement.total.minor][0]}\n")
        for work in statement.works:
            named = f"{texts[work.title][0]},{texts[work.artist][0]},{texts[work.isrc][0]}"
            out.append(f"work,,{named},,{work.plays},{minutes[work.tenths]},{amounts[work.minor][0]}\n")
            out += [f"station,,{named},{texts[s.station][0]},{s.plays},{minutes[s.tenths]},{amounts[s.minor][0]}\n"
                    for s in work.stations.values()]
        every = statement.all_works
        out.append(f"works_total,,,,,,{every.plays},{minutes[every.tenths]},{amounts[every.minor][0]}\n")
        return "".join(out)

    def page(self, statement: Statement, detail_rows: str) -> str:
        """Given a statement and its detail rows, return its HTML page from the template."""
        recipient = statement.recipient
        currency = recipient.currency
        amounts, minutes = self._amounts(currency), self.minutes
        works = [WorkRow(w.title, w.artist, w.isrc, w.plays, minutes[w.tenths], amounts[w.minor][1],
                         [StationRow(s.station, s.plays, minutes[s.tenths], amounts[s.minor][1])
                          for s in w.stations.values()])
                 for w in statement.works]
        every = statement.all_works
        return templates.render(
            self.template,
            letterhead=self.letterhead,
            title=f"Royalty statement {self.cycle.name}",
            cycle=self.facts,
            recipient=RecipientFacts(recipient.name or recipient.ref, recipient.type,
                                     TYPE_LABELS.get(recipient.type, recipient.type), recipient.ref,
                                     list(recipient.identifiers)),
            currency=currency,
            summary=[SummaryRow(line.label, amounts[line.minor][1], line.subtotal) for line in statement.summary],
            total=SummaryRow(statement.total.label, amounts[statement.total.minor][1]),
            works=works,
            works_total=TotalRow(every.plays, minutes[every.tenths], amounts[every.minor][1]),
            detail_rows=Markup(detail_rows),  # noqa: S704 (every cell escaped in ``detail``)
            detail_count=len(statement.lines),
            detail_total=amounts[sum(statement.minor)][1],
        )
