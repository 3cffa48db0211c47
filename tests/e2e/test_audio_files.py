"""Files that are no audio file: devices, FIFOs, folders, huge files, and text that must not be quoted.

The fingerprinting jobs and detect-audio are run as cron and people run them; each bad
path is refused with its reason recorded, the other tracks are done, and a first SIGTERM
stops a decode that would otherwise run to its time limit.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.audio_fixtures import add_tracks, song_files, stalled_ffmpeg  # noqa: F401
from tests.support import Project
from zamio.db.engine import transaction
from zamio.recognition import audio

SECRET = "VerySecretPassw0rd"
DOT_ENV = f"DATABASE_URL=postgresql://zamio:{SECRET}@db.example/zamio\nSMTP_PASSWORD={SECRET}\n"
#: An MPEG frame header then bytes no decoder accepts: ffmpeg is asked to decode it.
MP3_LOOKALIKE = b"\xff\xfb\x90\x00" + bytes(range(256)) * 8


def last_errors(project: Project) -> dict[str, str | None]:
    rows = project.query("SELECT t.track_ref, w.last_error FROM fingerprint_work w JOIN tracks t ON t.id = w.track_id")
    return dict(rows)


def huge_sparse_file(path: Path) -> Path:
    """A file one byte over the size limit that takes no disk space (a hole after an MP3 header)."""
    with open(path, "wb") as f:
        f.write(MP3_LOOKALIKE)
        f.truncate(audio.MAX_FILE_BYTES + 1)
    return path


def test_devices_fifos_folders_and_huge_files_are_refused_unread(project: Project, tmp_path: Path,
                                                                 song_files) -> None:
    fifo = tmp_path / "live.mp3"
    os.mkfifo(fifo)  # no writer ever comes: opening it for reading would wait for ever
    folder = tmp_path / "album.mp3"
    folder.mkdir()
    bad = {"zero": Path("/dev/zero"), "fifo": fifo, "folder": folder, "huge": huge_sparse_file(tmp_path / "huge.mp3")}
    with transaction(project.engine) as conn:
        add_tracks(conn, {**bad, **song_files})

    result = project.script("auto-fingerprint-new-tracks", "--limit", "10", timeout=60)  # nothing bad is read
    assert result.returncode == 1, result.stderr
    assert "3 ok, 4 failed" in result.stderr
    errors = last_errors(project)
    assert errors["zero"] == "not_a_file: /dev/zero is a device, not an audio file; fix the path"
    assert errors["fifo"] == f"not_a_file: {fifo} is a FIFO (a named pipe), not an audio file; fix the path"
    assert errors["folder"] == f"not_a_file: {folder} is a directory, not an audio file; fix the path"
    assert errors["huge"] == (f"too_large: {bad['huge']} has 2147483649 bytes, more than the 2147483648 "
                              "an audio file may have; cut it or fix the path")
    assert project.scalar("SELECT count(*) FROM fingerprint_sets") == 3

    again = project.script("batch-fingerprint-tracks", "--track", "zero", "fifo", "song-21", "--force", timeout=60)
    assert again.returncode == 1 and "1 ok, 2 failed" in again.stderr, again.stderr
    assert "/dev/zero is a device" in again.stderr and "is a FIFO" in again.stderr


def test_detect_audio_refuses_a_fifo_and_a_folder_and_goes_on(project: Project, tmp_path: Path) -> None:
    fifo = tmp_path / "live.aac"
    os.mkfifo(fifo)
    folder = tmp_path / "recordings"
    folder.mkdir()
    result = project.script("detect-audio", "--json", str(fifo), str(folder), timeout=60)
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert '"error": "not_a_file"' in lines[0] and "is a FIFO (a named pipe)" in lines[0]
    assert '"error": "not_a_file"' in lines[1] and "is a directory" in lines[1]


def wait_for_file(path: Path, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} did not appear within {seconds:g} s"
        time.sleep(0.05)


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ("Z", "X")


def test_a_first_sigterm_stops_a_long_decode_within_seconds(project: Project, tmp_path: Path, song_files) -> None:
    slow = tmp_path / "slow.mp3"
    slow.write_bytes(MP3_LOOKALIKE)
    with transaction(project.engine) as conn:
        add_tracks(conn, {"slow": slow})
        add_tracks(conn, {"song-21": song_files["song-21"]})  # queued after the slow one
    fakes, pid_file = stalled_ffmpeg(tmp_path / "fake-bin")
    env = project.env(PATH=f"{fakes}:{os.environ.get('PATH', '/usr/bin:/bin')}")
    run = project.popen("auto-fingerprint-new-tracks", env=env)
    decoder = None
    try:
        wait_for_file(pid_file, 60)
        decoder = int(pid_file.read_text())
        stopped_at = time.monotonic()
        run.send_signal(signal.SIGTERM)
        _, stderr = run.communicate(timeout=10)
        assert time.monotonic() - stopped_at < 5, stderr
    finally:
        if run.poll() is None:
            run.kill()
            run.communicate()
        if decoder is not None and alive(decoder):
            os.kill(decoder, signal.SIGKILL)
            pytest.fail("the decoder was left running")
    assert run.returncode == 75, stderr
    assert "SIGTERM received" in stderr and "0 ok, 0 failed" in stderr
    # The track is not to blame: it is due again, no attempt counted, no reason recorded.
    work = project.query("SELECT t.track_ref, w.status, w.attempts, w.last_error, w.next_attempt_at, w.lease_owner "
                         "FROM fingerprint_work w JOIN tracks t ON t.id = w.track_id ORDER BY t.track_ref")
    assert [tuple(r) for r in work] == [("slow", "pending", 0, None, None, None),
                                        ("song-21", "pending", 0, None, None, None)]
    assert project.scalar("SELECT count(*) FROM fingerprint_sets") == 0
    assert project.scalar("SELECT exit_code FROM job_runs WHERE job = 'auto-fingerprint-new-tracks'") == 75


def test_a_text_file_is_named_as_text_and_never_quoted(project: Project, tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(DOT_ENV)
    with transaction(project.engine) as conn:
        add_tracks(conn, {"secrets": env_file})
    result = project.script("auto-fingerprint-new-tracks", timeout=60)
    assert result.returncode == 1, result.stderr
    error = last_errors(project)["secrets"]
    assert error == (f"not_audio: {env_file} is text, not audio; the path, URL or upload probably "
                     "points at a document, a web page or a playlist, not the audio")
    assert SECRET not in result.stderr and "DATABASE_URL" not in result.stderr


@pytest.mark.parametrize("content, kind", [
    (b"<!DOCTYPE html><html><body>token=" + SECRET.encode() + b"</body></html>", "an HTML page"),
    (b'{"password": "' + SECRET.encode() + b'"}', "JSON"),
    (b"#EXTM3U\nhttp://listener:" + SECRET.encode() + b"@radio.example/live\n", "a playlist"),
    (b"[playlist]\nFile1=http://listener:" + SECRET.encode() + b"@radio.example/live\n", "a playlist"),
    (DOT_ENV.encode(), "text"),
])
def test_not_audio_names_the_kind_of_text_never_its_content(tmp_path: Path, content: bytes, kind: str) -> None:
    path = tmp_path / "clip.mp3"
    path.write_bytes(content)
    for decode in (lambda: audio.decode_file(path), lambda: audio.decode_bytes(content, name=str(path))):
        with pytest.raises(audio.NotAudio) as caught:
            decode()
        assert str(caught.value).startswith(f"{path} is {kind}, not audio;")
        assert SECRET not in str(caught.value)


def test_unknown_binary_data_is_named_so_without_its_bytes(tmp_path: Path) -> None:
    data = b"\x00\x01SECRET=" + SECRET.encode() + bytes(range(128, 256)) * 16
    path = tmp_path / "clip.bin"
    path.write_bytes(data)
    with pytest.raises(audio.NotAudio) as caught:
        audio.decode_file(path)
    assert str(caught.value).startswith(f"{path} is unknown binary data, not in any audio format ffmpeg knows")
    assert SECRET not in str(caught.value)


def test_size_limit_applies_to_decoding_a_file(tmp_path: Path) -> None:
    with pytest.raises(audio.FileTooLarge) as caught:
        audio.decode_file(huge_sparse_file(tmp_path / "huge.mp3"))
    assert caught.value.reason == "too_large"
    small = tmp_path / "small.mp3"
    small.write_bytes(MP3_LOOKALIKE)
    with pytest.raises(audio.FileTooLarge):
        audio.decode_file(small, max_bytes=len(MP3_LOOKALIKE) - 1)
    with pytest.raises(audio.CorruptAudio):  # at the limit the file is decoded (and is corrupt)
        audio.decode_file(small, max_bytes=len(MP3_LOOKALIKE))


def test_a_file_growing_past_the_limit_while_read_is_cut_off(tmp_path: Path) -> None:
    path = tmp_path / "growing.mp3"
    path.write_bytes(MP3_LOOKALIKE)
    blocks = audio.read_blocks(path, max_bytes=len(MP3_LOOKALIKE) + 10, block_bytes=1024)
    first = next(blocks)
    with open(path, "ab") as f:  # the recorder is still writing
        f.write(b"\0" * 4096)
    with pytest.raises(audio.FileTooLarge):
        list(blocks)
    assert first == MP3_LOOKALIKE[:1024]


def test_a_snippet_of_text_is_rejected_without_quoting_it(project: Project) -> None:
    from tests.e2e.test_snippets import drop
    from tests.scan_helpers import add_station, scan

    add_station(project, "joy", "http://127.0.0.1:9/unused")
    inbox = project.var_dir / "inbox"
    drop(inbox, "dev7.mp3", DOT_ENV.encode(), {"station_ref": "joy", "chunk_id": "dev7-1",
                                              "started_at": "2026-05-18T14:59:20Z"})
    result = scan(project, "--only", "snippets")
    assert result.returncode == 1, result.stderr
    reason = (inbox / "rejected" / "dev7.mp3.reason.txt").read_text()
    assert reason.splitlines()[0] == "not_audio"
    assert "dev7.mp3 is text, not audio" in reason and "dev7.mp3 is text, not audio" in result.stderr
    assert SECRET not in reason and SECRET not in result.stderr and "DATABASE_URL" not in reason


def test_a_stream_page_is_described_not_quoted(tmp_path: Path) -> None:
    from tests.streamserver import StatusRoute, StreamServer
    from zamio.streams import capture
    from zamio.streams.errors import StreamNotAudio
    from zamio.streams.model import CaptureLimits

    body = f"<html><body>admin password: {SECRET}</body></html>".encode()
    limits = CaptureLimits(seconds=2.0, min_seconds=1.0, allow_private=True)
    with StreamServer({"/page": StatusRoute(200, body, "text/html")}) as server, \
            pytest.raises(StreamNotAudio) as caught:
        capture(server.url("/page"), limits)
    assert f"{server.url('/page')} answered with an HTML page, not audio" in str(caught.value)
    assert SECRET not in str(caught.value)
