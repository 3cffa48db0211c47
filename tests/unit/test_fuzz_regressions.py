"""The smallest inputs on which the fuzzers of ``test_fuzz_readers.py`` found a reader wrong, each kept
as a plain test: a traceback, a hang, or a value other than the one written."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from tests.fuzz import within
from zamio.catalog.identifiers import InvalidIdentifier, require_identifier
from zamio.files.csvread import RowError, iso_date, read_rows
from zamio.runtime.errors import DataError
from zamio.scanning.snippets import BadSnippet, read_sidecar
from zamio.streams.errors import StreamNotAudio
from zamio.streams.hls import choose_variant, parse_media
from zamio.streams.playlists import MAX_PLAYLIST_BYTES, playlist_entries

BASE = "http://radio.example/listen.pls"
SIDECAR = '"station_ref": "joy", "chunk_id": "c1", "started_at": "2026-05-18T14:59:20Z"'

# --- playlists ------------------------------------------------------------------------


def test_an_empty_pls_entry_does_not_take_the_next_line_as_its_url() -> None:
    assert playlist_entries("pls", b"[playlist]\nFile1=\nTitle1=Joy FM\n", BASE) == []


def test_a_pls_with_lines_ending_in_cr_gives_its_entries() -> None:
    assert playlist_entries("pls", b"[playlist]\rFile1=http://a.example/live\r", BASE) == ["http://a.example/live"]


def test_a_playlist_line_ends_only_at_cr_or_lf() -> None:
    body = "http://a.example/x\u2028y\nhttp://b.example/\x85z\n".encode()
    assert playlist_entries("m3u", body, BASE) == ["http://a.example/x\u2028y", "http://b.example/\x85z"]


def test_a_playlist_entry_with_a_malformed_host_is_kept_as_written_for_the_capture_to_refuse() -> None:
    assert playlist_entries("m3u", b"http://[oops/\nhttp://a.example/\n", BASE) == [
        "http://[oops/", "http://a.example/"]


def test_a_pls_entry_numbered_beyond_what_int_reads_is_ordered_as_written() -> None:
    body = f"[playlist]\nFile{'9' * 5000}=http://b.example/\nFile2=http://a.example/\n".encode()
    assert playlist_entries("pls", body, BASE) == ["http://a.example/", "http://b.example/"]


def test_a_pls_entry_with_a_run_of_spaces_is_read_at_once() -> None:
    with within(20, "reading a playlist with a long run of spaces"):
        entries = playlist_entries("pls", b"File1=a" + b" " * (MAX_PLAYLIST_BYTES - 10) + b"b", BASE)
    assert entries == ["http://radio.example/a" + " " * (MAX_PLAYLIST_BYTES - 10) + "b"]


# --- HLS --------------------------------------------------------------------------------


@pytest.mark.parametrize("text, line, said", [
    ("#EXTM3U\n#EXTINF:ten,\nseg.ts\n", 2, "#EXTINF 'ten' is not a duration"),
    ("#EXTM3U\n#EXTINF:-1,\nseg.ts\n", 2, "#EXTINF '-1' is not a duration"),
    ("#EXT-X-TARGETDURATION:nan\nseg.ts\n", 1, "#EXT-X-TARGETDURATION 'nan' is not a duration in seconds above zero"),
    ("#EXT-X-TARGETDURATION:0\nseg.ts\n", 1, "#EXT-X-TARGETDURATION '0' is not a duration in seconds above zero"),
    ("#EXT-X-MEDIA-SEQUENCE:x\nseg.ts\n", 1, "#EXT-X-MEDIA-SEQUENCE 'x' is not a whole number"),
    ("#EXTM3U\n\nhttp://[seg/1.ts\n", 3, "the URI 'http://[seg/1.ts' is malformed"),
])
def test_a_media_playlist_with_a_bad_number_or_uri_is_refused_naming_the_line(text: str, line: int,
                                                                               said: str) -> None:
    with pytest.raises(StreamNotAudio) as refused:
        parse_media(text, BASE)
    assert f"line {line}: {said}" in str(refused.value) and refused.value.reason == "bad_playlist"


def test_a_variant_whose_bandwidth_is_no_number_is_refused_naming_the_line() -> None:
    with pytest.raises(StreamNotAudio) as refused:
        choose_variant("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=fast\nlow.m3u8\n", BASE)
    assert "line 2: BANDWIDTH 'fast' is not a whole number" in str(refused.value)


def test_an_attribute_name_that_never_ends_is_read_at_once() -> None:
    with within(20, "reading a long attribute name"), pytest.raises(StreamNotAudio):
        choose_variant("#EXT-X-STREAM-INF:" + "A" * MAX_PLAYLIST_BYTES, BASE)


# --- snippet side-cars -----------------------------------------------------------------


def sidecar(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "ab12.mp3.json"
    path.write_bytes(data)
    return path


def test_a_side_car_may_start_with_a_byte_order_mark(tmp_path: Path) -> None:
    assert read_sidecar(sidecar(tmp_path, b"\xef\xbb\xbf{" + SIDECAR.encode() + b"}")).chunk_id == "c1"


@pytest.mark.parametrize("data, said", [
    (b"[" * 100_000, "nested too deeply"),
    (b'{"gain": ' + b"1" * 5000 + b", " + SIDECAR.encode() + b"}", "Exceeds the limit"),
    (b'{"station_ref": "peace", ' + SIDECAR.encode() + b"}", "'station_ref' is given twice"),
    (b'{"station_ref": "jo\\u0000y", "chunk_id": "c1", "started_at": "2026-05-18T14:59:20Z"}', "NUL character"),
    (b'{"station_ref": "joy", "chunk_id": "c\\udc00", "started_at": "2026-05-18T14:59:20Z"}', "unpaired surrogate"),
], ids=["deep", "long-number", "key-twice", "nul", "surrogate"])
def test_a_side_car_no_database_can_hold_is_refused_naming_it(tmp_path: Path, data: bytes, said: str) -> None:
    with pytest.raises(BadSnippet) as refused:
        read_sidecar(sidecar(tmp_path, data[:64_000]))
    assert said in str(refused.value) and "ab12.mp3.json" in str(refused.value)
    assert refused.value.reason == "bad_sidecar"


# --- identifiers -----------------------------------------------------------------------


@pytest.mark.parametrize("kind, raw", [
    ("ipi_name", "¹²³⁴⁵⁶⁷⁸⁹¹²"),  # superscripts: str.isdigit took them, int() did not
    ("society_code", "١٢٣"),  # Arabic-Indic digits were stored as a society code
    ("ipi_name", "٠٠٠١٤١٠٧٣٣٨"),  # ... and as an IPI name number
])
def test_an_identifier_is_written_in_the_digits_0_to_9(kind: str, raw: str) -> None:
    with pytest.raises(InvalidIdentifier):
        require_identifier(kind, raw)


# --- CSV --------------------------------------------------------------------------------


def test_a_csv_header_naming_a_column_twice_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "tracks.csv"
    path.write_text("alpha,beta,Alpha\n1,2,3\n", encoding="utf-8")
    with pytest.raises(DataError) as refused:
        list(read_rows(path, ("alpha", "beta")))
    assert "alpha in columns 1, 3" in str(refused.value)


@pytest.mark.parametrize("raw", [
    "20260302",  # date.fromisoformat read the basic form as 2026-03-02
    "2026-W10-1",  # ... and a week date as the Monday of that week, 2026-03-02
    "2026-3-2",
])
def test_a_csv_date_is_written_yyyy_mm_dd(raw: str) -> None:
    with pytest.raises(RowError) as refused:
        iso_date({"effective_from": raw}, "effective_from")
    assert str(refused.value) == f"effective_from {raw!r} is not a date written YYYY-MM-DD"
    assert iso_date({"effective_from": "2026-03-02"}, "effective_from") == date(2026, 3, 2)
