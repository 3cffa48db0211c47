"""Audio in: decode files and byte strings to mono float32 samples at the analysis rate.

This is the only module that knows ffmpeg.  WAV (PCM, any rate, width and channel
count) is read natively with the standard library so that a machine without ffmpeg
can still fingerprint WAV; every other container or codec (MP3, AAC/ADTS, Ogg/Vorbis,
Opus, FLAC, MPEG-TS, ...) goes through one ``ffmpeg`` subprocess that writes raw
32-bit float mono samples at ``ANALYSIS_RATE`` to its stdout.

Every problem with one input is a typed error with a stable ``reason`` (see
``zamio.runtime.errors``): ``CorruptAudio``, ``EmptyAudio``, ``SilentAudio``, ``NotAudio``,
``AudioTooLong``.  A missing ffmpeg is ``DecoderMissing``, which concerns the whole
run rather than one item.
"""

from __future__ import annotations

import functools
import io
import math
import os
import shutil
import signal
import subprocess
import wave

import numpy as np

from zamio.runtime.errors import ItemError, ServiceUnavailable

# 8 kHz keeps everything up to 4 kHz, where the stable tonal peaks of music are, and
# makes analysis about 2.8x cheaper than 22.05 kHz (chosen by bench/fingerprint_bench.py).
ANALYSIS_RATE = 8000  # Hz

# RMS level below which a recording counts as silent: -60 dBFS is far under any
# programme material and above the dither noise of a silent 16-bit file.
SILENCE_DBFS = -60.0

# Without a caller-given maximum, decoding stops here so a runaway stream cannot fill
# memory (2 h of float32 at 8 kHz is 230 MB).
DEFAULT_MAX_DECODE_SECONDS = 2 * 3600.0

RESAMPLE_HALF_TAPS = 5  # zero crossings of the anti-alias filter on each side
RESAMPLE_CUTOFF = 0.9  # of the output Nyquist: aliases from above it end up below -25 dB

FFMPEG_BINARY = "ffmpeg"
_FLOAT_BYTES = 4


class DecoderMissing(ServiceUnavailable):
    """ffmpeg is needed for this input and is not installed."""

    reason = "decoder_missing"


class CorruptAudio(ItemError):
    """The input claims to be audio but cannot be decoded."""

    reason = "corrupt_audio"


class EmptyAudio(ItemError):
    """The input has no bytes, or decodes to zero samples."""

    reason = "empty_audio"


class SilentAudio(ItemError):
    """The input decodes to digital silence (below ``SILENCE_DBFS``)."""

    reason = "silent_audio"


class NotAudio(ItemError):
    """The input is not audio at all (an HTML error page, a text file)."""

    reason = "not_audio"


class AudioTooLong(ItemError):
    """The input is longer than the caller's maximum duration."""

    reason = "audio_too_long"


def ffmpeg_available(binary: str = FFMPEG_BINARY) -> bool:
    """Return True if the ffmpeg executable ``binary`` is found on PATH (or is a path)."""
    return shutil.which(binary) is not None


def probe_codec(data: bytes) -> str | None:
    """Given the first bytes of a file or stream, return its format by magic bytes.

    Returns one of ``wav``, ``flac``, ``ogg`` (Vorbis or Opus), ``mp3``, ``aac``
    (ADTS), ``mpegts`` or ``mp4``; None if nothing is recognised.
    """
    head = data[:4096]
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"OggS":
        return "ogg"
    if head[4:8] == b"ftyp":
        return "mp4"
    if head[:3] == b"ID3":
        return "mp3"
    if len(head) >= 377 and head[0] == 0x47 and head[188] == 0x47 and head[376] == 0x47:
        return "mpegts"
    if len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xF0) == 0xF0 and (head[1] & 0x06) == 0:
        return "aac"  # ADTS: sync word 0xFFF with layer bits 00
    if len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xE0) == 0xE0:
        return "mp3"  # MPEG audio frame sync (11 bits) with a non-zero layer
    return None


def looks_like_text(data: bytes) -> bool:
    """Return True if ``data`` starts like a text document (HTML, JSON, a playlist)."""
    head = data[:512].lstrip()
    if head[:1] in (b"<", b"{", b"[", b"#"):
        return True
    if not head:
        return False
    printable = sum(32 <= b < 127 or b in (9, 10, 13) for b in head)
    return printable / len(head) > 0.95


def check_not_silent(samples: np.ndarray, *, floor_dbfs: float = SILENCE_DBFS) -> np.ndarray:
    """Given float samples in [-1, 1], return them unchanged; raise ``EmptyAudio`` if
    there are none, ``SilentAudio`` if their RMS level is below ``floor_dbfs`` (dBFS)."""
    if samples.size == 0:
        raise EmptyAudio("the audio decodes to zero samples; check the source file or stream")
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    level = 20.0 * math.log10(rms) if rms > 0 else -math.inf
    if level < floor_dbfs:
        raise SilentAudio(
            f"the audio is silent (RMS {level:.0f} dBFS, floor {floor_dbfs:.0f} dBFS); "
            "check that the source is playing and the capture level is not muted"
        )
    return samples


def resample(samples: np.ndarray, rate_hz: int, target_hz: int = ANALYSIS_RATE) -> np.ndarray:
    """Given mono samples at ``rate_hz``, return float32 samples at ``target_hz``
    (polyphase resampling with an anti-alias low-pass, see ``_antialias_filter``)."""
    if rate_hz == target_hz:
        return samples.astype(np.float32, copy=False)
    g = math.gcd(int(rate_hz), int(target_hz))
    up, down = target_hz // g, rate_hz // g
    from scipy.signal import resample_poly  # imported here: scipy.signal costs about a second to import

    out = resample_poly(np.asarray(samples, np.float32), up, down, window=_antialias_filter(up, down))
    return out.astype(np.float32, copy=False)


@functools.lru_cache(maxsize=16)
def _antialias_filter(up: int, down: int) -> np.ndarray:
    """FIR low-pass for ``resample_poly(x, up, down)``: cut-off at ``RESAMPLE_CUTOFF``
    of the lower Nyquist, ``RESAMPLE_HALF_TAPS`` zero crossings a side.  scipy's
    default (10 a side) costs twice as much for a sharper edge in the top few hundred
    Hz, where music has little energy and fingerprints few peaks."""
    taps = 2 * RESAMPLE_HALF_TAPS * max(up, down) + 1
    cutoff = RESAMPLE_CUTOFF / max(up, down)
    from scipy.signal import firwin

    return firwin(taps, cutoff, window=("kaiser", 5.0))  # resample_poly scales it by up


def decode_file(
    path: str | os.PathLike,
    *,
    max_seconds: float | None = None,
    timeout_seconds: float = 60,
    ffmpeg: str = FFMPEG_BINARY,
) -> np.ndarray:
    """Given an audio file, return its mono float32 samples at ``ANALYSIS_RATE`` Hz.

    Raise ``EmptyAudio`` (empty file), ``NotAudio`` (a text or HTML file),
    ``CorruptAudio`` (undecodable), ``SilentAudio``, ``AudioTooLong`` (longer than
    ``max_seconds``), ``DecoderMissing`` (not WAV and no ``ffmpeg``); ffmpeg is killed
    after ``timeout_seconds`` of wall time (``CorruptAudio``).
    """
    with open(path, "rb") as f:
        head = f.read(4096)
    name = os.fspath(path)
    _reject_non_audio(head, name)
    if probe_codec(head) == "wav":
        with open(path, "rb") as f:
            pcm = _decode_wav(f, name, ffmpeg)
        if pcm is not None:
            return _finish(pcm, name, max_seconds)
    samples = _run_ffmpeg(["-i", name], None, name, max_seconds, timeout_seconds, ffmpeg, head)
    return _finish(samples, name, max_seconds)


def decode_bytes(
    data: bytes,
    *,
    format_hint: str | None = None,
    max_seconds: float | None = None,
    timeout_seconds: float = 60,
    ffmpeg: str = FFMPEG_BINARY,
    name: str = "audio data",
) -> np.ndarray:
    """Given the bytes of an audio file or stream capture, return mono float32 samples
    at ``ANALYSIS_RATE`` Hz.  ``format_hint`` (an ffmpeg demuxer name such as ``mp3``,
    ``aac``, ``ogg``, ``mpegts``) helps ffmpeg when the bytes have no header.

    Raise the same errors as ``decode_file``; ``name`` labels the input in messages.
    """
    _reject_non_audio(data[:4096], name)
    if probe_codec(data) == "wav":
        pcm = _decode_wav(io.BytesIO(data), name, ffmpeg)
        if pcm is not None:
            return _finish(pcm, name, max_seconds)
    args = (["-f", format_hint] if format_hint else []) + ["-i", "pipe:0"]
    samples = _run_ffmpeg(args, data, name, max_seconds, timeout_seconds, ffmpeg, data[:4096])
    return _finish(samples, name, max_seconds)


def _reject_non_audio(head: bytes, name: str) -> None:
    if not head:
        raise EmptyAudio(f"{name} is empty (0 bytes); capture or upload it again")
    if probe_codec(head) is None and looks_like_text(head):
        raise NotAudio(
            f"{name} is text, not audio (starts with {head[:40]!r}); "
            "the URL or upload probably points at a web page or playlist, not the audio"
        )


def _finish(samples: np.ndarray, name: str, max_seconds: float | None) -> np.ndarray:
    if max_seconds is not None and samples.size > max_seconds * ANALYSIS_RATE:
        raise AudioTooLong(
            f"{name} lasts more than {max_seconds:g} s; cut it or raise the maximum"
        )
    if samples.size == 0:
        raise EmptyAudio(f"{name} decodes to zero samples; check the source")
    try:
        return check_not_silent(samples)
    except SilentAudio as e:
        raise SilentAudio(f"{name}: {e}") from None


def _decode_wav(fileobj, name: str, ffmpeg: str) -> np.ndarray | None:
    """Return the samples of a PCM WAV at ANALYSIS_RATE, or None if the WAV uses a
    non-PCM encoding (float, A-law...) that ffmpeg should handle."""
    try:
        with wave.open(fileobj, "rb") as w:
            rate, width, channels = w.getframerate(), w.getsampwidth(), w.getnchannels()
            raw = w.readframes(w.getnframes())
    except wave.Error as e:
        if "unknown format" in str(e) and ffmpeg_available(ffmpeg):
            return None
        raise CorruptAudio(f"{name} is not a readable PCM WAV file ({e}); re-encode it") from None
    except EOFError:
        raise CorruptAudio(f"{name} is a truncated WAV file; capture or upload it again") from None
    if rate <= 0 or channels <= 0:
        raise CorruptAudio(f"{name} has an invalid WAV header (rate {rate}, {channels} channels)")
    x = _pcm_to_float(raw, width)
    x = x[: (x.size // channels) * channels].reshape(-1, channels).mean(axis=1)
    return resample(x, rate)


def _pcm_to_float(raw: bytes, width: int) -> np.ndarray:
    """Convert little-endian PCM of ``width`` bytes per sample to float32 in [-1, 1)."""
    if width == 1:  # 8-bit WAV is unsigned
        return (np.frombuffer(raw, np.uint8).astype(np.float32) - 128.0) / 128.0
    if width == 2:
        return np.frombuffer(raw, "<i2").astype(np.float32) / 32768.0
    if width == 3:
        b = np.frombuffer(raw[: len(raw) // 3 * 3], np.uint8).reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        v = np.where(v >= 1 << 23, v - (1 << 24), v)
        return v.astype(np.float32) / float(1 << 23)
    if width == 4:
        return (np.frombuffer(raw, "<i4").astype(np.float64) / 2147483648.0).astype(np.float32)
    raise CorruptAudio(f"unsupported WAV sample width of {width} bytes")


def _run_ffmpeg(
    input_args: list[str],
    data: bytes | None,
    name: str,
    max_seconds: float | None,
    timeout_seconds: float,
    ffmpeg: str,
    head: bytes,
) -> np.ndarray:
    """Run ffmpeg on the input and return its float32 output at ANALYSIS_RATE."""
    exe = shutil.which(ffmpeg)
    if exe is None:
        raise DecoderMissing(
            f"cannot decode {name}: ffmpeg is not installed (Debian/Ubuntu: apt-get install ffmpeg); "
            "WAV files decode without it"
        )
    # Decode a little past the limit so an over-long input is detected, never more.
    limit = DEFAULT_MAX_DECODE_SECONDS if max_seconds is None else max_seconds + 1.0
    cmd = [exe, "-nostdin", "-hide_banner", "-loglevel", "error", *input_args,
           "-t", f"{limit:.3f}", "-vn", "-ac", "1", "-ar", str(ANALYSIS_RATE), "-f", "f32le", "pipe:1"]
    if data is not None:
        cmd.remove("-nostdin")  # the input comes on stdin
    out, err, code = _communicate(cmd, data, timeout_seconds, name)
    samples = np.frombuffer(out[: len(out) // _FLOAT_BYTES * _FLOAT_BYTES], "<f4")
    if code != 0 and samples.size == 0:
        _raise_decode_failure(name, head, err)
    return samples.copy()


def _communicate(cmd: list[str], data: bytes | None, timeout_seconds: float, name: str):
    """Run ``cmd`` in its own process group; kill the whole group on timeout."""
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.PIPE if data is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(data, timeout=timeout_seconds)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise CorruptAudio(
            f"decoding {name} took more than {timeout_seconds:g} s and was stopped; "
            "the file may be damaged or the stream stalled",
            reason="decode_timeout",
        ) from None
    return out, err.decode("utf-8", "replace").strip(), proc.returncode


def _raise_decode_failure(name: str, head: bytes, err: str) -> None:
    detail = err.splitlines()[-1] if err else "no output"
    if probe_codec(head) is None:
        raise NotAudio(f"{name} is not in any audio format ffmpeg knows ({detail})")
    raise CorruptAudio(f"{name} cannot be decoded ({detail}); the file is damaged, re-encode or re-capture it")
