"""A simulated broadcast week: do the songs the catalog lacks become one unknown recording each?

    nice -n 10 .venv/bin/python bench/unknown_week_bench.py                          # SQLite, scratch folder
    nice -n 10 .venv/bin/python bench/unknown_week_bench.py --database postgresql://postgres:postgres@127.0.0.1:5432/postgres

Several stations (``--stations``, 5) stream their programme from real HTTP servers on
127.0.0.1 (``tests.streamserver``): whole songs with talk, advertisement breaks and station
jingles between them.  The week is compressed: each station airs ``--hours`` (3) of programme,
standing for its week, and the scanner hears it as it would, a 20 s capture every two minutes of
programme at a phase of its own per station; one tick of ``bin/scan-station-streams --station …``
on every station per two minutes, ``tick_wall_seconds()`` of wall time apart (the server switches
each station to what it airs at that moment between ticks; a capture may straddle two items).
Each tick's scan starts ``ON_AIR_LEAD_SECONDS`` early and every station holds its answer until the
tick's instant, then flows at real time, so a capture's time follows the programme's as on a live
stream, whatever the scan's start-up took; ``--tick-seconds 120`` runs the programme in its own time,
so the captures of a station are two minutes apart as on air (what the filing's sequence evidence reads).

Songs are real recorded music (the wesnoth pieces of the Debian package ``wesnoth-1.16-music``,
orchestral and folk, 80 s to 9 min) and generated songs (``zamio.demo.synth``, ``--generated``);
``--music FOLDER --songs N`` draws N recorded songs of 80 s or more from another folder instead (the second
real-music catalog, ``bench/get-second-corpus.sh``: the music of free games, some of it loops).
A third of them are left out of the catalog; each of those is aired a set number of times
(``AIRINGS``: 1 to 12), on whichever stations the seeded draw gives; the presenter talks over the
intro of a third of the airings, half of them fade out.  Talk is espeak-ng (presenters, news,
callers on the telephone); advertisements are fixed spots (the same voice over the same music
bed, aired again and again, as spots are); jingles are each station's ident (a short chord figure
and a spoken station name over it).  Every capture is MP3 128 kbit/s as served.  ``--titles SHARE``
has that share of the stations send ICY stream titles: a song's "Artist - Title", the station's name
over anything else, each sent 2 s after its item began on air.  With titles the scan listens longer
(``--listen-seconds``, 60, the scan's default ``SCAN_LISTEN_SECONDS``; 0: never) to a station whose
last capture was unknown music under a title naming its items, and records the long capture in pieces
cut where the title changed (``zamio.scanning.listening``); each piece is placed in the programme by
its time.

The real jobs run, through their scripts: ``bin/migrate``, ``bin/import-catalog`` (stations,
the registered two thirds with their contributors, a rate card), ``bin/auto-fingerprint-new-tracks``,
the scan ticks, ``bin/convert-matches`` and ``bin/calculate-royalty-distributions``.  The bench
keeps the truth (what each station aired when) and reports:

* of the unregistered songs aired 3 times or more: how many became exactly one U- recording,
  several (split), or none; with titles, how many would be in exactly one once a person merged
  the groups of recordings under one title that ``bin/unidentified-report`` shows;
* of the U- recordings: how many are one unregistered song, a catalog song, speech/ads/jingles;
* the share of the unregistered songs' airings that became a play of their right U- recording;
* the cost: the unknown machinery's CPU per capture, measured side by side on the week's own
  unknown-music captures (heard and recorded in a transaction rolled back, once with its
  prints, candidate row and filing, once without), and the scan's whole CPU per capture;
* once ``bin/identify-unknown`` names each U- recording as its song (imported with its shares),
  the held money released to each party against the shares computed here from the plays: the held plays
  of one station that the billing rule makes one airing once named (a song heard at two points of an airing
  as two U- recordings) are one play from the earlier start to the later end, paid once;
* the same registration on a copy of the week's database with no naming by hand: the fingerprinting
  job names from the catalog what the captures' kept prints show (``UNKNOWN_AUTO_NAMING``), and the
  held money released to the right parties is compared with the manual naming's, to the unit.

``--keep`` keeps the scratch folder and database; ``--naming-again FOLDER`` compares the two namings
again on fresh copies of a kept week (migrated first), without airing it again.

It prints a Markdown table and writes ``unknown_week_<database>.json`` into ``--out``.
Rendered audio is cached in ``--work`` (default ``/tmp/zamio-week-bench``).
"""

from __future__ import annotations

import argparse
import csv
import functools
import hashlib
import json
import multiprocessing
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.music_bench import HELD_VOICES, TEXTS, TRAIN_VOICES  # noqa: E402
from tests.streamserver import AudioRoute, StreamServer  # noqa: E402
from zamio.db.engine import open_engine  # noqa: E402
from zamio.db.url import parse_database_url  # noqa: E402
from zamio.demo import synth  # noqa: E402
from zamio.recognition import audio, unknown  # noqa: E402
from zamio.scanning.hearing import Recogniser  # noqa: E402
from zamio.scanning.records import CaptureFacts, file_unknown, record_capture  # noqa: E402

MUSIC = Path("/usr/share/games/wesnoth/1.16/data/core/music")
SONG_SKIP = (
    "defeat",
    "victory",
    "silence",
    "frantic-old",
    "battle-epic",
    "elf-land",
    "main_menu",
    "sad",
    "transience",
)  # stings, near-silence, duplicates; the short pieces are advertisement beds
AD_BEDS = ("sad", "transience", "main_menu", "elf-land")
GENERATED_SECONDS = 180.0
RATE = synth.SYNTH_RATE
CAPTURE_SECONDS = 20.0
SCAN_EVERY_SECONDS = 120.0  # the scan's interval: a capture starts every two minutes of programme
#: SCAN_LISTEN_SECONDS of the run (``--listen-seconds``): a station playing unknown music under titles that name
#: its items is captured this long, in pieces; 0 (or no titles) captures every station for CAPTURE_SECONDS.
LISTEN_SECONDS = 0.0
MP3_BYTES_PER_SECOND = 16_000  # 128 kbit/s
SERVED_MARGIN_SECONDS = 6.0  # served per capture beyond the longest capture: the connect burst fits


def served_seconds() -> float:
    """Served per capture, looped: the longest capture and the connect burst fit before it repeats."""
    return max(CAPTURE_SECONDS, LISTEN_SECONDS) + SERVED_MARGIN_SECONDS


def tick_wall_seconds() -> float:
    """Wall time between ticks, the two minutes of programme compressed: the longest capture and a margin."""
    return max(CAPTURE_SECONDS, LISTEN_SECONDS) + 4.0


TITLE_LAG_SECONDS = 2.0  # a title reaches the stream a little after its audio (the encoder's buffer)
ICY_METAINT = 8192  # audio bytes between ICY metadata blocks on a station sending titles (0.5 s at 128 kbit/s)
#: A tick's scan starts this long before its programme instant, and each station holds its answer until that
#: instant: a capture's time then follows the programme's, whatever the scan's start-up took (up to this).
#: Under the scan's read timeout (``zamio.streams.model``, 10 s) with a margin: a scan that starts up fast
#: connects almost this long before the instant, and a station silent for the read timeout is a stalled one.
ON_AIR_LEAD_SECONDS = 9.0
#: Airings of each unregistered song over the week (the list repeats for more songs).
AIRINGS = (1, 1, 2, 2, 3, 3, 4, 4, 5, 6, 7, 8, 10, 12)
KIND_WEIGHTS = {"song": 0.55, "talk": 0.15, "ad": 0.15, "jingle": 0.15}  # of the items, by count
TALK_SECONDS = (45, 120)
SPOT_SECONDS = 30.0
SPOTS_PER_BREAK = (2, 3)
ADS = 6
JINGLE_SECONDS = 10.0
INTRO_TALK_SECONDS = 9.0  # the presenter talks over a song's first seconds, the music ducked
FADE_SECONDS = 8.0
RATE_PER_SECOND = "0.012"  # GHS per second, every period, multiplier 1: 120 ten-thousandths a second
RATES_FROM = "2026-01-01"  # after the cards the migrations ship (2024-01-01), so these price every play
STATION_NAMES = ("Joy", "Peace", "Citi", "Luv", "Nhyira", "Skyy", "Ahotor", "Kessben")


@dataclass(frozen=True)
class Song:
    ref: str
    title: str
    source: str  # an .ogg path, or "synth:<seed>"
    seconds: float
    registered: bool


@dataclass(frozen=True)
class Item:
    """One programme item as aired: ``spec`` describes its audio."""

    kind: str  # song | talk | ad | jingle
    spec: dict
    seconds: float
    song: str | None = None  # the song's ref, for a song


@dataclass(frozen=True)
class Slot:
    """An item on a station's timeline, from ``start`` (programme seconds)."""

    station: int
    start: float
    item: Item

    @property
    def end(self) -> float:
        return self.start + self.item.seconds


@dataclass
class Week:
    songs: dict[str, Song]
    timelines: list[list[Slot]]
    phases: list[float]  # when each station's first capture starts (programme seconds)
    ticks: int
    #: capture id -> (tick, station index, seconds from the tick's instant, seconds long): a long capture is
    #: recorded in pieces, each a capture placed at its time
    heard: dict[int, tuple[int, int, float, float]] = field(default_factory=dict)
    titled: frozenset[int] = frozenset()  # the stations sending stream titles

    def titles_served(self, tick: int, station: int, first_frame: int) -> tuple[tuple[int, str], ...]:
        """The stream titles of the audio served for one capture, on a station sending titles: (byte of the served
        MP3, title), each sent ``TITLE_LAG_SECONDS`` after its item began (a song's "Artist - Title", else the
        station's name); the first is what the station sent last before the capture's instant."""
        if station not in self.titled:
            return ()
        t = self.phases[station] + tick * SCAN_EVERY_SECONDS
        sent = [(slot.start + TITLE_LAG_SECONDS - t, self.title_of(slot, station)) for slot in self.timelines[station]
                if slot.start + TITLE_LAG_SECONDS < t + served_seconds()]
        before = [title for at, title in sent if at <= 0]
        first = [(0.0, before[-1])] if before else []
        return tuple((first_frame + round(at * MP3_BYTES_PER_SECOND), title)
                     for at, title in first + [(at, title) for at, title in sent if at > 0])

    def title_of(self, slot: Slot, station: int) -> str:
        if slot.item.song:
            song = self.songs[slot.item.song]
            return f"Artist {song.ref} - {song.title}"
        return f"{STATION_NAMES[station % len(STATION_NAMES)]} FM"

    def window(self, tick: int, station: int) -> list[tuple[Slot, float, float]]:
        """The parts of items served for this capture: (slot, from, to) in the item's own seconds."""
        t, served = self.phases[station] + tick * SCAN_EVERY_SECONDS, served_seconds()
        return [
            (slot, max(t, slot.start) - slot.start, min(t + served, slot.end) - slot.start)
            for slot in self.timelines[station]
            if slot.start < t + served and slot.end > t
        ]

    def slot_heard(self, tick: int, station: int, offset: float = 0.0,
                   seconds: float = CAPTURE_SECONDS) -> Slot | None:
        """The item that fills most of the capture (or piece) ``offset`` into the tick's window, ``seconds`` long."""
        t = self.phases[station] + tick * SCAN_EVERY_SECONDS + offset
        covering = [(min(t + seconds, s.end) - max(t, s.start), s) for s, _, _ in self.window(tick, station)]
        return max(covering, key=lambda pair: pair[0])[1] if covering else None  # None: the programme had ended


# -- the programme ----------------------------------------------------------------------------------


def songs(generated: int, rng: np.random.Generator, music: Path | None = None, count: int = 0) -> dict[str, Song]:
    """The week's songs: wesnoth's pieces (or ``count`` drawn from the folder ``music``, those of 80 s or more)
    and ``generated`` stand-ins; a third of them, drawn, left out of the catalog."""
    found = recorded_songs(music, count, rng) if music is not None else [
        Song(f"W-{p.stem}", p.stem.replace("_", " ").title(), str(p), probe_seconds(p), True)
        for p in sorted(p for p in MUSIC.glob("*.ogg") if not p.stem.startswith(SONG_SKIP))]
    found += [
        Song(f"G-{seed}", f"Generated {seed}", f"synth:{seed}", GENERATED_SECONDS, True)
        for seed in range(7000, 7000 + generated)
    ]
    unregistered = set(rng.permutation(len(found))[: len(found) // 3].tolist())
    return {s.ref: replace(s, registered=k not in unregistered) for k, s in enumerate(found)}


def recorded_songs(music: Path, count: int, rng: np.random.Generator) -> list[Song]:
    """``count`` songs (0: all) drawn from the audio files of ``music`` lasting 80 s or more, as wesnoth's
    shortest piece: a shorter file is a sting or a loop of a game, not a song a station airs."""
    files = sorted(p for p in music.iterdir() if p.suffix.lower() in (".ogg", ".mp3", ".flac", ".wav"))
    long_enough = [(p, seconds) for p in files if (seconds := probe_seconds(p)) >= 80.0]
    chosen = sorted(rng.permutation(len(long_enough))[:count].tolist()) if count else range(len(long_enough))
    return [Song(f"M-{k + 1:03d}", long_enough[k][0].stem.replace("_", " ").title(), str(long_enough[k][0]),
                 long_enough[k][1], True) for k in chosen]


def probe_seconds(path: Path) -> float:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return float(out.strip())


def programme(catalogue: dict[str, Song], stations: int, hours: float, rng: np.random.Generator) -> list[list[Slot]]:
    """Each station's timeline of ``hours``: kinds drawn by ``KIND_WEIGHTS``; the unregistered songs'
    airings (``AIRINGS``) placed in song slots drawn at random over all stations, catalog songs in the others.
    Airings that fall past the end are not aired."""
    per_station = int(hours * 3600 / 150) + 8  # items of 150 s on average, and a margin
    kinds = rng.choice(list(KIND_WEIGHTS), size=(stations, per_station), p=list(KIND_WEIGHTS.values()))
    song_slots = [(s, k) for s in range(stations) for k in range(per_station) if kinds[s, k] == "song"]
    unregistered = [ref for ref, song in catalogue.items() if not song.registered]
    wanted = [ref for k, ref in enumerate(unregistered) for _ in range(AIRINGS[k % len(AIRINGS)])]
    if len(wanted) > len(song_slots) // 2:
        raise SystemExit(f"{len(wanted)} airings of unregistered songs need more song slots: raise --hours")
    order = rng.permutation(len(song_slots))
    chosen = {song_slots[order[k]]: ref for k, ref in enumerate(wanted)}
    registered = [ref for ref, song in catalogue.items() if song.registered]
    timelines = []
    for s in range(stations):
        at, timeline = 0.0, []
        for k in range(per_station):
            kind = str(kinds[s, k])
            item = (
                song_item(catalogue[chosen.get((s, k)) or str(rng.choice(registered))], rng)
                if kind == "song"
                else other_item(kind, s, rng)
            )
            if at < hours * 3600:
                timeline.append(Slot(s, at, item))
            at += item.seconds
        timelines.append(timeline)
    return timelines


def song_item(song: Song, rng: np.random.Generator) -> Item:
    """An airing of a whole song: the presenter over its intro (a third of airings), its end faded (half)."""
    spec = {
        "kind": "song",
        "source": song.source,
        "seconds": song.seconds,
        "fade": bool(rng.random() < 0.5),
        "talk": talk_spec(rng, 2) if rng.random() < 0.3 else None,
    }
    return Item("song", spec, song.seconds, song.ref)


def talk_spec(rng: np.random.Generator, sentences: int) -> dict:
    voices = TRAIN_VOICES + HELD_VOICES
    return {
        "text": " ".join(str(t) for t in rng.choice(TEXTS, size=sentences, replace=True)),
        "voice": str(rng.choice(voices)),
        "speed": int(rng.integers(140, 200)),
        "pitch": int(rng.integers(30, 70)),
    }


def other_item(kind: str, station: int, rng: np.random.Generator) -> Item:
    if kind == "talk":
        seconds = float(rng.integers(*TALK_SECONDS))
        spec = {"kind": "talk", **talk_spec(rng, int(seconds // 5) + 1), "phone": bool(rng.random() < 0.2)}
        return Item("talk", spec, seconds)
    if kind == "ad":
        spots = [
            int(n)
            for n in rng.choice(ADS, size=int(rng.integers(SPOTS_PER_BREAK[0], SPOTS_PER_BREAK[1] + 1)), replace=False)
        ]
        return Item("ad", {"kind": "ad", "spots": spots}, SPOT_SECONDS * len(spots))
    return Item("jingle", {"kind": "jingle", "station": station}, JINGLE_SECONDS)


# -- rendering ------------------------------------------------------------------------------------


def render_window(parts: list[tuple[Slot, float, float]]) -> np.ndarray:
    """The served audio of one capture, ``served_seconds()`` at ``RATE``, before the MP3 encoding."""
    pieces = [render_part(slot.item, a, b) for slot, a, b in parts]
    return fit(np.concatenate(pieces) if pieces else np.zeros(0, np.float32), int(served_seconds() * RATE))


def render_part(item: Item, a: float, b: float) -> np.ndarray:
    """Seconds ``a`` to ``b`` of an item."""
    n = int(round((b - a) * RATE))
    if item.kind != "song":
        whole = item_audio(json.dumps(item.spec, sort_keys=True))
        return fit(whole[int(a * RATE) :], n)
    spec = item.spec
    music = excerpt(spec["source"], a, b - a)
    t = a + np.arange(n, dtype=np.float32) / RATE  # the song's own time of each sample
    if spec["fade"]:
        music *= np.clip((item.seconds - t) / FADE_SECONDS, 0.05, 1.0).astype(np.float32)
    if spec["talk"] and a < INTRO_TALK_SECONDS:
        voice = fit(
            item_audio(json.dumps({"kind": "voice", **spec["talk"]}, sort_keys=True)), int(INTRO_TALK_SECONDS * RATE)
        )
        under = t < INTRO_TALK_SECONDS
        level = rms(music) / max(rms(voice), 1e-6)
        music[under] = music[under] * np.float32(10 ** (-8 / 20)) + voice[(t[under] * RATE).astype(int)] * level
    return music


@functools.lru_cache(maxsize=64)
def item_audio(spec_json: str) -> np.ndarray:
    """The whole audio of a talk, an advertisement break, a jingle or an intro's voice."""
    spec = json.loads(spec_json)
    if spec["kind"] == "voice":
        return speak(spec)
    if spec["kind"] == "talk":
        voice = speak(spec)
        return telephone(voice) if spec["phone"] else voice
    if spec["kind"] == "ad":
        return np.concatenate([ad_spot(n) for n in spec["spots"]])
    return jingle(spec["station"])


@functools.lru_cache(maxsize=ADS)
def ad_spot(spot: int) -> np.ndarray:
    """Advertisement ``spot``: a fixed read over a fixed bed 6 to 14 dB under the voice (``SPOT_SECONDS``)."""
    rng = np.random.default_rng(900 + spot)
    n = int(SPOT_SECONDS * RATE)
    voice = fit(
        speak(
            {
                "text": " ".join(str(t) for t in rng.choice(TEXTS, size=3, replace=False)),
                "voice": str(rng.choice(TRAIN_VOICES)),
                "speed": 170,
                "pitch": 50,
            }
        ),
        n,
    )
    bed_name = AD_BEDS[spot % len(AD_BEDS)]
    bed = (
        fit(excerpt(str(MUSIC / f"{bed_name}.ogg"), 0.0, SPOT_SECONDS), n)
        if spot < len(AD_BEDS)
        else fit(synth.song(8000 + spot, SPOT_SECONDS), n)
    )
    level = -float(rng.uniform(6, 14))
    return (voice + bed * rms(voice) / max(rms(bed), 1e-6) * np.float32(10 ** (level / 20))).astype(np.float32)


def jingle(station: int) -> np.ndarray:
    """Station ``station``'s ident: a chord figure, then its name spoken over the figure looped 8 dB under."""
    figure = synth.jingle(300 + station, 4.0)
    name = STATION_NAMES[station % len(STATION_NAMES)]
    voice = speak(
        {
            "text": f"You are listening to {name} FM. {name} FM, always with you.",
            "voice": "en+m3",
            "speed": 160,
            "pitch": 45,
        }
    )
    n = int(JINGLE_SECONDS * RATE)
    bed = fit(figure, n) * np.float32(10 ** (-8 / 20))
    bed[: figure.size] = figure
    talk = np.zeros(n, np.float32)
    talk[figure.size :][: voice.size] = voice[: n - figure.size] * rms(figure) / max(rms(voice), 1e-6)
    return (bed + talk).astype(np.float32)


def excerpt(source: str, start: float, seconds: float) -> np.ndarray:
    n = int(round(seconds * RATE))
    if source.startswith("synth:"):
        return fit(generated(int(source.removeprefix("synth:")))[int(start * RATE) :], n)
    cmd = [
        "ffmpeg",
        "-v",
        "error",
        "-ss",
        f"{start:.3f}",
        "-t",
        f"{seconds:.3f}",
        "-i",
        source,
        "-ac",
        "1",
        "-ar",
        str(RATE),
        "-f",
        "f32le",
        "-",
    ]
    return fit(np.frombuffer(subprocess.run(cmd, capture_output=True, check=True).stdout, np.float32), n)


@functools.lru_cache(maxsize=16)
def generated(seed: int) -> np.ndarray:
    return synth.song(seed, GENERATED_SECONDS)


def speak(spec: dict) -> np.ndarray:
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "voice.wav"
        subprocess.run(
            [
                "espeak-ng",
                "-v",
                spec["voice"],
                "-s",
                str(spec["speed"]),
                "-p",
                str(spec["pitch"]),
                "-g",
                "4",
                "-w",
                str(wav),
                spec["text"],
            ],
            check=True,
            capture_output=True,
        )
        cmd = ["ffmpeg", "-v", "error", "-i", str(wav), "-ac", "1", "-ar", str(RATE), "-f", "f32le", "-"]
        raw = subprocess.run(cmd, capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.float32) * np.float32(0.8)


def telephone(x: np.ndarray) -> np.ndarray:
    from scipy.signal import butter, sosfilt

    band = sosfilt(butter(4, [300, 3400], btype="band", fs=RATE, output="sos"), x)
    peak = float(np.max(np.abs(band))) or 1.0
    return (np.clip(band / peak * 1.4, -1, 1) * 0.7).astype(np.float32)


def fit(x: np.ndarray, n: int) -> np.ndarray:
    """``n`` samples: cut, or padded with the start again (a looped bed, a short read)."""
    if x.size == 0:
        return np.zeros(n, np.float32)
    return np.resize(x, n).astype(np.float32) if x.size < n else x[:n].astype(np.float32)


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if x.size else 0.0


def mp3_of(week: Week, tick: int, station: int, work: Path) -> bytes:
    """The MP3 (128 kbit/s) served for one capture, rendered once and cached in ``work`` by what it holds."""
    parts = [(slot.item.spec, round(a, 3), round(b, 3)) for slot, a, b in week.window(tick, station)]
    key = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:24]
    path = work / "captures" / f"{key}.mp3"
    if not path.exists():
        x = render_window(week.window(tick, station))
        peak = float(np.max(np.abs(x))) if x.size else 0.0
        x = x / peak * np.float32(0.9) if peak > 0.9 else x
        pcm = np.clip(np.round(x * 32767), -32768, 32767).astype("<i2").tobytes()
        cmd = [
            "ffmpeg",
            "-v",
            "error",
            "-f",
            "s16le",
            "-ar",
            str(RATE),
            "-ac",
            "1",
            "-i",
            "-",
            "-c:a",
            "libmp3lame",
            "-b:a",
            "128k",
            "-f",
            "mp3",
            "-",
        ]
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".part")
        partial.write_bytes(subprocess.run(cmd, input=pcm, capture_output=True, check=True).stdout)
        partial.replace(path)
    return path.read_bytes()


def render_all(week: Week, work: Path, jobs: int) -> None:
    """Render every capture of the week into the cache, in ``jobs`` processes."""
    global RENDERING
    RENDERING = week  # the workers are forked: they inherit it
    todo = [(tick, station) for tick in range(week.ticks) for station in range(len(week.timelines))]
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork")) as pool:
        list(pool.map(render_one, todo, [work] * len(todo), chunksize=8))


RENDERING: Week | None = None


def render_one(where: tuple[int, int], work: Path) -> None:
    assert RENDERING is not None
    mp3_of(RENDERING, *where, work)


class OnAirRoute(AudioRoute):
    """A station whose answer waits for the programme instant its audio stands for (``on_air_at``, monotonic
    seconds), so a capture's first byte arrives at that instant, as on a live stream; ``late`` keeps how long
    after it each listener connected (its capture's time is late by that much)."""

    def __init__(self, audio: bytes, metaint: int | None = None) -> None:
        # Paced at real time with no burst, as a live stream flows: a capture's time is its first byte's.
        super().__init__(audio, byte_rate=MP3_BYTES_PER_SECOND, pace=1.0, metaint=metaint)
        self.on_air_at = 0.0
        self.late: list[float] = []

    def serve(self, h) -> None:  # noqa: ANN001
        wait = self.on_air_at - time.monotonic()
        self.late.append(round(max(0.0, -wait), 3))
        if wait > 0:
            time.sleep(wait)
        super().serve(h)


# -- the database and the jobs --------------------------------------------------------------------


def database(target: str, folder: Path) -> str:
    """A fresh migrated database: a SQLite file in ``folder``, or a scratch database on the PostgreSQL server."""
    if target == "sqlite":
        url = f"sqlite:///{folder / 'zamio.db'}"
    else:
        import psycopg2

        name = f"zamio_week_bench_{int(time.time())}"
        admin = parse_database_url(target, "--database")
        conn = psycopg2.connect(admin.libpq_dsn)
        conn.autocommit = True
        conn.cursor().execute(f'CREATE DATABASE "{name}"')
        conn.close()
        url = admin.with_database(name).text
    return url


def copy_database(url: str, suffix: str) -> str:
    """A copy of the database as it stands (no connection open on it): a SQLite file beside it, or a
    PostgreSQL database made from it as a template; an earlier copy of the same name is replaced."""
    parsed = parse_database_url(url, "url")
    if parsed.is_sqlite:
        import sqlite3

        assert parsed.sqlite_file is not None
        source = parsed.sqlite_file
        target = source.with_name(f"{source.stem}_{suffix}.db")
        target.unlink(missing_ok=True)
        with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
            src.backup(dst)
        return f"sqlite:///{target}"
    import psycopg2

    name = f"{parsed.sqlalchemy_url.database}_{suffix}"
    conn = psycopg2.connect(parsed.with_database("postgres").libpq_dsn)  # not the template: it must be unused
    conn.autocommit = True
    conn.cursor().execute(f'DROP DATABASE IF EXISTS "{name}"')
    conn.cursor().execute(f'CREATE DATABASE "{name}" TEMPLATE "{parsed.sqlalchemy_url.database}"')
    conn.close()
    return parsed.with_database(name).text


def drop(url: str, target: str, folder: Path) -> None:
    """Remove the scratch database and folder."""
    if target != "sqlite":
        import psycopg2

        conn = psycopg2.connect(parse_database_url(target, "--database").libpq_dsn)
        conn.autocommit = True
        name = parse_database_url(url, "url").sqlalchemy_url.database
        for copy in ("", "_manual", "_catalog", "_half"):
            conn.cursor().execute(f'DROP DATABASE IF EXISTS "{name}{copy}"')
        conn.close()
    shutil.rmtree(folder, ignore_errors=True)


class Jobs:
    """The project's scripts, run as cron runs them, against one database and a private var/."""

    def __init__(self, url: str, folder: Path) -> None:
        (folder / "var").mkdir(parents=True, exist_ok=True)
        (folder / "bench.env").touch()
        self.env = {
            **os.environ,
            "DATABASE_URL": url,
            "ZAMIO_VAR_DIR": str(folder / "var"),
            "ZAMIO_ENV_FILE": str(folder / "bench.env"),
            "SCAN_ALLOW_PRIVATE_ADDRESSES": "true",
            "SCAN_CAPTURE_SECONDS": f"{CAPTURE_SECONDS:g}",
            "SCAN_LISTEN_SECONDS": f"{LISTEN_SECONDS:g}",
        }

    def with_settings(self, **settings: str) -> Jobs:
        """The same scripts with these settings in their environment as well."""
        other = Jobs.__new__(Jobs)
        other.env = {**self.env, **settings}
        return other

    def on(self, url: str) -> Jobs:
        """The same scripts against another database."""
        return self.with_settings(DATABASE_URL=url)

    def run(self, name: str, *args: str, ok: tuple[int, ...] = (0,)) -> str:
        result = subprocess.run(
            [sys.executable, str(ROOT / "bin" / name), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=1800,
        )
        if result.returncode not in ok:
            raise SystemExit(f"bin/{name} {' '.join(args)} exited {result.returncode}:\n{result.stderr[-3000:]}")
        return result.stdout + result.stderr


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(header)
        out.writerows(rows)
    return path


def track_files(catalogue: list[Song], folder: Path, name: str) -> list[str]:
    """``--tracks`` and ``--contributors`` files of these songs (two writers each, 60/40)."""
    rows = []
    for song in catalogue:
        path = song.source
        if song.source.startswith("synth:"):
            path = str(folder / f"{song.ref}.wav")
            synth.write_wav(path, synth.song(int(song.source.removeprefix("synth:")), GENERATED_SECONDS))
        rows.append([song.ref, song.title, f"Artist {song.ref}", path])
    tracks = write_csv(folder / f"{name}-tracks.csv", ["track_ref", "title", "artist", "audio_path"], rows)
    shares = [
        [s.ref, f"{role.title()} {s.ref}", role, share]
        for s in catalogue
        for role, share in (("composer", "60"), ("lyricist", "40"))
    ]
    contributors = write_csv(
        folder / f"{name}-contributors.csv", ["track_ref", "name", "role", "share_percent"], shares
    )
    return ["--tracks", str(tracks), "--contributors", str(contributors)]


def load_world(jobs: Jobs, week: Week, urls: list[str], folder: Path) -> None:
    """Stations, the registered songs with their contributors and one rate card, then their fingerprints."""
    stations = [
        [f"st{k + 1}", f"{STATION_NAMES[k % len(STATION_NAMES)]} FM", "Accra", "Greater Accra", "class_b", url]
        for k, url in enumerate(urls)
    ]
    rates = [
        ["GH", "class_b", period, RATE_PER_SECOND, "1.0", "GHS", RATES_FROM, ""]
        for period in ("off_peak", "prime", "regular")
    ]
    args = [
        "--stations",
        str(
            write_csv(
                folder / "stations.csv",
                ["station_ref", "name", "city", "region", "station_class", "stream_url"],
                stations,
            )
        ),
        "--rate-cards",
        str(
            write_csv(
                folder / "rates.csv",
                [
                    "territory",
                    "station_class",
                    "period",
                    "rate_per_second",
                    "multiplier",
                    "currency",
                    "effective_from",
                    "effective_to",
                ],
                rates,
            )
        ),
    ]
    registered = [s for s in week.songs.values() if s.registered]
    jobs.run("import-catalog", *args, *track_files(registered, folder, "registered"), "-q")
    jobs.run("auto-fingerprint-new-tracks", "-q")


def air_week(jobs: Jobs, week: Week, routes: list[OnAirRoute], work: Path, engine,  # noqa: ANN001
             tick_seconds: float | None = None) -> dict[str, float]:
    """One scan tick per item slot, ``tick_seconds`` of wall time apart: every station serves its item from
    the tick's instant on (``OnAirRoute``), ``bin/scan-station-streams`` started ``ON_AIR_LEAD_SECONDS``
    before it hears them all; each capture is tied to its (tick, station) by the tick's time window."""
    from sqlalchemy import text

    from zamio.streams.formats import sniff

    station_args = [arg for k in range(len(routes)) for arg in ("--station", f"st{k + 1}")]
    tick_seconds = tick_seconds or tick_wall_seconds()
    cpu_before, began = children_cpu(), time.monotonic()
    for tick in range(week.ticks):
        # A play lasts until its station's next capture: ticks closer than a capture would cut plays short.
        on_air = began + ON_AIR_LEAD_SECONDS + tick * tick_seconds
        time.sleep(max(0.0, on_air - ON_AIR_LEAD_SECONDS - time.monotonic()))
        for station, route in enumerate(routes):
            served = mp3_of(week, tick, station, work)
            found_frame = sniff(served[:16384])
            route.titles = week.titles_served(tick, station, found_frame.offset if found_frame else 0)
            route.set_audio(served)
            route.on_air_at = on_air
        # The tick's instant on the clock the captures are timed by: a piece's place is its time less it.
        on_air_utc = moment(datetime.now(UTC) + timedelta(seconds=on_air - time.monotonic()))
        # Exit 1: a link failed (a timeout on a loaded machine); the others are recorded, as on air.
        jobs.run("scan-station-streams", *station_args, "--concurrency", str(len(routes)), "-q", ok=(0, 1))
        with engine.connect() as conn:  # the captures this tick recorded: ids after the last one seen
            found = conn.execute(
                text(
                    "SELECT c.id, s.station_ref, c.started_at, c.seconds FROM captures c "
                    "JOIN stations s ON s.id = c.station_id WHERE c.id > :last"
                ),
                {"last": max(week.heard, default=0)},
            ).all()
        for capture_id, station_ref, started_at, seconds in found:
            offset = max(0.0, (moment(started_at) - on_air_utc).total_seconds())
            week.heard[capture_id] = (tick, int(station_ref.removeprefix("st")) - 1, round(offset, 1), float(seconds))
        if sys.stderr.isatty():
            print(f"\rtick {tick + 1}/{week.ticks}", end="", file=sys.stderr)
    scan_cpu = children_cpu() - cpu_before
    late = sorted(x for route in routes for x in route.late)
    station_captures = len({(tick, station) for tick, station, _, _ in week.heard.values()})
    pieces: dict[tuple[int, int], int] = {}
    for tick, station, _, _ in week.heard.values():
        pieces[(tick, station)] = pieces.get((tick, station), 0) + 1
    return {
        "connected_late_median_seconds": statistics.median(late) if late else 0.0,
        "connected_late_over_1s": sum(x > 1.0 for x in late),
        "connections": len(late),
        "scan_cpu_seconds": scan_cpu,
        "scan_wall_seconds": time.monotonic() - began,
        "scan_cpu_per_capture": scan_cpu / max(len(week.heard), 1),
        "scan_cpu_per_tick": scan_cpu / max(week.ticks, 1),
        "station_captures": station_captures,
        "scan_cpu_per_station_capture": scan_cpu / max(station_captures, 1),
        "long_captures": sum(1 for tick, station, _, seconds in week.heard.values()
                             if seconds > CAPTURE_SECONDS + 2 or pieces[(tick, station)] > 1),
    }


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def own_cpu() -> float:
    """CPU of this process and of its finished children (ffmpeg decoding)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime + children_cpu()


# -- what the week made, against the truth --------------------------------------------------------


FACTS = {
    "captures": "SELECT id, outcome, content FROM captures",
    "matched": "SELECT d.capture_id, t.track_ref FROM detections d JOIN tracks t ON t.id = d.track_id "
    "WHERE d.source = 'local'",
    "filed": "SELECT c.capture_id, c.status, u.unknown_ref FROM unknown_captures c "
    "LEFT JOIN unknown_recordings u ON u.id = c.unknown_id",
    "plays": "SELECT p.id, p.recording_key, d.capture_id, p.duration_seconds FROM play_logs p "
    "JOIN play_detections pd ON pd.play_id = p.id JOIN detections d ON d.id = pd.detection_id "
    "WHERE p.status = 'final' AND p.recording_key LIKE 'U-%'",
    "held": "SELECT recipient_ref, sum(amount) AS amount FROM royalty_ledger WHERE kind = 'suspense' "
    "GROUP BY recipient_ref",
}


def facts(engine) -> dict[str, list]:  # noqa: ANN001
    from sqlalchemy import text

    with engine.connect() as conn:
        return {name: conn.execute(text(sql)).all() for name, sql in FACTS.items()}


def label(slot: Slot) -> str:
    return f"song:{slot.item.song}" if slot.item.song else slot.item.kind


def evaluate(week: Week, found: dict[str, list]) -> dict:
    """Precision and recall of the unknown recordings, and the airings captured as plays, against the truth."""
    slot_of = {
        capture: slot
        for capture, (tick, station, offset, seconds) in week.heard.items()
        if (slot := week.slot_heard(tick, station, offset, seconds)) is not None
    }
    members: dict[str, list[int]] = {}
    for capture_id, _, ref in found["filed"]:
        if ref is not None:
            members.setdefault(ref, []).append(capture_id)
    truth_of = {ref: recording_truth(week, [slot_of[c] for c in captures]) for ref, captures in members.items()}
    kinds = [truth for truth, _ in truth_of.values()]
    recordings = {
        "made": len(members),
        "one_unregistered_song": kinds.count("unregistered"),
        "catalog_song": kinds.count("catalog"),
        "speech_ads_jingles": kinds.count("talk"),
        "mixed_songs": kinds.count("mixed"),
    }
    songs = song_outcomes(week, slot_of, found)
    for capture, (tick, station, offset, seconds) in sorted(week.heard.items()):  # where in its song each was heard
        slot = slot_of.get(capture)
        if slot is not None and slot.item.song in songs:
            at = week.phases[station] + tick * SCAN_EVERY_SECONDS + offset - slot.start
            songs[slot.item.song]["heard_at"].append(heard_at(capture, at, seconds, slot, found))
    often = [ref for ref, song in songs.items() if song["airings"] >= 3]
    held = {ref: int(amount) for ref, amount in found["held"]}
    return {
        "captures": len(week.heard),
        "unregistered_songs": len(songs),
        "aired_3_or_more": len(often),
        "exactly_one": sum(len(songs[ref]["recordings"]) == 1 for ref in often),
        "split": sum(len(songs[ref]["recordings"]) > 1 for ref in often),
        "none": sum(not songs[ref]["recordings"] for ref in often),
        "recordings": recordings,
        "recording_truth": {ref: t for ref, (_, t) in truth_of.items()},
        "airings_captured_as_plays": airings_as_plays(week, slot_of, found, truth_of),
        "songs": songs,
        "held_ten_thousandths": sum(v for k, v in held.items() if k.startswith("unidentified:U-")),
        "held_by_recording": {
            k.removeprefix("unidentified:"): v for k, v in held.items() if k.startswith("unidentified:U-")
        },
    }


def title_groups(jobs: Jobs, figures: dict, folder: Path) -> dict:
    """``bin/unidentified-report``'s groups of recordings under one stream title: how many, how many hold recordings
    of two songs, and the songs aired 3+ times that merging every group would leave in exactly one recording (a
    group holding a recording of another song counts against it)."""
    report_csv = folder / "unidentified.csv"
    jobs.run("unidentified-report", "--csv", str(report_csv), "--html", str(folder / "unidentified.html"), "-q")
    with report_csv.open(encoding="utf-8", newline="") as rows:
        listed = list(csv.DictReader(rows))
    group_of = {row["unknown_ref"]: frozenset({row["unknown_ref"], *row["same_title_as"].split("; ")})
                for row in listed if row["same_title_as"]}
    groups = set(group_of.values())
    truth = figures["recording_truth"]

    def together(song: str) -> bool:
        refs = set(figures["songs"][song]["recordings"])
        joined = {group_of.get(ref, frozenset({ref})) for ref in refs}
        return len(joined) == 1 and all(truth.get(ref) == f"song:{song}" for ref in next(iter(joined)) - refs)

    often = [ref for ref, song in figures["songs"].items() if song["airings"] >= 3 and song["recordings"]]
    return {
        "recordings_with_a_title": sum(bool(row["title"]) for row in listed),
        "groups": len(groups),
        "groups_of_two_songs": sum(len({truth.get(ref) for ref in group}) > 1 for group in groups),
        "exactly_one_once_merged": sum(together(song) for song in often),
    }


def recording_truth(week: Week, slots: list[Slot]) -> tuple[str, str]:
    """What an unknown recording is: ``unregistered`` (one song the catalog lacks), ``catalog``
    (mostly a catalog song), ``talk`` (mostly speech, ads or jingles) or ``mixed``; and its labels."""
    labels = sorted({label(s) for s in slots})
    top = max(labels, key=lambda name: sum(label(s) == name for s in slots))
    if len(labels) == 1 and top.startswith("song:") and not week.songs[top[5:]].registered:
        return "unregistered", top
    if not top.startswith("song:"):
        return "talk", "+".join(labels)
    if len([name for name in labels if name.startswith("song:")]) > 1:
        return "mixed", "+".join(labels)
    return ("catalog" if week.songs[top[5:]].registered else "mixed"), "+".join(labels)


def unregistered_airings(week: Week) -> dict[str, list[Slot]]:
    aired: dict[str, list[Slot]] = {}
    for timeline in week.timelines:
        for slot in timeline:
            if slot.item.song and not week.songs[slot.item.song].registered:
                aired.setdefault(slot.item.song, []).append(slot)
    return aired


def song_outcomes(week: Week, slot_of: dict[int, Slot], found: dict[str, list]) -> dict[str, dict]:
    """For each unregistered song aired: its airings, how each of its captures was heard, its U- recordings."""
    outcome = {row.id: f"{row.outcome}/{row.content}" for row in found["captures"]}
    matched = dict(found["matched"])
    filed = {capture: (status, ref) for capture, status, ref in found["filed"]}
    result: dict[str, dict] = {}
    for ref, slots in unregistered_airings(week).items():
        heard: dict[str, int] = {}
        recordings: set[str] = set()
        for capture, slot in slot_of.items():
            if slot.item.song != ref:
                continue
            status, unknown_ref = filed.get(capture, (None, None))
            way = f"matched {matched[capture]}" if capture in matched else status or outcome[capture]
            heard[way] = heard.get(way, 0) + 1
            if unknown_ref:
                recordings.add(unknown_ref)
        result[ref] = {
            "heard_at": [],
            "airings": len(slots),
            "airings_heard": len({id(s) for s in slot_of.values() if s in slots}),
            "captures": heard,
            "recordings": sorted(recordings),
        }
    return result


def heard_at(capture: int, at: float, seconds: float, slot: Slot, found: dict[str, list]) -> str:
    """One capture of a song: its station, airing, part of the song and what became of it."""
    filed = {c: (status, ref) for c, status, ref in found["filed"]}
    matched = dict(found["matched"])
    outcome = {row.id: f"{row.outcome}/{row.content}" for row in found["captures"]}
    status, ref = filed.get(capture, (None, None))
    what = (
        f"matched {matched[capture]}" if capture in matched else f"{status} {ref or ''}" if status else outcome[capture]
    )
    spec = slot.item.spec
    how = "+".join(name for name, on in (("talk-over", spec.get("talk")), ("fade", spec.get("fade"))) if on)
    return (
        f"st{slot.station + 1} airing at {slot.start / 60:.0f} min, @ {at:.0f}..{at + seconds:.0f} s "
        f"of {slot.item.seconds:.0f} s{' ' + how if how else ''}: {what.strip()}"
    )


def airings_as_plays(
    week: Week, slot_of: dict[int, Slot], found: dict[str, list], truth_of: dict[str, tuple[str, str]]
) -> dict[str, int]:
    """Airings of unregistered songs with a capture in a play of that song's own U- recording; of those, the airings
    held as more than one play (the billing makes one play per airing), and the seconds their plays hold against the
    seconds they were on air (over 100 %: held for more than was aired; under: for less)."""
    plays_of: dict[tuple[int, float], dict[int, float]] = {}  # airing -> its plays' seconds, by play
    for play_id, recording_key, capture, seconds in found["plays"]:
        if truth_of.get(recording_key, ("", ""))[1] == label(slot_of[capture]):
            airing = (slot_of[capture].station, slot_of[capture].start)
            plays_of.setdefault(airing, {})[play_id] = float(seconds)
    heard = {(slot.station, slot.start) for slot in slot_of.values()}
    counted: dict[str, float] = {"airings": 0, "heard": 0, "as_plays": 0, "airings_of_songs_aired_3_or_more": 0,
                                 "of_those_as_plays": 0, "as_several_plays": 0, "held_seconds": 0.0,
                                 "aired_seconds": 0.0}
    for slots in unregistered_airings(week).values():
        for slot in slots:
            key = (slot.station, slot.start)
            counted["airings"] += 1
            counted["heard"] += key in heard
            counted["as_plays"] += key in plays_of
            counted["as_several_plays"] += len(plays_of.get(key, {})) > 1
            if key in plays_of:
                counted["held_seconds"] += round(sum(plays_of[key].values()), 3)
                counted["aired_seconds"] += slot.item.seconds
            if len(slots) >= 3:
                counted["airings_of_songs_aired_3_or_more"] += 1
                counted["of_those_as_plays"] += key in plays_of
    return counted


# -- naming: the unregistered songs registered, their U- recordings named ---------------------------


HELD_PLAYS = (
    "SELECT p.id, p.recording_key, p.duration_seconds, l.amount, p.station_id, p.started_at, p.ended_at "
    "FROM play_logs p JOIN royalty_ledger l ON l.play_id = p.id "
    "WHERE l.kind = 'suspense' AND p.recording_key LIKE 'U-%' ORDER BY p.started_at, p.id"
)
#: Plays of one recording on one station starting at most this far apart, their times overlapping or touching,
#: report one airing (``zamio.playlogs.billing``): named as one track, two such plays are paid as one.
AIRING_START_TOLERANCE = timedelta(seconds=60)
PAID = (
    "SELECT l.recipient_name, sum(l.amount) AS amount FROM royalty_ledger l WHERE l.kind = 'share' "
    "GROUP BY l.recipient_name"
)


def name_recordings(jobs: Jobs, engine, week: Week, figures: dict, folder: Path) -> dict:  # noqa: ANN001
    """Import the unregistered songs with their shares and fingerprint them with naming from the catalog
    switched off, name each U- recording of one such song as it by hand (``bin/identify-unknown``), price
    again, and compare what each party is paid with what its shares of the held plays come to, computed
    here from the plays' seconds and the rate."""
    named = named_by_truth(week, figures, single_song_only=True)
    held, paid_before = held_and_paid(engine)
    manual = jobs.with_settings(UNKNOWN_AUTO_NAMING="false")
    unregistered = [s for s in week.songs.values() if not s.registered]
    manual.run("import-catalog", *track_files(unregistered, folder, "unregistered"), "-q")
    manual.run("auto-fingerprint-new-tracks", "-q")
    for ref, song in sorted(named.items()):
        manual.run("identify-unknown", ref, "--track", song, "--reason", "registered after a week on air", "-q")
    return released(manual, engine, held, paid_before, named)


def name_from_catalog(jobs: Jobs, engine, week: Week, figures: dict, folder: Path,  # noqa: ANN001
                      half: bool = False) -> dict:
    """The same registration on a copy of the week's database, with naming from the catalog on (the
    default): ``bin/auto-fingerprint-new-tracks`` alone names what it can, no one names anything by hand.
    The money is compared with what naming every U- recording of one song by hand would pay.  ``half``:
    only every other unregistered song (by reference) is registered; the recordings of the others must
    stay open."""
    from sqlalchemy import text

    unregistered = sorted((s for s in week.songs.values() if not s.registered), key=lambda s: s.ref)
    if half:
        unregistered = unregistered[::2]
    registering = {s.ref for s in unregistered}
    named = {ref: song for ref, song in named_by_truth(week, figures, single_song_only=True).items()
             if song in registering}
    held, paid_before = held_and_paid(engine)
    jobs.run("import-catalog", *track_files(unregistered, folder, "half" if half else "unregistered"), "-q")
    log = jobs.run("auto-fingerprint-new-tracks")
    figures_out = released(jobs, engine, held, paid_before, named)
    truth = figures["recording_truth"]
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT u.unknown_ref, t.track_ref, u.resolved_by FROM unknown_recordings u "
            "LEFT JOIN tracks t ON t.id = u.track_id WHERE u.resolved_by = 'catalog-naming'"
        )).all()
        still_open = conn.execute(text(
            "SELECT count(*) FROM unknown_recordings WHERE resolved_at IS NULL"
        )).scalar_one()
    by_catalog = {ref: track for ref, track, _ in rows}
    figures_out.update({
        "named_from_catalog": len(by_catalog),
        "named_right": sum(truth.get(ref) == f"song:{track}" for ref, track in by_catalog.items()),
        "named_wrong": {ref: [track, truth.get(ref)] for ref, track in by_catalog.items()
                        if truth.get(ref) != f"song:{track}"},
        "of_one_unregistered_song": len(named),
        "songs_registered": len(registering),
        "left_open": int(still_open),
        "left_open_of_songs_not_registered": sum(
            1 for ref, song in truth.items() if ref not in by_catalog and song.startswith("song:")
            and song[5:] not in registering and not week.songs[song[5:]].registered),
        "job_log_lines": [line for line in log.splitlines() if "named" in line or "conflict" in line][-40:],
    })
    return figures_out


def named_by_truth(week: Week, figures: dict, *, single_song_only: bool) -> dict[str, str]:
    """The U- recordings of one unregistered song (by the bench's truth), each with its song."""
    return {
        ref: truth[5:]
        for ref, truth in figures["recording_truth"].items()
        if truth.startswith("song:") and (not single_song_only or "+" not in truth)
        and not week.songs[truth[5:].split("+", 1)[0]].registered  # a recording of several: its first song
    }


def held_and_paid(engine) -> tuple[list, dict[str, int]]:  # noqa: ANN001
    """The held plays of U- recordings and what each party was paid before the registration."""
    from sqlalchemy import text

    with engine.connect() as conn:
        held = conn.execute(text(HELD_PLAYS)).all()
        paid_before = {name: int(amount) for name, amount in conn.execute(text(PAID))}
    return held, paid_before


def released(jobs: Jobs, engine, held: list, paid_before: dict[str, int], named: dict[str, str]) -> dict:  # noqa: ANN001
    """Make the plays of the captures heard again, price, and compare what each party was paid with what the
    held plays of the recordings ``named`` (by the truth) come to, worked out here."""
    from sqlalchemy import text

    jobs.run(
        "convert-matches", "--as-of", (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"), "-q"
    )
    jobs.run("calculate-royalty-distributions", "-q")
    with engine.connect() as conn:
        paid = {name: int(amount) - paid_before.get(name, 0) for name, amount in conn.execute(text(PAID))}
    held_named = sum(int(row[3]) for row in held if row[1] in named)
    held_priced_by_hand = sum(price_by_hand(row[2]) for row in held if row[1] in named)
    airings = airings_after_naming([row for row in held if row[1] in named], named)
    expected: dict[str, int] = {}
    for airing in airings:
        for party, part in split_by_hand(price_by_hand(airing.seconds), airing.song).items():
            expected[party] = expected.get(party, 0) + part
    right = sum(min(paid.get(party, 0), owed) for party, owed in expected.items())
    wrong = {party: paid.get(party, 0) - owed for party, owed in expected.items() if paid.get(party, 0) != owed}
    expected_total = sum(expected.values())
    return {
        "recordings_named": len(named),
        "held_for_them": held_named,
        "held_as_priced_by_hand": held_priced_by_hand,
        "held_plays": sum(1 for row in held if row[1] in named),
        "airings_paid": len(airings),
        "airings_of_several_held_plays": sum(1 for a in airings if a.plays > 1),
        "expected_total": expected_total,
        "reversed_for_seconds_held_twice": held_named - expected_total,
        "paid_to_right_parties": right,
        "released_share": right / expected_total if expected_total else None,
        "parties": len(expected),
        "parties_paid_otherwise": wrong,
        "paid_in_all": sum(paid.values()),
        "still_held_other_recordings": sum(int(row[3]) for row in held if row[1] not in named),
    }


@dataclass
class NamedAiring:
    """One airing of a named song on one station as the plays moved to it make it: from the earliest start of
    its held plays to the latest end."""

    station: int
    song: str
    started: datetime
    ended: datetime
    stored_seconds: float  # a play alone is paid for its stored seconds; joined ones for end − start
    plays: int = 1

    @property
    def seconds(self) -> float:
        return self.stored_seconds if self.plays == 1 else (self.ended - self.started).total_seconds()


def airings_after_naming(held: list, named: dict[str, str]) -> list[NamedAiring]:
    """The airings the held plays make once named, worked out here from the billing rule: recordings named in
    order of their reference, each one's plays by start; a play of the song on the same station starting at most
    ``AIRING_START_TOLERANCE`` from an airing's start, its times overlapping or touching the airing's, is a part
    of that airing (the airing then runs from the earlier start to the later end), else an airing of its own."""
    airings: list[NamedAiring] = []
    for ref in sorted(named):
        for _, recording_key, seconds, _, station, started, ended in held:
            if recording_key != ref:
                continue
            start, end = moment(started), moment(ended)
            song = named[ref]
            found = next(
                (
                    a
                    for a in airings
                    if a.station == station
                    and a.song == song
                    and abs(a.started - start) <= AIRING_START_TOLERANCE
                    and a.started <= end
                    and a.ended >= start
                ),
                None,
            )
            if found is None:
                airings.append(NamedAiring(station, song, start, end, float(seconds)))
            else:
                found.started, found.ended = min(found.started, start), max(found.ended, end)
                found.plays += 1
    return airings


def moment(value: datetime | str) -> datetime:
    """A timestamp as the database returns it (SQLite: text), naive UTC."""
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    return at.replace(tzinfo=None) if at.tzinfo is not None else at


def price_by_hand(seconds: float) -> int:
    """A play's price in ten-thousandths of a cedi: its seconds to the millisecond (half even) × 120, the
    product rounded once to a whole unit, half even."""
    milliseconds = int(Decimal(seconds).quantize(Decimal("0.001"), rounding=ROUND_HALF_EVEN) * 1000)
    return round(Fraction(milliseconds * 120, 1000))


def split_by_hand(amount: int, song: str) -> dict[str, int]:
    """60/40 between the composer and the lyricist; the odd unit to the larger remainder (largest remainder)."""
    composer, lyricist = amount * 60 // 100, amount * 40 // 100
    if composer + lyricist < amount:
        if (amount * 60) % 100 >= (amount * 40) % 100:
            composer += 1
        else:
            lyricist += 1
    return {f"Composer {song}": composer, f"Lyricist {song}": lyricist}


# -- the cost, side by side ---------------------------------------------------------------------


def cost(engine, week: Week, found: dict[str, list], work: Path, limit: int) -> dict[str, float]:  # noqa: ANN001
    """CPU per capture of the week's unknown-music captures, heard again and recorded in a transaction
    that is rolled back: with the unknown machinery (prints, candidate row, filing into the week's
    index) and without (hearing less the prints, recorded without them)."""
    # Ordinary captures (heard from the tick's instant, 20 s): their audio is the served window's start.
    whole = [capture for capture, _, _ in found["filed"]
             if week.heard[capture][2] < 1.0 and abs(week.heard[capture][3] - CAPTURE_SECONDS) < 1.5]
    unknown_music = sorted(whole)[:: max(1, len(whole) // limit)]
    recogniser = Recogniser(engine, None, cpu_slots=1)
    station_ids = {int(row.station_ref.removeprefix("st")) - 1: row.station_id for row in station_rows(engine)}
    skipped: dict[str, int] = {}
    on, off, parts = [], [], {"prints": [], "record_with": [], "filing": [], "record_without": []}
    for n, capture in enumerate(unknown_music):
        tick, station, _, _ = week.heard[capture]
        mp3 = mp3_of(week, tick, station, work)[: int(MP3_BYTES_PER_SECOND * (CAPTURE_SECONDS + 1))]  # as captured
        began = own_cpu()
        heard = recogniser.hear(mp3, "mp3", f"capture {capture}", CAPTURE_SECONDS + 5)
        hearing = own_cpu() - began
        if heard.prints is None:  # heard otherwise this time: not timed, and counted
            skipped[f"{heard.outcome}/{heard.content}"] = skipped.get(f"{heard.outcome}/{heard.content}", 0) + 1
            continue
        samples = audio.decode_bytes(mp3, format_hint="mp3", name="again", max_seconds=CAPTURE_SECONDS + 5)
        began = own_cpu()
        unknown.prints(samples)
        parts["prints"].append(own_cpu() - began)
        at = datetime(2031, 1, 1, tzinfo=UTC) + timedelta(minutes=n)
        facts_now = CaptureFacts(station_ids[station], "stream", at, mp3, codec="mp3")
        with_filing = rolled_back(
            engine, lambda conn, f=facts_now, h=heard: record_capture(conn, f, h), lambda conn: file_unknown(conn, 1)
        )
        silent = replace(heard, prints=None)  # as before the unknown index: no prints kept
        without = rolled_back(engine, lambda conn, f=facts_now, h=silent: record_capture(conn, f, h))
        parts["record_with"].append(with_filing[0])
        parts["filing"].append(with_filing[1])
        parts["record_without"].append(without[0])
        on.append(hearing + sum(with_filing))
        off.append(hearing - parts["prints"][-1] + without[0])
    if not on:
        raise SystemExit(f"no capture of unknown music was heard as such again: {skipped}")
    figures = {
        "captures_timed": len(on),
        "captures_heard_otherwise": skipped,
        "median_cpu_on": statistics.median(on),
        "median_cpu_off": statistics.median(off),
        "mean_cpu_on": statistics.fmean(on),
        "mean_cpu_off": statistics.fmean(off),
    }
    figures.update({f"median_{name}": statistics.median(values) for name, values in parts.items()})
    return figures


def station_rows(engine) -> list:  # noqa: ANN001
    from sqlalchemy import text

    with engine.connect() as conn:
        return conn.execute(text("SELECT id AS station_id, station_ref FROM stations")).all()


def rolled_back(engine, *steps) -> list[float]:  # noqa: ANN001
    """The CPU of each step, run in order in one transaction that is then rolled back."""
    spent = []
    with engine.connect() as conn:
        transaction = conn.begin()
        for step in steps:
            began = own_cpu()
            step(conn)
            spent.append(own_cpu() - began)
        transaction.rollback()
    return spent


# -- the run ------------------------------------------------------------------------------------


def table(name: str, figures: dict, spent: dict) -> str:
    often, recordings, plays = figures["aired_3_or_more"], figures["recordings"], figures["airings_captured_as_plays"]
    talk = recordings["speech_ads_jingles"]
    rows = [
        (
            "unregistered songs aired 3+ times in exactly one U- recording (target ≥ 95 %)",
            f"{figures['exactly_one']} / {often} = {pct(figures['exactly_one'], often)}",
        ),
        ("… split over several U- recordings", str(figures["split"])),
        *title_rows(figures, often),
        ("… in none", str(figures["none"])),
        ("U- recordings made", str(recordings["made"])),
        (
            "… of one unregistered song (precision)",
            f"{recordings['one_unregistered_song']} = {pct(recordings['one_unregistered_song'], recordings['made'])}",
        ),
        ("… speech, ads or jingles (target < 2 %)", f"{talk} = {pct(talk, recordings['made'])}"),
        ("… a catalog song", str(recordings["catalog_song"])),
        ("… several songs mixed", str(recordings["mixed_songs"])),
        (
            "airings of unregistered songs that became a play of their U- recording",
            f"{plays['as_plays']} / {plays['airings']} = {pct(plays['as_plays'], plays['airings'])}",
        ),
        (
            "… of the songs aired 3 times or more",
            f"{plays['of_those_as_plays']} / {plays['airings_of_songs_aired_3_or_more']} = "
            f"{pct(plays['of_those_as_plays'], plays['airings_of_songs_aired_3_or_more'])}",
        ),
        (
            "… held as more than one play (one airing, one play)",
            f"{plays.get('as_several_plays', 0)} of {plays['as_plays']}",
        ),
        (
            "… seconds their plays hold, against the seconds they were on air",
            f"{plays.get('held_seconds', 0):.0f} / {plays.get('aired_seconds', 0):.0f} s = "
            f"{pct(plays.get('held_seconds', 0), plays.get('aired_seconds', 0))}",
        ),
        ("held in suspense for U- recordings", f"GHS {figures['held_ten_thousandths'] / 10000:.4f}"),
        ("scan CPU per capture (whole bin/scan-station-streams, all ticks)", f"{spent['scan_cpu_per_capture']:.3f} s"),
        (
            "… per tick, per station scanned (a long capture's pieces together)",
            f"{spent['scan_cpu_per_tick']:.3f} s, {spent['scan_cpu_per_station_capture']:.3f} s "
            f"({spent['long_captures']} long captures of {spent['station_captures']})",
        ),
        (
            "unknown-music capture, CPU with the unknown machinery / without (median)",
            f"{spent['median_cpu_on']:.3f} s / {spent['median_cpu_off']:.3f} s = "
            f"×{spent['median_cpu_on'] / spent['median_cpu_off']:.3f}",
        ),
        (
            "… of which prints, candidate rows, filing (median)",
            f"{spent['median_prints']:.3f} s, {spent['median_record_with'] - spent['median_record_without']:.3f} s, "
            f"{spent['median_filing']:.3f} s",
        ),
    ]
    naming = figures.get("naming")
    if naming:
        rows.append(
            (
                "held money released to the right parties after naming (target exactly 100 %)",
                f"{naming['paid_to_right_parties']} / {naming['expected_total']} ten-thousandths = "
                f"{pct(naming['paid_to_right_parties'], naming['expected_total'])}, "
                f"{otherwise(naming)}; "
                f"held {naming['held_for_them']} for {naming['held_plays']} plays, which make "
                f"{naming['airings_paid']} airings ({naming['airings_of_several_held_plays']} of several plays): "
                f"{naming['reversed_for_seconds_held_twice']} reversed out of suspense for seconds held twice",
            )
        )
    by_catalog = figures.get("catalog_naming")
    if by_catalog:
        rows.append(
            (
                "… with no naming by hand: named from the catalog once the songs were registered",
                f"{by_catalog['paid_to_right_parties']} / {by_catalog['expected_total']} ten-thousandths = "
                f"{pct(by_catalog['paid_to_right_parties'], by_catalog['expected_total'])}, "
                f"{otherwise(by_catalog)}; "
                f"{by_catalog['named_from_catalog']} U- recordings named ({by_catalog['named_right']} right, "
                f"{len(by_catalog['named_wrong'])} wrong) of {by_catalog['of_one_unregistered_song']} of one "
                f"unregistered song; {by_catalog['left_open']} left open",
            )
        )
    half = figures.get("catalog_naming_half")
    if half:
        rows.append(
            (
                "… every other unregistered song registered: named from the catalog",
                f"{half['paid_to_right_parties']} / {half['expected_total']} ten-thousandths = "
                f"{pct(half['paid_to_right_parties'], half['expected_total'])} of the registered songs' held money; "
                f"{half['named_from_catalog']} named ({half['named_right']} right, {len(half['named_wrong'])} wrong), "
                f"{half['left_open_of_songs_not_registered']} recordings of the songs not registered left open",
            )
        )
    lines = [f"| {name} | |", "| --- | --- |"] + [f"| {what} | {value} |" for what, value in rows]
    return "\n".join(lines)


def otherwise(paid: dict) -> str:
    """The parties paid other than their held plays come to: less (money lost), or more (the airings and seconds
    the catalog found once the songs were registered, which no held play claimed)."""
    gaps = paid["parties_paid_otherwise"].values()
    less, more = [g for g in gaps if g < 0], [g for g in gaps if g > 0]
    return (f"of {paid['parties']} parties {len(less)} paid less than their held plays, {len(more)} more "
            f"({sum(more)} ten-thousandths for what the catalog found once registered)")


def title_rows(figures: dict, often: int) -> list[tuple[str, str]]:
    """The table's rows on the report's groups of recordings under one stream title, when stations sent titles."""
    grouped = figures.get("title_groups")
    if not grouped or not grouped["recordings_with_a_title"]:
        return []
    merged = grouped["exactly_one_once_merged"]
    return [
        ("… in exactly one once a person merges the unidentified report's groups under one stream title",
         f"{merged} / {often} = {pct(merged, often)}"),
        ("… groups under one title (of two songs); U- recordings listed with a title",
         f"{grouped['groups']} ({grouped['groups_of_two_songs']}); {grouped['recordings_with_a_title']}"),
    ]


def pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f} %" if whole else "n/a"


def compare_naming(jobs: Jobs, url: str, week: Week, figures: dict, folder: Path) -> None:
    """Register the unregistered songs on two copies of the week's database: on one each U- recording of one
    song is named by hand, on the other naming from the catalog alone names what it can."""
    jobs.run("migrate", "-q")  # a week kept by an earlier version of the code
    half = functools.partial(name_from_catalog, half=True)
    for suffix, step, key in (("manual", name_recordings, "naming"), ("catalog", name_from_catalog, "catalog_naming"),
                              ("half", half, "catalog_naming_half")):
        copy = copy_database(url, suffix)
        engine = open_engine(copy)
        figures[key] = step(jobs.on(copy), engine, week, figures, folder)
        engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--database",
        default="sqlite",
        help="sqlite (a scratch file), or a PostgreSQL admin URL (a scratch database is created on it)",
    )
    parser.add_argument("--stations", type=int, default=5)
    parser.add_argument("--hours", type=float, default=3.0, help="programme hours per station, standing for its week")
    parser.add_argument("--generated", type=int, default=12, help="generated songs beside the recorded ones")
    parser.add_argument("--music", type=Path, help="a folder of audio files to draw the recorded songs from "
                        "(default: wesnoth's pieces)")
    parser.add_argument("--songs", type=int, default=0, help="songs drawn from --music (0: every one of 80 s or more)")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database and folder (named on stderr)")
    parser.add_argument("--jobs", type=int, default=2, help="processes rendering the audio")
    parser.add_argument(
        "--tick-seconds",
        type=float,
        default=None,
        help=f"wall time between ticks (default: the longest capture and 4 s, compressed; {SCAN_EVERY_SECONDS:g}: the "
        "programme's own time, so the captures' times are two minutes apart as on air and sequence evidence is seen)",
    )
    parser.add_argument("--listen-seconds", type=float, default=60.0,
                        help="SCAN_LISTEN_SECONDS of the scan, on stations sending titles (0: every capture "
                        f"{CAPTURE_SECONDS:g} s)")
    parser.add_argument("--titles", type=float, default=0.0,
                        help="share of the stations sending ICY stream titles (0 to 1; run it with --tick-seconds 120: "
                        "a title names an item by how long it stays on, read from the captures' times)")
    parser.add_argument("--cost-captures", type=int, default=40, help="unknown-music captures timed side by side")
    parser.add_argument("--work", type=Path, default=Path("/tmp/zamio-week-bench"))
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument(
        "--naming-again",
        type=Path,
        metavar="FOLDER",
        help="the scratch folder of a run made with --keep: compare the naming again on fresh copies of its week "
        "(same seed and sizes), without airing it again",
    )
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    catalogue = songs(args.generated, rng, args.music, args.songs)
    timelines = programme(catalogue, args.stations, args.hours, rng)
    phases = [float(rng.uniform(0, SCAN_EVERY_SECONDS)) for _ in range(args.stations)]
    global LISTEN_SECONDS
    LISTEN_SECONDS = args.listen_seconds if args.titles > 0 else 0.0  # without titles no station is heard longer
    ticks = int((args.hours * 3600 - SCAN_EVERY_SECONDS - served_seconds()) // SCAN_EVERY_SECONDS) + 1
    week = Week(catalogue, timelines, phases, ticks, titled=frozenset(range(round(args.titles * args.stations))))
    if args.naming_again is not None:
        kept = json.loads((args.naming_again / "week.json").read_text())
        url, figures, spent = kept["url"], kept["figures"], kept["spent"]
        compare_naming(Jobs(url, args.naming_again), url, week, figures, args.naming_again)
        return report(args, week, figures, spent)
    began = time.monotonic()
    render_all(week, args.work, args.jobs)  # before the week airs, so a tick costs the scan alone
    print(f"rendered {args.stations * ticks} captures in {time.monotonic() - began:.0f} s", file=sys.stderr)
    folder = Path(tempfile.mkdtemp(prefix="zamio-week-bench-"))
    url = database(args.database, folder)
    print(f"scratch folder {folder}, database {url}", file=sys.stderr)
    jobs = Jobs(url, folder)
    jobs.run("migrate", "-q")
    engine = open_engine(url)
    routes = [OnAirRoute(mp3_of(week, 0, k, args.work), ICY_METAINT if k in week.titled else None)
              for k in range(args.stations)]
    with StreamServer({f"/st{k + 1}": route for k, route in enumerate(routes)}) as server:
        load_world(jobs, week, [server.url(f"/st{k + 1}") for k in range(args.stations)], folder)
        spent = air_week(jobs, week, routes, args.work, engine, args.tick_seconds)
    later = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    jobs.run("convert-matches", "--as-of", later, "-q")
    jobs.run("calculate-royalty-distributions", "-q")
    found = facts(engine)
    figures = evaluate(week, found)
    figures["title_groups"] = title_groups(jobs, figures, folder)
    spent.update(cost(engine, week, found, args.work, args.cost_captures))
    engine.dispose()
    (folder / "week.json").write_text(json.dumps({"url": url, "figures": figures, "spent": spent}, default=str))
    compare_naming(jobs, url, week, figures, folder)
    if not args.keep:
        drop(url, args.database, folder)
    return report(args, week, figures, spent)


def report(args: argparse.Namespace, week: Week, figures: dict, spent: dict) -> int:
    """Print the table and write the JSON of the run."""
    catalogue, ticks = week.songs, week.ticks
    kind = "sqlite" if args.database == "sqlite" else "postgresql"
    conditions = {
        "database": kind,
        "stations": args.stations,
        "programme_hours_per_station": args.hours,
        "captures_per_station": ticks,
        "songs": len(catalogue),
        "music": str(args.music or MUSIC),
        "unregistered": sum(not s.registered for s in catalogue.values()),
        "capture_seconds": CAPTURE_SECONDS,
        "listen_seconds": LISTEN_SECONDS,
        "seed": args.seed,
        "tick_wall_seconds": args.tick_seconds or tick_wall_seconds(),
        "stations_sending_titles": len(week.titled),
    }
    print(
        table(
            f"{kind}: {args.stations} stations × {args.hours:g} h of programme, "
            f"{len(catalogue)} songs ({conditions['unregistered']} unregistered)",
            figures,
            spent,
        )
    )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"unknown_week_{kind}.json").write_text(
        json.dumps({"conditions": conditions, "figures": figures, "cost": spent}, indent=1, default=str) + "\n"
    )
    return 0

if __name__ == "__main__":
    sys.exit(main())
