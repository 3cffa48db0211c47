"""Decoding captures in batches: one ffmpeg process for several captures.

Starting ffmpeg costs more CPU than decoding a 20 s MP3 window with it (it loads some
two hundred shared libraries: about 0.12 CPU-seconds, against 0.04 for the decode;
bench/scan_bench.py).  One ffmpeg given eight inputs and eight outputs decodes all of
them for the start-up cost of one, with the very same samples as eight runs.

:class:`BatchDecoder` gathers the decodes the hearing workers ask for while a batch is
running and sends them together in the next one (a "group commit": under light load a
batch holds one capture, decoded as usual).  Anything unusual (an input ffmpeg
refuses, an empty or over-long output) is decoded again alone with
:func:`zamio.recognition.audio.decode_bytes`, so every error keeps its own reason and message.
The errors are raised in the thread that asked for the decode.

Once ``should_stop()`` is true (the run must end at once) every running ffmpeg is
killed within ``audio.STOP_POLL_SECONDS``, none is started, and each decode waiting
raises ``DecodeStopped``; a batch's scratch folder (named after the process, in
``/dev/shm`` where it exists) is removed as the batch ends, however it ends.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from zamio.recognition import audio  # One ffmpeg run with more inputs than this gains little more (start-up is then a

# tenth of the cost) and holds the first captures' results back longer.
MAX_BATCH = 16
POLL_SECONDS = 0.02  # how often a waiting thread checks whether it may lead the next batch
SHARED_MEMORY = Path("/dev/shm")  # captures never touch the disk when it exists


@dataclass
class _Request:
    data: bytes
    format_hint: str
    name: str
    max_seconds: float
    samples: np.ndarray | None = None
    error: Exception | None = None
    done: threading.Event = field(default_factory=threading.Event)

    def outcome(self) -> np.ndarray | Exception:
        """The samples, or the error met: a finished decode sets one or the other."""
        if self.error is not None:
            return self.error
        assert self.samples is not None  # _run_batch gave every request its samples or its error
        return self.samples


class BatchDecoder:
    """Decode encoded audio to mono float32 at ``audio.ANALYSIS_RATE``, several captures per ffmpeg.

    ``leaders`` batches may run at once (one per two cores leaves the other core to the
    fingerprinting of what was decoded).  Thread-safe: the hearing workers share one.
    """

    def __init__(self, leaders: int = 1, timeout_seconds: float = 30.0, max_batch: int = MAX_BATCH,
                 should_stop: Callable[[], bool] | None = None) -> None:
        self.timeout_seconds = timeout_seconds
        self.max_batch = max_batch
        self.should_stop = should_stop
        self._slots = threading.BoundedSemaphore(max(1, leaders))
        self._lock = threading.Lock()
        self._pending: list[_Request] = []
        self.batches = 0
        self.decoded = 0

    def decode(self, data: bytes, *, format_hint: str, name: str, max_seconds: float) -> np.ndarray:
        """Given encoded bytes and their ffmpeg demuxer name, return the samples; raise
        as :func:`zamio.recognition.audio.decode_bytes` does (SilentAudio, CorruptAudio, ...)."""
        request = _Request(data, format_hint, name, max_seconds)
        with self._lock:
            self._pending.append(request)
        while not request.done.is_set():
            # Lead batches while a slot is free, until this request is among the decoded;
            # then the slot passes to another waiting thread, which leads the next ones.
            if self._slots.acquire(timeout=POLL_SECONDS):
                try:
                    while not request.done.is_set() and self._run_next_batch():
                        pass
                finally:
                    self._slots.release()
            request.done.wait(POLL_SECONDS)
        if request.error is not None:
            raise request.error
        assert request.samples is not None
        return request.samples

    def decode_together(self, items: list[tuple[bytes, str, str, float]]) -> list[np.ndarray | Exception]:
        """Given (bytes, demuxer name, label, max seconds) of several captures, decode
        them in one ffmpeg run now; return each one's samples or the error it met."""
        batch = [_Request(*item) for item in items]
        self._run_batch(batch)
        return [request.outcome() for request in batch]

    def _run_next_batch(self) -> bool:
        """Decode the oldest waiting requests together; False when none was waiting."""
        with self._lock:
            batch, self._pending = self._pending[:self.max_batch], self._pending[self.max_batch:]
        if not batch:
            return False
        try:
            self._run_batch(batch)
        finally:
            for request in batch:
                request.done.set()
        return True

    def _run_batch(self, batch: list[_Request]) -> None:
        """Decode the batch (inside the leader's slot, so that requests gather meanwhile);
        a request left without samples gets the error that ended the batch (DecodeStopped)."""
        try:
            self._decode_batch(batch)
        except Exception as error:  # every request of the batch meets it
            for request in batch:
                if request.samples is None and request.error is None:
                    request.error = error

    def _decode_batch(self, batch: list[_Request]) -> None:
        exe = shutil.which(audio.FFMPEG_BINARY)
        if len(batch) == 1 or exe is None:  # nothing to share (or no ffmpeg: decode_bytes says so)
            self._decode_alone(batch)
            return
        alone = []
        if self.should_stop is not None and self.should_stop():
            raise audio.DecodeStopped(f"decoding {len(batch)} captures was not started: the run was asked to stop")
        with tempfile.TemporaryDirectory(prefix=f"zamio-decode-{os.getpid()}-", dir=_scratch_dir()) as folder:
            inputs = _open_inputs(batch, Path(folder))
            try:
                ran = self._ran(_batch_command(exe, batch, inputs, Path(folder)), inputs)
            finally:
                for fd in inputs:
                    os.close(fd)
            if not ran:
                alone = batch
            else:
                for i, request in enumerate(batch):
                    samples = np.fromfile(Path(folder) / f"out{i}.f32", dtype="<f4")
                    if 0 < samples.size <= request.max_seconds * audio.ANALYSIS_RATE:
                        self._finish(request, samples)
                    else:
                        alone.append(request)
        with self._lock:
            self.batches += 1
            self.decoded += len(batch) - len(alone)
        self._decode_alone(alone)

    def _decode_alone(self, requests: list[_Request]) -> None:
        for request in requests:
            try:
                request.samples = audio.decode_bytes(request.data, format_hint=request.format_hint,
                                                     name=request.name, max_seconds=request.max_seconds,
                                                     timeout_seconds=self.timeout_seconds,
                                                     should_stop=self.should_stop)
            except Exception as error:  # handed to the caller's thread, raised there
                request.error = error

    @staticmethod
    def _finish(request: _Request, samples: np.ndarray) -> None:
        try:
            request.samples = audio.check_not_silent(samples)
        except audio.SilentAudio as silent:
            request.error = audio.SilentAudio(f"{request.name}: {silent}")

    def _ran(self, command: list[str], inputs: list[int]) -> bool:
        try:
            code = audio.run_decoder(command, name=f"a batch of {len(inputs)} captures", pass_fds=inputs,
                                     timeout_seconds=self.timeout_seconds, should_stop=self.should_stop)
        except audio.CorruptAudio:
            return False  # out of time, and killed: each capture is retried alone
        return code == 0


def _open_inputs(batch: list[_Request], folder: Path) -> list[int]:
    """Write each request's bytes to ``folder``; return a file descriptor open on each."""
    fds = []
    for i, request in enumerate(batch):
        source = folder / f"in{i}"
        source.write_bytes(request.data)
        fds.append(os.open(source, os.O_RDONLY))
    return fds


def _batch_command(exe: str, batch: list[_Request], inputs: list[int], folder: Path) -> list[str]:
    """The ffmpeg command decoding each input to its own output file in ``folder``.

    The inputs are read as pipes (``pipe:<fd>``), as :func:`zamio.recognition.audio.decode_bytes`
    reads its stdin: given a seekable file, ffmpeg would trim an MP3's encoder padding
    and the samples would differ at the end.
    """
    command = [exe, "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
    for fd, request in zip(inputs, batch):
        command += ["-f", request.format_hint, "-i", f"pipe:{fd}"]
    for i, request in enumerate(batch):
        # Decode a little past the limit so an over-long input is detected (and redone alone).
        command += ["-map", f"{i}:a:0", "-t", f"{request.max_seconds + 1.0:.3f}", "-vn", "-ac", "1",
                    "-ar", str(audio.ANALYSIS_RATE), "-f", "f32le", str(folder / f"out{i}.f32")]
    return command


def _scratch_dir() -> str | None:
    return str(SHARED_MEMORY) if SHARED_MEMORY.is_dir() and os.access(SHARED_MEMORY, os.W_OK) else None
