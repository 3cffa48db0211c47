"""Decoding: native WAV, ffmpeg formats, and a typed error for every bad input."""

from __future__ import annotations

import time
import wave
from pathlib import Path

import numpy as np
import pytest

from tests.audio_fixtures import dominant_hz, encoded, tone_wav  # noqa: F401
from zamio.demo import synth
from zamio.recognition import audio
from zamio.runtime.errors import ItemError, ServiceUnavailable


def write_pcm(path: Path, samples: np.ndarray, rate: int, width: int, channels: int) -> Path:
    """Write float samples as a PCM WAV of ``width`` bytes per sample, duplicated
    over ``channels``."""
    scale = float(1 << (8 * width - 1)) - 1
    ints = np.round(np.repeat(samples[:, None], channels, axis=1).ravel() * scale).astype(np.int64)
    if width == 1:
        raw = (ints + 128).astype(np.uint8).tobytes()
    elif width == 3:
        raw = b"".join(int(v).to_bytes(3, "little", signed=True) for v in ints)
    else:
        raw = ints.astype(f"<i{width}").tobytes()
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(raw)
    return path


@pytest.mark.parametrize("rate", [8000, 11025, 22050, 44100, 48000])
@pytest.mark.parametrize("width", [1, 2, 3, 4])
def test_wav_any_rate_and_width_decodes_to_the_analysis_rate(tmp_path, rate, width):
    t = np.arange(int(0.5 * rate)) / rate
    path = write_pcm(tmp_path / "t.wav", 0.5 * np.sin(2 * np.pi * 440 * t), rate, width, 2)
    x = audio.decode_file(path)
    assert x.dtype == np.float32
    assert abs(x.size - 0.5 * audio.ANALYSIS_RATE) <= 2
    assert abs(dominant_hz(x) - 440) < 5
    assert 0.3 < np.max(np.abs(x)) < 0.6


def test_wav_bytes_decode_like_the_file(tone_wav):
    from_file = audio.decode_file(tone_wav)
    from_bytes = audio.decode_bytes(tone_wav.read_bytes())
    np.testing.assert_array_equal(from_file, from_bytes)


@pytest.mark.parametrize("name", ["mp3", "aac", "ogg", "opus", "flac", "mpegts"])
def test_compressed_formats_decode_through_ffmpeg(encoded, name):
    x = audio.decode_file(encoded[name])
    assert x.dtype == np.float32
    assert abs(x.size / audio.ANALYSIS_RATE - 3.0) < 0.15
    assert abs(dominant_hz(x) - 440) < 5


@pytest.mark.parametrize("name", ["mp3", "aac", "ogg", "flac", "mpegts"])
def test_stream_bytes_decode_with_the_sniffed_format(encoded, name):
    data = encoded[name].read_bytes()
    codec = audio.probe_codec(data)
    assert codec == name
    x = audio.decode_bytes(data, format_hint=codec)
    assert abs(dominant_hz(x) - 440) < 5


def test_probe_codec_knows_wav_and_rejects_text(tone_wav):
    assert audio.probe_codec(tone_wav.read_bytes()) == "wav"
    assert audio.probe_codec(b"<!DOCTYPE html><html>") is None
    assert audio.probe_codec(b"") is None


def test_empty_file_is_empty_audio(tmp_path):
    (tmp_path / "e.mp3").write_bytes(b"")
    with pytest.raises(audio.EmptyAudio) as e:
        audio.decode_file(tmp_path / "e.mp3")
    assert e.value.reason == "empty_audio"
    assert isinstance(e.value, ItemError)


def test_wav_with_no_frames_is_empty_audio(tmp_path):
    path = write_pcm(tmp_path / "z.wav", np.zeros(0), 8000, 2, 1)
    with pytest.raises(audio.EmptyAudio):
        audio.decode_file(path)


def test_digital_silence_is_silent_audio(tmp_path):
    path = write_pcm(tmp_path / "s.wav", np.zeros(8000), 8000, 2, 1)
    with pytest.raises(audio.SilentAudio) as e:
        audio.decode_file(path)
    assert e.value.reason == "silent_audio"


def test_check_not_silent_passes_quiet_music_and_rejects_below_the_floor():
    quiet = 0.01 * synth.song(1, 2.0)  # about -45 dBFS RMS
    assert audio.check_not_silent(quiet) is quiet
    with pytest.raises(audio.SilentAudio):
        audio.check_not_silent(quiet * 1e-3)


def test_html_page_is_not_audio(tmp_path):
    page = tmp_path / "stream.mp3"
    page.write_text("<!DOCTYPE html><html><body>502 Bad Gateway</body></html>")
    with pytest.raises(audio.NotAudio) as e:
        audio.decode_file(page)
    assert e.value.reason == "not_audio"
    with pytest.raises(audio.NotAudio):
        audio.decode_bytes(page.read_bytes())


def test_unknown_binary_is_not_audio():
    junk = bytes(np.random.default_rng(3).integers(0, 256, 4000, dtype=np.uint8))
    with pytest.raises(audio.NotAudio):
        audio.decode_bytes(b"\x00\x01" + junk)


def test_mp3_header_over_garbage_is_corrupt(encoded):
    data = encoded["mp3"].read_bytes()
    garbage = data[:4] + bytes(np.random.default_rng(5).integers(0, 256, 3000, dtype=np.uint8))
    with pytest.raises(audio.CorruptAudio) as e:
        audio.decode_bytes(garbage)
    assert e.value.reason == "corrupt_audio"


def test_truncated_wav_header_is_corrupt(tone_wav):
    with pytest.raises(audio.CorruptAudio):
        audio.decode_bytes(tone_wav.read_bytes()[:30])


@pytest.mark.parametrize("name", ["wav", "ogg"])
def test_longer_than_the_maximum_is_too_long(tone_wav, encoded, name):
    path = tone_wav if name == "wav" else encoded[name]
    with pytest.raises(audio.AudioTooLong) as e:
        audio.decode_file(path, max_seconds=2.0)
    assert e.value.reason == "audio_too_long"
    assert audio.decode_file(path, max_seconds=3.5).size > 0


def test_missing_ffmpeg_is_a_service_error_naming_the_package(encoded, tone_wav):
    with pytest.raises(audio.DecoderMissing) as e:
        audio.decode_file(encoded["mp3"], ffmpeg="ffmpeg-not-installed-here")
    assert isinstance(e.value, ServiceUnavailable)
    assert "apt-get install ffmpeg" in str(e.value)
    # WAV needs no ffmpeg
    assert audio.decode_file(tone_wav, ffmpeg="ffmpeg-not-installed-here").size > 0


def test_ffmpeg_missing_from_path(encoded, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert not audio.ffmpeg_available()
    with pytest.raises(audio.DecoderMissing):
        audio.decode_bytes(encoded["flac"].read_bytes())


def test_a_stalled_decoder_is_killed_with_its_children(encoded, tmp_path):
    pid_file = tmp_path / "child.pid"
    stalled = tmp_path / "stalled-ffmpeg"
    stalled.write_text(f"#!/bin/sh\nsleep 60 &\necho $! > {pid_file}\nwait\n")
    stalled.chmod(0o755)
    with pytest.raises(audio.CorruptAudio) as e:
        audio.decode_file(encoded["mp3"], timeout_seconds=0.5, ffmpeg=str(stalled))
    assert e.value.reason == "decode_timeout"
    child = int(pid_file.read_text())
    assert _gone_or_zombie(child)


def _gone_or_zombie(pid: int) -> bool:
    """True once ``pid`` has exited (SIGKILL is delivered asynchronously: poll briefly)."""
    for _ in range(100):
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.05)
    return False


def test_resample_keeps_pitch():
    t = np.arange(22050) / 22050
    x = audio.resample(np.sin(2 * np.pi * 1000 * t).astype(np.float32), 22050)
    assert x.size == audio.ANALYSIS_RATE
    assert abs(dominant_hz(x) - 1000) < 2
