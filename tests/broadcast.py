"""A simulated broadcast day through the real recognition path, and its plays scored against the truth.

Each station plays a known schedule: songs back to back, the same song an hour apart, A-B-A,
a song sped up 2 %, a jingle, talk, a song under talk-over at low SNR, a song cut short,
dead air, and a stream that dies for ten minutes.  Every two minutes a 20 s clip is cut from
the programme at the capture time and recognised with ``zamio.recognition.index.identify``
against the catalog's fingerprints stored by ``store_fingerprints`` (``simulate``, once);
``load`` writes the captures and detections rows into any database as the scanner writes them
(capture_key ``sim:<station>:<time>``).  After ``bin/convert-matches`` its plays are compared
with the schedule (``score``, ``blame``): precision and recall of plays (same station and
recording, starts within 5 s), start and duration errors.

``digest``, ``reset_plays`` and ``duplicates`` read and reset the play tables of any world
(``tests.world.CaptureWorld`` too).  ``tests/e2e/test_broadcast_day.py`` runs a morning;
``bench/playlog_eval.py`` runs a whole day and kills the converter midway.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from scipy.signal import butter, lfilter

from zamio.demo import synth
from zamio.recognition.audio import ANALYSIS_RATE, SilentAudio, check_not_silent

RATE = ANALYSIS_RATE
CAPTURE_SECONDS = 20.0
INTERVAL_SECONDS = 120
MATCH_START_SECONDS = 5.0  # a play matches the truth when its start is this close
DAY = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Recording:
    ref: str
    seed: int
    seconds: float
    category: str = "music"

    @property
    def isrc(self) -> str:
        return f"GHA01260{self.seed:04d}"


JINGLES = (Recording("SIM-J1", 901, 30.0, "jingle"), Recording("SIM-J2", 902, 25.0, "jingle"))


def make_songs(count: int = 16, shortest_s: float = 150.0, spread_s: float = 140.0) -> tuple[Recording, ...]:
    """``count`` songs of ``shortest_s`` to ``shortest_s + spread_s`` seconds."""
    return tuple(Recording(f"SIM-{n:02d}", 300 + n, shortest_s + (n * 37) % spread_s) for n in range(count))


@dataclass(frozen=True)
class Slot:
    """One item on air: a recording from ``start`` for ``seconds`` of wall time, or talk/silence."""

    start: datetime
    seconds: float
    recording: Recording | None  # None: talk or dead air
    speed_percent: int = 0
    talk_over_seconds: float = 0.0  # a presenter talks over the first seconds of it
    silent: bool = False

    @property
    def end(self) -> datetime:
        return self.start + timedelta(seconds=self.seconds)


@dataclass(frozen=True)
class StationDay:
    ref: str
    slots: tuple[Slot, ...]
    dead: tuple[datetime, datetime]  # the stream delivers nothing in between
    first_capture: datetime


PATTERN = ("song", "song", "jingle", "fast", "talk", "talkover", "song", "cut", "silence", "aba", "song",
           "repeat", "song")


def station_day(index: int, start: datetime, hours: float, songs: tuple[Recording, ...], seed: int = 1) -> StationDay:
    """Given a station number, return its programme for ``hours`` from ``start``: every case in PATTERN, in turn."""
    rng = random.Random(seed * 1000 + index)
    end = start + timedelta(hours=hours)
    slots: list[Slot] = []
    t, step = start, index * 3
    while t < end:
        kind = PATTERN[step % len(PATTERN)]
        step += 1
        for slot in _slots(kind, t, slots, songs, rng):
            slots.append(slot)
            t = slot.end
    dead_at = start + timedelta(minutes=70 + 11 * index)
    return StationDay(f"sim-{index + 1}", tuple(slots), (dead_at, dead_at + timedelta(minutes=10)),
                      start + timedelta(seconds=17 * index + 5))


def _slots(kind: str, t: datetime, before: list[Slot], songs: tuple[Recording, ...], rng: random.Random) -> list[Slot]:
    recent = {s.recording.ref for s in before[-4:] if s.recording is not None}
    song = rng.choice([s for s in songs if s.ref not in recent])
    if kind == "jingle":
        jingle = rng.choice(JINGLES)
        return [Slot(t, jingle.seconds, jingle)]
    if kind == "fast":
        return [Slot(t, song.seconds / 1.02, song, speed_percent=2)]
    if kind == "talk":
        return [Slot(t, rng.uniform(60, 150), None)]
    if kind == "talkover":
        return [Slot(t, song.seconds, song, talk_over_seconds=45.0)]
    if kind == "cut":
        return [Slot(t, rng.uniform(80, 120), song)]
    if kind == "silence":
        return [Slot(t, rng.uniform(30, 60), None, silent=True)]
    if kind == "aba":
        other = rng.choice([s for s in songs if s.ref not in recent | {song.ref}])
        first = Slot(t, song.seconds, song)
        middle = Slot(first.end, other.seconds, other)
        return [first, middle, Slot(middle.end, song.seconds, song)]
    if kind == "repeat":
        earlier = [s for s in before if s.recording in songs and s.end <= t - timedelta(minutes=50)
                   and s.speed_percent == 0 and s.seconds == s.recording.seconds]
        if earlier and earlier[-1].recording.ref not in recent:
            song = earlier[-1].recording
    return [Slot(t, song.seconds, song)]


class Library:
    """The catalog's audio at the analysis rate, each recording and speed rendered once."""

    def __init__(self) -> None:
        self._audio: dict[tuple[str, int], np.ndarray] = {}

    def audio(self, recording: Recording, speed_percent: int = 0) -> np.ndarray:
        key = (recording.ref, speed_percent)
        if key not in self._audio:
            if speed_percent:
                self._audio[key] = synth.change_speed(self.audio(recording), speed_percent)
            elif recording.category == "jingle":
                self._audio[key] = synth.jingle(recording.seed, seconds=recording.seconds, rate=RATE)
            else:
                self._audio[key] = synth.song(recording.seed, seconds=recording.seconds, rate=RATE)
        return self._audio[key]

    def clip(self, day: StationDay, start: datetime, seconds: float) -> np.ndarray:
        """The samples on air at ``day``'s station from ``start`` for ``seconds``."""
        n = int(round(seconds * RATE))
        out = np.zeros(n, np.float32)
        stop = start + timedelta(seconds=seconds)
        for slot in day.slots:
            if slot.end <= start or slot.start >= stop:
                continue
            into = (start - slot.start).total_seconds()  # wall seconds into the slot at clip start
            lo, hi = int(round(max(0.0, into) * RATE)), int(round(min(slot.seconds, into + seconds) * RATE))
            at = int(round(max(0.0, -into) * RATE))
            out[at:at + hi - lo] += self._slot_audio(slot, lo, hi)[: max(0, n - at)]
        return out

    def _slot_audio(self, slot: Slot, lo: int, hi: int) -> np.ndarray:
        if slot.silent:
            return np.zeros(hi - lo, np.float32)
        if slot.recording is None:
            return talk(hash_seed(slot.start), hi - lo, lo)
        part = self.audio(slot.recording, slot.speed_percent)[lo:hi]
        part = np.pad(part, (0, hi - lo - part.size))
        talk_end = int(slot.talk_over_seconds * RATE)
        if lo < talk_end:  # the presenter at +6 dB over the music
            voice = talk(hash_seed(slot.start), hi - lo, lo) * 2.0
            voice[max(0, talk_end - lo):] = 0.0
            part = part + voice
        return part.astype(np.float32)


def hash_seed(moment: datetime) -> int:
    return int(hashlib.sha256(moment.isoformat().encode()).hexdigest()[:8], 16)


def talk(seed: int, n: int, offset: int = 0) -> np.ndarray:
    """Speech-like sound: band-limited noise in syllables with a gliding voiced pitch (deterministic per seed)."""
    rng = np.random.default_rng(seed + offset // RATE)
    t = (np.arange(n) + offset) / RATE
    b, a = butter(2, [300 / (RATE / 2), 3000 / (RATE / 2)], "band")
    noise = lfilter(b, a, rng.standard_normal(n))
    pitch = 140 + 30 * np.sin(2 * np.pi * 0.3 * t + seed % 7)
    voiced = sum(np.sin(2 * np.pi * k * np.cumsum(pitch) / RATE) / k for k in range(1, 6))
    syllables = np.clip(np.sin(2 * np.pi * 4.0 * t + seed % 5), 0, None)
    return (0.25 * syllables * (0.6 * noise + 0.3 * voiced)).astype(np.float32)


# --- recognition: what the scanner would have recorded ---------------------------------------


@dataclass(frozen=True)
class Heard:
    station_ref: str
    started_at: datetime
    seconds: float
    outcome: str
    track_ref: str | None = None
    offset_seconds: float | None = None
    speed: float = 1.0
    confidence: float | None = None
    score: float | None = None


def capture_times(day: StationDay, hours: float) -> list[datetime]:
    end = DAY + timedelta(hours=hours)
    count = int((end - day.first_capture).total_seconds() // INTERVAL_SECONDS)
    return [day.first_capture + timedelta(seconds=INTERVAL_SECONDS * k) for k in range(count)]


def recognise_day(conn, library: Library, days: list[StationDay], hours: float, ids: dict[str, int]) -> list[Heard]:
    """Cut every capture of every station from the programme and recognise it against the database."""
    from zamio.recognition.index import identify

    refs = {track_id: ref for ref, track_id in ids.items() if ref.startswith("SIM-")}
    heard = []
    for day in days:
        for t in capture_times(day, hours):
            if day.dead[0] <= t < day.dead[1]:
                heard.append(Heard(day.ref, t, 0.0, "error"))
                continue
            clip = library.clip(day, t, CAPTURE_SECONDS)
            try:
                check_not_silent(clip)
            except SilentAudio:
                heard.append(Heard(day.ref, t, CAPTURE_SECONDS, "silence"))
                continue
            found = identify(conn, clip)
            if found is None:
                heard.append(Heard(day.ref, t, CAPTURE_SECONDS, "no_match"))
            else:
                heard.append(Heard(day.ref, t, CAPTURE_SECONDS, "match", refs[found.track_id], found.offset_seconds,
                                   found.speed, found.confidence, float(found.score)))
    return heard


# --- database rows ---------------------------------------------------------------------------


def write_catalog(conn, catalog: tuple[Recording, ...], stations: list[str]) -> dict[str, int]:
    """Insert the artists, tracks and stations; return the ids of tracks and stations by their references."""
    from sqlalchemy import select

    from zamio.db.engine import insert_ignore, utcnow
    from zamio.db.tables import artists, tracks
    from zamio.db.tables import stations as stations_table

    now = utcnow()
    insert_ignore(conn, artists, [{"artist_ref": "sim-artist", "name": "Sim Artist", "created_at": now}],
                  ["artist_ref"])
    artist_id = conn.execute(select(artists.c.id).where(artists.c.artist_ref == "sim-artist")).scalar_one()
    insert_ignore(conn, tracks, [
        {"track_ref": r.ref, "title": f"Title {r.ref}", "artist_id": artist_id, "isrc": r.isrc,
         "duration_seconds": r.seconds, "category": r.category, "created_at": now, "updated_at": now}
        for r in catalog], ["track_ref"])
    insert_ignore(conn, stations_table, [
        {"station_ref": ref, "name": ref.upper(), "station_class": "class_a", "created_at": now} for ref in stations],
        ["station_ref"])
    ids = dict(conn.execute(select(tracks.c.track_ref, tracks.c.id)).all())
    ids.update(dict(conn.execute(select(stations_table.c.station_ref, stations_table.c.id)).all()))
    return ids  # track and station references never coincide (SIM-.. and sim-..)


def store_catalog_fingerprints(conn, library: Library, catalog: tuple[Recording, ...], ids: dict[str, int]) -> None:
    from zamio.recognition.fingerprint import fingerprint
    from zamio.recognition.index import store_fingerprints

    for recording in catalog:
        audio = library.audio(recording)
        digest = hashlib.sha256(audio.tobytes()).hexdigest()
        store_fingerprints(conn, ids[recording.ref], fingerprint(audio), digest, audio.size / RATE)


def write_heard(conn, heard: list[Heard], ids: dict[str, int]) -> None:
    """Write captures and detections rows as the scanner does, in bulk."""
    from sqlalchemy import select

    from zamio.db.engine import insert_ignore, utcnow
    from zamio.db.tables import captures, detections

    now = utcnow()
    rows = [{"capture_key": f"sim:{h.station_ref}:{h.started_at:%Y%m%dT%H%M%SZ}", "station_id": ids[h.station_ref],
             "source": "stream", "started_at": h.started_at, "seconds": h.seconds, "outcome": h.outcome,
             "created_at": now} for h in heard]
    insert_ignore(conn, captures, rows, ["capture_key"])
    keys = dict(conn.execute(select(captures.c.capture_key, captures.c.id)).all())
    found = [{"capture_id": keys[row["capture_key"]], "station_id": row["station_id"], "detected_at": h.started_at,
              "source": "local", "track_id": ids[h.track_ref], "offset_seconds": h.offset_seconds, "speed": h.speed,
              "confidence": h.confidence, "score": h.score, "created_at": now}
             for h, row in zip(heard, rows, strict=True) if h.outcome == "match"]
    insert_ignore(conn, detections, found, ["capture_id", "source"])


# --- comparing with the truth ----------------------------------------------------------------


@dataclass
class Scores:
    plays: int
    truth: int
    matched: int
    precision: float
    recall_60: float
    recall_all: float
    long_truth: int
    long_matched: int
    start_errors: list[float]
    duration_errors: list[float]
    false_plays: list[tuple]
    missed: list[tuple]

    def lines(self) -> list[str]:
        errors, durations = sorted(self.start_errors), sorted(self.duration_errors)
        return [
            f"plays {self.plays}, truth (detectable) {self.truth}, matched {self.matched}",
            f"precision {self.precision:.2%}, recall (>= 60 s) {self.recall_60:.2%}, "
            f"recall (all) {self.recall_all:.2%}",
            f"start error median {percentile(errors, 50):.2f} s, p95 {percentile(errors, 95):.2f} s, "
            f"max {errors[-1] if errors else 0:.2f} s",
            f"duration error median {percentile(durations, 50):.2f} s, p95 {percentile(durations, 95):.2f} s",
        ]


def percentile(ordered: list[float], p: float) -> float:
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def detectable(slot: Slot, day: StationDay, hours: float) -> bool:
    """Whether some live capture lay wholly inside the slot (else no monitor could have heard it)."""
    return any(slot.start <= t and t + timedelta(seconds=CAPTURE_SECONDS) <= slot.end
               and not (day.dead[0] <= t < day.dead[1]) for t in capture_times(day, hours))


def score(plays: list[tuple], days: list[StationDay], hours: float) -> Scores:
    """Given final plays (station_ref, track_ref, started_at, duration_seconds), compare them with the schedules.

    A play is right when a scheduled airing of the same recording on the same station starts
    within MATCH_START_SECONDS of it (each airing matched once).  Recall counts only airings
    some live capture lay wholly inside: no monitor can report the others.
    """
    truth = [(d.ref, s, detectable(s, d, hours)) for d in days for s in d.slots if s.recording is not None]
    used: set[int] = set()
    start_errors, duration_errors, false_plays = [], [], []
    for play in sorted(plays, key=lambda p: (p[0], p[2])):
        candidates = [(abs((play[2] - slot.start).total_seconds()), n) for n, (ref, slot, _) in enumerate(truth)
                      if n not in used and ref == play[0] and slot.recording.ref == play[1]]
        error, n = min(candidates, default=(None, None))
        if error is None or error > MATCH_START_SECONDS:
            false_plays.append(play)
            continue
        used.add(n)
        start_errors.append(error)
        duration_errors.append(abs(play[3] - truth[n][1].seconds))
    seen = [n for n, (_, _, ok) in enumerate(truth) if ok]
    long = [n for n in seen if truth[n][1].seconds >= 60]
    missed = [(truth[n][0], truth[n][1].recording.ref, truth[n][1].start) for n in seen if n not in used]
    long_matched = sum(1 for n in long if n in used)
    return Scores(len(plays), len(seen), len(used), len(used) / max(1, len(plays)),
                  long_matched / max(1, len(long)), sum(1 for n in seen if n in used) / max(1, len(seen)),
                  len(long), long_matched, start_errors, duration_errors, false_plays, missed)


def final_plays(conn) -> list[tuple]:
    """The current plays as (station_ref, track_ref, started_at, duration_seconds, play id)."""
    from sqlalchemy import select

    from zamio.db.tables import play_logs as p
    from zamio.db.tables import stations as s
    from zamio.db.tables import tracks as t

    query = select(s.c.station_ref, t.c.track_ref, p.c.started_at, p.c.duration_seconds, p.c.id).select_from(
        p.join(s, s.c.id == p.c.station_id).join(t, t.c.id == p.c.track_id)).where(p.c.status == "final")
    return [tuple(r) for r in conn.execute(query)]


def offset_right(h: Heard, day: StationDay) -> bool:
    """Whether a match names a recording on air then and an implied start within MATCH_START_SECONDS of its start."""
    implied = h.started_at - timedelta(seconds=h.offset_seconds / h.speed)
    return any(s.recording is not None and s.recording.ref == h.track_ref
               and abs((implied - s.start).total_seconds()) <= MATCH_START_SECONDS
               and s.start - timedelta(seconds=CAPTURE_SECONDS) <= h.started_at <= s.end for s in day.slots)


@dataclass
class Blame:
    """How many errors the recogniser caused: plays resting only on wrong offsets, airings never heard right."""

    wrong_offsets: int
    matches: int
    false_from_recognition: int
    missed_from_recognition: int
    missed_long_from_recognition: int

    def builder(self, s: Scores) -> tuple[float, float]:
        """Precision and recall (>= 60 s) of the play builder on what recognition reported right."""
        precision = s.matched / max(1, s.plays - self.false_from_recognition)
        recall = s.long_matched / max(1, s.long_truth - self.missed_long_from_recognition)
        return precision, recall

    def lines(self, s: Scores) -> list[str]:
        precision, recall = self.builder(s)
        return [
            f"recognition: {self.wrong_offsets} of {self.matches} matches with a wrong offset "
            f"({self.wrong_offsets / max(1, self.matches):.1%}); {self.false_from_recognition} false plays rest "
            f"only on them, {self.missed_from_recognition} airings were never heard with a right offset",
            f"play builder given recognition: precision {precision:.2%}, recall (>= 60 s) {recall:.2%}",
        ]


def blame(conn, scores: Scores, heard: list[Heard], days: list[StationDay]) -> Blame:
    """Given the scores, the recognition results and the schedules, attribute errors to the recogniser."""
    from sqlalchemy import text

    by_station = {d.ref: d for d in days}
    right = {f"sim:{h.station_ref}:{h.started_at:%Y%m%dT%H%M%SZ}": offset_right(h, by_station[h.station_ref])
             for h in heard if h.outcome == "match"}
    evidence: dict[int, list[str]] = {}
    for play_id, key in conn.execute(text(
            "SELECT l.play_id, c.capture_key FROM play_detections l JOIN detections d ON d.id = l.detection_id "
            "JOIN captures c ON c.id = d.capture_id")):
        evidence.setdefault(play_id, []).append(key)
    false_rec = sum(1 for play in scores.false_plays if not any(right[k] for k in evidence.get(play[4], [])))
    missed_rec = [m for m in scores.missed if not _heard_right(m, heard, by_station)]
    long = [m for m in missed_rec if _slot(by_station[m[0]], m).seconds >= 60]
    return Blame(sum(1 for ok in right.values() if not ok), len(right), false_rec, len(missed_rec), len(long))


def _slot(day: StationDay, missed: tuple) -> Slot:
    return next(s for s in day.slots if s.recording is not None and s.recording.ref == missed[1]
                and s.start == missed[2])


def _heard_right(missed: tuple, heard: list[Heard], days: dict[str, StationDay]) -> bool:
    slot = _slot(days[missed[0]], missed)
    return any(h.station_ref == missed[0] and h.outcome == "match" and h.track_ref == missed[1]
               and slot.start - timedelta(seconds=CAPTURE_SECONDS) <= h.started_at <= slot.end
               and offset_right(h, days[missed[0]]) for h in heard)


def digest(conn) -> str:
    """A digest of the play tables by natural keys (no ids, no wall-clock stamps)."""
    from sqlalchemy import text

    plays = conn.execute(text(
        "SELECT p.play_key, p.version, p.status, p.started_at, p.ended_at, p.duration_seconds, p.end_estimated, "
        "p.single_observation, p.detection_count, p.category, p.recording_key, s.play_key AS supersedes "
        "FROM play_logs p LEFT JOIN play_logs s ON s.id = p.supersedes_id ORDER BY p.play_key, p.version"))
    links = conn.execute(text(
        "SELECT p.play_key, p.version, c.capture_key FROM play_detections l JOIN play_logs p ON p.id = l.play_id "
        "JOIN detections d ON d.id = l.detection_id JOIN captures c ON c.id = d.capture_id "
        "ORDER BY p.play_key, p.version, c.capture_key"))
    states = conn.execute(text(
        "SELECT c.capture_key, d.convert_status FROM detections d JOIN captures c ON c.id = d.capture_id "
        "ORDER BY c.capture_key"))
    text_form = repr([tuple(map(str, r)) for part in (plays, links, states) for r in part])
    return hashlib.sha256(text_form.encode()).hexdigest()


def reset_plays(conn) -> None:
    from sqlalchemy import text

    conn.execute(text("DELETE FROM play_detections"))
    conn.execute(text("UPDATE play_logs SET supersedes_id = NULL, duplicate_of = NULL"))
    conn.execute(text("DELETE FROM play_logs"))
    conn.execute(text("UPDATE detections SET convert_status = 'pending', convert_attempts = 0, "
                      "convert_error = NULL, convert_next_attempt_at = NULL"))


def run_as_cron(engine, stations: dict[str, int], hours: float) -> None:
    """Convert every two minutes of the day, as the schedule would, seeing only captures up to each tick."""
    from zamio.playlogs.convert import ConvertSettings, convert_station

    settings = ConvertSettings()
    tick = DAY
    while tick <= DAY + timedelta(hours=hours, minutes=30):
        for station_id in stations.values():
            convert_station(engine, station_id, tick, settings)
        tick += timedelta(seconds=INTERVAL_SECONDS)


# --- one simulated day ----------------------------------------------------------------------


@dataclass
class Simulation:
    """One simulated day, recognised once: what the scanner heard, ready to write to any database."""

    hours: float
    songs: tuple[Recording, ...]
    days: list[StationDay]
    heard: list[Heard]

    @property
    def catalog(self) -> tuple[Recording, ...]:
        return self.songs + JINGLES


def simulate(engine, hours: float, stations: int, songs: tuple[Recording, ...]) -> Simulation:
    """Build the schedules, fingerprint the catalog into ``engine``'s database and recognise every capture."""
    from zamio.db.engine import transaction

    days = [station_day(i, DAY, hours, songs) for i in range(stations)]
    sim = Simulation(hours, songs, days, [])
    library = Library()
    with transaction(engine) as conn:
        ids = write_catalog(conn, sim.catalog, [d.ref for d in days])
        store_catalog_fingerprints(conn, library, sim.catalog, ids)
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:  # fresh statistics, as autovacuum would give a live catalog
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE fingerprints")
    with transaction(engine) as conn:
        sim.heard = recognise_day(conn, library, days, hours, ids)
    return sim


def load(engine, sim: Simulation) -> dict[str, int]:
    """Write the simulation's catalog, stations, captures and detections; return the ids by reference."""
    from zamio.db.engine import transaction

    with transaction(engine) as conn:
        ids = write_catalog(conn, sim.catalog, [d.ref for d in sim.days])
        write_heard(conn, sim.heard, ids)
    return ids


def duplicates(conn) -> int:
    """Current plays sharing a play key, or two current plays of one station, recording and start second."""
    from sqlalchemy import text

    return conn.execute(text(
        "SELECT count(*) FROM (SELECT station_id, recording_key, started_at FROM play_logs WHERE status = 'final' "
        "GROUP BY station_id, recording_key, started_at HAVING count(*) > 1) d")).scalar()


def station_ids(engine) -> dict[str, int]:
    from sqlalchemy import select

    from zamio.db.tables import stations

    with engine.connect() as conn:
        return dict(conn.execute(select(stations.c.station_ref, stations.c.id)).all())
