"""How many songs aired three times or more become exactly one unknown recording, at scale?

    nice -n 10 .venv/bin/python bench/hearing_filing_bench.py --music /usr/share/games/wesnoth/1.16/data/core/music
    nice -n 10 .venv/bin/python bench/hearing_filing_bench.py --music /work/corpus2/catalog --songs 100

Filing itself, at the size the broadcast week (``bench/unknown_week_bench.py``) cannot reach in its wall
time: real music the catalog lacks, aired on several stations back to back, each song 1 to 8 times, half
the changes of song straight from one into the next (a segue, the case that could mix two songs in one
recording) and half with 15 s of something else between them.  Each station is captured for
``--capture`` seconds (20, as the scan) every 120 s of its programme at a phase of its own; a capture
mostly outside music is left out, as the content judge would leave it.

Each capture is recorded through the scanner's writer (``record_capture``: its unknown prints, its
``unknown_captures`` row) into a scratch SQLite database, in the order heard, and filed by the scan's
filing (``file_unknown`` with the merge filing makes: ``merge_same_song``), exactly as a scan tick files
them; only the hearing (decoding, the catalog's matcher, the content judge) is left out, its verdict
known.  The truth of every capture (the song it holds most of) is kept beside the database
(``truth.json``), with the recording filing put it in (``filed.json``), and reported:

* songs aired three times or more in exactly one recording (the target: 95 %), split over several, or
  in none; and in exactly one once a person merges the groups of recordings carrying one stream title that the
  unidentified report shows (``zamio.recognition.titles.recording_title``), with the groups holding two songs;
* recordings holding captures of two songs, captures filed into a recording of another song than the
  one they hold most of, and the merges filing made of two recordings of different songs, by kind;
* the airings of songs aired twice or more heard in a recording;
* then every song registered (imported with its audio and fingerprinted), the recordings named from the catalog
  (``zamio.playlogs.catalog_naming``, splitting off what lies outside the track named) and the song looked up
  among the captures heard once (``zamio.playlogs.heard_once``), as the fingerprinting jobs do: the captures
  named as the song they hold most of, or as one they hold less than 2 s of; the airings paid to their own song
  once registered (a capture of theirs named as it, or found heard once);
* printing and filing time per capture, look-up time per track.

``--titles 1`` has the stations send stream titles (a share of them for a fraction): each song's own, and the
station's name over what is between songs.  A capture keeps the last title it heard, as the stream reader does:
the title of what was on air ``TITLE_LAG_SECONDS`` before its end, so a capture across a change of song carries
the next song's title.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from zamio.catalog.imports import upsert_station, upsert_track  # noqa: E402
from zamio.db.engine import open_engine  # noqa: E402
from zamio.db.tables import unknown_captures, unknown_recordings  # noqa: E402
from zamio.recognition import audio, unknown  # noqa: E402
from zamio.scanning.listening import CHANGE_MARGIN_SECONDS  # noqa: E402
from zamio.scanning.listening import pieces as cut  # noqa: E402  (the scan's cut)
from zamio.scanning.outcomes import Heard  # noqa: E402
from zamio.scanning.records import CaptureFacts, file_unknown, record_capture  # noqa: E402
from zamio.streams.model import HeardTitle  # noqa: E402

RATE = audio.ANALYSIS_RATE
EVERY_SECONDS = 120.0
GAP_SECONDS = 15.0
AIRINGS = (1, 2, 3, 3, 4, 5, 6, 8)  # airings of each song, in turn
TITLE_LAG_SECONDS = 2.0  # a title reaches the stream a little after its audio (the encoder's buffer): --title-lag


@dataclass(frozen=True)
class Item:
    """One airing on a station's timeline: song index (-1: something else), from and to (seconds)."""

    song: int
    start: float
    end: float


def decoded(path: Path) -> np.ndarray | None:
    try:
        return audio.decode_file(path)
    except audio.SilentAudio:
        return None


def timelines(songs: list[np.ndarray], stations: int, rng: np.random.Generator) -> list[list[Item]]:
    """Each song's airings dealt over the stations in a shuffled order, back to back or with a gap."""
    airings = [i for i in range(len(songs)) for _ in range(AIRINGS[i % len(AIRINGS)])]
    rng.shuffle(airings)
    lines: list[list[Item]] = [[] for _ in range(stations)]
    ends = [0.0] * stations
    for n, song in enumerate(airings):
        station = n % stations
        if lines[station] and rng.random() < 0.5:
            lines[station].append(Item(-1, ends[station], ends[station] + GAP_SECONDS))
            ends[station] += GAP_SECONDS
        seconds = songs[song].size / RATE
        lines[station].append(Item(song, ends[station], ends[station] + seconds))
        ends[station] += seconds
    return lines


def rendered(line: list[Item], songs: list[np.ndarray], rng: np.random.Generator) -> np.ndarray:
    """The station's audio: the songs, and low noise for what is between them."""
    parts = [songs[item.song] if item.song >= 0 else
             (0.003 * rng.standard_normal(int((item.end - item.start) * RATE))).astype(np.float32) for item in line]
    return np.concatenate(parts).astype(np.float32)


def song_at(line: list[Item], start: float, end: float) -> int:
    """The song holding most of [start, end), or -1 when something else holds half of it or more."""
    held: Counter[int] = Counter()
    for item in line:
        shared = min(end, item.end) - max(start, item.start)
        if shared > 0:
            held[item.song] += shared
    song, seconds = held.most_common(1)[0]
    return song if song >= 0 and seconds > (end - start) / 2 else -1


def title_at(line: list[Item], station: int, moment: float) -> str:
    """The title the station sends at ``moment``: the song's, or its own name between songs."""
    item = next((i for i in line if i.start <= moment < i.end), line[-1])
    return f"Artist {item.song} - Song {item.song}" if item.song >= 0 else f"Station {station} FM"


def pieces(line: list[Item], start: float, seconds: float, lag: float,
           margin: float = CHANGE_MARGIN_SECONDS) -> list[tuple[float, float]]:
    """The parts of a capture between the changes of title its stream sent (each ``lag`` seconds after the audio
    changed), cut by the scan's own ``zamio.scanning.listening.pieces`` with ``margin``: (start, end) in programme
    seconds.  Their titles are read from the programme (``title_at``), so the cut's are left blank."""
    heard = [HeardTitle(0.0, ""), *(HeardTitle(item.start + lag - start, "") for item in line[1:])]
    return [(start + span.start, start + span.end) for span in cut(seconds, heard, margin=margin)]


def airing_of(line: list[Item], station: int, start: float, end: float, song: int) -> tuple[int, int] | None:
    for index, item in enumerate(line):
        if item.song == song and min(end, item.end) - max(start, item.start) > 0:
            return (station, index)
    return None


def database(folder: Path) -> str:
    target = f"sqlite:///{folder / 'zamio.db'}"
    subprocess.run([sys.executable, str(ROOT / "bin" / "migrate"), "-q"], check=True,
                   env={**os.environ, "DATABASE_URL": target}, stdout=subprocess.DEVNULL)
    return target


def run(capture: float, lines: list[list[Item]], audio_of: list[np.ndarray], files: list[Path],
        phases: list[float], titled: set[int], spread: float = 0.0, seed: int = 0,
        listen: float = 0.0, lag: float = TITLE_LAG_SECONDS,
        margin: float = CHANGE_MARGIN_SECONDS) -> dict[str, object]:
    """Record and file every capture of ``capture`` seconds heard (with stream titles on the ``titled``
    stations; each capture starting a random 0 to ``spread`` seconds into its 120 s); report against the truth.
    With ``listen``, a station sending titles whose last capture was music is captured ``listen`` seconds,
    recorded in the pieces its changes of title leave (``pieces``)."""
    from zamio.playlogs.identify import merge_same_song

    songs = len(files)
    folder = Path(tempfile.mkdtemp(prefix="zamio-hearing-bench-"))
    engine = open_engine(database(folder))
    at = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    truth: dict[int, tuple[int, tuple[int, int] | None]] = {}  # capture id -> (song, airing)
    where: dict[int, float] = {}  # capture id -> its start in its song (seconds)
    holds: dict[int, set[int]] = {}  # capture id -> the songs it holds 2 s or more of
    heard_airings: dict[int, set[tuple[int, int]]] = defaultdict(set)  # song -> airings it has a capture of
    printing = 0.0
    filed_captures = 0
    with engine.begin() as conn:
        station_ids = [upsert_station(conn, {"station_ref": f"st{i}", "name": f"Station {i}",
                                             "station_class": "class_b"}) for i in range(len(lines))]
    late = np.random.default_rng(seed + 1)
    moments = sorted((phases[station] + k * EVERY_SECONDS + float(late.uniform(0, spread)), station)
                     for station, line in enumerate(lines)
                     for k in range(int((line[-1].end - phases[station] - capture - spread) // EVERY_SECONDS) + 1))
    last_was_music = [False] * len(lines)
    long_captures = 0
    for t, station in moments:
        line, samples = lines[station], audio_of[station]
        if listen and station in titled and last_was_music[station]:
            parts = pieces(line, t, min(listen, line[-1].end - t), lag, margin)
            long_captures += 1
        else:
            parts = [(t, t + capture)]
        last_was_music[station] = False
        for start, end in parts:
            song = song_at(line, start, end)
            if song < 0:
                continue  # talk, an advertisement: judged so, never filed
            last_was_music[station] = True
            began = time.perf_counter()
            prints = unknown.prints(samples[int(start * RATE):int(end * RATE)])
            printing += time.perf_counter() - began
            filed_captures += 1
            title = title_at(line, station, end - lag) if station in titled else None
            facts = CaptureFacts(station_ids[station], "stream", at + timedelta(seconds=start), b"",
                                 seconds=end - start, icy_title=title)
            heard = Heard("no_match", end - start, content="music", music_probability=1.0, prints=prints)
            with engine.begin() as conn:
                capture_id, _ = record_capture(conn, facts, heard)
            truth[capture_id] = (song, airing_of(line, station, start, end, song))
            holds[capture_id] = {i.song for i in line
                                 if i.song >= 0 and min(end, i.end) - max(start, i.start) >= 2.0}
            where[capture_id] = round(start - next(i.start for i in line if i.song == song and i.end > start
                                                   and i.start < end), 1)
    wrong_merges: Counter[str] = Counter()  # merges of two recordings holding different songs, by kind

    def merge(conn, same) -> bool:  # noqa: ANN001  (filing's merge, its evidence checked against the truth)
        held = [Counter(truth[c][0] for c in conn.execute(select(unknown_captures.c.capture_id).where(
            unknown_captures.c.unknown_id == recording)).scalars()) for recording in (same.younger_id, same.older_id)]
        if all(held) and held[0].most_common(1)[0][0] != held[1].most_common(1)[0][0]:
            wrong_merges[same.kind] += 1
        return merge_same_song(conn, same)

    began = time.perf_counter()
    while True:
        with engine.begin() as conn:
            processed, _ = file_unknown(conn, merge=merge)
        if not processed:
            break
    filing = time.perf_counter() - began
    with engine.connect() as conn:
        filed = conn.execute(select(unknown_captures.c.capture_id, unknown_recordings.c.unknown_ref)
                             .join(unknown_recordings, unknown_recordings.c.id == unknown_captures.c.unknown_id)).all()
        began = time.perf_counter()
        titled_as = title_groups(conn)
        grouping = time.perf_counter() - began
    # What filing made, before naming moves anything: capture id -> its recording (U-...).
    (folder / "filed.json").write_text(json.dumps({int(c): r for c, r in filed}))
    registration = registered(engine, files, truth, holds, filed)
    engine.dispose()
    # The truth beside the scratch database, for looking into a result: capture id -> song, station, airing.
    (folder / "truth.json").write_text(json.dumps({c: [s, a, where[c]] for c, (s, a) in truth.items()}))
    print(f"scratch folder {folder}", file=sys.stderr)
    recordings_of: dict[int, set[str]] = defaultdict(set)
    songs_in: dict[str, Counter[int]] = defaultdict(Counter)
    for capture_id, ref in filed:
        song, airing = truth[capture_id]
        recordings_of[song].add(ref)
        songs_in[ref][song] += 1
        if airing is not None:
            heard_airings[song].add(airing)
    aired = Counter(item.song for line in lines for item in line if item.song >= 0)
    often = [s for s in range(songs) if aired[s] >= 3]
    mixed = [ref for ref, held in songs_in.items() if len(held) > 1]
    misfiled = sum(sum(held.values()) - max(held.values()) for held in songs_in.values())
    twice = [s for s in range(songs) if aired[s] >= 2]
    song_of = {ref: held.most_common(1)[0][0] for ref, held in songs_in.items()}
    groups: dict[str, set[str]] = defaultdict(set)
    for ref, title in titled_as.items():
        groups[title].add(ref)
    grouped = [g for g in groups.values() if len(g) > 1]
    group_of = {ref: frozenset(g) for g in grouped for ref in g}

    def together(song: int) -> bool:
        """Whether a person merging the report's title groups would hold the song in exactly one recording."""
        refs = recordings_of[song]
        joined = {group_of.get(ref, frozenset({ref})) for ref in refs}
        return len(joined) == 1 and all(song_of[ref] == song for ref in next(iter(joined)) - refs)

    return {
        "capture_seconds": capture, "listen_seconds": listen, "title_lag_seconds": lag, "change_margin_seconds": margin,
        "long_captures": long_captures,
        "captures_filed": filed_captures, "stations_sending_titles": len(titled),
        "songs_aired_3_or_more": len(often),
        "in_exactly_one_recording": sum(len(recordings_of[s]) == 1 for s in often),
        "split": sum(len(recordings_of[s]) > 1 for s in often),
        "in_none": sum(not recordings_of[s] for s in often),
        "recordings": len(songs_in), "recordings_mixing_songs": len(mixed), "captures_misfiled": misfiled,
        "merges_of_two_songs": dict(wrong_merges),
        "recordings_with_a_title": len(titled_as), "title_groups": len(grouped),
        "title_groups_of_two_songs": sum(len({song_of[ref] for ref in g}) > 1 for g in grouped),
        "in_one_recording_once_title_groups_merged": sum(together(s) for s in often if recordings_of[s]),
        "airings_heard_in_a_recording": sum(len(heard_airings[s]) for s in twice),
        "airings_of_songs_aired_twice_or_more": sum(aired[s] for s in twice),
        "airings": sum(aired.values()), "airings_in_a_recording": len({truth[c][1] for c, _ in filed}),
        **registration,
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],  # the times' conditions: other work
        "printing_ms_per_capture": round(1000 * printing / max(filed_captures, 1), 1),
        "filing_ms_per_capture": round(1000 * filing / max(filed_captures, 1), 1),
        "title_grouping_ms_per_recording": round(1000 * grouping / max(len(songs_in), 1), 1),
    }


def title_groups(conn) -> dict[str, str]:  # noqa: ANN001
    """Each open recording's stream title, as the unidentified report reads it (``recording_title``): ref -> key."""
    from zamio.recognition.titles import Runs, recording_title, title_key

    runs = Runs()
    found = {}
    for recording_id, ref in conn.execute(select(unknown_recordings.c.id, unknown_recordings.c.unknown_ref)
                                          .where(unknown_recordings.c.resolved_at.is_(None))
                                          .order_by(unknown_recordings.c.id)):
        key = title_key(recording_title(conn, recording_id, runs))
        if key is not None:
            found[ref] = key
    return found


class _Running:
    """A run that is never asked to stop (``Progress`` as heard_once reads it)."""

    @staticmethod
    def should_stop() -> bool:
        return False


def registered(engine, files: list[Path], truth: dict[int, tuple[int, tuple[int, int] | None]],  # noqa: ANN001
               holds: dict[int, set[int]], filed: list) -> dict[str, object]:  # noqa: ANN001
    """Every song registered (imported with its audio and fingerprinted), then looked up among the airings heard
    once (``zamio.playlogs.heard_once``): the airings paid once their songs are registered, by the recordings'
    naming and by that look-up, and any capture found as a song it holds less than 2 s of (a wrong name)."""
    from contextlib import contextmanager

    from zamio.playlogs import catalog_naming, heard_once
    from zamio.recognition.fingerprint import fingerprint
    from zamio.recognition.index import store_fingerprints

    with engine.begin() as conn:
        track_song = {}
        for index, path in enumerate(files):
            track_id = upsert_track(conn, {"track_ref": f"s{index}", "title": path.stem, "artist": "Bench",
                                           "audio_path": str(path)}, path.parent)
            samples = audio.decode_file(path)
            store_fingerprints(conn, track_id, fingerprint(samples), f"bench-{index}", samples.size / RATE)
            track_song[track_id] = index

    @contextmanager
    def transactions(read_only: bool = False):  # noqa: ANN202, ARG001
        with engine.begin() as conn:
            yield conn

    began = time.perf_counter()
    naming = catalog_naming.check(transactions, _Running(), "bench")  # type: ignore[arg-type]
    named_in = time.perf_counter() - began
    with engine.connect() as conn:
        named = {int(c): int(t) for c, t in conn.execute(
            select(unknown_captures.c.capture_id, unknown_recordings.c.track_id)
            .join(unknown_recordings, unknown_recordings.c.id == unknown_captures.c.unknown_id)
            .where(unknown_recordings.c.track_id.is_not(None)))}
    began = time.perf_counter()
    found = heard_once.check(transactions, _Running())  # type: ignore[arg-type]
    looking = time.perf_counter() - began
    in_recordings = {truth[c][1] for c, _ in filed if truth[c][1] is not None}
    refs = {f"s{index}": index for index in track_song.values()}
    right = [c for ref, c in found.found if truth[c][0] == refs[ref]]
    wrong = [c for ref, c in found.found if refs[ref] not in holds[c]]
    by_look_up = {truth[c][1] for c in right if truth[c][1] is not None}
    by_naming = {truth[c][1] for c, track in named.items() if track_song[track] == truth[c][0] and truth[c][1]}
    return {
        "after_registration_airings_in_a_recording_or_found": len(in_recordings | by_look_up),  # of "airings"
        "recordings_named_from_the_catalog": len(naming.named), "left_open": len(naming.unnamed),
        "naming_refused": len(naming.refused), "recordings_split_off_while_naming": len(getattr(naming, "split", [])),
        "captures_named_as_the_song_they_hold_most": sum(track_song[t] == truth[c][0] for c, t in named.items()),
        "captures_named_as_a_song_they_do_not_hold": sum(track_song[t] not in holds[c] for c, t in named.items()),
        "captures_in_a_recording_left_unnamed": len(filed) - len(named),
        "after_registration_airings_paid": len(by_naming | by_look_up),  # of "airings", to their own song
        "of_which_found_heard_once": len(by_look_up - by_naming),
        "catalog_naming_s": round(named_in, 1),
        "captures_heard_once_found": len(found.found),
        "found_as_the_song_they_hold_least": len(found.found) - len(right) - len(wrong),  # the next song's start
        "found_as_a_song_they_do_not_hold": len(wrong),
        "look_up_candidates": found.candidates, "look_up_ms_per_track": round(1000 * looking / max(len(files), 1)),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--music", type=Path, required=True, help="a folder of music files, the songs the catalog lacks")
    ap.add_argument("--songs", type=int, default=0, help="songs drawn from --music (0: all of them)")
    ap.add_argument("--stations", type=int, default=6)
    ap.add_argument("--capture", type=float, default=20.0, help="seconds captured every 120 s (the scan's: 20)")
    ap.add_argument("--listen", type=float, default=0.0,
                    help="seconds captured of a station sending titles whose last capture was music (0: --capture)")
    ap.add_argument("--title-lag", type=float, default=TITLE_LAG_SECONDS,
                    help="seconds a change of title reaches the stream after its audio changed")
    ap.add_argument("--change-margin", type=float, default=CHANGE_MARGIN_SECONDS,
                    help="seconds left out either side of a change of title in a long capture")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--titles", type=float, default=0.0, help="share of the stations sending stream titles (0 to 1)")
    ap.add_argument("--spread", type=float, default=0.0,
                    help="each capture starts a random 0 to SPREAD seconds into its 120 s (0: on the dot)")
    args = ap.parse_args()
    files = sorted(p for p in args.music.iterdir() if p.suffix.lower() in (".ogg", ".mp3", ".flac", ".wav"))
    rng = np.random.default_rng(args.seed)
    if args.songs:
        files = [files[i] for i in sorted(rng.permutation(len(files))[:args.songs].tolist())]
    decoded_files = [(p, s) for p, s in zip(files, map(decoded, files), strict=True)
                     if s is not None and s.size >= 60 * RATE]
    files, songs = [p for p, _ in decoded_files], [s for _, s in decoded_files]
    lines = timelines(songs, args.stations, rng)
    audio_of = [rendered(line, songs, rng) for line in lines]
    phases = [float(rng.uniform(0, EVERY_SECONDS)) for _ in lines]
    hours = sum(line[-1].end for line in lines) / 3600
    titled = set(range(round(args.titles * args.stations)))
    segues = sum(1 for line in lines for a, b in zip(line, line[1:], strict=False) if a.song >= 0 and b.song >= 0)
    print(f"{len(songs)} songs of {args.music} (at least 60 s), aired {sum(len(line) for line in lines)} items on "
          f"{args.stations} stations ({hours:.1f} h of programme, {segues} changes of song with no gap), "
          f"heard every {EVERY_SECONDS:.0f} s (each capture 0 to {args.spread:.0f} s late), stream titles from "
          f"{len(titled)} of them; seed {args.seed}", flush=True)
    print(json.dumps({"spread_seconds": args.spread,
                      **run(args.capture, lines, audio_of, files, phases, titled, args.spread, args.seed,
                            args.listen, args.title_lag, args.change_margin)}), flush=True)


if __name__ == "__main__":
    main()
