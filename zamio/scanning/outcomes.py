"""What a capture contained: the value passed from the recognising workers to the recorder.

Kept apart from :mod:`zamio.scanning.hearing` so that a run with nothing to do never
imports numpy and the decoder.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from zamio.runtime.errors import ItemError, ZamioError

if TYPE_CHECKING:
    from zamio.recognition.acrcloud import AcrCloudResult
    from zamio.recognition.fingerprint import Fingerprint
    from zamio.recognition.match import MatchResult


class FallbackFailed(ItemError):
    """ACRCloud could not answer for this capture (kept as the capture's reason)."""

    reason = "acrcloud_failed"


@dataclass(frozen=True)
class Heard:
    """What one capture contained.

    ``seconds``: decoded audio duration; ``error``: why there is no detection (None for
    a match or a plain local no-match); ``failed``: the capture counts as a failed item
    (the link or the fallback misbehaved); ``fatal``: a whole-run problem met on the way
    (ACRCloud refused the credentials), raised by the job once the capture is recorded;
    ``content`` and ``music_probability``: what a no-match contains (music, speech or
    noise, see :mod:`zamio.recognition.content`), None when it was not judged;
    ``prints``: the fingerprint of a no-match judged music, for the unknown index
    (:mod:`zamio.recognition.unknown`); ``pieces``: what each piece of a long capture
    contained (:mod:`zamio.scanning.listening`), each recorded as a capture of its own; the
    outcome is then the whole's (``match`` when a piece matched, else ``no_match``).
    """

    outcome: str
    seconds: float = 0.0
    local: MatchResult | None = None
    acr: AcrCloudResult | None = None
    error: ItemError | None = None
    failed: bool = False
    fatal: ZamioError | None = None
    content: str | None = None
    music_probability: float | None = None
    prints: Fingerprint | None = None
    pieces: tuple[Piece, ...] = ()


@dataclass(frozen=True)
class Piece:
    """A piece of a long capture: ``offset_seconds`` from its start, ``seconds`` long, under the
    stream title ``title``, and what it contained."""

    offset_seconds: float
    seconds: float
    title: str | None
    heard: Heard
