"""Recognise audio files against the catalog and print one line per file.

Each file (any format ffmpeg reads) is matched on its first --seconds; the
output names the track, where the excerpt sits in it, the playback speed and
the confidence.  When ACRCloud is configured, a file the catalog does not
recognise is sent to it, within the same budgets as the scan.  A bad file
prints an error and the others go on (exit 1).  With --record the results are
stored as captures and detections of a station, as an uploaded snippet would be.

Examples:
    bin/detect-audio clip.mp3
    bin/detect-audio --json recordings/*.aac
    bin/detect-audio --record --station peace-fm --at 2026-03-01T10:00:00Z clip.mp3
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from zamio.runtime.errors import UsageError
from zamio.runtime.runner import Job, JobContext
from zamio.values.instants import ImplausibleTime, NoOffset, parse_play_time

DEFAULT_ANALYSE_SECONDS = 30.0  # a longer file is recognised from its start


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE", help="audio files (any format ffmpeg reads)")
    parser.add_argument("--json", action="store_true", help="print one JSON object per file")
    parser.add_argument("--seconds", type=float, default=DEFAULT_ANALYSE_SECONDS, metavar="N",
                        help=f"analyse the first N seconds of each file (default {DEFAULT_ANALYSE_SECONDS:g})")
    parser.add_argument("--record", action="store_true", help="store each file as a capture of --station at --at")
    parser.add_argument("--station", metavar="REF", help="with --record: the station_ref the audio was heard on")
    parser.add_argument("--at", metavar="TIME", help="with --record: when it was heard, ISO 8601 with a zone "
                                                     "(2026-03-01T10:00:00Z)")


@dataclass(frozen=True)
class Recording:
    """Where and when the files were heard (``--record --station REF --at TIME``)."""

    station_ref: str
    heard_at: datetime


@dataclass(frozen=True)
class Settings:
    """The files and how to show them; with ``recording``, the station and time they were heard."""

    files: tuple[Path, ...]
    as_json: bool
    analyse_seconds: float
    recording: Recording | None  # None: print the results only


def settings(args: argparse.Namespace) -> Settings:
    return Settings(tuple(args.files), args.json, args.seconds, _recording(args) if args.record else None)


def _recording(args: argparse.Namespace) -> Recording:
    heard_at = parse_time(args.at)
    if not args.station:
        raise UsageError("--record needs --station REF (the station_ref the audio was heard on)")
    return Recording(args.station, heard_at)


def parse_time(text: str | None) -> datetime:
    """Given an ISO 8601 time with a zone, return it in UTC; raise UsageError if it is not one, or if
    it is before 1970 or more than a day ahead of now (no play can have that time)."""
    from zamio.db.engine import utcnow

    if not text:
        raise UsageError("--record needs --at TIME (ISO 8601 with a zone, e.g. 2026-03-01T10:00:00Z)")
    try:
        return parse_play_time(text, utcnow())
    except NoOffset:
        raise UsageError(f"--at {text!r} has no time zone; add Z for UTC or an offset such as +00:00") from None
    except ImplausibleTime as error:
        raise UsageError(f"--at {text!r} {error}") from None
    except ValueError:
        raise UsageError(f"--at {text!r} is not an ISO 8601 time such as 2026-03-01T10:00:00Z") from None


def main(ctx: JobContext) -> None:
    """Recognise each file, print one line per file, record it with ``--record``;
    a file that fails is counted failed (exit 1) and the others go on.  ACRCloud
    refusing the credentials ends the run (exit 78) once that file is recorded."""
    from zamio.db.replicas import LookupDatabases
    from zamio.scanning.detect import find_station, format_result, recognise, record
    from zamio.scanning.fallback import fallback_settings, open_fallback
    from zamio.scanning.hearing import Recogniser  # loads numpy, which --help does without

    assert ctx.engine is not None  # the job needs the database: the runner opened it
    given = settings(ctx.args)
    recording = given.recording
    station_id = None
    if recording is not None:
        with ctx.transaction(read_only=True) as conn:
            station_id = find_station(conn, recording.station_ref)
    fallback = open_fallback(ctx.engine, fallback_settings(ctx.config), ctx.dry_run)
    # One recogniser for all the files: files of one song name the same candidates.
    lookups = LookupDatabases.open(ctx.engine, ctx.config.fingerprint_replicas, host_name=ctx.config.host_name,
                                   application_name="zamio detect-audio")
    recogniser = Recogniser(ctx.engine, fallback, cpu_slots=1, cache_mb=ctx.config.recognition_cache_mb,
                            lookups=lookups)
    via_acrcloud = 0
    for path in given.files:
        result, file_audio, heard = recognise(ctx.transaction, recogniser, path, given.analyse_seconds)
        print(format_result(result, given.as_json), flush=True)
        if result.error:
            ctx.failed(str(path), f"{result.error}: {result.message}")
        else:
            ctx.ok()
        via_acrcloud += heard.acr is not None and heard.outcome == "match"
        if recording is not None:
            assert station_id is not None  # found before the first file
            with ctx.transaction() as conn:
                record(conn, path, file_audio, heard, station_id, recording.station_ref, recording.heard_at)
        if heard.fatal is not None:
            raise heard.fatal
    if fallback is not None:
        ctx.note(f"{via_acrcloud} via ACRCloud ({fallback.requests_spent} requests)")


JOB = Job("detect-audio", __doc__, main, add_arguments=add_arguments, lock_scope="host")
