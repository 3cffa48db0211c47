"""Charts as inline SVG strings: vertical bars, horizontal bars, a histogram and a gap timeline.

No JavaScript and no network: the report opens offline and prints.  Every
label passes through ``html.escape``, so a name like ``<script>`` is drawn as
text.  Sizes are in CSS pixels; the SVGs scale to their container's width, but
never below the width at which their smallest label is still ``READABLE``
pixels tall: on a narrower screen (a phone) the page puts them in a box that
scrolls sideways rather than shrink the labels.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from datetime import datetime

INK = "#1f2933"
MUTED = "#7b8794"
GRID = "#e4e7eb"
ACCENT = "#0b6e4f"
ACCENT_LIGHT = "#8fd1b5"
ALERT = "#c0392b"
FONT = "font-family:Helvetica,Arial,sans-serif"
SMALL_TEXT = 12  # the smallest label, in the chart's own units
READABLE = 11  # the smallest a label may be drawn on screen, CSS pixels


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2 or 5 × 10^n at or above ``value`` (an axis maximum people read easily)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return float(step * power)
    return float(10 * power)


def short_number(value: float) -> str:
    if abs(value) >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if abs(value) >= 10_000:
        return f"{value / 1000:.0f}k"
    return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"


def _svg(width: int, height: int, body: list[str], title: str) -> str:
    narrowest = math.ceil(width * READABLE / SMALL_TEXT)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" role="img" '
            f'aria-label="{esc(title)}" style="{FONT};max-width:{width}px;min-width:{narrowest}px">'
            f'<title>{esc(title)}</title>'
            + "".join(body) + "</svg>")


def bar_chart(points: Sequence[tuple[str, float]], title: str, *, width: int = 1000, height: int = 260,
              label_every: int = 1, highlight: Sequence[int] | None = None) -> str:
    """Vertical bars with a light grid: ``points`` are (x label, value).

    With ``highlight`` given, the bars at those indexes are dark and every other bar light, even when it is
    empty (a weekend-only range has no weekday to darken); without it, every bar is dark.
    """
    left, right, top, bottom = 48, 10, 14, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = 4 * nice_ceiling(max((v for _, v in points), default=0) / 4)  # four grid steps of a round size
    body = _y_grid(left, top, plot_w, plot_h, peak)
    slot = plot_w / max(len(points), 1)
    for i, (label, value) in enumerate(points):
        bar_h = plot_h * value / peak
        x = left + i * slot + slot * 0.12
        colour = ACCENT if highlight is None or i in highlight else ACCENT_LIGHT
        body.append(f'<rect x="{x:.1f}" y="{top + plot_h - bar_h:.1f}" width="{slot * 0.76:.1f}" height="{bar_h:.1f}" '
                    f'rx="2" fill="{colour}"><title>{esc(label)}: {esc(short_number(value))}</title></rect>')
        if i % label_every == 0:
            body.append(f'<text x="{left + (i + 0.5) * slot:.1f}" y="{height - 12}" font-size="{SMALL_TEXT}" '
                        f'fill="{MUTED}" text-anchor="middle">{esc(label)}</text>')
    return _svg(width, height, body, title)


def _y_grid(left: int, top: int, plot_w: float, plot_h: float, peak: float) -> list[str]:
    lines = []
    for step in range(5):
        value = peak * step / 4
        y = top + plot_h - plot_h * step / 4
        lines.append(f'<line x1="{left}" x2="{left + plot_w:.1f}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>')
        lines.append(f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="{SMALL_TEXT}" fill="{MUTED}" text-anchor="end">'
                     f'{esc(short_number(value))}</text>')
    return lines


def hbar_chart(rows: Sequence[tuple[str, str, float]], title: str, *, width: int = 480, unit: str = "plays") -> str:
    """Horizontal bars, largest first: ``rows`` are (label, second line, value)."""
    row_h, label_w = 38, 230
    height = max(len(rows), 1) * row_h + 8
    peak = max((v for _, _, v in rows), default=0) or 1
    body = []
    for i, (label, sub, value) in enumerate(rows):
        y = 4 + i * row_h
        bar_w = (width - label_w - 70) * value / peak
        body.append(f'<text x="0" y="{y + 15}" font-size="13" fill="{INK}">{esc(_clip(label, 30))}</text>')
        body.append(f'<text x="0" y="{y + 30}" font-size="{SMALL_TEXT}" fill="{MUTED}">{esc(_clip(sub, 36))}</text>')
        body.append(f'<rect x="{label_w}" y="{y + 8}" width="{max(bar_w, 1):.1f}" height="18" rx="3" fill="{ACCENT}">'
                    f'<title>{esc(label)}: {esc(short_number(value))} {esc(unit)}</title></rect>')
        body.append(f'<text x="{label_w + bar_w + 6:.1f}" y="{y + 22}" font-size="12" fill="{INK}">'
                    f'{esc(short_number(value))}</text>')
    if not rows:
        body.append(f'<text x="0" y="24" font-size="13" fill="{MUTED}">No plays in this period.</text>')
    return _svg(width, height, body, title)


def timeline(gaps: Sequence[tuple[datetime, datetime, str]], start: datetime, end: datetime, title: str,
             *, width: int = 1000) -> str:
    """A strip from ``start`` to ``end`` with each gap drawn as a red block, and day ticks below."""
    height, left, strip_y, strip_h = 62, 28, 10, 22
    span = max((end - start).total_seconds(), 1.0)
    plot_w = width - 2 * left
    body = [f'<rect x="{left}" y="{strip_y}" width="{plot_w}" height="{strip_h}" rx="3" fill="{ACCENT_LIGHT}"/>']
    for gap_from, gap_to, reason in gaps:
        x = left + plot_w * (gap_from - start).total_seconds() / span
        w = max(plot_w * (gap_to - gap_from).total_seconds() / span, 2)
        body.append(f'<rect x="{x:.1f}" y="{strip_y}" width="{w:.1f}" height="{strip_h}" fill="{ALERT}">'
                    f'<title>{esc(gap_from.strftime("%Y-%m-%d %H:%M"))} to {esc(gap_to.strftime("%Y-%m-%d %H:%M"))}: '
                    f'{esc(reason)}</title></rect>')
    days = max(int(span // 86400), 1)
    every = max(1, days // 10)
    for n in range(0, days + 1, every):
        x = left + plot_w * n * 86400 / span
        tick_y = strip_y + strip_h
        body.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{tick_y}" y2="{tick_y + 5}" stroke="{MUTED}"/>')
        body.append(f'<text x="{x:.1f}" y="{height - 8}" font-size="{SMALL_TEXT}" fill="{MUTED}" text-anchor="middle">'
                    f'{esc(_day_label(start, n))}</text>')
    return _svg(width, height, body, title)


def _day_label(start: datetime, days: int) -> str:
    from datetime import timedelta

    return (start + timedelta(days=days)).strftime("%d %b")


def _clip(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"
