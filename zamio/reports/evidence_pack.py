"""A dispute's evidence pack (``bin/disputes show D-… --evidence DIR``): what its plays rest on, for the claimant.

The folder holds:

* ``index.html``: one readable page: the dispute, the money its account holds, and per play
  its station, its start in UTC and in the station's own time, its length and recording, its
  detections (source, offset into the recording, confidence) and the audio excerpts heard;
* ``plays.csv``: one row per play and detection (a play without detections: one row), the
  same facts, written by ``zamio.files.csvwrite`` (safe to open in a spreadsheet);
* ``audio/``: a copy of each capture's audio file the plays rest on, where this host keeps it
  (``captures.audio_host``; a file another host keeps, or one retention removed, is named with
  its SHA-256, which the capture row keeps for good);
* ``trace/play-<id>.json``: per play, the chain behind each of its ledger lines
  (``zamio.royalties.pricing.trace``: entry, pricing, rate card, cycle, play, detections);
* ``dispute.json``: the dispute and its history (the audit entries).

Nothing in the pack names a path on the server: audio is named by its copy in ``audio/``, and
the traces leave out the capture's path and stream URL.  Every text from the database is
escaped in the page.
"""

from __future__ import annotations

import html
import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection, select

from zamio.db.tables import captures, detections, play_detections, play_logs, royalty_ledger, stations, tracks
from zamio.files import csvwrite
from zamio.playlogs.disputes import Dispute, covered_plays, history
from zamio.royalties.pricing.holds import held, held_by_play
from zamio.royalties.pricing.trace import trace_entry
from zamio.values.money import format_amount, from_units

CSV_COLUMNS = ["play_id", "version", "status", "station", "started_at_utc", "started_at_local", "timezone", "seconds",
               "track", "title", "artist", "isrc", "held_units", "held_amount", "currency", "detection_id", "source",
               "offset_seconds", "confidence", "capture_id", "capture_started_at_utc", "audio_file", "audio_sha256",
               "audio_note"]
ALL_VERSIONS = ("final", "duplicate", "superseded")
SERVER_FIELDS = ("audio_path", "url_used")  # left out of the traces: a path on the server, a stream's URL


@dataclass
class Heard:
    """One detection of a play and the capture it was heard in."""

    detection_id: int
    source: str
    offset_seconds: float | None
    confidence: float | None
    capture_id: int
    capture_started_at: datetime
    audio_sha256: str | None
    audio_file: str | None = None  # the copy in the pack, relative to it
    audio_note: str = ""


@dataclass
class PlayEvidence:
    """One play of the dispute and what it rests on."""

    id: int
    version: int
    status: str
    station: str
    timezone: str
    started_at: datetime
    seconds: float
    track: str | None
    title: str | None
    artist: str | None
    isrc: str | None
    held: tuple[str, int] | None
    heard: list[Heard] = field(default_factory=list)

    def local(self) -> str:
        try:
            return self.started_at.astimezone(ZoneInfo(self.timezone)).isoformat()
        except (ZoneInfoNotFoundError, ValueError, OverflowError):
            return ""


@dataclass(frozen=True)
class Pack:
    """What was written: the folder, the plays, the audio files copied and those not kept here."""

    folder: Path
    plays: int
    copied: int
    missing: int

    def line(self) -> str:
        return (f"evidence pack written to {self.folder}: {self.plays} play{'' if self.plays == 1 else 's'}, "
                f"{self.copied} audio file{'' if self.copied == 1 else 's'} copied"
                + (f", {self.missing} not kept on this host (named by their SHA-256)" if self.missing else ""))


def _plays(conn: Connection, dispute: Dispute) -> list[PlayEvidence]:
    query = (covered_plays(dispute.id, ALL_VERSIONS)
             .with_only_columns(play_logs.c.id, play_logs.c.version, play_logs.c.status, stations.c.station_ref,
                                stations.c.timezone, play_logs.c.started_at, play_logs.c.duration_seconds,
                                tracks.c.track_ref, play_logs.c.title, play_logs.c.artist, play_logs.c.isrc)
             .join_from(play_logs, stations, stations.c.id == play_logs.c.station_id)
             .outerjoin(tracks, tracks.c.id == play_logs.c.track_id)
             .order_by(None).order_by(play_logs.c.started_at, play_logs.c.id))
    rows = conn.execute(query).all()
    money = held_by_play(conn, dispute.id, [r.id for r in rows])
    plays = [PlayEvidence(r.id, r.version, r.status, r.station_ref, r.timezone, r.started_at,
                          float(r.duration_seconds), r.track_ref, r.title, r.artist, r.isrc, money.get(r.id))
             for r in rows]
    by_id = {p.id: p for p in plays}
    if not by_id:
        return plays
    for row in conn.execute(
            select(play_detections.c.play_id, detections.c.id, detections.c.source, detections.c.offset_seconds,
                   detections.c.confidence, captures.c.id.label("capture_id"), captures.c.started_at,
                   captures.c.audio_sha256, captures.c.audio_path, captures.c.audio_host)
            .join(detections, detections.c.id == play_detections.c.detection_id)
            .join(captures, captures.c.id == detections.c.capture_id)
            .where(play_detections.c.play_id.in_(list(by_id)))
            .order_by(play_detections.c.play_id, captures.c.started_at, detections.c.id)):
        by_id[row.play_id].heard.append(Heard(row.id, row.source, row.offset_seconds, row.confidence,
                                              row.capture_id, row.started_at, row.audio_sha256,
                                              audio_note=_keep(row.audio_path)))
    return plays


def _keep(path: str | None) -> str:
    """Why a capture has no audio file; one that has is copied or located by ``_copy_audio``."""
    return "" if path else "not kept: retention removed it once its money was settled (its SHA-256 remains)"


def _copy_audio(conn: Connection, plays: Sequence[PlayEvidence], folder: Path, host_name: str) -> tuple[int, int]:
    """Copy each capture's audio file this host keeps into ``folder/audio``; return (copied, not here)."""
    wanted = {h.capture_id for p in plays for h in p.heard}
    if not wanted:
        return 0, 0
    found = {row.id: row for row in conn.execute(select(captures.c.id, captures.c.audio_path, captures.c.audio_host)
                                                 .where(captures.c.id.in_(sorted(wanted))))}
    names: dict[int, str | None] = {}
    notes: dict[int, str] = {}
    copied = missing = 0
    for capture_id in sorted(wanted):
        row = found[capture_id]
        if not row.audio_path:
            names[capture_id] = None
            continue
        source = Path(row.audio_path)
        if row.audio_host not in (None, host_name) or not source.is_file():
            where = f"kept by host {row.audio_host}" if row.audio_host not in (None, host_name) else \
                "not found on this host"
            names[capture_id], notes[capture_id] = None, f"{where}: ask for it by its SHA-256"
            missing += 1
            continue
        name = f"audio/capture-{capture_id}{source.suffix.lower()}"
        (folder / "audio").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, folder / name)
        names[capture_id] = name
        copied += 1
    for play in plays:
        for heard in play.heard:
            heard.audio_file = names.get(heard.capture_id)
            heard.audio_note = notes.get(heard.capture_id, heard.audio_note)
    return copied, missing


def _scrubbed(value: Any) -> Any:
    """A trace without paths on the server or stream URLs."""
    if isinstance(value, dict):
        return {k: _scrubbed(v) for k, v in value.items() if k not in SERVER_FIELDS}
    if isinstance(value, list):
        return [_scrubbed(v) for v in value]
    return value


def _traces(conn: Connection, plays: Sequence[PlayEvidence], folder: Path) -> None:
    (folder / "trace").mkdir(parents=True, exist_ok=True)
    for play in plays:
        entries = conn.execute(select(royalty_ledger.c.id).where(royalty_ledger.c.play_id == play.id)
                               .order_by(royalty_ledger.c.id)).scalars().all()
        chains = [_scrubbed(trace_entry(conn, int(entry))) for entry in entries]
        (folder / "trace" / f"play-{play.id}.json").write_text(
            json.dumps({"play_id": play.id, "ledger": chains}, indent=2, sort_keys=True, default=str) + "\n",
            encoding="utf-8")


def _csv_rows(plays: Sequence[PlayEvidence]) -> list[list[csvwrite.Cell]]:
    rows: list[list[csvwrite.Cell]] = []
    for p in plays:
        currency, units = p.held or ("", None)
        head: list[csvwrite.Cell] = [p.id, p.version, p.status, p.station, p.started_at.astimezone(UTC).isoformat(),
                              p.local(), p.timezone, p.seconds, p.track or "", p.title or "", p.artist or "",
                              p.isrc or "", "" if units is None else units, "" if units is None else from_units(units),
                              currency]
        if not p.heard:
            rows.append(head + [""] * (len(CSV_COLUMNS) - len(head)))
        for h in p.heard:
            rows.append(head + [h.detection_id, h.source, "" if h.offset_seconds is None else h.offset_seconds,
                                "" if h.confidence is None else h.confidence, h.capture_id,
                                h.capture_started_at.astimezone(UTC).isoformat(), h.audio_file or "",
                                h.audio_sha256 or "", h.audio_note])
    return rows


def _page(dispute: Dispute, plays: Sequence[PlayEvidence], money: dict[str, int], now: datetime) -> str:
    e = html.escape
    held_text = ", ".join(format_amount(units, currency) for currency, units in sorted(money.items())) or "nothing"
    facts = [("claimant", f"{dispute.claimant_type} {dispute.claimant_ref}"), ("covers", dispute.covers()),
             ("reason", dispute.reason), ("opened", f"{dispute.opened_at:%Y-%m-%d %H:%M} UTC by {dispute.opened_by}"),
             ("status", dispute.status), ("held now", f"{held_text} (suspense account {dispute.account})")]
    if dispute.decision:
        facts.append(("decision", f"{dispute.decision}: {dispute.resolution} ({dispute.resolved_at:%Y-%m-%d %H:%M} "
                                  f"UTC by {dispute.resolved_by})"))
    rows = []
    for p in plays:
        heard = "".join(
            f"<li>{e(h.source)} detection {h.detection_id}: offset "
            f"{'' if h.offset_seconds is None else f'{h.offset_seconds:.1f} s'}, confidence "
            f"{'' if h.confidence is None else f'{h.confidence:.2f}'}; "
            + (f'<a href="{e(h.audio_file)}">{e(h.audio_file)}</a>' if h.audio_file else e(h.audio_note))
            + "</li>" for h in p.heard) or "<li>no detection: an imported or added play</li>"
        held_cell = format_amount(p.held[1], p.held[0]) if p.held else ""
        recording = " · ".join(e(x) for x in (p.title, p.artist, p.track, p.isrc) if x)
        rows.append(
            f"<tr><td>{p.id}</td><td>{e(p.status)}</td><td>{e(p.station)}</td>"
            f"<td>{p.started_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC<br><small>{e(p.local())} "
            f"({e(p.timezone)})</small></td><td class=num>{p.seconds:.1f}</td><td>{recording}</td>"
            f"<td class=num>{e(held_cell)}</td><td><ul>{heard}</ul></td></tr>")
    table = "".join(rows) or '<tr><td colspan=8>no play</td></tr>'
    facts_html = "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in facts)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Dispute {e(dispute.label)}</title>
<style>
body{{margin:0 auto;max-width:1100px;padding:20px;color:#1f2933;font:14px/1.45 Helvetica,Arial,sans-serif}}
h1{{font-size:24px;margin:0 0 12px}} table{{border-collapse:collapse;width:100%}}
th,td{{text-align:left;vertical-align:top;padding:5px 8px;border-bottom:1px solid #e4e7eb}}
th{{color:#52606d;font-weight:500}} td.num{{text-align:right;font-variant-numeric:tabular-nums}}
ul{{margin:0;padding-left:16px}} .scroll{{overflow-x:auto}} small{{color:#7b8794}}
</style></head><body>
<h1>Dispute {e(dispute.label)}</h1>
<table>{facts_html}</table>
<h2>Plays ({len(plays)})</h2>
<p>Times in UTC, and in the station's own time below. The detections are what the plays rest on; each audio
excerpt is a copy of the capture it was heard in (audio/). plays.csv holds the same facts; trace/ the ledger
behind each play.</p>
<div class=scroll><table><tr><th>play</th><th>status</th><th>station</th><th>start</th><th>seconds</th>
<th>recording</th><th>held</th><th>detections and audio</th></tr>{table}</table></div>
<p><small>written {now:%Y-%m-%d %H:%M} UTC</small></p>
</body></html>
"""


def write_pack(conn: Connection, dispute: Dispute, folder: Path, host_name: str, now: datetime) -> Pack:
    """Given a dispute, a folder and this host's name, write the dispute's evidence pack there; return what was
    written.  Audio is copied from the files this host keeps."""
    folder.mkdir(parents=True, exist_ok=True)
    plays = _plays(conn, dispute)
    copied, missing = _copy_audio(conn, plays, folder, host_name)
    _traces(conn, plays, folder)
    money = held(conn, [dispute.id]).get(dispute.id, {})
    (folder / "plays.csv").write_text(csvwrite.text(CSV_COLUMNS, _csv_rows(plays)), encoding="utf-8")
    entries = [entry.as_json() for entry in history(conn, dispute)]
    (folder / "dispute.json").write_text(json.dumps(
        {"dispute": dispute.as_json(), "held": money, "history": entries}, indent=2, sort_keys=True, default=str)
        + "\n", encoding="utf-8")
    (folder / "index.html").write_text(_page(dispute, plays, money, now), encoding="utf-8")
    return Pack(folder, len(plays), copied, missing)
