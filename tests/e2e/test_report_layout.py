"""The HTML report as a browser lays it out: on a phone (390 px wide) and on a desktop (1280 px).

The report is written by bin/generate-analytics-report from the royalty world of
tests/money_world.py (real import, pricing and cycle scripts).  Headless Chromium opens it, as
written, in a frame of the width wanted (its windows are never narrower than 500 px); a script
of the frame's page measures the tiles, the charts and their labels once it has loaded and
writes the figures as JSON into ``<pre id="layout">``, and ``--dump-dom`` prints that page after
the script ran.  Screenshots at both widths are kept in the test's folder.

Chromium is Debian's ``chromium`` package.  Without it the test is skipped, except where
``ZAMIO_REQUIRE_CHROMIUM=1`` (CI sets it): there it fails.
"""

from __future__ import annotations

import html
import json
import os
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from tests import money_world
from tests.support import Project, migrated_sqlite_url

REQUIRE_CHROMIUM = os.environ.get("ZAMIO_REQUIRE_CHROMIUM") == "1"
PHONE, DESKTOP = 390, 1280
HEIGHT = 3000

FRAME = """<!DOCTYPE html>
<html><head><meta charset="utf-8"></head><body style="margin:0">
<iframe id="page" src="{src}" width="{width}" height="{height}" style="border:0;display:block"></iframe>
<pre id="layout"></pre>
<script>
document.getElementById("page").addEventListener("load", function () {{
  var win = this.contentWindow, doc = this.contentDocument;
  function box(e) {{ var b = e.getBoundingClientRect(); return {{left: b.left, right: b.right, top: b.top}}; }}
  var charts = Array.prototype.map.call(doc.querySelectorAll("svg"), function (svg) {{
    var scroller = svg.closest(".scroll") || svg.parentElement;
    var labels = Array.prototype.map.call(svg.querySelectorAll("text"), function (text) {{
      return parseFloat(win.getComputedStyle(text).fontSize) * text.getScreenCTM().a;  // as drawn, in CSS px
    }});
    return {{title: svg.getAttribute("aria-label"), box: box(scroller), labels: labels,
             scrollWidth: scroller.scrollWidth, clientWidth: scroller.clientWidth}};
  }});
  document.getElementById("layout").textContent = JSON.stringify({{
    innerWidth: win.innerWidth,
    pageWidth: doc.documentElement.scrollWidth,
    row: box(doc.querySelector(".tiles")),
    tiles: Array.prototype.map.call(doc.querySelectorAll(".tile"), box),
    charts: charts
  }});
}});
</script></body></html>
"""


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    message = "no chromium on PATH: install Debian's package (apt-get install -y chromium)"
    if REQUIRE_CHROMIUM:
        pytest.fail(f"Chromium is required here (ZAMIO_REQUIRE_CHROMIUM=1) but missing: {message}")
    pytest.skip(message)


@pytest.fixture
def page(tmp_path: Path) -> Path:
    """The platform report of the royalty world, March to May 2026, as the script writes it."""
    chromium()  # skipped or failed before building anything
    project = Project(migrated_sqlite_url(tmp_path / "zamio.db"), tmp_path)
    project.env()
    money_world.build(project)
    out = tmp_path / "reports"
    result = project.script("generate-analytics-report", "--type", "platform", "--from", "2026-03-01",
                            "--to", "2026-05-31", "--format", "html", "--out", str(out))
    assert result.returncode == 0, result.stderr
    return next(out.glob("*.html"))


def browse(page: Path, width: int, *args: str) -> subprocess.CompletedProcess[str]:
    """Open ``page`` in a frame ``width`` px wide (a headless window is never narrower than 500 px)."""
    frame = page.with_name(f"frame-{width}.html")
    frame.write_text(FRAME.format(src=page.name, width=width, height=HEIGHT), encoding="utf-8")
    command = [chromium(), "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run", "--hide-scrollbars",
               "--allow-file-access-from-files", f"--user-data-dir={page.parent / f'profile-{width}'}",
               f"--window-size={width},{HEIGHT}", *args, frame.as_uri()]
    result = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    assert result.returncode == 0, f"chromium exited {result.returncode}:\n{result.stderr[-3000:]}"
    return result


def measure(page: Path, width: int) -> dict:
    dom = browse(page, width, "--dump-dom").stdout
    start = dom.index('<pre id="layout">') + len('<pre id="layout">')
    text = dom[start: dom.index("</pre>", start)]
    assert text, f"the measuring script did not run:\n{dom[-2000:]}"
    return json.loads(html.unescape(text))


def screenshot(page: Path, width: int) -> Path:
    shot = page.parent / f"report-{width}.png"
    browse(page, width, f"--screenshot={shot}")
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", f"{shot} is not a PNG"
    assert struct.unpack(">II", data[16:24]) == (width, HEIGHT)
    assert len(data) > 10_000, f"{shot} is only {len(data)} bytes: nothing drawn?"
    return shot


def test_on_a_phone_nothing_overflows_and_chart_labels_stay_readable(page: Path) -> None:
    layout = measure(page, PHONE)
    assert layout["innerWidth"] == PHONE
    assert layout["pageWidth"] <= PHONE, f"the page scrolls sideways: {layout['pageWidth']} px wide"
    row, tiles = layout["row"], layout["tiles"]
    assert len(tiles) == 5 and row["right"] <= PHONE
    assert all(row["left"] <= t["left"] and t["right"] <= row["right"] + 0.5 for t in tiles), tiles
    assert len({round(t["top"]) for t in tiles}) == 3  # two, two and one
    titles = {c["title"] for c in layout["charts"]}
    assert {"Plays per day", "Plays by hour of day", "Detections by confidence", "Most played recordings",
            "Top stations", "Coverage gaps"} <= titles
    for chart in layout["charts"]:
        assert chart["box"]["left"] >= 0 and chart["box"]["right"] <= PHONE, chart["title"]
        assert chart["labels"], f"{chart['title']} has no text"
        assert min(chart["labels"]) >= 10, f"{chart['title']}: labels drawn at {min(chart['labels']):.1f} px"
    daily = next(c for c in layout["charts"] if c["title"] == "Plays per day")
    assert daily["scrollWidth"] > daily["clientWidth"]  # too wide for a phone: it scrolls inside its card
    screenshot(page, PHONE)


def test_on_a_desktop_the_tiles_share_one_row_and_no_chart_scrolls(page: Path) -> None:
    layout = measure(page, DESKTOP)
    assert layout["innerWidth"] == DESKTOP and layout["pageWidth"] <= DESKTOP
    tiles = layout["tiles"]
    assert len(tiles) == 5 and len({round(t["top"]) for t in tiles}) == 1
    assert [t["left"] for t in tiles] == sorted(t["left"] for t in tiles)
    for chart in layout["charts"]:
        assert chart["scrollWidth"] <= chart["clientWidth"], f"{chart['title']} scrolls on a desktop"
        assert min(chart["labels"]) >= 10, chart["title"]
    screenshot(page, DESKTOP)
