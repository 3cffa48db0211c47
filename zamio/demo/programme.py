"""What the demo stations broadcast: a deterministic catalog of generated songs and their schedules.

Everything here is derived from fixed seeds, so every run of the demo builds
the same recordings, the same schedules and therefore the same expected plays.
Audio is rendered at the analysis rate (8 kHz) because that is all the
recogniser looks at, which keeps a simulated day small and quick.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from zamio.demo import synth
from zamio.recognition.audio import ANALYSIS_RATE

RATE = ANALYSIS_RATE


@dataclass(frozen=True)
class DemoTrack:
    ref: str
    title: str
    artist: str
    seed: int
    seconds: float
    category: str = "music"
    isrc: str | None = None
    society_code: str | None = None  # registered to a partner society: a foreign work


@dataclass(frozen=True)
class Slot:
    """One item of a station's programme: a recording (possibly sped up or noisy) or talk."""

    start: datetime
    seconds: float  # wall-clock length on air
    track: DemoTrack | None  # None: talk / silence
    speed_percent: int = 0
    snr_db: float | None = None
    offset: float = 0.0  # where in the recording the slot starts (a song joined late)


CATALOG = (
    DemoTrack("ZM-001", "Harmattan Morning", "Ama Serwaa", 101, 150, isrc="GHA012600001"),
    DemoTrack("ZM-002", "Kente Dreams", "Kojo Mensah", 102, 140, isrc="GHA012600002"),
    DemoTrack("ZM-003", "Osu Nights", "Efua Asante", 103, 160, isrc="GHA012600003"),
    DemoTrack("ZM-004", "Volta Blue", "Kojo Mensah", 104, 130, isrc="GHA012600004"),
    DemoTrack("ZM-005", "Highlife Again", "Yaw Boateng", 105, 145, isrc="GHA012600005"),
    DemoTrack("ZM-006", "Cape Coast Breeze", "Ama Serwaa", 106, 135, isrc="GHA012600006"),
    DemoTrack("ZM-007", "Northern Lights", "The Thames Collective", 107, 150, isrc="GBXYZ2600007", society_code="052"),
    DemoTrack("ZM-J01", "Gold FM Ident", "Station Imaging", 201, 12, category="jingle"),
)
SONGS = tuple(t for t in CATALOG if t.category == "music")
JINGLE = next(t for t in CATALOG if t.category == "jingle")
#: A song on air that the catalog lacks until the demo registers it: heard, held in suspense, named, paid.
#: Shorter than the snippets' period, so each airing is heard by one snippet.
UNKNOWN_SONG = DemoTrack("ZM-101", "Chale Wote", "Adjoa Frimpong", 108, 100, isrc="GHA012600101")
#: The hours whose first song is the unknown one; the last airing is played 2 % fast, which the unknown
#: index (nominal speed) does not join to the others, and the catalog's matcher finds once it is registered.
UNKNOWN_HOURS = {9: 0, 13: 0, 17: 0, 20: 2}
#: The unknown song starts this long before a snippet, so that every airing's snippet hears the same seconds.
UNKNOWN_LEAD_SECONDS = 3.0
SNIPPET_PERIOD = timedelta(minutes=2)


def render(track: DemoTrack) -> np.ndarray:
    """The recording of ``track`` at the analysis rate."""
    if track.category == "jingle":
        return synth.jingle(track.seed, seconds=track.seconds, rate=RATE)
    return synth.song(track.seed, seconds=track.seconds, rate=RATE)


def day_schedule(day_start: datetime, seed: int = 7) -> list[Slot]:
    """A broadcast day: songs back to back, the jingle, talk breaks, one song twice in a row,
    an A-B-A, a song sped up 2 %, a noisy song and a song cut short, and at ``UNKNOWN_HOURS`` the
    song the catalog lacks after the talk."""
    rng = np.random.default_rng(seed)
    slots: list[Slot] = []
    t = day_start
    end = day_start + timedelta(days=1)
    hour = -1
    while t < end - timedelta(minutes=5):
        if t.hour != hour:  # the top of each hour: ident, then talk
            hour = t.hour
            slots.append(Slot(t, JINGLE.seconds, JINGLE))
            t += timedelta(seconds=JINGLE.seconds)
            talk = float(rng.integers(60, 150))
            if hour in UNKNOWN_HOURS:  # talk until the unknown song can start just before a snippet
                talk += _until_snippet(day_start, t + timedelta(seconds=talk))
            slots.append(Slot(t, talk, None))
            t += timedelta(seconds=talk)
            if hour in UNKNOWN_HOURS:
                speed = UNKNOWN_HOURS[hour]
                seconds = UNKNOWN_SONG.seconds * 100 / (100 + speed)
                slots.append(Slot(t, seconds, UNKNOWN_SONG, speed))
                t += timedelta(seconds=seconds)
            continue
        track = SONGS[int(rng.integers(len(SONGS)))]
        speed = 2 if rng.random() < 0.15 else 0
        snr = 10.0 if rng.random() < 0.1 else None
        seconds = track.seconds * 100 / (100 + speed)
        if rng.random() < 0.05:  # the presenter fades it out early
            seconds = float(rng.integers(70, int(seconds) - 20))
        slots.append(Slot(t, seconds, track, speed, snr))
        t += timedelta(seconds=seconds)
    return slots


def _until_snippet(day_start: datetime, t: datetime) -> float:
    """Seconds from ``t`` until ``UNKNOWN_LEAD_SECONDS`` before the next snippet of the day."""
    period = SNIPPET_PERIOD.total_seconds()
    elapsed = (t - day_start).total_seconds() + UNKNOWN_LEAD_SECONDS
    return -elapsed % period


def live_schedule(start: datetime, songs: tuple[DemoTrack, ...], minutes: float) -> list[Slot]:
    """A short live programme for a streamed station: songs back to back, the first joined mid-way."""
    slots, t, first = [], start, True
    while t < start + timedelta(minutes=minutes):
        for track in songs:
            offset = track.seconds / 3 if first else 0.0
            slots.append(Slot(t, track.seconds - offset, track, offset=offset))
            t += timedelta(seconds=track.seconds - offset)
            first = False
    return slots


class Renderer:
    """Cuts any window of a schedule into samples, caching each recording variant once."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, int, float | None], np.ndarray] = {}

    def recording(self, slot: Slot) -> np.ndarray:
        assert slot.track is not None
        key = (slot.track.ref, slot.speed_percent, slot.snr_db)
        if key not in self._cache:
            base = (slot.track.ref, 0, None)
            if base not in self._cache:
                self._cache[base] = render(slot.track)
            audio = self._cache[base]
            if slot.speed_percent:
                audio = synth.change_speed(audio, slot.speed_percent)
            if slot.snr_db is not None:
                audio = synth.add_noise(audio, slot.snr_db, seed=slot.track.seed)
            self._cache[key] = audio
        return self._cache[key]

    def window(self, slots: list[Slot], start: datetime, seconds: float) -> np.ndarray:
        """The samples on air from ``start`` for ``seconds`` (talk is quiet room noise); ``slots`` in time order."""
        out = (np.random.default_rng(int(start.timestamp())).standard_normal(int(seconds * RATE))
               .astype(np.float32) * 0.003)
        first = max(0, bisect.bisect_right([s.start for s in slots], start) - 1)
        for slot in slots[first : first + 8]:
            slot_end = slot.start + timedelta(seconds=slot.seconds)
            if slot.track is None or slot_end <= start or slot.start >= start + timedelta(seconds=seconds):
                continue
            audio = self.recording(slot)
            begin = max(0.0, (slot.start - start).total_seconds())
            inside = max(0.0, (start - slot.start).total_seconds()) + slot.offset
            length = min(seconds - begin, (slot_end - max(slot.start, start)).total_seconds())
            a, n = int(round(inside * RATE)), int(round(length * RATE))
            piece = audio[a : a + n]
            b = int(round(begin * RATE))
            out[b : b + piece.size] = piece[: out.size - b]
        return out
