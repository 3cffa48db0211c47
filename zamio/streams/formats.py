"""Recognising audio containers from their first bytes, and their byte rate.

A capture must tell audio from an HTML error page or random bytes, and know how many
bytes make the wanted number of seconds.  Frame headers answer both: a run of
consecutive, self-consistent frames is audio (random bytes almost never chain), and the
frames' sizes and sample counts give the byte rate.  Formats: MPEG audio (MP3 and
layers I/II), AAC in ADTS, Ogg, WAV (RIFF) and MPEG-TS.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

#: Given bytes and an offset, (frame bytes, frame seconds) of the frame starting there, or None.
FrameParser = Callable[[bytes, int], tuple[int, float] | None]

MIN_CHAIN_FRAMES = 4  # consecutive valid frames needed to call bytes MPEG audio or ADTS
MIN_TS_PACKETS = 5
TS_PACKET_BYTES = 188
OPUS_GRANULE_RATE_HZ = 48000
ADTS_SAMPLES_PER_BLOCK = 1024
ADTS_RATES_HZ = (96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000,
                 11025, 8000, 7350)
MPEG_RATES_HZ = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}
# Bit rates in kb/s by (MPEG-1?, layer) and the 4-bit index; index 0 (free) and 15 are invalid.
MPEG_BITRATES_KBPS = {
    (True, 1): (0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    (True, 2): (0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    (True, 3): (0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
    (False, 1): (0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    (False, 2): (0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
MPEG_BITRATES_KBPS[(False, 3)] = MPEG_BITRATES_KBPS[(False, 2)]

CONTENT_TYPE_CODECS = {
    "audio/mpeg": "mp3", "audio/mp3": "mp3", "audio/mpeg3": "mp3", "audio/x-mpeg": "mp3",
    "audio/aac": "aac", "audio/aacp": "aac", "audio/x-aac": "aac", "audio/x-aacp": "aac",
    "audio/ogg": "ogg", "application/ogg": "ogg", "audio/opus": "ogg", "audio/vorbis": "ogg",
    "audio/wav": "wav", "audio/x-wav": "wav", "audio/wave": "wav", "audio/vnd.wave": "wav",
    "video/mp2t": "mpegts", "audio/mp2t": "mpegts", "audio/mp4": "mp4", "video/mp4": "mp4",
}


@dataclass(frozen=True)
class Sniff:
    """What the first bytes of a body are: ``codec``, the offset of the first frame,
    and the byte rate in bytes per second of audio (None when the format does not say)."""

    codec: str
    offset: int
    bytes_per_second: float | None


def media_type(content_type: str | None) -> str:
    """Given a Content-Type header value, return the lower-case media type without parameters."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def codec_from_content_type(content_type: str | None) -> str | None:
    """Given a Content-Type, return the codec name it implies, or None."""
    return CONTENT_TYPE_CODECS.get(media_type(content_type))


def id3_length(data: bytes, offset: int = 0) -> int:
    """Given bytes, return the length of the ID3v2 tag at ``offset`` (0 if there is none)."""
    head = data[offset:offset + 10]
    if len(head) < 10 or head[:3] != b"ID3" or any(b & 0x80 for b in head[6:10]):
        return 0
    size = (head[6] << 21) | (head[7] << 14) | (head[8] << 7) | head[9]
    footer = 10 if head[5] & 0x10 else 0
    return 10 + size + footer


def strip_id3(data: bytes) -> bytes:
    """Given bytes, return them without the ID3v2 tags they start with (HLS packed audio)."""
    offset = 0
    while length := id3_length(data, offset):
        offset += length
    return data[offset:]


def mpeg_frame(data: bytes, i: int) -> tuple[int, float] | None:
    """Given bytes and an offset, return (frame bytes, frame seconds) of the MPEG audio
    frame starting there, or None if no valid header is there."""
    if i + 4 > len(data) or data[i] != 0xFF or data[i + 1] & 0xE0 != 0xE0:
        return None
    version, layer_bits = (data[i + 1] >> 3) & 3, (data[i + 1] >> 1) & 3
    rate_index, sr_index = data[i + 2] >> 4, (data[i + 2] >> 2) & 3
    if version == 1 or layer_bits == 0 or rate_index in (0, 15) or sr_index == 3:
        return None
    layer, mpeg1 = 4 - layer_bits, version == 3
    bitrate = MPEG_BITRATES_KBPS[(mpeg1, layer)][rate_index] * 1000
    rate_hz = MPEG_RATES_HZ[version][sr_index]
    padding = (data[i + 2] >> 1) & 1
    if layer == 1:
        return (12 * bitrate // rate_hz + padding) * 4, 384 / rate_hz
    samples = 1152 if layer == 2 or mpeg1 else 576
    return samples // 8 * bitrate // rate_hz + padding, samples / rate_hz


def adts_frame(data: bytes, i: int) -> tuple[int, float] | None:
    """Given bytes and an offset, return (frame bytes, frame seconds) of the ADTS AAC
    frame starting there, or None if no valid header is there."""
    if i + 7 > len(data) or data[i] != 0xFF or data[i + 1] & 0xF6 != 0xF0:
        return None
    sr_index = (data[i + 2] >> 2) & 0x0F
    length = ((data[i + 3] & 0x03) << 11) | (data[i + 4] << 3) | (data[i + 5] >> 5)
    if sr_index >= len(ADTS_RATES_HZ) or length < 7:
        return None
    blocks = (data[i + 6] & 0x03) + 1
    return length, blocks * ADTS_SAMPLES_PER_BLOCK / ADTS_RATES_HZ[sr_index]


def frame_chain(data: bytes, i: int, parse: FrameParser) -> tuple[int, float, float] | None:
    """Follow frames parsed by ``parse`` from offset ``i``; return (frames, bytes, seconds)
    when at least MIN_CHAIN_FRAMES consecutive frames are valid, else None."""
    frames, total_bytes, total_seconds = 0, 0, 0.0
    while frame := parse(data, i):
        frames += 1
        total_bytes += frame[0]
        total_seconds += frame[1]
        i += frame[0]
        if i >= len(data):
            break
    return (frames, total_bytes, total_seconds) if frames >= MIN_CHAIN_FRAMES else None


def ogg_page_length(data: bytes, i: int) -> int | None:
    """Return the length of the Ogg page at offset ``i`` if it is complete and valid, else None."""
    if data[i:i + 5] != b"OggS\x00" or i + 27 > len(data) or data[i + 5] > 7:
        return None
    segments = data[i + 26]
    table = data[i + 27:i + 27 + segments]
    if len(table) < segments:
        return None
    length = 27 + segments + sum(table)
    return length if i + length <= len(data) else None


def ogg_sample_rate(data: bytes, start: int, end: int) -> int | None:
    """Return the sample rate (Hz) from a Vorbis or Opus identification header in
    ``data[start:end]``, or None when neither is there."""
    vorbis = data.find(b"\x01vorbis", start, end)
    if vorbis >= 0 and vorbis + 16 <= len(data):
        return struct.unpack_from("<I", data, vorbis + 12)[0] or None
    if data.find(b"OpusHead", start, end) >= 0:
        return OPUS_GRANULE_RATE_HZ  # Opus granules always count 48 kHz samples
    return None


def sniff_ogg(data: bytes, i: int) -> Sniff | None:
    """Recognise an Ogg stream at ``i`` (complete, consecutive pages) and measure its byte
    rate from the granule positions (samples) of the pages when the headers give the
    sample rate, else from the Vorbis nominal bit rate."""
    pages, j, rate_hz = [], i, None
    while (length := ogg_page_length(data, j)) is not None:
        rate_hz = rate_hz or ogg_sample_rate(data, j, j + length)
        granule = struct.unpack_from("<q", data, j + 6)[0]
        if granule > 0:
            pages.append((j + length, granule))
        j += length
    if j == i or (j < len(data) - 4 and data[j:j + 4] != b"OggS"):
        return None
    if rate_hz and len(pages) >= 2 and pages[-1][1] > pages[0][1]:
        seconds = (pages[-1][1] - pages[0][1]) / rate_hz
        return Sniff("ogg", i, (pages[-1][0] - pages[0][0]) / seconds)
    vorbis = data.find(b"\x01vorbis", i, j)
    nominal_bps = 0
    if 0 <= vorbis < len(data) - 28:
        nominal_bps = struct.unpack_from("<i", data, vorbis + 20)[0]
    return Sniff("ogg", i, nominal_bps / 8 if nominal_bps > 0 else None)


def sniff_wav(data: bytes, i: int) -> Sniff | None:
    """Recognise a RIFF/WAVE header at ``i`` and read its byte rate from the fmt chunk."""
    if data[i:i + 4] != b"RIFF" or data[i + 8:i + 12] != b"WAVE":
        return None
    j = i + 12
    while j + 8 <= len(data):
        chunk_id, size = data[j:j + 4], struct.unpack_from("<I", data, j + 4)[0]
        if chunk_id == b"fmt " and j + 16 <= len(data):
            byte_rate = struct.unpack_from("<I", data, j + 16)[0]
            return Sniff("wav", i, float(byte_rate) or None)
        j += 8 + size + (size & 1)
    return None


def sniff_ts(data: bytes, i: int) -> Sniff | None:
    """Recognise MPEG-TS at ``i``: MIN_TS_PACKETS sync bytes 188 bytes apart."""
    end = i + TS_PACKET_BYTES * MIN_TS_PACKETS
    if end > len(data) or any(data[j] != 0x47 for j in range(i, end, TS_PACKET_BYTES)):
        return None
    return Sniff("mpegts", i, None)


def sniff_frames(data: bytes, i: int) -> Sniff | None:
    """Recognise a chain of MPEG audio or ADTS frames starting at ``i``."""
    for codec, parse in (("mp3", mpeg_frame), ("aac", adts_frame)):
        chain = frame_chain(data, i, parse)
        if chain:
            _, total_bytes, total_seconds = chain
            return Sniff(codec, i, total_bytes / total_seconds)
    return None


SNIFFERS = {0xFF: sniff_frames, ord("O"): sniff_ogg, ord("R"): sniff_wav, 0x47: sniff_ts}


def sniff(data: bytes) -> Sniff | None:
    """Given the first bytes of a body, return the audio format found, or None.

    The start is tried first (after any ID3v2 tag); then every candidate offset, since a
    stream joined mid-way starts inside a frame.  MPEG audio is labelled ``mp3`` even
    for layers I/II (ffmpeg decodes them the same way).
    """
    start = id3_length(data)
    for i in range(start, len(data)):
        sniffer = SNIFFERS.get(data[i])
        if sniffer and (found := sniffer(data, i)):
            return found
    return None


def looks_like_text(data: bytes) -> str | None:
    """Given the first bytes of a body, return 'html', 'json' or 'text' if they look like
    a document rather than audio, else None."""
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<!doctype", b"<html", b"<head", b"<body", b"<?xml", b"<")):
        return "html"
    if head.startswith((b"{", b"[")):
        return "json"
    try:
        head.decode("ascii")
    except UnicodeDecodeError:
        return None
    return "text" if head else None
