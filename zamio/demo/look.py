"""The demo's statement as its reader sees it: opened in headless Chromium, photographed, and read back.

The page is opened as written, in a frame one A4 page wide and high on a screen (794 × 1123 CSS px at
96 dpi).  A script of the frame's page waits for the layout, then writes as JSON into ``<pre id="seen">``
what a reader meets first (where the letterhead, the recipient, the period, the summary and the net
payable end; how many words stand above the summary's end) and every figure of every table; ``--dump-dom``
prints that page after the script ran.  ``--screenshot`` keeps the first screen as a PNG.

**Read in a minute**: the first screen holds the letterhead, the recipient, the period, the whole
summary and the net payable, and the page from its top to the summary's end (who pays whom, for which
period, how much and why) holds at most ``MINUTE_OF_READING`` words.

**Every number equals the ledger**: the net payable is the recipient's balance of the cycle
(``payout_balances``); the works total is its gross, the sum of its ledger lines of the cycle's plays;
each work shows the plays its lines pay and their amount, shared out with the others to less than a
minor unit from the exact sum;
the detail's total is the net, those lines and the cycle's deductions from them; and every table adds
up on the page: the summary's lines to each subtotal and to the net payable, the stations to their
work, the works and the detail's lines to their totals.  The ledger is read here in plain SQL, apart
from the statement's own queries, and rounded to the currency's minor units half to even, once.

Chromium is Debian's ``chromium``.  Without it the look is skipped and said so, except where
``ZAMIO_REQUIRE_CHROMIUM=1`` (CI): there it fails.
"""

from __future__ import annotations

import html
import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import TypedDict

from sqlalchemy import Connection, text

from zamio.values.money import AMOUNT_SCALE, currency_exponent

SCREEN_WIDTH, SCREEN_HEIGHT = 794, 1123  # one A4 page on a screen, CSS px at 96 dpi
MINUTE_OF_READING = 200  # words a reader takes in in a minute, figures and labels alike
MINUS = "\u2212"
UNTITLED = "Recording without a title"  # the statement's words for a work without a title
FIRST_SCREEN = {"letterhead": ".society-name", "recipient": "#payee", "period": "#period", "summary": "#summary",
                "net payable": "#net"}

FRAME = """<!DOCTYPE html>
<html><head><meta charset="utf-8"></head><body style="margin:0">
<iframe id="page" src="{src}" width="{width}" height="{height}" style="border:0;display:block"></iframe>
<pre id="seen"></pre>
<script>
document.getElementById("page").addEventListener("load", function () {{
  var doc = this.contentDocument, height = {height};
  function cells(selector) {{
    return Array.prototype.map.call(doc.querySelectorAll(selector), function (e) {{ return e.textContent.trim(); }});
  }}
  function one(selector) {{ var e = doc.querySelector(selector); return e ? e.textContent.trim() : null; }}
  var ends = {{}}, first = {first};
  Object.keys(first).forEach(function (name) {{
    var e = doc.querySelector(first[name]);
    ends[name] = e ? e.getBoundingClientRect().bottom : null;
  }});
  var read = ends["summary"] === null ? height : Math.min(ends["summary"], height);
  var words = 0, walker = doc.createTreeWalker(doc.body, NodeFilter.SHOW_TEXT), node, range = doc.createRange();
  while ((node = walker.nextNode())) {{
    range.selectNodeContents(node);
    var box = range.getBoundingClientRect();
    if (box.height > 0 && box.top < read) words += node.textContent.split(/\\s+/).filter(Boolean).length;
  }}
  var summary = Array.prototype.map.call(doc.querySelectorAll("#summary tbody tr"), function (row) {{
    return [row.className, row.querySelector("th").textContent.trim(), row.querySelector("td").textContent.trim()];
  }});
  var works = Array.prototype.map.call(doc.querySelectorAll("#works tbody.work"), function (work) {{
    function amount(row) {{ var n = row.querySelectorAll("td.n"); return n[n.length - 1].textContent.trim(); }}
    var head = work.querySelector(".work-row"), sub = head.querySelector(".sub");
    return [head.querySelector("th").firstChild.textContent.trim(),
            sub ? sub.textContent.split(" \u00b7 ")[0].trim() : "",
            head.querySelectorAll("td.n")[0].textContent.trim(), amount(head),
            Array.prototype.map.call(work.querySelectorAll(".station-row"), amount)];
  }});
  var detail = Array.prototype.map.call(doc.querySelectorAll("#detail tbody tr"), function (row) {{
    var n = row.querySelectorAll("td.n"); return n[n.length - 1].textContent.trim();
  }});
  document.getElementById("seen").textContent = JSON.stringify({{
    ends: ends, words: words, summary: summary, works: works, detail: detail, net: one("#net"),
    works_total: one("#works-total"), detail_total: one("#detail-total"), payee: one("#payee")
  }});
}});
</script></body></html>
"""


Work = tuple[str, str]  # (title, artist) as the statement names a work


@dataclass(frozen=True)
class Ledger:
    """A recipient's figures of a cycle from the ledger and its balance, in units."""

    gross: int  # its lines of the cycle's plays (and a pool cycle's licence fees)
    net: int  # those and the cycle's deductions from them
    net_payable: int | None  # its balance at the lock; None when it has none
    works: dict[Work, tuple[int, int]] = field(default_factory=dict)  # plays and units of each work


@dataclass
class Look:
    """What the browser showed, and every way it fell short (``problems`` empty: read in a minute, equal to the
    ledger); ``skipped`` says why there was no browser to look."""

    page: Path
    words: int = 0
    screenshot: Path | None = None
    problems: list[str] = field(default_factory=list)
    skipped: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems and self.skipped is None

    def lines(self) -> list[str]:
        if self.skipped is not None:
            return [f"  not looked at: {self.skipped}"]
        head = (f"  first screen ({SCREEN_WIDTH} × {SCREEN_HEIGHT} px, one A4 page): letterhead, recipient, period, "
                f"summary and net payable in {self.words} words; screenshot {self.screenshot}")
        if not self.problems:
            return [head, "  every figure on the page equals the ledger and every table adds up: exact"]
        return [head, *(f"  MISMATCH: {problem}" for problem in self.problems)]


def ledger_figures(conn: Connection, cycle: str, recipient_type: str, recipient_ref: str, currency: str) -> Ledger:
    """Given a cycle's name and a recipient, return its gross, net and net payable from the ledger and the
    balances, in units."""
    found = conn.execute(text("SELECT id, method FROM royalty_cycles WHERE name = :name"), {"name": cycle}).first()
    if found is None:
        raise ValueError(f"no cycle {cycle}")
    cycle_id, method = found
    mine = {"cycle": cycle_id, "type": recipient_type, "ref": recipient_ref, "currency": currency}
    of_recipient = "l.recipient_type = :type AND l.recipient_ref = :ref AND l.currency = :currency"
    deduction = "l.kind IN ('domestic_commission', 'withholding_tax')"
    # A per-second cycle pays the lines of the pricings it was given; any cycle pays the lines it wrote itself
    # (a pool cycle's licence fees, the deductions).
    of_plays = ("SELECT coalesce(sum(l.amount), 0) FROM royalty_ledger l JOIN cycle_pricings c "
                "ON c.play_id = l.play_id AND c.version = l.version "
                f"WHERE c.cycle_id = :cycle AND l.cycle_id IS NULL AND {of_recipient}")
    written = f"SELECT coalesce(sum(l.amount), 0) FROM royalty_ledger l WHERE l.cycle_id = :cycle AND {of_recipient}"
    priced = int(conn.execute(text(of_plays), mine).scalar_one()) if method != "pool" else 0
    fees = int(conn.execute(text(f"{written} AND NOT {deduction}"), mine).scalar_one())
    deducted = int(conn.execute(text(f"{written} AND {deduction}"), mine).scalar_one())
    payable = conn.execute(text("SELECT net_payable FROM payout_balances WHERE cycle_id = :cycle AND "
                                "recipient_type = :type AND recipient_ref = :ref AND currency = :currency"),
                           mine).scalar()
    return Ledger(priced + fees, priced + fees + deducted, None if payable is None else int(payable),
                  works_of(conn, mine, method))


def works_of(conn: Connection, mine: dict[str, object], method: str) -> dict[Work, tuple[int, int]]:
    """Given a recipient of a cycle (``ledger_figures``' parameters), return the plays and units of each work its
    lines of plays pay: a play taken back counts −1, as on the statement."""
    paid = "l.cycle_id = :cycle"
    if method != "pool":
        paid += (" OR (l.cycle_id IS NULL AND EXISTS (SELECT 1 FROM cycle_pricings c WHERE c.cycle_id = :cycle "
                 "AND c.play_id = l.play_id AND c.version = l.version))")
    rows = conn.execute(text(
        "SELECT coalesce(t.title, p.title), coalesce(a.name, p.artist), "
        "sum(CASE WHEN l.kind = 'reversal' THEN -1 ELSE 1 END), sum(l.amount) "
        "FROM royalty_ledger l JOIN play_logs p ON p.id = l.play_id LEFT JOIN tracks t ON t.id = p.track_id "
        "LEFT JOIN artists a ON a.id = t.artist_id "
        f"WHERE ({paid}) AND l.recipient_type = :type AND l.recipient_ref = :ref AND l.currency = :currency "
        "AND l.kind NOT IN ('domestic_commission', 'withholding_tax') "
        "GROUP BY coalesce(t.title, p.title), coalesce(a.name, p.artist)"), mine)
    return {(title or UNTITLED, artist or ""): (int(plays), int(units)) for title, artist, plays, units in rows}


def shown(units: int, currency: str) -> Decimal:
    """Units as a page shows them: in the currency's minor units, rounded half to even once."""
    step = Decimal(1).scaleb(-currency_exponent(currency))
    return (Decimal(units).scaleb(-AMOUNT_SCALE)).quantize(step, rounding=ROUND_HALF_EVEN)


def amount(cell: str | None) -> Decimal:
    """A figure as the page prints it ("1,234.57", "−0.75") as a Decimal."""
    if not cell:
        raise ValueError("an amount cell is empty")
    return Decimal(cell.replace(",", "").replace(MINUS, "-"))


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def browse(binary: str, frame: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [binary, "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run", "--hide-scrollbars",
               "--allow-file-access-from-files", f"--user-data-dir={frame.parent.resolve() / 'profile'}",
               f"--window-size={SCREEN_WIDTH},{SCREEN_HEIGHT}", *args, frame.resolve().as_uri()]
    return subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)


def look(page: Path, ledger: Ledger, currency: str, folder: Path, screenshot: bool = True) -> Look:
    """Given a statement page, its recipient's ledger figures and a folder to work in, open the page in headless
    Chromium, keep its first screen as ``<folder>/<page>.png`` (``screenshot``) and return what it showed."""
    seen = Look(page)
    binary = chromium()
    if binary is None:
        missing = "no chromium on PATH (apt-get install chromium)"
        if os.environ.get("ZAMIO_REQUIRE_CHROMIUM") == "1":
            seen.problems.append(f"{missing}, and ZAMIO_REQUIRE_CHROMIUM=1 requires it")
        else:
            seen.skipped = missing
        return seen
    folder.mkdir(parents=True, exist_ok=True)
    frame = folder / f"frame-{page.stem}.html"
    frame.write_text(FRAME.format(src=page.resolve().as_uri(), width=SCREEN_WIDTH, height=SCREEN_HEIGHT,
                                  first=json.dumps(FIRST_SCREEN)), encoding="utf-8")
    result = browse(binary, frame, "--dump-dom")
    start = result.stdout.find('<pre id="seen">')
    end = result.stdout.find("</pre>", start)
    if result.returncode != 0 or start < 0 or end <= start + len('<pre id="seen">'):
        seen.problems.append(f"chromium did not lay the page out (exit {result.returncode}): "
                             f"{result.stderr.strip()[-300:]}")
        return seen
    figures: PageFigures = json.loads(html.unescape(result.stdout[start + len('<pre id="seen">'):end]))
    seen.words = int(figures["words"])
    seen.problems += first_screen_problems(figures) + ledger_problems(figures, ledger, currency)
    if screenshot:
        shot = folder / f"{page.stem}.png"
        taken = browse(binary, frame, f"--screenshot={shot}")
        if taken.returncode != 0 or not shot.is_file() or shot.read_bytes()[:8] != b"\x89PNG\r\n\x1a\n":
            seen.problems.append(f"chromium took no screenshot (exit {taken.returncode})")
        else:
            seen.screenshot = shot
    return seen


class PageFigures(TypedDict):
    """What the frame's script reads off the page: figures as printed, the summary's rows as (kind, label,
    amount), each work as (title, artist, plays, amount, its stations' amounts), and where each part ends."""

    words: int
    ends: dict[str, float | None]
    net: str | None
    works_total: str | None
    detail_total: str | None
    summary: list[tuple[str, str, str]]
    works: list[tuple[str, str, str, str, list[str]]]
    detail: list[str]


def first_screen_problems(figures: PageFigures) -> list[str]:
    """What a reader would not find on the first screen, or too many words to read in a minute."""
    problems = [f"the {name} is {'missing' if end is None else f'below the first screen (ends at {end:.0f} px)'}"
                for name, end in figures["ends"].items() if end is None or end > SCREEN_HEIGHT]
    if figures["words"] > MINUTE_OF_READING:
        problems.append(f"the page holds {figures['words']} words down to its summary's end, more than a "
                        f"minute's {MINUTE_OF_READING}")
    return problems


def ledger_problems(figures: PageFigures, ledger: Ledger, currency: str) -> list[str]:
    """Every figure of the page that differs from the ledger, and every table that does not add up."""
    problems = []
    expected = {"net payable": (figures["net"], ledger.net_payable), "works total": (figures["works_total"],
                                                                                      ledger.gross),
                "detail total": (figures["detail_total"], ledger.net)}
    for name, (cell, units) in expected.items():
        if units is None:
            problems.append(f"the ledger has no {name} for this statement")
        elif cell is None and units == 0 and name != "net payable" and not figures["works"]:
            continue  # a statement of a balance alone: no plays, so no works and no detail
        elif cell is None or amount(cell) != shown(units, currency):
            problems.append(f"the {name} shows {cell}, the ledger {shown(units, currency)}")
    running = Decimal(0)
    for kind, label, cell in figures["summary"]:
        if kind == "line":
            running += amount(cell)
        elif amount(cell) != running:
            problems.append(f"the summary's lines add up to {running}, not to its {label!r} {cell}")
    step = Decimal(1).scaleb(-currency_exponent(currency))
    for title, artist, plays, work, _ in figures["works"]:
        found = ledger.works.get((title, artist))
        if found is None:
            problems.append(f"the work {title!r} ({artist}) is paid by no line of the ledger")
        elif int(plays) != found[0] or abs(amount(work) - Decimal(found[1]).scaleb(-AMOUNT_SCALE)) >= step:
            problems.append(f"the work {title!r} shows {plays} plays and {work}, the ledger {found[0]} plays and "
                            f"{Decimal(found[1]).scaleb(-AMOUNT_SCALE)}")
    missing = set(ledger.works) - {(title, artist) for title, artist, *_ in figures["works"]}
    problems += [f"the work {title!r} ({artist}) of the ledger is not on the page" for title, artist in sorted(missing)]
    works = [(amount(work), [amount(s) for s in stations]) for _, _, _, work, stations in figures["works"]]
    for number, (work_amount, station_amounts) in enumerate(works, start=1):
        if station_amounts and sum(station_amounts) != work_amount:
            problems.append(f"the stations of work {number} add up to {sum(station_amounts)}, not to its "
                            f"{work_amount}")
    if figures["works_total"] is not None and sum(w for w, _ in works) != amount(figures["works_total"]):
        problems.append(f"the works add up to {sum(w for w, _ in works)}, not to their total {figures['works_total']}")
    if figures["detail_total"] is not None and sum(map(amount, figures["detail"])) != amount(figures["detail_total"]):
        problems.append(f"the detail's lines add up to {sum(map(amount, figures['detail']))}, "
                        f"not to its total {figures['detail_total']}")
    return problems
