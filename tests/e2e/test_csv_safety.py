"""Every CSV file a person opens is safe in a spreadsheet: formula-like text is quoted, numbers stay numbers.

Titles, artist, contributor and station names starting with ``=``, ``@``, ``+`` or
``-`` are imported through bin/import-catalog, played through bin/import-playlogs,
priced, re-priced after a share correction (reversals: negative amounts) and
closed; then every CSV written (the cycle's files, the suspense report, the
play-log export, the analytics report) is read back.

Class A station at noon (regular): GHS 0.015 per second, so a 100 s play is
GHS 1.50 = 15000 units.
"""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

from tests.support import Project
from zamio.files.csvwrite import Lines, Number, safe_value, text

LINK = '=HYPERLINK("http://x","y")'
SUM = "@SUM(A1)"
CMD = "+cmd"
SUMS = "-2+3"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

TRACKS = f"""\
track_ref,title,artist,audio_path,isrc,category,society_code
T-LINK,"{LINK.replace('"', '""')}",{SUM},link.wav,,music,
T-SUM,{SUM},{CMD},sum.wav,,music,
T-PRS,{SUMS},"{LINK.replace('"', '""')}",prs.wav,GBAYE0601498,music,052
"""
STATIONS = f"""\
station_ref,name,city,region,station_class,stream_url,timezone
joy,"{LINK.replace('"', '""')}",Accra,Greater Accra,class_a,,Africa/Accra
"""
AGREEMENTS = "society_code,effective_from,status,admin_fee_percent\n052,2025-01-01,active,15\n"
PLAYS = """\
station_ref,started_at,duration_seconds,track_ref,isrc,title,artist,source,confidence,import_ref
joy,2026-03-02T12:00:00Z,100,T-LINK,,,,station,,
joy,2026-03-03T12:00:00Z,100,T-SUM,,,,station,,
joy,2026-03-04T12:00:00Z,100,T-PRS,,,,station,,
"""


def contributors(link_share: str, sum_share: str) -> str:
    """T-LINK's two writers with these shares; T-SUM's one writer holds 50 %: its plays go to suspense."""
    return (f'track_ref,name,role,share_percent\nT-LINK,"{LINK.replace(chr(34), chr(34) * 2)}",composer,{link_share}\n'
            f"T-LINK,{SUM},lyricist,{sum_share}\nT-SUM,{CMD},composer,50\n")


def run(project: Project, *args: str) -> None:
    result = project.script(*args)
    assert result.returncode == 0, (args, result.stderr)


def write(project: Project, name: str, content: str) -> str:
    path = project.tmp_path / name
    path.write_text(content, encoding="utf-8")
    return str(path)


def read_rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def is_number(cell: str) -> bool:
    try:
        Decimal(cell)
    except ArithmeticError:
        return False
    return True


def produce_every_csv(project: Project) -> list[Path]:
    """Import, play, price, correct the shares and re-price, close March; return every CSV file written."""
    run(project, "import-catalog", "--tracks", write(project, "tracks.csv", TRACKS),
        "--stations", write(project, "stations.csv", STATIONS),
        "--contributors", write(project, "contributors.csv", contributors("60", "40")),
        "--agreements", write(project, "agreements.csv", AGREEMENTS))
    run(project, "import-playlogs", write(project, "plays.csv", PLAYS))
    run(project, "calculate-royalty-distributions")
    run(project, "import-catalog", "--contributors", write(project, "corrected.csv", contributors("50", "50")))
    run(project, "calculate-royalty-distributions", "--recalculate")
    out = project.tmp_path / "cycles" / "2026-03"
    run(project, "process-royalty-cycle", "--name", "2026-03", "--from", "2026-03-01", "--to", "2026-03-31",
        "--out", str(out))
    reports = project.tmp_path / "reports"
    run(project, "suspense-report", "--as-of", "2026-04-15", "--csv", str(reports / "suspense.csv"))
    run(project, "export-playlogs", "--from", "2026-03-01", "--to", "2026-03-31", "--out", str(reports / "plays.csv"))
    run(project, "generate-analytics-report", "--type", "platform", "--from", "2026-03-01", "--to", "2026-03-31",
        "--out", str(reports / "analytics"))
    return sorted(out.rglob("*.csv")) + sorted(reports.rglob("*.csv"))


def test_every_csv_written_quotes_formula_text_and_keeps_numbers(project: Project) -> None:
    paths = produce_every_csv(project)
    cells: dict[str, list[str]] = {}  # file name -> every cell
    for path in paths:
        cells[path.name] = [cell for row in read_rows(path) for cell in row]
        for cell in cells[path.name]:
            assert not cell.startswith(FORMULA_STARTS) or is_number(cell), (path.name, cell)
    names = set(cells)
    assert {"statements.csv", "remittances.csv", "052-PRS.csv", "suspense.csv", "plays.csv"} <= names, names
    assert any(name.endswith(".top-tracks.csv") for name in names), names
    everything = [cell for found in cells.values() for cell in found]
    for typed in (LINK, SUM, CMD, SUMS):  # each written, quoted, never bare
        assert "'" + typed in everything and typed not in everything, typed

    # The composer of T-LINK: 60 % of 15000 = 9000 units (GHS 0.90) reversed by the share correction,
    # then 50 % = 7500 (GHS 0.75); the reversal stays a negative number in the statement and the net in
    # statements.csv is 9000 - 9000 + 7500 = 7500.
    (statement, page_figures) = [p for p in paths if p.parent.name == "statements"
                                 and p.name.startswith("contributor-hyperlink")]
    assert page_figures.name.endswith(".summary.csv")
    figures = read_rows(page_figures)
    (work,) = [row for row in figures if row[0] == "work"]
    assert work[figures[0].index("title")] == "'" + LINK and work[figures[0].index("amount")] == "0.75"
    lines = read_rows(statement)
    header = lines[0]
    amounts = [(line[header.index("kind")], line[header.index("amount")]) for line in lines[1:]]
    assert amounts == [("share", "0.90"), ("reversal", "-0.90"), ("share", "0.75")], amounts
    assert Decimal(amounts[1][1]) == Decimal("-0.90")
    assert {line[header.index("title")] for line in lines[1:]} == {"'" + LINK}
    assert {line[header.index("station")] for line in lines[1:]} == {"'" + LINK}
    summary = read_rows(statement.parent.parent / "statements.csv")
    (composer,) = [row for row in summary if row[2] == "'" + LINK]
    assert composer[summary[0].index("net")] == "0.75"
    # Analytics earnings: the reversals of T-LINK, -(9000 + 6000) units, a number too.
    (earnings,) = [p for p in paths if p.name.endswith(".earnings.csv")]
    header, *rows = read_rows(earnings)
    (reversal,) = [row for row in rows if row[header.index("kind")] == "reversal"]
    assert (reversal[header.index("amount")], reversal[header.index("amount_units")]) == ("-1.50", "-15000")
    # The suspense report: T-SUM's 15000 units held for bad shares, its title and artist quoted.
    suspense = list(read_rows(paths[-1].parent / "suspense.csv"))
    (held,) = [row for row in suspense[1:] if row[suspense[0].index("reason")] == "bad_shares"]
    assert (held[suspense[0].index("title")], held[suspense[0].index("artist")]) == ("'" + SUM, "'" + CMD)
    assert held[suspense[0].index("amount_units")] == "15000"


def test_text_is_guarded_by_type_numbers_the_code_formats_are_not() -> None:
    assert safe_value("=1+1") == "'=1+1" and safe_value("@SUM(A1)") == "'@SUM(A1)"
    assert safe_value("+233") == "'+233" and safe_value("\tx") == "'\tx" and safe_value("\rx") == "'\rx"
    assert safe_value("-5") == "'-5"  # a typed title, even one that looks like a number
    assert safe_value(Number("-12.50")) == "-12.50" and safe_value(-1.5) == -1.5
    assert safe_value(Decimal("-0.5055")) == Decimal("-0.5055")
    assert safe_value("Kente Dreams") == "Kente Dreams" and safe_value(None) == "" and safe_value(True) == "true"
    # A line built cell by cell has the bytes of the row written whole.
    row = [LINK, Number("-0.90"), 'a,"b"', "", None, SUMS]
    lines = Lines()
    assert ",".join(lines.cell(value) for value in row) + "\n" == lines.row(row) == text(["h"], [row])[2:]
