"""The reference fingerprint: a host whose numpy or scipy compute other fingerprints
than the verified ones must not write any.

Fingerprints are matched across hosts and across years, so every host must turn the
same audio into the same hashes.  A release of numpy or scipy may change an FFT, a
resampling filter or a sort, and with it a few peaks; the index would then hold
prints that no longer match the excerpts another host computes.  ``setup.cfg`` holds
both libraries to the minor series verified here, and the jobs that write
fingerprints call :func:`check_reference_fingerprint` once before their first write:
it fingerprints a fixed synthetic signal and compares the digest with
``REFERENCE_DIGEST``.

The signal is 16-bit PCM at 22,050 Hz (so the resampling to ``ANALYSIS_RATE`` is
checked too): tones, a rising and a falling chirp, and notes drawn by a fixed-seed
integer generator.  It is computed with Python's own arithmetic and rounded to whole
samples, so only the fingerprinting code and the numerical libraries under it can
change the digest, not the generator's algorithm or the last bit of a sine.

When ``FINGERPRINT_VERSION`` or anything that changes the hashes changes, update
``REFERENCE_DIGEST`` with the value :func:`reference_digest` prints on a verified host
(``python -m zamio.recognition.reference``).
"""

from __future__ import annotations

import functools
import hashlib
import math
from dataclasses import dataclass

import numpy as np

from zamio.runtime.errors import ConfigError

REFERENCE_RATE = 22_050  # Hz, a common rate of catalog files
REFERENCE_SECONDS = 6
REFERENCE_SEED = 20_240_601
# sha256 of the sorted (hash, offset) pairs of the reference signal's fingerprint (version 3: lookup keys),
# computed with numpy 2.4 and scipy 1.17 (the series setup.cfg allows).
REFERENCE_DIGEST = "a073e6b3ac0b10d1d6e551fce24e9ce6553d289c76401d00f0dd5d3c1cac02b3"


class FingerprintMismatch(ConfigError):
    """This host's numpy/scipy fingerprint the reference signal differently."""


@dataclass(frozen=True)
class ReferenceCheck:
    """The outcome of fingerprinting the reference signal on this host."""

    digest: str
    expected: str
    numpy_version: str
    scipy_version: str

    @property
    def ok(self) -> bool:
        return self.digest == self.expected


def reference_pcm() -> bytes:
    """The reference signal: ``REFERENCE_SECONDS`` of mono 16-bit little-endian PCM at
    ``REFERENCE_RATE``, the same bytes on every host."""
    rate, total = REFERENCE_RATE, REFERENCE_SECONDS * REFERENCE_RATE
    state = REFERENCE_SEED
    notes = []  # (start sample, length, Hz): one note every quarter second
    for i in range(REFERENCE_SECONDS * 4):
        state = (state * 1_103_515_245 + 12_345) % 2**31  # the C library's rand(), fixed here
        semitone = state % 36
        notes.append((i * rate // 4, rate // 5, 220.0 * 2 ** (semitone / 12)))
    values = [0.2 * math.sin(2 * math.pi * 440.0 * (n / rate))  # a held tone
              + 0.15 * math.sin(2 * math.pi * (300.0 * (n / rate) + 150.0 * (n / rate) ** 2))  # up 300 -> 2100 Hz
              + 0.15 * math.sin(2 * math.pi * (3000.0 * (n / rate) - 200.0 * (n / rate) ** 2))  # down 3000 -> 600 Hz
              for n in range(total)]
    for start, length, hz in notes:
        for k in range(length):
            values[start + k] += 0.3 * math.sin(2 * math.pi * hz * k / rate) * (1 - k / length)
    out = bytearray()
    for value in values:
        sample = max(-32768, min(32767, round(value * 32767 * 0.8)))
        out += sample.to_bytes(2, "little", signed=True)
    return bytes(out)


def reference_digest() -> str:
    """Fingerprint the reference signal as a catalog track is (PCM -> float, resampled to
    ``ANALYSIS_RATE``, index profile) and return the sha256 of its sorted (hash, offset)
    pairs."""
    from zamio.recognition.audio import resample
    from zamio.recognition.fingerprint import fingerprint

    samples = np.frombuffer(reference_pcm(), "<i2").astype(np.float32) / 32768.0
    prints = fingerprint(resample(samples, REFERENCE_RATE))
    pairs = np.stack([prints.hashes.astype("<i8"), prints.offsets.astype("<i8")], axis=1)
    ordered = pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))]
    return hashlib.sha256(np.ascontiguousarray(ordered, "<i8").tobytes()).hexdigest()


def library_versions() -> tuple[str, str]:
    import scipy

    return np.__version__, scipy.__version__


def run_reference_check(expected: str | None = None) -> ReferenceCheck:
    """Fingerprint the reference signal and return how it compares with ``expected``
    (default ``REFERENCE_DIGEST``)."""
    return ReferenceCheck(reference_digest(), expected or REFERENCE_DIGEST, *library_versions())


@functools.cache
def check_reference_fingerprint() -> ReferenceCheck:
    """Raise FingerprintMismatch (exit 78) unless this host fingerprints the reference
    signal as the verified hosts do; checked once per process."""
    check = run_reference_check()
    if not check.ok:
        raise mismatch_error(check)
    return check


def mismatch_error(check: ReferenceCheck) -> FingerprintMismatch:
    return FingerprintMismatch(
        f"this host's numpy {check.numpy_version} and scipy {check.scipy_version} fingerprint the reference "
        f"signal differently (digest {check.digest[:12]}…, expected {check.expected[:12]}…): its fingerprints "
        "would not match those of the other hosts, so none is written; install the versions setup.cfg "
        "allows (make install, or pip install -e . in the project's .venv) and run the job again")


if __name__ == "__main__":
    found = run_reference_check()
    print(f"{found.digest}  numpy {found.numpy_version}  scipy {found.scipy_version}  "
          f"{'matches' if found.ok else 'differs from'} REFERENCE_DIGEST")
