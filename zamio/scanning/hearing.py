"""From captured audio to what was heard: decode, match locally, ask ACRCloud if that fails.

:func:`hear` turns the bytes of one capture (a stream window or an uploaded snippet)
into a :class:`Heard`: the capture's outcome (``match``, ``no_match``, ``silence`` or
``error``), the local match or the ACRCloud answer, and the reason when there is no
detection.  It runs in the scan's hearing threads: the CPU-heavy parts are ffmpeg (a
subprocess, shared by several captures through :class:`~zamio.scanning.decoding.BatchDecoder`)
and numpy FFTs, which release the GIL, so threads are enough (measured in
``bench/scan_bench.py``).  Nothing here writes to the database except the ACRCloud
budget, which must be spent before each request.

``should_stop`` tells that the run must end at once (a second SIGTERM): ffmpeg is then
killed (``audio.DecodeStopped``) and ACRCloud is not asked (:class:`HearingStopped`), so
a hearing under way ends with nothing to record.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import Engine

from zamio.db.replicas import LookupDatabases
from zamio.recognition import audio
from zamio.recognition.acrcloud import (
    NO_FINGERPRINT,
    NO_RESULT,
    AcrCloudAuthError,
    AcrCloudLimitExceeded,
    AcrCloudResult,
    AcrCloudUnavailable,
)
from zamio.runtime.errors import ItemError, TemporaryFailure
from zamio.scanning.decoding import BatchDecoder
from zamio.scanning.fallback import AcrCloudFallback, FallbackSkipped
from zamio.scanning.outcomes import FallbackFailed, Heard, Piece
from zamio.scanning.settings import DECODE_TIMEOUT_SECONDS

if TYPE_CHECKING:
    from zamio.scanning.listening import Span

# ffmpeg's demuxer names for the codecs zamio.streams reports; others are probed.
FORMAT_HINTS = {"mp3": "mp3", "aac": "aac", "mpegts": "mpegts"}
SYNC_SEARCH_BYTES = 16 * 1024  # a frame sync is always within the first few frames


class HearingStopped(TemporaryFailure):
    """The run must end at once: this capture is not heard, and a later run captures the station again."""


class Recogniser:
    """Local recognition against the catalog in the database, with the optional fallback.

    ``cpu_slots`` bounds how many recognitions run at once (FFTs and matching), so the
    hearing threads do not all crunch numbers at the same moment.  With a ``decoder``,
    captures in a format ffmpeg is told (MP3, AAC, MPEG-TS) are decoded in batches.
    ``lookups`` says where fingerprints are looked up (``FINGERPRINT_DATABASE_URL``'s
    replicas, see :mod:`zamio.recognition.replicated`); by default ``engine``.
    """

    def __init__(self, engine: Engine, fallback: AcrCloudFallback | None, cpu_slots: int,
                 decoder: BatchDecoder | None = None, cache_mb: int = 0,
                 should_stop: Callable[[], bool] | None = None, lookups: LookupDatabases | None = None) -> None:
        from zamio.recognition.index import pair_cache

        self.engine = engine
        # Fingerprint lookups go to the read replicas when there are any, else to ``engine``.
        self.lookups = lookups if lookups is not None else LookupDatabases(engine)
        self.fallback = fallback
        self.decoder = decoder
        self.should_stop = should_stop
        self._cpu = threading.BoundedSemaphore(max(1, cpu_slots))
        # Captures of one song, and a station's rotation, name the same candidates again.
        self.pair_cache = pair_cache(cache_mb)

    def hear(self, data: bytes, codec: str | None, name: str, max_seconds: float,
             spans: Sequence[Span] | None = None) -> Heard:
        """Given encoded audio bytes, return what they contain (see :class:`Heard`).  With ``spans``
        (the pieces of a long capture, ``zamio.scanning.listening.spans_of``), each piece is heard
        (``Heard.pieces``); a silent piece is kept as silence."""
        try:
            samples = self._decode(from_first_frame(data, codec), FORMAT_HINTS.get(codec or ""), name, max_seconds)
        except audio.SilentAudio as silent:
            return Heard("silence", error=silent, failed=True)
        except ItemError as bad:
            return Heard("error", error=bad, failed=True)
        return self.recognise(samples) if spans is None else self._hear_pieces(samples, name, spans)

    def _hear_pieces(self, samples: np.ndarray, name: str, spans: Sequence[Span]) -> Heard:
        rate = audio.ANALYSIS_RATE
        heard = []
        for span in spans:
            part = samples[int(span.start * rate):int(span.end * rate)]
            if part.size:
                heard.append(Piece(span.start, round(part.size / rate, 3), span.title, self._piece(part)))
        if not heard:
            return Heard("error", samples.size / rate, failed=True, error=audio.EmptyAudio(
                f"{name}: the capture decoded to {samples.size / rate:.1f} s, short of every piece cut from it; "
                "the next scan captures the station again"))
        matched = any(piece.heard.outcome == "match" for piece in heard)
        return Heard("match" if matched else "no_match", samples.size / rate, pieces=tuple(heard))

    def _piece(self, samples: np.ndarray) -> Heard:
        try:
            audio.check_not_silent(samples)
        except audio.SilentAudio as silent:
            return Heard("silence", samples.size / audio.ANALYSIS_RATE, error=silent)
        return self.recognise(samples)

    def _decode(self, data: bytes, format_hint: str | None, name: str, max_seconds: float) -> np.ndarray:
        if self.decoder is not None and format_hint is not None:
            return self.decoder.decode(data, format_hint=format_hint, name=name, max_seconds=max_seconds)
        return audio.decode_bytes(data, format_hint=format_hint, name=name, max_seconds=max_seconds,
                                  timeout_seconds=DECODE_TIMEOUT_SECONDS, should_stop=self.should_stop)

    def recognise(self, samples: np.ndarray) -> Heard:
        """Given decoded samples at ``audio.ANALYSIS_RATE`` that are not silent, return
        the local match (the whole capture, else one of its halves when it spans a change
        of song: ``zamio.recognition.changeover``; on a replica when lookups have them:
        ``zamio.recognition.replicated``), else the fallback's answer, else a no-match
        that says whether it is music (see :func:`judged`)."""
        from zamio.recognition.replicated import identify_on

        seconds = samples.size / audio.ANALYSIS_RATE
        with self._cpu:
            found = identify_on(self.lookups, samples, self.pair_cache)
        if found is not None:
            return Heard("match", seconds, local=found)
        if self.fallback is None:
            heard = Heard("no_match", seconds)
        elif self.should_stop is not None and self.should_stop():  # no request whose answer nobody would keep
            raise HearingStopped("ACRCloud was not asked: the run was asked to stop at once")
        else:
            heard = self._ask_fallback(samples, seconds)
        if heard.outcome != "no_match":
            return heard
        with self._cpu:
            return judged(heard, samples)

    def _ask_fallback(self, samples: np.ndarray, seconds: float) -> Heard:
        assert self.fallback is not None
        try:
            result = self.fallback.identify(samples, audio.ANALYSIS_RATE)
        except FallbackSkipped as skipped:
            return Heard("no_match", seconds, error=skipped)
        except AcrCloudAuthError as auth:
            return Heard("no_match", seconds, error=FallbackFailed(str(auth), "acrcloud_auth"), fatal=auth)
        except AcrCloudLimitExceeded as limited:
            # The breaker is now open: later captures skip the fallback, and a quota
            # reached is not a failure of this capture.
            return Heard("no_match", seconds, error=FallbackFailed(str(limited), "acrcloud_limit"))
        except AcrCloudUnavailable as down:
            return Heard("no_match", seconds, error=FallbackFailed(str(down), "acrcloud_unavailable"))
        except ItemError as bad:  # a malformed answer, a rejected request: worth a look
            return Heard("no_match", seconds, error=bad, failed=True)
        return _from_result(result, seconds)


def judged(heard: Heard, samples: np.ndarray) -> Heard:
    """Given a no-match and its samples, return it with what the samples contain
    (music, speech or noise) and, for music, the prints of the unknown index; unchanged
    when they are too short to judge."""
    from zamio.recognition.content import classify

    verdict = classify(samples)
    if verdict is None:
        return heard
    if verdict.kind != "music":
        return replace(heard, content=verdict.kind, music_probability=verdict.music)
    from zamio.recognition.unknown import prints

    return replace(heard, content=verdict.kind, music_probability=verdict.music, prints=prints(samples))


def from_first_frame(data: bytes, codec: str | None) -> bytes:
    """Given a raw MP3 or AAC capture, drop the partial frame a stream joined mid-way
    starts with: its first bytes may look like text ("<", "#") and the decoder's
    not-audio check would refuse the whole capture."""
    if codec not in ("mp3", "aac"):
        return data
    from zamio.streams.formats import sniff

    found = sniff(data[:SYNC_SEARCH_BYTES])
    return data[found.offset:] if found is not None and found.offset > 0 else data


def _from_result(result: AcrCloudResult, seconds: float) -> Heard:
    if result.matched and result.best is not None:
        return Heard("match", seconds, acr=result)
    reason = {NO_RESULT: "acrcloud_no_result", NO_FINGERPRINT: "acrcloud_no_fingerprint"}.get(
        result.status_code, f"acrcloud_{result.status_code}")
    message = f"ACRCloud found nothing ({result.status_code} {result.status_msg})"
    return Heard("no_match", seconds, acr=result, error=ItemError(message, reason))
