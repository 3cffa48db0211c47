"""Stopping bin/scan-station-streams: SIGTERM while streams are slow, stalled or endless.

The real script reads real streams on 127.0.0.1: one that plays normally, one that
trickles a byte at a time, one that sends its headers and then nothing, one that never
answers at all.  A first SIGTERM takes no new capture, cuts the captures in progress
short (one with enough audio is heard and recorded as the shorter capture it is; the
others are given back, due as before) and ends with exit 75; a second one ends the run
at once, killing ffmpeg and recording nothing half-done.  Either way the next run
carries on without counting anything twice.

The bounds on the time a stop takes are there to detect a hang, with a wide margin:
the run used to go on for half a minute or more after a SIGTERM.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.audio_fixtures import stalled_ffmpeg
from tests.scan_helpers import (  # noqa: F401
    CATALOG_SEEDS,
    UNKNOWN_SEEDS,
    ScanAudio,
    add_station,
    captures_by_station,
    catalog_prints,
    link_row,
    rows,
    scan,
    scan_audio,
    seed_catalog,
)
from tests.streamserver import AudioRoute, StallRoute, StreamServer, TrickleRoute
from tests.support import Project
from zamio.db.tables import captures, detections

A, B, C = CATALOG_SEEDS
JOB = "scan-station-streams"
MP3_BYTES_PER_SECOND = 16_000  # the test songs are MP3 at 128 kbit/s
CAPTURE_SECONDS = 20  # the default window: a capture in progress has long to go when the stop comes
BURST_SECONDS = 12  # the normal station's connect burst: a capture has enough audio at once
STOP_BOUND_SECONDS = 10.0  # a hang detector: it used to take 30 s and more
WAIT_FOR_EXIT_SECONDS = 150.0  # how long a run is given before it is killed (to see how long it really takes)
STATIONS = ("normal", "trickle", "mute", "deaf")
SLOW = ("trickle", "mute", "deaf")


def slow_routes(audio: ScanAudio, *, normal: AudioRoute) -> dict[str, object]:
    return {"/normal": normal,
            "/trickle": TrickleRoute(audio.mp3(B), interval_seconds=0.5),
            "/mute": StallRoute(head=True),
            "/deaf": StallRoute(head=False)}


def start_scan(project: Project, server: StreamServer, mark: str, **env: str) -> subprocess.Popen[str]:
    for ref in STATIONS:
        add_station(project, ref, server.url(f"/{ref}"))
    settings = {"SCAN_ALLOW_PRIVATE_ADDRESSES": "true", "SCAN_CAPTURE_SECONDS": str(CAPTURE_SECONDS),
                "ZAMIO_TEST_RUN_MARK": mark, **env}
    return project.popen(JOB, env=project.env(**settings))


def wait_until(what: str, condition, seconds: float = 90.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {seconds:g} s"
        time.sleep(0.05)


def every_station_connected(server: StreamServer) -> bool:
    normal = server.routes["/normal"]
    assert isinstance(normal, AudioRoute)
    return bool(normal.on_air_from) and all(server.routes[f"/{ref}"].connected.is_set() for ref in SLOW)


def marked_processes(mark: str) -> list[int]:
    """The processes (not zombies) whose environment holds ``mark``: the run and every process it started,
    whatever its session or parent now."""
    found = []
    needle = f"ZAMIO_TEST_RUN_MARK={mark}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        if needle in environ.split(b"\0") and state not in ("Z", "X"):
            found.append(int(entry.name))
    return found


@dataclass
class Stopped:
    seconds: float  # from the (last) signal to the end of the run
    stderr: str
    left_running: list[int]  # processes the run started that outlived it (killed since)


def stopped(proc: subprocess.Popen[str], mark: str) -> Stopped:
    """Wait for the signalled run to end, then kill whatever it left running.  A run still going after
    WAIT_FOR_EXIT_SECONDS is killed with what it started, and the test fails."""
    signalled = time.monotonic()
    try:
        _, stderr = proc.communicate(timeout=WAIT_FOR_EXIT_SECONDS)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        kill_marked(mark)
        pytest.fail(f"the run was still going {WAIT_FOR_EXIT_SECONDS:g} s after the stop")
    took = time.monotonic() - signalled
    return Stopped(took, stderr, kill_marked(mark))


@contextmanager
def running(proc: subprocess.Popen[str], mark: str) -> Iterator[subprocess.Popen[str]]:
    """The run, killed with everything it started if the test leaves before it ended."""
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        kill_marked(mark)


def kill_marked(mark: str) -> list[int]:
    left = marked_processes(mark)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    return left


def decode_folders(pid: int) -> list[Path]:
    """Scratch folders of the run's shared ffmpeg decodes, wherever they are made."""
    found: list[Path] = []
    for root in (Path("/dev/shm"), Path(os.environ.get("TMPDIR", "/tmp"))):
        if root.is_dir():
            found += root.glob(f"zamio-decode-{pid}-*")
    return found


def assert_nothing_half_done(project: Project, proc: subprocess.Popen[str], end: Stopped) -> None:
    """The run is recorded as stopped; every capture has its outcome and, when matched, its detection;
    nothing the run started is still running, and no file of it is left half-written."""
    assert proc.returncode == 75, end.stderr  # the README's code for a run stopped by a signal
    assert not end.left_running, f"processes of the stopped run still running: {end.left_running}"
    run = project.query("SELECT status, exit_code, finished_at FROM job_runs WHERE job = :job", job=JOB)
    assert len(run) == 1 and run[0][0] == "interrupted" and run[0][1] == 75 and run[0][2] is not None, run
    recorded = rows(project, select(captures.c.id, captures.c.outcome))
    matched = {row.capture_id for row in rows(project, select(detections.c.capture_id))}
    assert all(row.outcome in ("match", "no_match", "silence", "error") for row in recorded)
    assert matched == {row.id for row in recorded if row.outcome == "match"}
    assert decode_folders(proc.pid) == []
    snippets = project.var_dir / "snippets"
    assert not snippets.exists() or not any(p.is_file() for p in snippets.rglob("*"))


def assert_given_back(project: Project, refs: tuple[str, ...]) -> None:
    """The stations' links are free and due as before: no failure counted, no back-off."""
    for ref in refs:
        link = link_row(project, ref)
        assert (link.lease_owner, link.consecutive_failures, link.last_error_reason, link.next_attempt_at,
                link.next_due_at, link.attempts) == (None, 0, None, None, None, 0), (ref, link)


def rerun_with_every_station_on_air(project: Project, server: StreamServer, audio: ScanAudio) -> None:
    """The next tick, once the slow stations play normally again: it finishes, and the captures of the
    stopped run are not made again."""
    for ref, seed in zip(SLOW, (B, C, UNKNOWN_SEEDS[0])):
        server.add(f"/{ref}", AudioRoute(audio.mp3(seed)))
    again = scan(project, timeout=120)
    assert again.returncode == 0, again.stderr


def test_a_first_sigterm_records_what_was_heard_and_stops_within_seconds(project, scan_audio, catalog_prints):
    track_ids = seed_catalog(project, catalog_prints)
    mark = uuid.uuid4().hex
    normal = AudioRoute(scan_audio.mp3(A), pace=1.0, byte_rate=MP3_BYTES_PER_SECOND,
                        burst_bytes=BURST_SECONDS * MP3_BYTES_PER_SECOND)
    with StreamServer(slow_routes(scan_audio, normal=normal)) as server:
        with running(start_scan(project, server, mark), mark) as proc:
            wait_until("every station's capture starting", lambda: every_station_connected(server))
            time.sleep(1.5)  # the normal station's burst is read: more than the least audio worth hearing
            proc.send_signal(signal.SIGTERM)
            end = stopped(proc, mark)
        assert end.seconds < STOP_BOUND_SECONDS, f"the first SIGTERM took {end.seconds:.1f} s\n{end.stderr}"
        assert_nothing_half_done(project, proc, end)
        # The capture in progress on the normal station had enough audio: heard and recorded as it is,
        # a shorter window than asked for.
        grouped = captures_by_station(project)
        assert sorted(grouped) == ["normal"], grouped
        (kept,) = grouped["normal"]
        assert kept.outcome == "match" and 5 <= kept.seconds < CAPTURE_SECONDS, kept
        heard = rows(project, select(detections.c.track_id).where(detections.c.capture_id == kept.id))
        assert [row.track_id for row in heard] == [track_ids[A]]
        assert link_row(project, "normal").last_success_at == kept.started_at
        # The others had too little: nothing recorded, nothing held against the stations.
        assert_given_back(project, SLOW)

        rerun_with_every_station_on_air(project, server, scan_audio)
    grouped = captures_by_station(project)
    assert {ref: len(found) for ref, found in grouped.items()} == dict.fromkeys(STATIONS, 1)
    assert grouped["normal"][0].id == kept.id  # not due yet: not captured twice


def test_a_second_sigterm_ends_the_run_at_once_and_kills_ffmpeg(project, scan_audio, catalog_prints, tmp_path):
    seed_catalog(project, catalog_prints)
    mark = uuid.uuid4().hex
    fakes, pid_file = stalled_ffmpeg(tmp_path / "fake-bin")
    # The normal station is read at once; its decoding then hangs, and the slow stations go on.
    with StreamServer(slow_routes(scan_audio, normal=AudioRoute(scan_audio.mp3(A)))) as server:
        path = f"{fakes}:{os.environ.get('PATH', '/usr/bin:/bin')}"
        with running(start_scan(project, server, mark, PATH=path), mark) as proc:
            wait_until("ffmpeg starting", pid_file.exists)
            wait_until("every station's capture starting", lambda: every_station_connected(server))
            decoder = int(pid_file.read_text())
            proc.send_signal(signal.SIGTERM)
            time.sleep(0.2)
            proc.send_signal(signal.SIGTERM)
            end = stopped(proc, mark)
        assert end.seconds < STOP_BOUND_SECONDS, f"the second SIGTERM took {end.seconds:.1f} s\n{end.stderr}"
        assert decoder not in end.left_running
        assert_nothing_half_done(project, proc, end)
        # The capture being heard was dropped whole, and every link is given back as it was.
        assert captures_by_station(project) == {}
        assert_given_back(project, STATIONS)

        rerun_with_every_station_on_air(project, server, scan_audio)
    grouped = captures_by_station(project)
    assert {ref: len(found) for ref, found in grouped.items()} == dict.fromkeys(STATIONS, 1)
    assert [found[0].outcome for found in grouped.values()].count("match") == 3
