"""The statement a recipient reads: its figures by hand, its page in a browser and on A4, a society's own template.

The world is made by the real scripts (tests/world.py): Ama Ghana (IPI 00014107338) and Yaw Tetteh
share Odo half and half.  Joy FM (class B, Accra, UTC+0) and Diaspora Radio (class B, New York,
UTC-4 in April) play it.  Class B pays GHS 0.012 a second, × 1.3 in prime time (06-10 h station
time), × 1.0 regular (10-16 h).  Amounts are units of GHS 0.0001.

March: Odo on Joy FM 03-02, 03-03 and 03-04 at 12:00, 101 s each, regular: 0.012 × 101 = 1.212 →
12,120 units a play, 6,060 each to Ama and Yaw.

Between the March and April closes: the 03-03 play is reported again at 51 s (a corrected report:
the 101 s line is taken back, reason ``superseded``, and 0.012 × 51 = 0.612 → 6,120, 3,060 each,
paid); a late play of 03-20 12:00, 101 s, arrives (6,060 each).  April: Joy FM 04-02 12:00, 101 s
(6,060 each); Diaspora Radio 04-10 12:00 UTC = 08:00 in New York, prime: 0.012 × 1.3 × 100 = 1.56 →
15,600, 7,800 each.
"""

from __future__ import annotations

import csv
import html
import io
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from tests.e2e.test_report_layout import chromium
from tests.support import Project, migrated_sqlite_url
from tests.world import World

AMA = "contributor-00014107338.GHS"
CARRIED = "Carried forward to the next cycle"
FRACTION = "the part below GHS 0.01, paid once it makes a whole GHS 0.01"
ADDRESS = "12 Liberation Road; Airport Residential Area; Accra, Ghana"


def png(width: int, height: int) -> bytes:
    """A PNG of a dark band on white (a logo for the letterhead)."""
    rows = b"".join(b"\x00" + b"".join(b"\x1d\x3a\x5c" if 8 <= y < height - 8 else b"\xff\xff\xff"
                                       for _ in range(width)) for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def letterhead(project: Project, **more: str) -> None:
    """The society's name, address and logo in the scripts' settings file."""
    logo = project.tmp_path / "logo.png"
    logo.write_bytes(png(96, 40))
    settings = {"SOCIETY_NAME": "Ghana Music Rights Organisation", "SOCIETY_ADDRESS": ADDRESS,
                "SOCIETY_LOGO_FILE": str(logo), **more}
    project.var_dir.mkdir(parents=True, exist_ok=True)
    (project.var_dir / "test.env").write_text("".join(f"{k}={v}\n" for k, v in settings.items()))


def odo_world(project: Project) -> World:
    """The world of the module's docstring, March and April closed."""
    world = World(project)
    joy = world.station("JOY", "class_b", "Africa/Accra", name="Joy FM")
    diaspora = world.station("DIA", "class_b", "America/New_York", name="Diaspora Radio")
    odo = world.track("T-ODO", "Odo", "Ama Ghana")
    world.contributor(odo, "Ama Ghana", "50", ipi="00014107338")
    world.contributor(odo, "Yaw Tetteh", "50")
    world.play(joy, "2026-03-02 12:00", 101, track=odo)
    corrected = world.play(joy, "2026-03-03 12:00", 101, track=odo)
    world.play(joy, "2026-03-04 12:00", 101, track=odo)
    world.close_cycle("2026-03")
    world.correct(corrected, seconds=51)
    world.play(joy, "2026-03-20 12:00", 101, track=odo)
    world.play(joy, "2026-04-02 12:00", 101, track=odo)
    world.play(diaspora, "2026-04-10 12:00", 100, track=odo)
    world.close_cycle("2026-04")
    return world


def rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def texts(page: str, pattern: str) -> list[str]:
    """The text of each element the pattern's group holds, tags dropped and entities read."""
    return [html.unescape(re.sub(r"<[^>]+>", "", found)).strip() for found in re.findall(pattern, page, re.S)]


def summary_of(page: str) -> list[tuple[str, str]]:
    return list(zip(texts(page, r'<tr class="line"><th scope="row">(.*?)</th>'),
                    texts(page, r'<tr class="line"><th scope="row">.*?</th><td class="n">(.*?)</td>')))


def test_march_prints_lines_that_add_up_where_rounding_each_would_not(project: Project) -> None:
    letterhead(project)
    world = odo_world(project)
    statements = world.cycle_folder("2026-03") / "statements"
    # Three lines of 6,060 units: 0.6060 each, 0.61 rounded alone (1.83 for three), but the net, 18,180 units,
    # is 1.82 (statements.csv prints it so): the two pesewas above the floors (0.60 each) go to the first two.
    assert "contributor,00014107338,Ama Ghana,GHS,3,303.000,1.82,0.00,1.82" in (
        world.cycle_folder("2026-03") / "statements.csv").read_text()
    detail = rows(statements / f"{AMA}.csv")
    assert [r["amount"] for r in detail] == ["0.61", "0.61", "0.60"]
    assert [r["played_at_local"] for r in detail] == ["2026-03-02 12:00:00", "2026-03-03 12:00:00",
                                                      "2026-03-04 12:00:00"]
    page = (statements / f"{AMA}.html").read_text()
    # The net payable is whole pesewas: 18,100 paid, the 80 units below a pesewa carried forward.  Between the
    # net (1.82) and the net payable (1.81) the carry of -80 units shows -0.01.
    assert summary_of(page) == [("Royalties for plays of the period", "1.82"), (f"{CARRIED} \u2014 {FRACTION}",
                                                                                "\u22120.01")]
    assert texts(page, r'id="net">(.*?)<') == ["1.81"] and texts(page, r'id="detail-total">(.*?)<') == ["1.82"]
    assert "IPI name number" in page and "00014107338" in page and "1 to 31 March 2026" in page


def test_april_explains_each_adjustment_and_every_table_adds_up_to_the_ledger(project: Project) -> None:
    letterhead(project)
    world = odo_world(project)
    out = world.cycle_folder("2026-04")
    # Ama's April: 7,800 + 6,060 (April) - 6,060 (taken back) + 3,060 (its corrected report) + 6,060 (late)
    # = 16,920 units = 169.2 pesewas → 1.69; plays 1 + 1 - 1 + 1 + 1 = 3; seconds 100 + 101 - 101 + 51 + 101 = 252.
    assert "contributor,00014107338,Ama Ghana,GHS,3,252.000,1.69,0.00,1.69" in (out / "statements.csv").read_text()
    assert project.scalar("SELECT sum(l.amount) FROM royalty_ledger l JOIN cycle_pricings c ON c.play_id = l.play_id "
                          "AND c.version = l.version WHERE c.cycle_id = 2 "
                          "AND l.recipient_ref = '00014107338'") == 16_920
    page = (out / "statements" / f"{AMA}.html").read_text()
    # Summary: the period 7,800 + 6,060 = 13,860; taken back -6,060; after their period 3,060 + 6,060 = 9,120.
    # Floors 138 (remainder 60), -61 (40), 91 (20) = 168: the pesewa left goes to the period: 1.39.
    # Then March's 80 units carried forward are brought forward: 16,920 + 80 = 17,000, a net payable of 1.70;
    # between the net (1.69) and it, the 80 units show 0.01.
    assert summary_of(page) == [
        ("Royalties for plays of the period", "1.39"),
        ("Adjustment for earlier periods \u2014 taken back: a corrected report of the play replaced it", "\u22120.61"),
        ("Adjustment for earlier periods \u2014 plays reported or priced after their period was closed", "0.91"),
        (f"Brought forward from earlier cycles \u2014 carried forward, {FRACTION}", "0.01")]
    assert texts(page, r'id="net">(.*?)<') == ["1.70"]
    # By station: Joy FM -6,060 + 3,060 + 6,060 + 6,060 = 9,120 (0.91), 2 plays, 152 s; Diaspora 7,800 (0.78),
    # 1 play, 100 s.  Minutes: 252 s = 4.2; Joy 2.53 → 2.5 and Diaspora 1.67 → 1.7 (the larger remainder).
    summary = rows(out / "statements" / f"{AMA}.summary.csv")
    assert [(r["section"], r["station"], r["plays"], r["minutes"], r["amount"]) for r in summary
            if r["section"] in ("work", "station", "works_total")] == [
        ("work", "", "3", "4.2", "1.69"), ("station", "Joy FM", "2", "2.5", "0.91"),
        ("station", "Diaspora Radio", "1", "1.7", "0.78"), ("works_total", "", "3", "4.2", "1.69")]
    assert [(r["section"], r["amount"]) for r in summary if r["section"] in ("summary", "subtotal", "total")] == [
        ("summary", "1.39"), ("summary", "-0.61"), ("summary", "0.91"), ("subtotal", "1.69"), ("summary", "0.01"),
        ("total", "1.70")]
    # Detail, in play order: Joy's lines -0.6060, 0.3060, 0.6060, 0.6060 share its 0.91: floors -61 (remainder
    # 40), 30, 60, 60 (60 each) = 89: the two pesewas left go to the first two remainders of 60: 0.31, 0.61.
    detail = rows(out / "statements" / f"{AMA}.csv")
    assert [(r["played_at_utc"][:10], r["kind"], r["amount"], r["adjustment"]) for r in detail] == [
        ("2026-03-03", "reversal", "-0.61", "adjustment"), ("2026-03-03", "share", "0.31", "adjustment"),
        ("2026-03-20", "share", "0.61", "adjustment"), ("2026-04-02", "share", "0.60", ""),
        ("2026-04-10", "share", "0.78", "")]
    assert detail[0]["note"] == ("Adjustment: a play of an earlier period. Taken back: a corrected report of the "
                                 "play replaced it.")
    assert detail[-1]["played_at_local"] == "2026-04-10 08:00:00"  # New York, summer time
    assert texts(page, r'id="detail-total">(.*?)<') == ["1.69"]
    assert "Ghana Music Rights Organisation" in page and "Airport Residential Area" in page
    assert 'src="data:image/png;base64,' in page  # the logo travels inside the file


def test_a_template_in_templates_dir_wins_and_a_broken_one_stops_the_close(project: Project) -> None:
    own = project.tmp_path / "templates"
    own.mkdir()
    (own / "statement.html.j2").write_text(
        '{% extends "shipped/statement.html.j2" %}\n'
        '{% block footer %}<footer id="terms">Paid by bank transfer within 30 days of {{ cycle.last }}.'
        '</footer>{% endblock %}\n')
    letterhead(project, TEMPLATES_DIR=str(own))
    world = World(project)
    world.contributor(world.track("T-ODO", "Odo", "Ama <Ghana>"), "Ama <Ghana>", "100")
    world.play(world.station(), "2026-03-02 12:00", 100, track="T-ODO")
    world.close_cycle("2026-03")
    page = (world.cycle_folder("2026-03") / "statements" / "contributor-ama-ghana.GHS.html").read_text()
    assert '<footer id="terms">Paid by bank transfer within 30 days of 2026-03-31.</footer>' in page
    assert 'id="net">1.50<' in page  # class A regular: 0.015 × 100 s; the rest of the page is the shipped one
    assert "Ama &lt;Ghana&gt;" in page and "Ama <Ghana>" not in page  # escaped in an override too

    (own / "statement.html.j2").write_text("{% block footer %}\n{% if %}\n")
    world.play("st1", "2026-04-02 12:00", 100, track="T-ODO")
    failed = world.close_cycle("2026-04", codes=(78,))
    assert "TEMPLATES_DIR" in failed.stderr and "statement.html.j2 line 2" in failed.stderr, failed.stderr
    assert project.scalar("SELECT count(*) FROM royalty_cycles") == 1  # April was not locked


# --- in a browser --------------------------------------------------------------------------------------------

def browse(page: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [chromium(), "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run", "--hide-scrollbars",
               f"--user-data-dir={page.parent.parent / 'profile'}", "--window-size=1000,1400", *args, page.as_uri()]
    result = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    assert result.returncode == 0, f"chromium exited {result.returncode}:\n{result.stderr[-3000:]}"
    return result


@pytest.fixture
def april_page(tmp_path: Path) -> Path:
    chromium()  # skipped or failed before building anything
    project = Project(migrated_sqlite_url(tmp_path / "zamio.db"), tmp_path)
    letterhead(project)
    world = odo_world(project)
    page = tmp_path / "look" / f"{AMA}.html"
    page.parent.mkdir()
    shutil.copyfile(world.cycle_folder("2026-04") / "statements" / f"{AMA}.html", page)
    return page


def test_a_browser_shows_the_summary_and_the_total_and_prints_it_on_a4(april_page: Path) -> None:
    dom = browse(april_page, "--dump-dom").stdout
    assert texts(dom, r'id="payee"[^>]*>(.*?)<') == ["Ama Ghana"]
    assert [label for label, _ in summary_of(dom)][0] == "Royalties for plays of the period"
    assert [amount for _, amount in summary_of(dom)] == ["1.39", "\u22120.61", "0.91", "0.01"]  # hand-computed above
    assert texts(dom, r'id="net">(.*?)<') == ["1.70"] and texts(dom, r'id="works-total">(.*?)<') == ["1.69"]

    shot = april_page.with_suffix(".png")
    browse(april_page, f"--screenshot={shot}")
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", data[16:24]) == (1000, 1400)
    assert len(data) > 30_000, f"{shot} is only {len(data)} bytes: nothing drawn?"

    pdf = april_page.with_suffix(".pdf")
    browse(april_page, f"--print-to-pdf={pdf}", "--no-pdf-header-footer")
    printed = pdf.read_bytes()
    assert printed.startswith(b"%PDF-")
    pages = len(re.findall(rb"/Type\s*/Page[^s]", printed))
    assert pages >= 3, f"{pages} pages: the works and the detail each start a page of their own"
    box = re.search(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", printed)
    assert box is not None and (round(float(box[1])), round(float(box[2]))) == (595, 842)  # A4 in points
