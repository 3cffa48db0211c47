"""Measuring how many seconds of audio a captured byte string holds.

A first estimate of the byte rate comes from the first frames (:mod:`formats`), but
variable bit rates and codec headers repeated at song changes make it drift.  Walking
the frames of the whole capture gives the exact duration for MPEG audio and ADTS, and
the granule positions (sample counts) of the pages give it for Ogg.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from zamio.streams.formats import adts_frame, mpeg_frame, ogg_page_length, ogg_sample_rate

FrameParser = Callable[[bytes, int], "tuple[int, float] | None"]


def frames_seconds(data: bytes, start: int, parse: FrameParser) -> float:
    """Given bytes of MPEG audio or ADTS frames, return the seconds of the complete frames.

    Bytes between frames (an ID3 tag where a looping source restarts, a damaged frame)
    are skipped by resynchronising on two consecutive valid frames.
    """
    total, i, end = 0.0, start, len(data)
    while i < end:
        frame = parse(data, i)
        if frame is not None and i + frame[0] <= end and _continues(data, i + frame[0], parse):
            total += frame[1]
            i += frame[0]
        else:
            i = _resync(data, i + 1, parse)
    return total


def _continues(data: bytes, i: int, parse: FrameParser) -> bool:
    """True if a frame starts at ``i`` or the bytes end there."""
    return i >= len(data) or parse(data, i) is not None


def _resync(data: bytes, i: int, parse: FrameParser) -> int:
    """Return the next offset from ``i`` where two consecutive frames start (or the end)."""
    while (i := data.find(b"\xff", i)) >= 0:
        frame = parse(data, i)
        if frame is not None and i + frame[0] <= len(data) \
                and _continues(data, i + frame[0], parse):
            return i
        i += 1
    return len(data)


def ogg_seconds(data: bytes, start: int) -> float | None:
    """Given Ogg pages, return the seconds they cover from their granule positions, per
    logical stream (chained streams restart at each song); None if no codec header
    (hence no sample rate) is among them."""
    rates: dict[int, int] = {}
    last: dict[int, int] = {}
    total, i = 0.0, start
    while i < len(data):
        length = ogg_page_length(data, i)
        if length is None:
            i = data.find(b"OggS", i + 1)
            if i < 0:
                break
            continue
        granule, serial = struct.unpack_from("<qI", data, i + 6)
        if serial not in rates and (rate := ogg_sample_rate(data, i, i + length)):
            rates[serial] = rate
        if granule >= 0 and serial in rates:
            if granule > last.get(serial, granule):
                total += (granule - last[serial]) / rates[serial]
            last[serial] = granule
        i += length
    return total if rates else None


def measure_seconds(codec: str | None, data: bytes, start: int) -> float | None:
    """Given a codec name and captured bytes from ``start``, return their exact duration
    in seconds, or None when the format has no cheap exact measure (WAV and MPEG-TS are
    measured by their byte rate instead)."""
    if codec == "mp3":
        return frames_seconds(data, start, mpeg_frame)
    if codec == "aac":
        return frames_seconds(data, start, adts_frame)
    if codec == "ogg":
        return ogg_seconds(data, start)
    return None
