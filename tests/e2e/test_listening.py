"""Listening longer to unknown music: bin/scan-station-streams against real stream servers on 127.0.0.1
captures a station whose last capture was music with no match for SCAN_LISTEN_SECONDS instead of
SCAN_CAPTURE_SECONDS, records the long capture in pieces of an ordinary capture's length, back to back,
and goes back to ordinary captures once the station plays something else; the pieces of one long capture
are filed together: two songs in one long capture never become one unknown recording, and two airings
heard whole become one.  On SQLite and PostgreSQL.

Every stream is served in real time from the start of its audio for each listener, with no burst, so a
piece's place in its capture (its ``started_at`` less the capture's first piece's) is its place in the
served audio.
"""

from __future__ import annotations

import signal
import time

import numpy as np
import pytest
from sqlalchemy import select

from tests.e2e.test_unidentified import talk_and_hiss  # noqa: F401  (the news read and the hiss)
from tests.scan_helpers import UNKNOWN_SEEDS, rows, scan, scan_audio  # noqa: F401
from tests.streamserver import AudioRoute, StreamServer, encode
from tests.support import Project
from zamio.db.tables import captures, stations
from zamio.demo import synth

CAPTURE = 6.0  # SCAN_CAPTURE_SECONDS: the length of a piece too (a remainder under 3 s goes with the last)
SONG = 20.0  # tests.scan_helpers.SONG_SECONDS: each unknown song lasts 20 s
MP3_BYTES_PER_SECOND = 16_000  # 128 kbit/s
TIMING = 0.05  # seconds: capture times and lengths are kept to the millisecond


def live(mp3: bytes) -> AudioRoute:
    """A station streaming ``mp3`` in real time, from its start for each listener."""
    return AudioRoute(mp3, byte_rate=MP3_BYTES_PER_SECOND, pace=1.0)


def captures_of(project: Project, ref: str) -> list:
    """The station's captures, oldest first (typed: aware datetimes on both databases)."""
    return rows(project, select(captures.c.id, captures.c.started_at, captures.c.seconds, captures.c.outcome,
                                captures.c.content, captures.c.capture_key, captures.c.audio_sha256)
                .join(stations, stations.c.id == captures.c.station_id).where(stations.c.station_ref == ref)
                .order_by(captures.c.started_at))


def ticks(rows: list) -> list[list]:
    """The captures grouped by the capture they were cut from (the same audio hash, each piece starting
    where the one before ends), in order."""
    grouped: list[list] = []
    for row in rows:
        last = grouped[-1][-1] if grouped else None
        if last is not None and last.audio_sha256 == row.audio_sha256 and (
                row.started_at - last.started_at).total_seconds() < last.seconds + TIMING:
            grouped[-1].append(row)
        else:
            grouped.append([row])
    return grouped


def add_stations(project: Project, server: StreamServer, *refs: str) -> None:
    from tests.world import World

    world = World(project)
    for ref in refs:
        world.station(ref, "class_b", stream_url=server.url(f"/{ref}.mp3"))
    world.load()


def listen(project: Project, *refs: str, listen_seconds: float, timeout: float = 120, **env: str):
    args = [arg for ref in refs for arg in ("--station", ref)]
    result = scan(project, *args, "--concurrency", str(len(refs)), timeout=timeout,
                  SCAN_CAPTURE_SECONDS=f"{CAPTURE:g}", SCAN_LISTEN_SECONDS=f"{listen_seconds:g}", **env)
    assert result.returncode == 0, result.stderr
    return result


def places(pieces: list) -> list[tuple[float, float]]:
    """Each piece's (from, to) seconds in the capture it was cut from."""
    start = pieces[0].started_at
    return [((p.started_at - start).total_seconds(), (p.started_at - start).total_seconds() + p.seconds)
            for p in pieces]


def assert_back_to_back(pieces: list, total: tuple[float, float]) -> None:
    """Each piece lasts ``CAPTURE`` and starts where the one before ends, the last one holding what is
    left (from half a piece to a piece and a half); together they span ``total`` (from, to) seconds."""
    spans = places(pieces)
    assert all(abs(p.seconds - CAPTURE) < TIMING for p in pieces[:-1]), spans
    assert CAPTURE / 2 - TIMING < pieces[-1].seconds < 1.5 * CAPTURE + TIMING, spans
    for (_, end), (start, _) in zip(spans[:-1], spans[1:], strict=True):
        assert abs(start - end) < TIMING, spans
    assert total[0] <= spans[-1][1] <= total[1], spans
    assert len({p.capture_key for p in pieces}) == len(pieces)


def test_a_station_airing_unknown_music_is_heard_longer_in_pieces_then_as_usual_again(
        project, scan_audio, talk_and_hiss):  # noqa: F811
    route = live(scan_audio.mp3(UNKNOWN_SEEDS[0]))
    with StreamServer({"/one.mp3": route}) as server:
        add_stations(project, server, "one")
        listen(project, "one", listen_seconds=16)  # first heard: an ordinary capture, music with no match
        listen(project, "one", listen_seconds=16)  # its last capture was unknown music: 16 s, in pieces
        route.set_audio(talk_and_hiss["news"])
        listen(project, "one", listen_seconds=16)  # still heard longer: the last piece was the song
        listen(project, "one", listen_seconds=16)  # the news: back to ordinary captures
    first, long, news, after = ticks(captures_of(project, "one"))
    assert [len(first), len(after)] == [1, 1]
    assert CAPTURE <= first[0].seconds < CAPTURE + 1 and CAPTURE <= after[0].seconds < CAPTURE + 1
    assert (first[0].outcome, first[0].content) == ("no_match", "music")
    # 16 s (and a fraction of a frame) in pieces from 0, 6 and 12 s.
    assert len(long) == 3 and len(news) == 3
    assert_back_to_back(long, (16.0, 17.0))
    assert long[-1].content == "music" and all(p.outcome == "no_match" for p in long)
    assert news[-1].content == "speech"
    assert_back_to_back(news, (16.0, 17.0))
    # The song's captures are in the unknown index, the news's never.  Each tick's stream starts the song
    # from its start, so the first capture (its first 6 s) and the long capture's first piece (the same
    # seconds) are the song heard twice: they make U-000001.
    filed = project.query("SELECT c.capture_id, c.status, u.unknown_ref FROM unknown_captures c "
                          "LEFT JOIN unknown_recordings u ON u.id = c.unknown_id ORDER BY c.capture_id")
    music = [first[0].id, *(p.id for p in long + news if p.content == "music")]
    assert [row.capture_id for row in filed] == sorted(music)
    assert [(row.status, row.unknown_ref) for row in filed[:2]] == [("joined", "U-000001")] * 2
    assert [row.capture_id for row in filed[:2]] == [first[0].id, long[0].id]


def recordings_of(project: Project) -> dict[int, str]:
    """capture id -> the unknown recording it is filed in."""
    return {row.capture_id: row.unknown_ref for row in project.query(
        "SELECT c.capture_id, u.unknown_ref FROM unknown_captures c JOIN unknown_recordings u ON u.id = c.unknown_id")}


def back_to_back(folder, first: int, second: int) -> bytes:
    """One MP3 of two unknown songs, the second straight after the first (20 s each, no pause)."""
    both = np.concatenate([synth.song(first, seconds=SONG), synth.song(second, seconds=SONG)])
    synth.write_wav(folder / "both.wav", both)
    return encode(folder / "both.wav", folder / "both.mp3", "-c:a", "libmp3lame", "-b:a", "128k")


def test_a_long_capture_across_two_unknown_songs_never_joins_them(project, scan_audio, tmp_path):  # noqa: F811
    a, b = UNKNOWN_SEEDS[0], UNKNOWN_SEEDS[1]
    routes = {"/a.mp3": live(scan_audio.mp3(a)), "/b.mp3": live(scan_audio.mp3(b)),
              "/mix.mp3": live(back_to_back(tmp_path, a, b))}
    with StreamServer(routes) as server:
        add_stations(project, server, "a", "b", "mix")
        listen(project, "a", "b", "mix", listen_seconds=36)  # ordinary captures: the first 6 s of A, B, A
        listen(project, "a", "b", "mix", listen_seconds=36)  # all three heard longer: 36 s each
        listen(project, "mix", listen_seconds=0)  # an ordinary capture again: A's first 6 s
    [first_mix], mix, [last_mix] = ticks(captures_of(project, "mix"))
    assert_back_to_back(mix, (36.0, 37.0))
    # Song A ends 20 s into the mix: a piece is of the song it holds most of (the piece from 18 s holds 2 s
    # of A and 4 s of B), and the stations a and b air one song each (looped).
    song_of = {p.id: ("A" if end - SONG < SONG - begin else "B" if end - SONG > SONG - begin else "both")
               for p, (begin, end) in zip(mix, places(mix), strict=True)}
    song_of[first_mix.id] = song_of[last_mix.id] = "A"  # the first 6 s of the stream
    for ref, song in (("a", "A"), ("b", "B")):
        for capture in captures_of(project, ref):
            song_of[capture.id] = song
    songs_of: dict[str, set[str]] = {}
    for capture_id, ref in recordings_of(project).items():
        songs_of.setdefault(ref, set()).add(song_of[capture_id])
    # Both songs were heard on two stations, so each is in a recording, and no recording holds both; the
    # mix's pieces of B, placed after its pieces of A in one hearing, join B's recordings, never A's.
    assert all(len(songs) == 1 for songs in songs_of.values()), songs_of
    assert set().union(*songs_of.values()) == {"A", "B"}
    filed = recordings_of(project)
    assert any(song_of[p.id] == "B" and p.id in filed for p in mix), song_of
    # The ordinary capture heard last, filed by the pieces it aligns with best, joins A's recording.
    assert filed[last_mix.id] == filed[first_mix.id], (filed, song_of)


def test_two_airings_heard_whole_become_one_recording(project, scan_audio):  # noqa: F811
    song = scan_audio.mp3(UNKNOWN_SEEDS[2])
    with StreamServer({"/one.mp3": live(song), "/two.mp3": live(song)}) as server:
        add_stations(project, server, "one", "two")
        listen(project, "one", "two", listen_seconds=SONG)  # ordinary captures: the song's first 6 s twice
        listen(project, "one", "two", listen_seconds=SONG)  # both heard longer: the whole song, in pieces
    heard = {ref: ticks(captures_of(project, ref)) for ref in ("one", "two")}
    for first, whole in heard.values():
        assert len(first) == 1 and len(whole) == 3  # pieces from 0, 6 and 12 s (the last with the 2 s left)
        assert_back_to_back(whole, (SONG, SONG + 1.0))
    # Every capture of the song, ordinary or piece, on both stations, is in the one recording U-000001: the
    # second long hearing aligns with the first over the whole song, so all the pieces of both join the
    # recording the two first captures made.
    music = {c.id for ticks_of in heard.values() for tick in ticks_of for c in tick if c.content == "music"}
    assert len(music) == 8
    assert recordings_of(project) == dict.fromkeys(sorted(music), "U-000001")


def test_a_run_makes_no_more_long_captures_than_scan_listen_stations(project, scan_audio):  # noqa: F811
    song = scan_audio.mp3(UNKNOWN_SEEDS[2])
    with StreamServer({"/one.mp3": live(song), "/two.mp3": live(song)}) as server:
        add_stations(project, server, "one", "two")
        listen(project, "one", "two", listen_seconds=SONG)  # ordinary captures: unknown music on both
        listen(project, "one", "two", listen_seconds=SONG, SCAN_LISTEN_STATIONS="1")
    heard = sorted(len(ticks(captures_of(project, ref))[1]) for ref in ("one", "two"))
    assert heard == [1, 3]  # one station heard longer (three pieces), the other as usual


def test_a_long_capture_stopped_is_recorded_in_pieces_and_a_second_tick_waits_for_the_lock(
        project, scan_audio):  # noqa: F811
    with StreamServer({"/one.mp3": live(scan_audio.mp3(UNKNOWN_SEEDS[0]))}) as server:
        add_stations(project, server, "one")
        listen(project, "one", listen_seconds=40)
        env = project.env(SCAN_ALLOW_PRIVATE_ADDRESSES="true", SCAN_CAPTURE_SECONDS=f"{CAPTURE:g}",
                          SCAN_LISTEN_SECONDS="40")
        proc = project.popen("scan-station-streams", "--station", "one", env=env)
        try:
            time.sleep(8.0)
            assert proc.poll() is None, proc.communicate()
            # Ticks never overlap: while the long capture runs, the next tick finds the host's lock held.
            second = project.script("scan-station-streams", "--station", "one", env=env, timeout=60)
            assert second.returncode == 75, second.stderr
            time.sleep(6.0)
            proc.send_signal(signal.SIGTERM)
            _, stderr = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert proc.returncode == 75, stderr
    first, stopped = ticks(captures_of(project, "one"))
    # Stopped 9 to 14 s into a 40 s capture (the second tick's start and exit add a few seconds, the first's
    # start up more on a loaded host): the audio received is heard and recorded in pieces, none lost.
    assert len(first) == 1
    assert_back_to_back(stopped, (8.0, 30.0))
    filed = project.scalar("SELECT count(*) FROM unknown_captures")
    assert filed == 1 + sum(p.content == "music" for p in stopped)


@pytest.mark.parametrize("value", ["-1", "111"])
def test_listening_longer_than_a_tick_allows_is_refused(project, value):
    result = scan(project, "--listen-seconds", value)
    assert result.returncode == 2 and "--listen-seconds must be between 0 and 110" in result.stderr
