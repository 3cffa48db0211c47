"""Audio in: decode files and byte strings to mono float32 samples at the analysis rate.

This is the only module that knows ffmpeg.  WAV (PCM, any rate, width and channel
count) is read natively with the standard library so that a machine without ffmpeg
can still fingerprint WAV; every other container or codec (MP3, AAC/ADTS, Ogg/Vorbis,
Opus, FLAC, MPEG-TS, ...) goes through one ``ffmpeg`` subprocess that writes raw
32-bit float mono samples at ``ANALYSIS_RATE`` to its stdout.

Every problem with one input is a typed error with a stable ``reason`` (see
``zamio.runtime.errors``): ``CorruptAudio``, ``EmptyAudio``, ``SilentAudio``, ``NotAudio``,
``AudioTooLong``, ``NotAFile``, ``FileTooLarge``.  A missing ffmpeg is ``DecoderMissing``,
which concerns the whole run rather than one item.

A path is untrusted input: it may name a device that never ends (``/dev/zero``), a
FIFO that blocks whoever opens it, a folder, or a file of gigabytes.  A file is looked
up before it is opened and only a regular file of at most ``MAX_FILE_BYTES`` is read;
ffmpeg runs under a time limit, and a caller's ``should_stop`` ends a decode within
``STOP_POLL_SECONDS``.  Messages name the input and the kind of problem, never its
bytes: a path pointed at a ``.env`` file must not copy its secrets into a log.
"""

from __future__ import annotations

import functools
import io
import math
import os
import shutil
import signal
import stat
import subprocess
import threading
import time
import wave
from collections.abc import Callable, Iterator, Sequence
from typing import IO

import numpy as np

from zamio.runtime.errors import ItemError, ServiceUnavailable, TemporaryFailure

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

# No catalog track is bigger: three hours of CD-quality WAV are 1.9 GB.  A larger file is
# a disk image or a mistake, and hashing and decoding it would hold a job for minutes.
MAX_FILE_BYTES = 2 * 1024**3

# How often a running decode asks its caller whether to stop (a first SIGTERM).
STOP_POLL_SECONDS = 0.25

FFMPEG_BINARY = "ffmpeg"
_FLOAT_BYTES = 4
_READ_BLOCK_BYTES = 1 << 20


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


class NotAFile(ItemError):
    """The path names a device, FIFO, socket or directory, not a file to read."""

    reason = "not_a_file"


class FileTooLarge(ItemError):
    """The file is larger than ``MAX_FILE_BYTES`` (or the caller's maximum)."""

    reason = "too_large"


class DecodeStopped(TemporaryFailure):
    """The caller asked to stop while ffmpeg was decoding; ffmpeg was killed.  Not the
    input's fault: it is decoded again by a later run."""


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


def check_file(path: str | os.PathLike[str], *, max_bytes: int = MAX_FILE_BYTES) -> int:
    """Given a path, return the size in bytes of the regular file it names, looked up
    without opening it (opening a FIFO waits for a writer; a device never ends).

    Raise ``NotAFile`` for a device, FIFO, socket or directory, ``FileTooLarge`` beyond
    ``max_bytes``, and OSError when the path cannot be looked up (missing, no permission).
    """
    name = os.fspath(path)
    info = os.stat(path)
    if not stat.S_ISREG(info.st_mode):
        raise NotAFile(f"{name} is {_file_kind(info.st_mode)}, not an audio file; fix the path")
    if info.st_size > max_bytes:
        raise FileTooLarge(f"{name} has {info.st_size} bytes, more than the {max_bytes} an audio file "
                           "may have; cut it or fix the path")
    return info.st_size


def _file_kind(mode: int) -> str:
    kinds = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (a named pipe)"), (stat.S_ISCHR, "a device"),
             (stat.S_ISBLK, "a device"), (stat.S_ISSOCK, "a socket"))
    return next((kind for is_kind, kind in kinds if is_kind(mode)), "a special file")


def read_blocks(path: str | os.PathLike[str], *, max_bytes: int = MAX_FILE_BYTES,
                block_bytes: int = _READ_BLOCK_BYTES) -> Iterator[bytes]:
    """Given the path of a regular file (checked by ``check_file`` first), yield its bytes
    in blocks of at most ``block_bytes``; raise ``FileTooLarge`` once more than
    ``max_bytes`` were read (a file still being written past the limit)."""
    check_file(path, max_bytes=max_bytes)
    total = 0
    with open(path, "rb") as f:
        while block := f.read(min(block_bytes, max_bytes + 1 - total)):
            total += len(block)
            if total > max_bytes:
                raise FileTooLarge(f"{os.fspath(path)} grew past {max_bytes} bytes while it was read, more than "
                                   "an audio file may have; cut it or fix the path")
            yield block


def read_file(path: str | os.PathLike[str], *, max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """Given the path of a regular file, return its bytes; raise as ``read_blocks`` does."""
    return b"".join(read_blocks(path, max_bytes=max_bytes))


def decode_file(
    path: str | os.PathLike[str],
    *,
    max_seconds: float | None = None,
    timeout_seconds: float = 60,
    ffmpeg: str = FFMPEG_BINARY,
    max_bytes: int = MAX_FILE_BYTES,
    should_stop: Callable[[], bool] | None = None,
) -> np.ndarray:
    """Given an audio file, return its mono float32 samples at ``ANALYSIS_RATE`` Hz.

    Raise ``NotAFile`` (a device, FIFO or directory: never opened), ``FileTooLarge``
    (over ``max_bytes``: never read), ``EmptyAudio`` (empty file), ``NotAudio`` (a text
    or HTML file), ``CorruptAudio`` (undecodable), ``SilentAudio``, ``AudioTooLong``
    (longer than ``max_seconds``), ``DecoderMissing`` (not WAV and no ``ffmpeg``); ffmpeg
    is killed after ``timeout_seconds`` of wall time (``CorruptAudio``), or as soon as
    ``should_stop()`` is true (``DecodeStopped``).
    """
    name = os.fspath(path)
    check_file(path, max_bytes=max_bytes)
    with open(path, "rb") as f:
        head = f.read(4096)
    _reject_non_audio(head, name)
    if probe_codec(head) == "wav":
        with open(path, "rb") as f:
            pcm = _decode_wav(f, name, ffmpeg)
        if pcm is not None:
            return _finish(pcm, name, max_seconds)
    samples = _run_ffmpeg(["-i", name], None, name, max_seconds, timeout_seconds, ffmpeg, head, should_stop)
    return _finish(samples, name, max_seconds)


def decode_bytes(
    data: bytes,
    *,
    format_hint: str | None = None,
    max_seconds: float | None = None,
    timeout_seconds: float = 60,
    ffmpeg: str = FFMPEG_BINARY,
    name: str = "audio data",
    should_stop: Callable[[], bool] | None = None,
) -> np.ndarray:
    """Given the bytes of an audio file or stream capture, return mono float32 samples
    at ``ANALYSIS_RATE`` Hz.  ``format_hint`` (an ffmpeg demuxer name such as ``mp3``,
    ``aac``, ``ogg``, ``mpegts``) helps ffmpeg when the bytes have no header.

    Raise the same errors as ``decode_file`` (``DecodeStopped`` once ``should_stop()``
    is true); ``name`` labels the input in messages.
    """
    _reject_non_audio(data[:4096], name)
    if probe_codec(data) == "wav":
        pcm = _decode_wav(io.BytesIO(data), name, ffmpeg)
        if pcm is not None:
            return _finish(pcm, name, max_seconds)
    args = (["-f", format_hint] if format_hint else []) + ["-i", "pipe:0"]
    samples = _run_ffmpeg(args, data, name, max_seconds, timeout_seconds, ffmpeg, data[:4096], should_stop)
    return _finish(samples, name, max_seconds)


def _reject_non_audio(head: bytes, name: str) -> None:
    if not head:
        raise EmptyAudio(f"{name} is empty (0 bytes); capture or upload it again")
    if probe_codec(head) is None and looks_like_text(head):
        raise NotAudio(
            f"{name} is {text_kind(head)}, not audio; the path, URL or upload probably points at "
            "a document, a web page or a playlist, not the audio"
        )


def text_kind(head: bytes) -> str:
    """Given the first bytes of a text input, say what kind of text it is, for messages
    that must not quote it: 'an HTML page', 'an XML document', 'JSON', 'a playlist' or 'text'."""
    start = head[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if start.startswith(b"<?xml"):
        return "an XML document"
    if start.startswith(b"<"):
        return "an HTML page"
    if start.startswith((b"#extm3u", b"#extinf", b"[playlist]")):
        return "a playlist"
    if start.startswith((b"{", b"[")):
        return "JSON"
    return "text"


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


def _decode_wav(fileobj: IO[bytes], name: str, ffmpeg: str) -> np.ndarray | None:
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
    should_stop: Callable[[], bool] | None,
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
    out, err, code = _communicate(cmd, data, timeout_seconds, name, should_stop)
    samples = np.frombuffer(out[: len(out) // _FLOAT_BYTES * _FLOAT_BYTES], "<f4")
    if code != 0 and samples.size == 0:
        _raise_decode_failure(name, head, err)
    return samples.copy()


def run_decoder(cmd: list[str], *, name: str, timeout_seconds: float, pass_fds: Sequence[int] = (),
                should_stop: Callable[[], bool] | None = None) -> int:
    """Run an ffmpeg command whose inputs and outputs it names itself (files, or the
    descriptors in ``pass_fds``) as every decode runs: in its own process group, killed
    with it after ``timeout_seconds`` (``CorruptAudio``, reason ``decode_timeout``) or as
    soon as ``should_stop()`` is true (``DecodeStopped``).  Return its exit status."""
    return _communicate(cmd, None, timeout_seconds, name, should_stop, pass_fds)[2]


def _communicate(cmd: list[str], data: bytes | None, timeout_seconds: float, name: str,
                 should_stop: Callable[[], bool] | None, pass_fds: Sequence[int] = ()) -> tuple[bytes, str, int]:
    """Run ``cmd`` in its own process group, ``data`` on its standard input; kill the whole
    group on timeout, on a stop request, or when anything (a second SIGTERM) interrupts
    the wait.  Nothing is started once a stop is requested."""
    if should_stop is not None and should_stop():
        raise DecodeStopped(f"decoding {name} was not started: the run was asked to stop")
    proc = subprocess.Popen(
        cmd,
        stdin=subprocess.PIPE if data is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        pass_fds=pass_fds,
        start_new_session=True,
    )
    if proc.stdin is not None:
        # A thread of its own writes the input: communicate() sends it only within its first call, and
        # the wait below is made of many short calls.  Killing ffmpeg ends the write (a broken pipe).
        stdin, proc.stdin = proc.stdin, None
        threading.Thread(target=_feed, args=(stdin, data or b""), name="ffmpeg-input", daemon=True).start()
    try:
        out, err = _wait(proc, time.monotonic() + timeout_seconds, should_stop, name)
    except subprocess.TimeoutExpired:
        _kill(proc)
        raise CorruptAudio(
            f"decoding {name} took more than {timeout_seconds:g} s and was stopped; "
            "the file may be damaged or the stream stalled",
            reason="decode_timeout",
        ) from None
    except BaseException:
        _kill(proc)
        raise
    return out, err.decode("utf-8", "replace").strip(), proc.returncode


def _feed(stdin: IO[bytes], data: bytes) -> None:
    """Write ``data`` to a decoder's standard input and close it; a decoder that ended
    without reading it all (killed, or at its ``-t`` limit) ends the write."""
    try:
        stdin.write(data)
    except OSError:  # BrokenPipeError: the decoder has gone
        pass
    finally:
        try:
            stdin.close()
        except OSError:
            pass


def _wait(proc: subprocess.Popen[bytes], deadline: float, should_stop: Callable[[], bool] | None,
          name: str) -> tuple[bytes, bytes]:
    """Return ffmpeg's (stdout, stderr) once it exits; raise TimeoutExpired at ``deadline``
    and ``DecodeStopped`` when ``should_stop()`` turns true while it runs."""
    while True:
        left = max(0.0, deadline - time.monotonic())
        try:
            return proc.communicate(timeout=min(left, STOP_POLL_SECONDS) if should_stop else left)
        except subprocess.TimeoutExpired:
            if time.monotonic() >= deadline:
                raise
            if should_stop is not None and should_stop():
                raise DecodeStopped(f"decoding {name} was stopped: the run was asked to stop") from None


def _kill(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:  # it ended on its own meanwhile
        pass
    proc.communicate()


def _raise_decode_failure(name: str, head: bytes, err: str) -> None:
    if probe_codec(head) is None:
        # ffmpeg's complaint about data it cannot place may quote what it parsed: leave it out.
        raise NotAudio(f"{name} is unknown binary data, not in any audio format ffmpeg knows; "
                       "check that it is an audio file")
    detail = err.splitlines()[-1] if err else "no output"
    raise CorruptAudio(f"{name} cannot be decoded ({detail}); the file is damaged, re-encode or re-capture it")
