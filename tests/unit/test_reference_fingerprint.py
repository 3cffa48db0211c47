"""The reference fingerprint that a host must reproduce before it writes fingerprints."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import scipy

from zamio.recognition import reference
from zamio.runtime.errors import EXIT_CONFIG


def test_this_host_fingerprints_the_reference_as_recorded() -> None:
    check = reference.run_reference_check()
    assert check.ok, f"digest {check.digest} with numpy {check.numpy_version} and scipy {check.scipy_version}"
    assert (check.numpy_version, check.scipy_version) == (np.__version__, scipy.__version__)
    reference.check_reference_fingerprint.cache_clear()
    assert reference.check_reference_fingerprint().ok


def test_the_reference_signal_is_six_seconds_of_loud_pcm() -> None:
    pcm = reference.reference_pcm()
    assert len(pcm) == 6 * 22_050 * 2
    samples = np.frombuffer(pcm, "<i2")
    assert 10_000 < int(np.abs(samples).max()) <= 32_767 and samples.std() > 3_000


def test_the_digest_follows_the_fingerprint(monkeypatch: pytest.MonkeyPatch) -> None:
    pcm = bytearray(reference.reference_pcm())
    pcm[44_100:88_200] = bytes(44_100)  # half a second of silence in the middle
    monkeypatch.setattr(reference, "reference_pcm", lambda: bytes(pcm))
    assert reference.reference_digest() != reference.REFERENCE_DIGEST


def test_a_different_digest_refuses_with_exit_78_naming_the_libraries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reference, "REFERENCE_DIGEST", hashlib.sha256(b"another host").hexdigest())
    reference.check_reference_fingerprint.cache_clear()
    try:
        with pytest.raises(reference.FingerprintMismatch) as refused:
            reference.check_reference_fingerprint()
    finally:
        reference.check_reference_fingerprint.cache_clear()
    assert refused.value.exit_code == EXIT_CONFIG
    message = str(refused.value)
    assert f"numpy {np.__version__}" in message and f"scipy {scipy.__version__}" in message
    assert "install the versions setup.cfg allows" in message
