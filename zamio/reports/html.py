"""The HTML report: one self-contained page with inline SVG charts (no scripts, no network).

Every name from the database goes through ``esc`` (``html.escape``), in the
page and in the charts.  The exact figures are in the CSV and JSON written
beside the page; the page shows them as charts with the key numbers as tiles.
"""

from __future__ import annotations

from datetime import date, datetime

from zamio.reports import svg
from zamio.reports.document import Meta, Report
from zamio.reports.svg import esc
from zamio.royalties.statements.earnings import KindFigure, RecipientFigure
from zamio.values.money import format_amount

STYLE = """
*{box-sizing:border-box} body{margin:0;background:#f5f7fa;color:#1f2933;font:15px/1.45 Helvetica,Arial,sans-serif}
header{background:linear-gradient(120deg,#0b6e4f,#138a63 60%,#1aa179);color:#fff;padding:28px 40px 30px}
header .kind{letter-spacing:.14em;text-transform:uppercase;font-size:12px;opacity:.85}
header h1{margin:6px 0 4px;font-size:30px;font-weight:600;overflow-wrap:anywhere}
header .meta{opacity:.9;font-size:14px}
main{max-width:1120px;margin:-18px auto 40px;padding:0 24px}
.tiles{display:grid;grid-template-columns:repeat(5,minmax(0,1fr));gap:14px;margin-bottom:18px}
.tile{background:#fff;border-radius:10px;padding:14px 16px;box-shadow:0 1px 3px rgba(15,23,42,.08);min-width:0}
.tile .label{font-size:12px;color:#7b8794;text-transform:uppercase;letter-spacing:.06em}
.tile .value{font-size:26px;font-weight:600;margin-top:2px;overflow-wrap:anywhere}
.tile .note{font-size:12px;color:#7b8794}
.card{background:#fff;border-radius:10px;padding:18px 22px;margin-bottom:18px;box-shadow:0 1px 3px rgba(15,23,42,.08);
min-width:0} .card h2{font-size:16px;margin:0 0 2px;font-weight:600}
.card p.sub{margin:0 0 12px;color:#7b8794;font-size:13px}
.scroll{overflow-x:auto}
.grid2{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:18px} .grid2 .card{margin-bottom:0}
table{border-collapse:collapse;width:100%;font-size:14px} th{text-align:left;color:#7b8794;font-weight:500;
border-bottom:1px solid #e4e7eb;padding:6px 8px} td{padding:6px 8px;border-bottom:1px solid #f0f2f5}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums} .empty{color:#7b8794}
footer{color:#7b8794;font-size:12px;text-align:center;margin:24px 0;padding:0 16px}
@media (max-width:1060px){.grid2{grid-template-columns:minmax(0,1fr)}}
@media (max-width:900px){.tiles{grid-template-columns:repeat(3,minmax(0,1fr))}}
@media (max-width:600px){header{padding:20px 16px 26px} header h1{font-size:23px} main{padding:0 12px}
.tiles{grid-template-columns:repeat(2,minmax(0,1fr));gap:10px} .tile{padding:12px}
.tile:last-child:nth-child(odd){grid-column:1/-1} .tile .value{font-size:22px} .card{padding:14px}}
@media print{body{background:#fff} .card,.tile{box-shadow:none;border:1px solid #e4e7eb}}
"""


def render(doc: Report) -> str:
    """Given a report document (``zamio.reports.data.build``), return the complete HTML page."""
    meta = doc["report"]
    title = f"{meta['type'].title()} report: {meta['name']}"
    parts = [_header(meta), '<main>', _tiles(doc), _daily(doc), '<div class="grid2">', _hours(doc), _confidence(doc),
             '</div><div style="height:18px"></div><div class="grid2">',
             _top_tracks(doc), _top_stations_or_coverage(doc),
             '</div><div style="height:18px"></div>', _gaps(doc), _earnings(doc), '</main>',
             f'<footer>zamio broadcast monitoring · generated {esc(meta["generated_at"][:16].replace("T", " "))} UTC · '
             'exact figures in the CSV and JSON files beside this page</footer>']
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{STYLE}</style></head>'
            f'<body>{"".join(parts)}</body></html>\n')


def _long_date(text: str) -> str:
    return date.fromisoformat(text).strftime("%d %b %Y").lstrip("0")


def _header(meta: Meta) -> str:
    zone = "UTC" if meta["timezone"] == "UTC" else f"local time ({meta['timezone']})"
    ref = "" if meta["type"] == "platform" else f" · {meta['ref']}"
    return (f'<header><div class="kind">{esc(meta["type"])} report{esc(ref)}</div><h1>{esc(meta["name"])}</h1>'
            f'<div class="meta">{esc(_long_date(meta["from"]))} – {esc(_long_date(meta["to"]))} · days and hours in '
            f'{esc(zone)}</div></header>')


def _tile(label: str, value: str, note: str = "") -> str:
    return f'<div class="tile"><div class="label">{esc(label)}</div><div class="value">{esc(value)}</div>' \
           f'<div class="note">{esc(note)}</div></div>'


def _tiles(doc: Report) -> str:
    totals = doc["totals"]
    days = max(len(doc["plays_by_day"]), 1)
    money = totals["earnings"]
    earned = format_amount(money[0]["amount_units"], money[0]["currency"]) if money else "–"
    coverage = doc.get("coverage")
    last = (_tile("Monitored", f"{coverage['monitored_share']:.1%}", f"{coverage['gap_count']} gap(s)") if coverage
            else _tile("Stations", f"{totals['stations_listed']:,}", "with plays (top list)"))
    confident = sum(b["detections"] for b in doc["confidence"]["bins"] if b["from"] >= 0.8)
    share = f"{confident / totals['detections']:.0%} at ≥ 0.8" if totals["detections"] else "none"
    return '<div class="tiles">' + "".join([
        _tile("Plays", f"{totals['plays']:,}", f"{totals['plays'] / days:,.1f} per day"),
        _tile("Airtime", f"{totals['seconds'] / 3600:,.1f} h", "of recognised music"),
        _tile("Detections", f"{totals['detections']:,}", share),
        _tile("Royalties", earned, "+ other currencies" if len(money) > 1 else "from the ledger"),
        last]) + "</div>"


def _card(title: str, sub: str, body: str) -> str:
    """A titled card; ``body`` (a chart or a table) scrolls sideways inside it where the screen is too narrow."""
    return f'<section class="card"><h2>{esc(title)}</h2><p class="sub">{esc(sub)}</p><div class="scroll">{body}</div>' \
           '</section>'


def _daily(doc: Report) -> str:
    points = [(date.fromisoformat(d["date"]).strftime("%d %b"), d["plays"]) for d in doc["plays_by_day"]]
    weekdays = [i for i, d in enumerate(doc["plays_by_day"]) if date.fromisoformat(d["date"]).weekday() < 5]
    every = max(1, len(points) // 15)
    source = doc["report"]["sources"].get("plays_by_day")
    sub = "Weekdays dark, weekends light." + (f" Taken from the dashboard {source}." if source else "")
    return _card("Plays per day", sub, svg.bar_chart(points, "Plays per day", label_every=every, highlight=weekdays))


def _hours(doc: Report) -> str:
    points = [(f"{h['hour']:02d}", h["plays"]) for h in doc["plays_by_hour"]]
    peak = max(range(24), key=lambda h: points[h][1]) if any(p for _, p in points) else None
    sub = f"Busiest hour {peak:02d}:00–{peak + 1:02d}:00." if peak is not None else "No plays."
    return _card("Hour of day", sub, svg.bar_chart(points, "Plays by hour of day", width=480, height=220, label_every=3,
                                                   highlight=[peak] if peak is not None else None))


def _confidence(doc: Report) -> str:
    conf = doc["confidence"]
    points = [(f"{b['from']:.1f}", b["detections"]) for b in conf["bins"]]
    sources = ", ".join(f"{n:,} {s}" for s, n in conf["by_source"].items()) or "no detections"
    return _card("Detection confidence", f"Detections by match confidence (dark: 0.8 and above): {sources}.",
                 svg.bar_chart(points, "Detections by confidence", width=480, height=220,
                               highlight=list(range(8, 10))))


def _top_tracks(doc: Report) -> str:
    rows = [(t.get("title") or "(untitled)", t.get("artist") or "", t["plays"]) for t in doc["top_tracks"][:12]]
    return _card("Most played", f"Top {len(rows)} recordings by plays.", svg.hbar_chart(rows, "Most played recordings"))


def _top_stations_or_coverage(doc: Report) -> str:
    if doc["report"]["type"] != "station":
        rows = [(s.get("name") or "?", s.get("ref") or "", s["plays"]) for s in doc["top_stations"][:12]]
        return _card("Where it plays", f"Top {len(rows)} stations by plays.", svg.hbar_chart(rows, "Top stations"))
    cov = doc["coverage"]
    assert cov is not None  # a station report has its coverage block
    match = f"{cov['match_share']:.1%}" if cov["match_share"] is not None else "–"
    figures = [("Captures", f"{cov['captures']:,}"), ("Recognised (share of music heard)", match),
               ("No match", f"{cov['no_match']:,}"), ("Silence", f"{cov['silence']:,}"),
               ("Errors", f"{cov['errors']:,}"), ("Gaps", f"{cov['gap_count']} ({cov['gap_seconds'] / 3600:,.1f} h)")]
    body = ("<table>" + "".join(f'<tr><td>{esc(k)}</td><td class="num">{esc(v)}</td></tr>' for k, v in figures)
            + "</table>")
    return _card("Monitoring", "What the scanner heard from this station.", body)


def _gaps(doc: Report) -> str:
    if doc["report"]["type"] not in ("station", "platform"):
        return ""
    from zamio.reports.data import Subject, local_window  # the same window the figures used

    meta = doc["report"]
    window = local_window(Subject(meta["type"], 0, meta["ref"], meta["name"], meta["timezone"]),
                          date.fromisoformat(meta["from"]), date.fromisoformat(meta["to"]))
    gaps = [(_time(g["from"]), _time(g["to"]), f"{g.get('station') or ''} {g['reason']}") for g in doc["coverage_gaps"]]
    sub = f"{len(gaps)} period(s) without monitoring, in red." if gaps else "Monitored without a gap."
    return _card("Coverage gaps", sub, svg.timeline(gaps, window.since, window.until, "Coverage gaps"))


def _time(value: object) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


PAID_NOTE = "What the plays aired in this period earned, as the cycle statements count it."


def _paid_to(row: RecipientFigure | KindFigure) -> str:
    return f'{row["recipient_type"]} {row["recipient"]}' if "recipient" in row else row["kind"]


def _earnings(doc: Report) -> str:
    rows = doc["earnings"]
    if not rows:
        return _card("Royalties", PAID_NOTE, '<p class="empty">None yet.</p>')
    head = ('<tr><th>Cycle</th><th>Paid to / kind</th><th>Currency</th><th class="num">Amount</th>'
            '<th class="num">Plays</th></tr>')
    body = "".join(f'<tr><td>{esc(r["cycle"])}</td><td>{esc(_paid_to(r))}</td><td>{esc(r["currency"])}</td>'
                   f'<td class="num">{esc(format_amount(r["amount_units"], r["currency"]))}</td>'
                   f'<td class="num">{r["plays"]:,}</td></tr>' for r in rows)
    return _card("Royalties", PAID_NOTE, f"<table>{head}{body}</table>")
