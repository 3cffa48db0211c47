"""Fuzzing the pure readers of outside input: CSV rows and their fields, playlists, HLS, ICY, side-cars.

The property, for every input: either a result, or the reader's own documented error naming the
line or the thing; never another exception, never a hang (each example runs ``within`` a bound),
and for input made of known values the result holds exactly those values.  Two kinds of input:
arbitrary text or bytes, and files built from generated values in the many ways people and
servers write them (BOMs, CRLF, quotes, comments, odd spacing, other encodings), mutated.

The end-to-end imports into a database are fuzzed in ``tests/db/test_fuzz_imports.py``.  The
example counts and ``ZAMIO_FUZZ_EXAMPLES`` are described in ``tests/fuzz.py``.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from urllib.parse import urljoin

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from tests.fuzz import FILE_REFUSED, LOADED, ROWS_REFUSED, fuzz_settings, tally, within
from zamio.catalog import identifiers
from zamio.files import csvread as cv
from zamio.files.csvread import RowError
from zamio.playlogs.imports import parse_confidence, parse_started_at
from zamio.runtime.config import STATION_CLASSES
from zamio.runtime.errors import DataError
from zamio.scanning.snippets import MAX_CHUNK_ID_CHARS, MAX_TITLE_CHARS, BadSnippet, read_sidecar
from zamio.streams.errors import StreamError, StreamNotAudio, StreamTooLarge
from zamio.streams.hls import DEFAULT_TARGET_SECONDS, choose_variant, parse_media
from zamio.streams.icy import METADATA_UNIT_BYTES, IcyDemuxer, parse_metaint
from zamio.streams.playlists import MAX_PLAYLIST_BYTES, MAX_PLAYLIST_ENTRIES, body_kind, playlist_entries
from zamio.values.decimals import AMOUNT, CONFIDENCE, EXCHANGE_RATE, MULTIPLIER, PERCENT, RATE, SECONDS

BOUND_SECONDS = 20.0  # a reader takes milliseconds; a quadratic one took minutes on the inputs below
NOW = datetime(2026, 5, 18, 12, 0, tzinfo=UTC)
BASE_URL = "http://radio.example/live/listen.pls"
LINE_BREAK = re.compile(r"\r\n|\r|\n")

# --- shared strategies ------------------------------------------------------------

#: Text as people type it: anything but lone surrogates (no file encoding can hold one).
any_text = st.text(max_size=40)
#: The awkward characters of CSV and text files, drawn often.
awkward = st.sampled_from(["", " ", ",", '"', "'", "\r", "\n", "\r\n", "\x00", "\ufeff", "\t", "\xa0", "é", "ɛ",
                           "€", "日本", "\u2028", "\x85", "=", ";", "#", "\\", "1,234", "1e3", "NaN", "-0"])
cell_text = st.one_of(any_text, st.lists(st.one_of(awkward, any_text), max_size=5).map("".join))


def line_of(text: str, offset: int) -> int:
    """The physical line (1-based) at ``offset`` of ``text``: line breaks before it, plus one."""
    return len(LINE_BREAK.findall(text[:offset])) + 1


def stripped(value: str) -> str | None:
    """A cell as the CSV reader gives it: stripped, None when empty."""
    return value.strip() or None


# --- CSV rows: zamio.files.csvread.read_rows --------------------------------------

REQUIRED, OPTIONAL, EXTRA = ("alpha", "beta"), ("gamma",), ("delta", "x y")


@st.composite
def csv_files(draw: st.DrawFn) -> tuple[bytes, list[str], list[tuple[int, dict[str, str | None]]]]:
    """A CSV file with the required columns, some optional and unread ones in any order, and the rows the
    reader must give: (bytes, header as read, [(line, row)]).  Rows may be short or long, blank, quoted or
    not, with any characters; the header may be spelled in other cases and spacing."""
    names = draw(st.permutations([*REQUIRED, *draw(st.lists(st.sampled_from([*OPTIONAL, *EXTRA]), unique=True))]))
    if draw(st.integers(0, 9)) == 0:  # a column named twice: which value is meant? The file is refused.
        names.append(draw(st.sampled_from(names)))
    spelled = [draw(st.sampled_from([name, name.upper(), f" {name} ", name.title()])) for name in names]
    terminator = draw(st.sampled_from(["\r\n", "\n"]))
    quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]))
    rows = draw(st.lists(st.lists(cell_text, max_size=len(names) + 2), max_size=8))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=terminator, quoting=quoting)
    # Python's writer leaves a lone CR unquoted when lines end in LF; spreadsheets quote it.
    quoted = csv.writer(out, lineterminator=terminator, quoting=csv.QUOTE_ALL)
    writer.writerow(spelled)
    expected = []
    for cells in rows:
        start = out.tell()
        (quoted if any("\r" in cell for cell in cells) else writer).writerow(cells)
        if any(cell.strip() for cell in cells):
            row = {name: stripped(cells[i]) if i < len(cells) else None for i, name in enumerate(names)
                   if name in (*REQUIRED, *OPTIONAL)}
            expected.append((start, row))
    text = out.getvalue()
    data = (b"\xef\xbb\xbf" if draw(st.booleans()) else b"") + text.encode("utf-8")
    return data, names, [(line_of(text, start), row) for start, row in expected]


@fuzz_settings(100)
@given(csv_files())
def test_csv_rows_read_back_exactly_as_written_with_their_line_numbers(tmp_path_factory: pytest.TempPathFactory,
                                                                       made: tuple) -> None:
    data, names, expected = made
    path = tmp_path_factory.mktemp("csv") / "rows.csv"
    path.write_bytes(data)
    repeated = [name for name in names if name in (*REQUIRED, *OPTIONAL) and names.count(name) > 1]
    try:
        with within(BOUND_SECONDS, "reading a CSV file"):
            got = list(cv.read_rows(path, REQUIRED, OPTIONAL))
    except DataError as error:
        assert repeated and f"{repeated[0]} in columns" in str(error), str(error)
        tally("csv rows (read_rows)", FILE_REFUSED)
        return
    assert not repeated, f"the header names {repeated[0]} twice"
    assert got == expected
    tally("csv rows (read_rows)", LOADED, loaded=len(got))


@fuzz_settings(100)
@given(header=st.sampled_from([b"", b"alpha,beta\n", b"\xef\xbb\xbfALPHA, Beta ,gamma\r\n", b"alpha\n",
                               b"alpha,beta,gamma,Gamma\n"]),
       body=st.one_of(st.binary(max_size=300), cell_text.map(lambda t: t.encode("utf-8")),
                      st.sampled_from([b'"unclosed,1\n2,3\n', b"a,b\r\x00\n", b"\xff\xfe,\x80\n", b"\r\r\r",
                                       b'a,"' + b"x" * 140_000 + b'"\n', b'"a""b",c\n"'])))
def test_csv_of_any_bytes_gives_rows_or_refuses_the_file_naming_it(tmp_path_factory: pytest.TempPathFactory,
                                                                   header: bytes, body: bytes) -> None:
    path = tmp_path_factory.mktemp("csv") / "any.csv"
    path.write_bytes(header + body)
    rows = []
    try:
        with within(BOUND_SECONDS, "reading a CSV file"):
            for line, row in cv.read_rows(path, REQUIRED, OPTIONAL):
                assert isinstance(line, int) and line >= 2
                assert set(row) <= {*REQUIRED, *OPTIONAL}
                assert all(v is None or (isinstance(v, str) and v == v.strip() and v) for v in row.values())
                rows.append(line)
    except DataError as error:
        assert str(path) in str(error)
        tally("csv rows (read_rows)", FILE_REFUSED, loaded=len(rows))
        return
    assert rows == sorted(rows) and len(set(rows)) == len(rows)
    tally("csv rows (read_rows)", LOADED, loaded=len(rows))


# --- CSV fields: the parsers every loader uses --------------------------------------

DECIMAL_KINDS = [RATE, EXCHANGE_RATE, MULTIPLIER, PERCENT, CONFIDENCE, SECONDS, AMOUNT]


@st.composite
def written_decimals(draw: st.DrawFn) -> tuple:
    """(kind, value, text): a value the kind keeps, written with a point or a comma, a sign, spaces."""
    kind = draw(st.sampled_from(DECIMAL_KINDS))
    whole = draw(st.integers(0, 10 ** kind.whole - 1))
    places = draw(st.integers(0, kind.places))
    fraction = draw(st.integers(0, 10 ** places - 1)) if places else 0
    negative = draw(st.booleans())
    digits = f"{whole}" + (f".{fraction:0{places}d}" if places else "")
    value = Decimal(digits) * (-1 if negative else 1)
    separator = draw(st.sampled_from([".", ","]))
    sign = "-" if negative else draw(st.sampled_from(["", "+"]))
    text = draw(st.sampled_from(["", " ", "\t"])) + sign + digits.replace(".", separator) + draw(
        st.sampled_from(["", " ", "\r"]))
    return kind, value, text


@fuzz_settings(100)
@given(written_decimals())
def test_a_decimal_reads_as_the_number_written(made: tuple) -> None:
    kind, value, text = made
    row = {"amount": text.strip() or None}
    body = text.strip().lstrip("+-")
    # A comma before exactly three digits after one to three digits other than 0 may group thousands: refused.
    ambiguous = re.fullmatch(r"[1-9][0-9]{0,2},[0-9]{3}", body) is not None
    try:
        with within(BOUND_SECONDS, "reading a decimal"):
            got = cv.decimal(row, "amount", kind=kind)
    except RowError as error:
        assert ambiguous, f"{text!r} refused: {error}"
        assert "amount" in str(error) and "ambiguous" in str(error)
        tally("csv fields", ROWS_REFUSED, refused=1)
        return
    assert not ambiguous, f"{text!r} read as {got}"
    assert got == value
    tally("csv fields", LOADED, loaded=1)


FIELD_READERS = {
    "decimal": lambda row: cv.decimal(row, "fuzzed_field", minimum=Decimal(0), maximum=Decimal(100), kind=PERCENT),
    "number": lambda row: cv.number(row, "fuzzed_field", minimum=Decimal(0), kind=SECONDS),
    "text": lambda row: cv.text(row, "fuzzed_field"),
    "choice": lambda row: cv.choice(row, "fuzzed_field", ("prime", "regular", "off_peak")),
    "station class": lambda row: cv.station_class(row, "fuzzed_field"),
    "date": lambda row: cv.iso_date(row, "fuzzed_field"),
    "email": lambda row: cv.email(row, "fuzzed_field"),
    "started_at": lambda row: parse_started_at(cv.text(row, "fuzzed_field"), NOW),
    "confidence": lambda row: parse_confidence({"confidence": row["fuzzed_field"]}),
}


def _field_ok(kind: str, raw: str | None, value: object) -> bool:
    """What a field reader may give for ``raw`` without refusing it."""
    if kind in ("decimal", "number"):
        return value is None or (Decimal(str(value)).is_finite() and Decimal(0) <= Decimal(str(value)))
    if kind == "text":
        return value == raw and bool(raw)
    if kind == "choice":
        return value in ("prime", "regular", "off_peak")
    if kind == "station class":
        return value in STATION_CLASSES
    if kind == "date":
        return value is None or (isinstance(value, date) and value.isoformat() == raw)
    if kind == "email":
        return value == raw
    if kind == "started_at":
        return isinstance(value, datetime) and value.tzinfo is not None and value <= NOW + timedelta(days=1)
    return value is None or 0 <= float(str(value)) <= 100


@fuzz_settings(100)
@given(kind=st.sampled_from(sorted(FIELD_READERS)),
       raw=st.one_of(cell_text, st.sampled_from(["2026-03-02T10:00:00Z", "2026-03-02", "0,5", "99.9999999", "A",
                                                 "Class-B", "x@y.z", "+1", "1,000", "2026-02-30", "١٢٣", "٣.٥",
                                                 "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+01:00",
                                                 "2026-03-02T10:00:00", "20260302", "2026-W10-1", "1" * 5000])))
def test_a_field_is_read_or_refused_naming_it(kind: str, raw: str) -> None:
    value = stripped(raw)
    row = {"fuzzed_field": value}
    try:
        with within(BOUND_SECONDS, f"reading a {kind} field"):
            got = FIELD_READERS[kind](row)
    except RowError as error:
        named = "confidence" if kind == "confidence" else "started_at" if kind == "started_at" else "fuzzed_field"
        assert named in str(error) or (kind == "started_at" and value is None), str(error)
        tally("csv fields", ROWS_REFUSED, refused=1)
        return
    assert _field_ok(kind, value, got), (kind, raw, got)
    tally("csv fields", LOADED, loaded=1)


@fuzz_settings(100)
@given(moment=st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2026, 5, 17)),
       offset_minutes=st.integers(-14 * 60, 14 * 60), style=st.sampled_from(["T", " "]),
       micro=st.booleans())
def test_a_play_time_reads_as_the_instant_written(moment: datetime, offset_minutes: int, style: str,
                                                  micro: bool) -> None:
    zone = timezone(timedelta(minutes=offset_minutes))
    local = moment.replace(tzinfo=zone) if micro else moment.replace(tzinfo=zone, microsecond=0)
    text = local.isoformat(sep=style)
    if offset_minutes == 0 and style == "T":
        text = text.replace("+00:00", "Z")
    with within(BOUND_SECONDS, "reading a play time"):
        got = parse_started_at(text, NOW)
    assert got == local and got.tzinfo == UTC
    tally("csv fields", LOADED, loaded=1)


typed_isrcs = st.from_regex(r"\s*(ISRC:?)?[A-Za-z]{2}[- .]?[A-Za-z0-9]{3}[- .]?[0-9]{2}[- .]?[0-9]{5}\s*",
                            fullmatch=True)


@fuzz_settings(100)
@given(st.one_of(cell_text, st.text("0123456789١٢٣٤٥٦٧٨٩٠¹²³⁴⁵⁶⁷⁸⁹⁰٣T-. I", max_size=14), typed_isrcs))
def test_identifiers_are_normalised_or_refused_naming_the_kind(raw: str) -> None:
    with within(BOUND_SECONDS, "reading identifiers"):
        for kind in ("isrc", "iswc", "ipi_name", "society_code"):
            try:
                got = identifiers.require_identifier(kind, raw)
            except identifiers.InvalidIdentifier as error:
                assert str(error), kind
                continue
            assert isinstance(got, str) and got.isascii() and got == got.strip()
        for normalise in (identifiers.normalise_isrc, identifiers.normalise_iswc, identifiers.normalise_ipi_name):
            assert normalise(raw) is None or isinstance(normalise(raw), str)
    tally("identifiers", LOADED, loaded=1)


# --- playlists: zamio.streams.playlists ---------------------------------------------

#: A URL path segment: anything printable but what ends a line, starts a comment or is space at an end.
path_text = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), max_size=12)


@st.composite
def entry_urls(draw: st.DrawFn) -> str:
    """A stream link as playlists write it: absolute, host-relative or relative, any characters in the path."""
    path = "/".join(draw(st.lists(path_text, min_size=1, max_size=3)))
    form = draw(st.sampled_from(["absolute", "absolute", "host", "relative"]))
    if form == "absolute":
        host = draw(st.sampled_from(["radio.example", "rádio.example", "10.0.0.1:8000", "[2001:db8::1]:80"]))
        url = f"{draw(st.sampled_from(['http', 'https', 'HTTP']))}://{host}/{path}"
    elif form == "host":
        url = f"/live/{path}"
    else:
        url = f"mirror/{path}"
    assume(url == url.strip() and not url.startswith("#"))
    return url


def encoded(draw: st.DrawFn, text: str) -> bytes:
    """``text`` as a server may send it: UTF-8 with or without a BOM, or Latin-1 when it can."""
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "latin-1"]))
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:
        data = text.encode("utf-8")
        encoding = "utf-8"
    if encoding == "latin-1":  # a Latin-1 body that happens to be valid UTF-8 is read as UTF-8
        try:
            data.decode("utf-8")
            assume(data.isascii())
        except UnicodeDecodeError:
            pass
    return data


@st.composite
def m3u_files(draw: st.DrawFn) -> tuple[bytes, list[str]]:
    urls = draw(st.lists(entry_urls(), min_size=1, max_size=8))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    lines = ["#EXTM3U"] if draw(st.booleans()) else []
    for url in urls:
        lines += draw(st.lists(st.sampled_from(["", "  ", "#EXTINF:-1,Joy FM", "# a comment, with 'quotes'",
                                                "\t#EXTINF:180,Ama – Odo"]), max_size=2))
        lines.append(draw(st.sampled_from(["", " ", "\t"])) + url + draw(st.sampled_from(["", " ", "\t"])))
    return encoded(draw, newline.join(lines) + draw(st.sampled_from(["", newline]))), urls


@st.composite
def pls_files(draw: st.DrawFn) -> tuple[bytes, list[str]]:
    urls = draw(st.lists(entry_urls(), min_size=1, max_size=8))
    numbers = draw(st.lists(st.integers(1, 10 ** 6), min_size=len(urls), max_size=len(urls), unique=True))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    lines = ["[playlist]", f"NumberOfEntries={len(urls)}"]
    for number, url in draw(st.permutations(list(zip(numbers, urls)))):
        spacing = draw(st.sampled_from(["=", " = ", "=\t"]))
        lines.append(f"{draw(st.sampled_from(['', ' ']))}File{number}{spacing}{url}{draw(st.sampled_from(['', ' ']))}")
        lines += draw(st.lists(st.sampled_from([f"Title{number}=Joy FM = live", f"Length{number}=-1", "",
                                                f"File{number + 10 ** 7}=", "Version=2"]), max_size=2))
    ordered = [url for _, url in sorted(zip(numbers, urls))]
    return encoded(draw, newline.join(lines) + newline), ordered


@fuzz_settings(100)
@given(made=st.one_of(m3u_files().map(lambda m: ("m3u", *m)), pls_files().map(lambda m: ("pls", *m))))
def test_playlist_entries_are_the_urls_written_in_order(made: tuple) -> None:
    kind, body, urls = made
    with within(BOUND_SECONDS, f"reading a {kind} playlist"):
        got = playlist_entries(kind, body, BASE_URL)
        found = body_kind(body)
    assert got == [urljoin(BASE_URL, url) for url in urls][:MAX_PLAYLIST_ENTRIES]
    assert found in (kind, None, "m3u") or (found == "hls" and b"#EXT-X-" in body)  # an HLS tag in a URL
    tally(f"playlist ({kind})", LOADED, loaded=len(got))


@fuzz_settings(100)
@given(kind=st.sampled_from(["pls", "m3u"]),
       body=st.one_of(st.binary(max_size=400), cell_text.map(str.encode),
                      st.lists(st.sampled_from(["[playlist]", "File1=", "File2=http://[oops/", "//[::1", "http://[",
                                                "File" + "9" * 5000 + "=http://x/", "File1=http://x:99999999/",
                                                "#EXTM3U", "http://a/\u2028b", "\x85", "File3 = ./rel"]),
                               max_size=6).map(lambda ls: "\n".join(ls).encode("utf-8"))))
def test_a_playlist_of_any_bytes_gives_at_most_five_entries(kind: str, body: bytes) -> None:
    with within(BOUND_SECONDS, f"reading a {kind} playlist"):
        found = body_kind(body)
        got = playlist_entries(kind, body, BASE_URL)
    assert found in (None, "pls", "m3u", "hls")
    assert isinstance(got, list) and len(got) <= MAX_PLAYLIST_ENTRIES and all(isinstance(u, str) for u in got)
    assert all("\n" not in u and "\r" not in u for u in got)
    tally(f"playlist ({kind})", LOADED if got else FILE_REFUSED, loaded=len(got))


@pytest.mark.parametrize("body", [
    "File1=a" + " " * (MAX_PLAYLIST_BYTES - 10) + "b",  # a run of spaces inside a value
    "File1=" + "x" * (MAX_PLAYLIST_BYTES - 10),
    "\n" * MAX_PLAYLIST_BYTES,
], ids=["spaces", "long-value", "newlines"])
def test_a_playlist_as_large_as_allowed_is_read_at_once(body: str) -> None:
    with within(BOUND_SECONDS, "reading a large playlist"):
        playlist_entries("pls", body.encode(), BASE_URL)
        playlist_entries("m3u", body.encode(), BASE_URL)


# --- HLS: zamio.streams.hls ---------------------------------------------------------


@st.composite
def media_playlists(draw: st.DrawFn) -> tuple[str, dict]:
    """A media playlist and what it says: target, first sequence, segments (url, seconds), end, key."""
    target = draw(st.integers(1, 60))
    sequence = draw(st.integers(0, 10 ** 9))
    segments = draw(st.lists(st.tuples(entry_urls(), st.integers(0, target * 1000)), max_size=8))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    lines = ["#EXTM3U", "#EXT-X-VERSION:3"]
    header = [f"#EXT-X-TARGETDURATION:{target}", f"#EXT-X-MEDIA-SEQUENCE:{sequence}"]
    if draw(st.booleans()):
        header.append('#EXT-X-MAP:URI="init.mp4"')
    method = draw(st.sampled_from([None, "NONE", "AES-128", "SAMPLE-AES"]))
    if method:
        header.append(f'#EXT-X-KEY:METHOD={method},URI="k.bin",IV=0x00')
    lines += draw(st.permutations(header))
    for url, millis in segments:
        lines.append(f"#EXTINF:{millis / 1000:.3f},{draw(st.sampled_from(['', 'Ama – Odo', 'title, with comma']))}")
        lines += draw(st.lists(st.sampled_from(["#EXT-X-PROGRAM-DATE-TIME:2026-05-18T14:59:20Z", "",
                                                "#EXT-X-DISCONTINUITY"]), max_size=1))
        lines.append(url)
    ended = draw(st.booleans())
    if ended:
        lines.append("#EXT-X-ENDLIST")
    said = dict(target=float(target), segments=[(sequence + i, url, millis / 1000) for i, (url, millis)
                                                in enumerate(segments)],
                ended=ended, map="init.mp4" if any(h.startswith("#EXT-X-MAP") for h in header) else None,
                encryption=None if method in (None, "NONE") else method)
    return newline.join(lines) + newline, said


@fuzz_settings(100)
@given(media_playlists())
def test_a_media_playlist_reads_as_written(made: tuple) -> None:
    text, said = made
    with within(BOUND_SECONDS, "reading an HLS media playlist"):
        got = parse_media(text, BASE_URL)
    assert got.target_seconds == said["target"]
    assert [(s.sequence, s.url, s.seconds) for s in got.segments] == [
        (n, urljoin(BASE_URL, url), seconds) for n, url, seconds in said["segments"]]
    assert got.ended == said["ended"]
    assert got.map_url == (urljoin(BASE_URL, said["map"]) if said["map"] else None)
    assert got.encryption == said["encryption"]
    tally("hls (media playlist)", LOADED, loaded=len(got.segments))


@st.composite
def master_playlists(draw: st.DrawFn) -> tuple[str, tuple[str, int | None]]:
    """A master playlist and the variant to read: the cheapest audio-only one, else the first audio
    rendition, else the cheapest variant (the first written among equals)."""
    variants = draw(st.lists(st.tuples(st.integers(0, 10 ** 7), st.sampled_from(
        ["mp4a.40.2", "mp4a.40.5", "avc1.4d401f,mp4a.40.2", "mp3", "opus", "", "hvc1.1.6.L93.90"]),
        entry_urls()), max_size=5))
    renditions = draw(st.lists(entry_urls().filter(lambda u: '"' not in u), max_size=2))
    lines = ["#EXTM3U"]
    for url in renditions:
        lines.append(f'#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="Main, English",URI="{url}"')
    for bandwidth, codecs, url in variants:
        attributes = [f"BANDWIDTH={bandwidth}"] + ([f'CODECS="{codecs}"'] if codecs else [])
        attributes.append('RESOLUTION=640x360') if "avc1" in codecs else None
        lines += [f"#EXT-X-STREAM-INF:{','.join(draw(st.permutations(attributes)))}", url]
    assume(variants or renditions)
    audio = [(bandwidth, url) for bandwidth, codecs, url in variants
             if codecs and all(c.startswith(("mp4a", "mp3", "opus")) for c in codecs.split(","))]
    if audio:
        bandwidth, url = min(audio, key=lambda v: v[0])
        chosen: tuple[str, int | None] = (urljoin(BASE_URL, url), bandwidth or None)
    elif renditions:
        chosen = (urljoin(BASE_URL, renditions[0]), None)
    else:
        bandwidth, _, url = min(variants, key=lambda v: v[0])
        chosen = (urljoin(BASE_URL, url), bandwidth or None)
    return "\n".join(lines) + "\n", chosen


@fuzz_settings(100)
@given(master_playlists())
def test_a_master_playlist_gives_the_cheapest_audio_variant(made: tuple) -> None:
    text, chosen = made
    with within(BOUND_SECONDS, "reading an HLS master playlist"):
        got = choose_variant(text, BASE_URL)
    assert got == chosen
    tally("hls (master playlist)", LOADED, loaded=1)


hls_lines = st.sampled_from([
    "#EXTM3U", "#EXT-X-TARGETDURATION:", "#EXT-X-TARGETDURATION:abc", "#EXT-X-TARGETDURATION:nan",
    "#EXT-X-TARGETDURATION:-5", "#EXT-X-TARGETDURATION:inf", "#EXT-X-TARGETDURATION:0", "#EXT-X-MEDIA-SEQUENCE:x",
    "#EXT-X-MEDIA-SEQUENCE:" + "9" * 5000, "#EXT-X-MEDIA-SEQUENCE:-3", "#EXTINF:", "#EXTINF:ten,", "#EXTINF:nan,",
    "#EXTINF:-1,", "#EXTINF:1e400,", "#EXT-X-STREAM-INF:BANDWIDTH=fast", "#EXT-X-STREAM-INF:BANDWIDTH=" + "9" * 5000,
    "#EXT-X-STREAM-INF:", '#EXT-X-MEDIA:TYPE=AUDIO,URI="', "#EXT-X-KEY:METHOD=AES-128", '#EXT-X-MAP:URI="//[x"',
    "http://[bad/seg.ts", "seg.ts", "#EXT-X-ENDLIST", "", "\u2028", "#EXT-X-STREAM-INF:CODECS=\"mp4a\u2028\"",
])


@fuzz_settings(100)
@given(st.one_of(any_text, st.lists(st.one_of(hls_lines, any_text), max_size=10).map("\n".join)))
def test_an_hls_playlist_of_any_text_is_read_or_refused_naming_the_line(text: str) -> None:
    for what, read in (("media", parse_media), ("master", choose_variant)):
        try:
            with within(BOUND_SECONDS, f"reading an HLS {what} playlist"):
                got = read(text, BASE_URL)
        except StreamError as error:
            assert isinstance(error, StreamNotAudio) and "HLS playlist" in str(error), repr(error)
            tally(f"hls ({what} playlist)", FILE_REFUSED)
            continue
        if what == "media":
            assert got.target_seconds > 0 and got.target_seconds != float("inf")
            assert all(0 <= s.seconds < float("inf") and s.sequence >= 0 for s in got.segments)
            tally("hls (media playlist)", LOADED, loaded=len(got.segments))
        else:
            url, bandwidth = got
            assert isinstance(url, str) and (bandwidth is None or bandwidth > 0)
            tally("hls (master playlist)", LOADED, loaded=1)


@pytest.mark.parametrize("text", [
    "#EXT-X-STREAM-INF:" + "A" * MAX_PLAYLIST_BYTES,  # an attribute name that never ends
    "#EXT-X-STREAM-INF:BANDWIDTH=1\n" * (MAX_PLAYLIST_BYTES // 30),  # variants without a URI
    '#EXT-X-MEDIA:TYPE=AUDIO,URI="' + "-" * MAX_PLAYLIST_BYTES,
], ids=["attribute-name", "variants-without-uri", "unclosed-quote"])
def test_an_hls_playlist_as_large_as_allowed_is_read_at_once(text: str) -> None:
    with within(BOUND_SECONDS, "reading a large HLS playlist"):
        for read in (parse_media, choose_variant):
            try:
                read(text, BASE_URL)
            except StreamNotAudio:
                pass


def test_an_hls_playlist_without_a_target_duration_takes_the_default() -> None:
    assert parse_media("#EXTM3U\nseg.ts\n", BASE_URL).target_seconds == DEFAULT_TARGET_SECONDS


# --- ICY metadata: zamio.streams.icy ------------------------------------------------

titles = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=60).filter(
    lambda t: "';" not in t and not t.endswith("'") and len(t.encode("utf-8")) <= 200)


@st.composite
def icy_streams(draw: st.DrawFn) -> tuple[int, bytes, bytes, str | None, list[int]]:
    """(metaint, body, audio, last title, read sizes): audio interleaved with metadata blocks as servers send it."""
    metaint = draw(st.integers(1, 600))
    audio = draw(st.binary(min_size=0, max_size=2500))
    body, title = bytearray(), None
    for start in range(0, len(audio), metaint):
        chunk = audio[start:start + metaint]
        body += chunk
        if len(chunk) < metaint:
            break
        said = draw(st.one_of(st.none(), titles))
        text = b""
        if said is not None:
            extra = draw(st.sampled_from(["", "StreamUrl='http://x/';"]))
            text = f"StreamTitle='{said}';{extra}".encode(draw(st.sampled_from(["utf-8", "latin-1"])), "replace")
            try:  # the title as sent: UTF-8, else Latin-1 (servers never say which)
                sent = text.decode("utf-8")
            except UnicodeDecodeError:
                sent = text.decode("latin-1")
            title = sent[len("StreamTitle='"):].split("';")[0].strip()
        units = -(-len(text) // METADATA_UNIT_BYTES)
        body += bytes([units]) + text.ljust(units * METADATA_UNIT_BYTES, b"\x00")
    cuts = draw(st.lists(st.integers(1, 700), max_size=20))
    return metaint, bytes(body), audio, title, cuts


@fuzz_settings(100)
@given(icy_streams())
def test_icy_metadata_is_taken_out_and_the_last_title_kept(made: tuple) -> None:
    metaint, body, audio, title, cuts = made
    demuxer, out, position = IcyDemuxer(metaint, "http://radio.example/live"), bytearray(), 0
    with within(BOUND_SECONDS, "separating ICY metadata"):
        for cut in [*cuts, len(body)]:
            out += demuxer.feed(body[position:position + cut])
            position += cut
    assert bytes(out) == audio
    assert demuxer.title == title
    tally("icy metadata", LOADED, loaded=1)


@fuzz_settings(100)
@given(metaint=st.one_of(st.integers(1, 64), st.integers(1, 1 << 20)), body=st.binary(max_size=3000),
       cuts=st.lists(st.integers(1, 500), max_size=10),
       header=st.one_of(st.none(), cell_text, st.integers(-5, 1 << 22).map(str), st.just("1" * 5000)))
def test_icy_of_any_bytes_gives_audio_or_refuses_the_stream(metaint: int, body: bytes, cuts: list[int],
                                                            header: str | None) -> None:
    with within(BOUND_SECONDS, "reading icy-metaint"):
        try:
            parsed = parse_metaint(header)
        except StreamTooLarge as error:
            assert "icy-metaint" in str(error)
        else:
            assert parsed is None or 0 < parsed <= 1 << 20
    demuxer, out, position = IcyDemuxer(metaint, "http://radio.example/live"), bytearray(), 0
    try:
        with within(BOUND_SECONDS, "separating ICY metadata"):
            for cut in [*cuts, len(body)]:
                out += demuxer.feed(body[position:position + cut])
                position += cut
    except StreamTooLarge as error:
        assert "http://radio.example/live" in str(error) and error.reason == "icy_metadata_abuse"
        tally("icy metadata", FILE_REFUSED)
        return
    assert len(out) <= len(body) and bytes(out) == body[:min(metaint, len(body))] + bytes(out)[metaint:]
    assert demuxer.title is None or isinstance(demuxer.title, str)
    tally("icy metadata", LOADED, loaded=1)


# --- snippet side-cars: zamio.scanning.snippets.read_sidecar ------------------------

ref_text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30).filter(
    lambda t: t.strip() == t and t)


@st.composite
def sidecars(draw: st.DrawFn) -> tuple[bytes, tuple[str, str, datetime, str | None]]:
    """A side-car as devices write it (any key order, extra keys, a title or none, indented or not, escaped or
    not, a BOM) and its station_ref, chunk_id, start and title as read (stripped; blank is none)."""
    station_ref, chunk_id = draw(ref_text), draw(ref_text.filter(lambda t: len(t) <= MAX_CHUNK_ID_CHARS))
    moment = draw(st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2026, 5, 17)))
    zone = timezone(timedelta(minutes=draw(st.integers(-12 * 60, 14 * 60))))
    started = moment.replace(tzinfo=zone)
    fields = {"station_ref": station_ref, "chunk_id": chunk_id, "started_at": started.isoformat()}
    title = draw(st.one_of(st.none(), titles))
    if title is not None or draw(st.booleans()):
        fields["title"] = title  # a null title is as good as none
    fields.update(draw(st.dictionaries(st.sampled_from(["device", "gain", "notes"]),
                                       st.one_of(st.integers(), any_text, st.none(), st.lists(st.booleans())),
                                       max_size=2)))
    items = draw(st.permutations(list(fields.items())))
    text = json.dumps(dict(items), ensure_ascii=draw(st.booleans()), indent=draw(st.sampled_from([None, 2, "\t"])))
    data = (b"\xef\xbb\xbf" if draw(st.booleans()) else b"") + text.encode("utf-8")
    return data, (station_ref, chunk_id, started, (title or "").strip() or None)


@fuzz_settings(100)
@given(sidecars())
def test_a_side_car_reads_as_written(tmp_path_factory: pytest.TempPathFactory, made: tuple) -> None:
    data, (station_ref, chunk_id, started, title) = made
    path = tmp_path_factory.mktemp("inbox") / "ab12.mp3.json"
    path.write_bytes(data)
    with within(BOUND_SECONDS, "reading a side-car"):
        got = read_sidecar(path)
    assert (got.station_ref, got.chunk_id, got.started_at, got.title) == (station_ref, chunk_id, started, title)
    assert got.started_at.tzinfo == UTC
    tally("side-car json", LOADED, loaded=1)


sidecar_mutations = st.sampled_from([
    b"", b"{", b"[]", b"null", b'"joy"', b"\xff\xfe{}", b"[" * 40_000 + b"]" * 40_000, b'{"a": ' + b"1" * 5000 + b"}",
    b'{"station_ref": "joy", "station_ref": "peace", "chunk_id": "c1", "started_at": "2026-05-18T14:59:20Z"}',
    b'{"station_ref": "jo\\u0000y", "chunk_id": "c1", "started_at": "2026-05-18T14:59:20Z"}',
    b'{"station_ref": "joy", "chunk_id": "\\ud800", "started_at": "2026-05-18T14:59:20Z"}',
    b'{"station_ref": "joy", "chunk_id": "c1", "started_at": "2026-05-18T14:59:20"}',
    b'{"station_ref": "joy", "chunk_id": "c1", "started_at": "0001-01-01T00:00:00+01:00"}',
    b'{"station_ref": "joy", "chunk_id": "c1", "started_at": 1747580360}',
    b'{"station_ref": ["joy"], "chunk_id": "c1", "started_at": "2026-05-18T14:59:20Z"}',
    b'{"station_ref": "joy", "chunk_id": "c1", "started_at": "2026-05-18T14:59:20Z", "x": NaN}',
    b'{"station_ref": "joy", "chunk_id": "' + b"c" * 300 + b'", "started_at": "2026-05-18T14:59:20Z"}',
    b'{"station_ref": "joy", "chunk_id": "c1", "started_at": "2026-05-18T14:59:20Z"}\x00',
    b'{"station_ref": "joy", "chunk_id": "c1", "started_at": "2026-05-18T14:59:20Z", "title": ["Ama"]}',
    b'{"station_ref": "joy", "chunk_id": "c1", "started_at": "2026-05-18T14:59:20Z", "title": "A\\u0000"}',
    b'{"station_ref": "joy", "chunk_id": "c1", "started_at": "2026-05-18T14:59:20Z", "title": "' + b"t" * 5000 + b'"}',
])


@fuzz_settings(100)
@given(data=st.one_of(sidecar_mutations, st.binary(max_size=200), any_text.map(str.encode),
                      sidecars().map(lambda m: m[0][:-1]), sidecars().map(lambda m: m[0].replace(b'"', b"", 1))))
def test_a_side_car_of_any_bytes_is_read_or_refused_naming_it(tmp_path_factory: pytest.TempPathFactory,
                                                             data: bytes) -> None:
    path = tmp_path_factory.mktemp("inbox") / "ab12.mp3.json"
    path.write_bytes(data)
    try:
        with within(BOUND_SECONDS, "reading a side-car"):
            got = read_sidecar(path)
    except BadSnippet as error:
        assert error.reason == "bad_sidecar" and "ab12.mp3.json" in str(error)
        tally("side-car json", FILE_REFUSED)
        return
    for value in (got.station_ref, got.chunk_id):
        assert value and value == value.strip() and "\x00" not in value
        value.encode("utf-8")  # no lone surrogate: every database and file name can hold it
    assert len(got.chunk_id) <= MAX_CHUNK_ID_CHARS and got.started_at.tzinfo == UTC
    if got.title is not None:
        assert got.title == got.title.strip() and "\x00" not in got.title and len(got.title) <= MAX_TITLE_CHARS
        got.title.encode("utf-8")
    tally("side-car json", LOADED, loaded=1)
