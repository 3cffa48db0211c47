"""Listening longer to unknown music under stream titles: bin/scan-station-streams, against real ICY
streams on 127.0.0.1, captures a station whose last capture was music with no match, under a title
that names its items, for SCAN_LISTEN_SECONDS instead of SCAN_CAPTURE_SECONDS, and records the long
capture in pieces cut where the stream's title changed, 8 s either side left out, so no piece holds
two songs.  A station sending one title over everything is captured as usual.  On SQLite and PostgreSQL.

Streams are served as fast as they are read, each listener from the start of the audio, so a piece's
place in its capture is its place in the served audio (the capture's start moves with the connect
burst, the pieces with it).
"""

from __future__ import annotations

import numpy as np
from sqlalchemy import select

from tests.scan_helpers import UNKNOWN_SEEDS, add_station, rows, scan, scan_audio  # noqa: F401
from tests.streamserver import IcyAudioRoute, StreamServer, encode
from tests.support import Project
from zamio.db.tables import captures, stations, unknown_captures, unknown_recordings
from zamio.demo import synth
from zamio.streams.formats import sniff

CAPTURE = "6"  # SCAN_CAPTURE_SECONDS
LISTEN = 40.0  # SCAN_LISTEN_SECONDS
FIRST_SONG = 20.0  # song A's seconds in the served audio; song B follows for 30 s
MP3_BYTES_PER_SECOND = 16_000  # 128 kbit/s
A, B = "Ama Serwaa - Song A", "Kwesi Boateng - Song B"


def back_to_back(folder, first: int, second: int) -> bytes:
    """One MP3 of two unknown songs, the second (30 s) straight after the first (20 s)."""
    both = np.concatenate([synth.song(first, seconds=FIRST_SONG), synth.song(second, seconds=30.0)])
    synth.write_wav(folder / "both.wav", both)
    return encode(folder / "both.wav", folder / "both.mp3", "-c:a", "libmp3lame", "-b:a", "128k")


def captures_of(project: Project, ref: str) -> list:
    """The station's captures in the order recorded."""
    return rows(project, select(captures.c.id, captures.c.started_at, captures.c.seconds, captures.c.outcome,
                                captures.c.content, captures.c.icy_title)
                .join(stations, stations.c.id == captures.c.station_id).where(stations.c.station_ref == ref)
                .order_by(captures.c.id))


def tick(project: Project) -> None:
    result = scan(project, "--station", "titled", "--station", "plain", "--concurrency", "2",
                  SCAN_CAPTURE_SECONDS=CAPTURE, SCAN_LISTEN_SECONDS=f"{LISTEN:g}")
    assert result.returncode == 0, result.stderr


def test_unknown_music_under_titles_is_heard_longer_and_cut_where_the_title_changes(project, scan_audio, tmp_path):
    mix = back_to_back(tmp_path, UNKNOWN_SEEDS[0], UNKNOWN_SEEDS[1])
    found = sniff(mix[:16384])
    assert found is not None
    song_b_at = found.offset + int(FIRST_SONG * MP3_BYTES_PER_SECOND)  # where the playout changes the title
    titled = IcyAudioRoute(scan_audio.mp3(UNKNOWN_SEEDS[1]), titles=((0, B),))
    plain = IcyAudioRoute(scan_audio.mp3(UNKNOWN_SEEDS[2]), title="Radio Plain FM")  # its name, always
    with StreamServer({"/titled.mp3": titled, "/plain.mp3": plain}) as server:
        add_station(project, "titled", server.url("/titled.mp3"))
        add_station(project, "plain", server.url("/plain.mp3"))
        tick(project)  # song B under its title: an ordinary capture (no change of title seen yet)
        titled.set_audio(mix)
        titled.titles = ((0, A), (song_b_at, B))
        tick(project)  # song A under its title, changed from B's: ordinary, but the next is heard longer
        tick(project)  # 40 s: song A's 20 s, then song B's first 20 s, the title changing between them
    first, second, *pieces = captures_of(project, "titled")
    assert [(c.outcome, c.content, c.icy_title) for c in (first, second)] == [("no_match", "music", B),
                                                                             ("no_match", "music", A)]
    assert all(6.0 <= c.seconds < 7.5 for c in (first, second))
    # Cut at the change (20 s, heard within the next ICY block: 8,192 bytes, 0.5 s), 8 s either side left
    # out: A from 0 to 12 s, B from 28 s to the capture's end (40 s and the reader's 1 s margin).
    assert [(p.outcome, p.content, p.icy_title) for p in pieces] == [("no_match", "music", A),
                                                                     ("no_match", "music", B)]
    song_a, song_b = pieces
    assert 12.0 <= song_a.seconds <= 12.6
    gap = (song_b.started_at - song_a.started_at).total_seconds()
    assert 28.0 <= gap <= 28.6 and 40.0 <= gap + song_b.seconds <= 41.5
    # The station sending its name over everything was captured as usual every time.
    plain_captures = captures_of(project, "plain")
    assert len(plain_captures) == 3 and all(6.0 <= c.seconds < 7.5 for c in plain_captures)
    # Song A was heard twice (its first 6 s, then its first 12 s): one unknown recording, which song B's
    # piece is not in.
    filed = {row.capture_id: row.unknown_ref for row in rows(project, select(
        unknown_captures.c.capture_id, unknown_recordings.c.unknown_ref).outerjoin(
        unknown_recordings, unknown_recordings.c.id == unknown_captures.c.unknown_id))}
    assert filed[second.id] is not None and filed[second.id] == filed[song_a.id]
    assert filed.get(song_b.id) != filed[song_a.id]


def test_listening_longer_than_a_tick_allows_is_refused(project):
    result = scan(project, "--listen-seconds", "76")
    assert result.returncode == 2 and "--listen-seconds must be between 0 and 75" in result.stderr
