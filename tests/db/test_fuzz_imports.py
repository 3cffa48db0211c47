"""Fuzzing every CSV import end to end: generated files through the import functions the scripts call.

Each reader of ``bin/import-catalog`` (tracks, artists, stations, contributors, societies, agreements,
repertoire, rate cards, exchange rates, licence fees, the domestic commission, withholding tax rates,
payees) and ``bin/import-playlogs`` gets files built from generated rows, most of them valid and some
mutated (a bad number, date, code, identifier, URL or mobile number, a NUL character, an empty
required field, a payment method without its details, a key given on an earlier line, a missing column),
written the ways spreadsheets write them (a BOM or not, CRLF or LF, quoted or not, columns in any
order, an unread column, blank lines).  Each file is imported through
``zamio.catalog.imports.import_catalog`` or ``zamio.playlogs.imports.import_playlogs``, the functions
the scripts run, into a copy of a real SQLite database migrated by ``bin/migrate`` and seeded by
``bin/import-catalog``.  The expected values are worked out here from the generated ones.

The property: the rows stored are exactly the valid lines, value for value; every mutated line is
reported with its line number and a reason; a file that loads whole or not at all (the money
files, contributors) is refused whole when one line is bad, and then, like any file refused whole,
leaves the database exactly as it was.  Never another exception, never a hang.
"""

from __future__ import annotations

import csv
import functools
import io
import re
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Connection, select

from tests.fuzz import FILE_REFUSED, LOADED, ROWS_REFUSED, fuzz_settings, tally, within
from tests.support import Project, migrated_sqlite_url
from zamio.catalog.imports import MONEY_FILES, import_catalog
from zamio.db.engine import open_engine, transaction
from zamio.db.tables import (
    artists,
    contributors,
    domestic_commission_rates,
    exchange_rates,
    partner_repertoire,
    partner_societies,
    payees,
    play_logs,
    publishers,
    rate_cards,
    reciprocal_agreements,
    society_admin_fees,
    station_licence_fees,
    stations,
    stream_links,
    tracks,
    withholding_tax_rates,
)
from zamio.files.csvread import slug
from zamio.playlogs.imports import import_playlogs
from zamio.runtime.errors import DataError
from zamio.values.money import CURRENCY_EXPONENTS

BOUND_SECONDS = 60.0  # an import of a few rows takes a fraction of a second
EXAMPLES = 12  # per reader in CI; ZAMIO_FUZZ_EXAMPLES for a deep run
LINE_BREAK = re.compile(r"\r\n|\r|\n")
SINCE_ALWAYS = date(1900, 1, 1)

SEED = {
    "societies": "code,name,short_name,currency\n901,Sika Rights,SIKA,GHS\n902,Nsoromma Rights,NSO,USD\n",
    "stations": ("station_ref,name,city,region,station_class,stream_url\n"
                 "joy,Joy FM,Accra,Greater Accra,class_a,http://stream.example/joy\n"
                 "peace,Peace FM,Accra,Greater Accra,class_b,\n"),
    "tracks": ("track_ref,title,artist,audio_path,isrc,category\n"
               "GH-001,Odo,Ama Seed,odo.wav,GHA122400001,music\nGH-002,Sika,Kofi Seed,sika.wav,,jingle\n"),
}
SEED_TRACKS = {"GH-001": ("Odo", "GHA122400001"), "GH-002": ("Sika", None)}
SEED_STATIONS = ("joy", "peace")
SEED_SOCIETIES = ("901", "902")
CURRENCIES = sorted(CURRENCY_EXPONENTS)
CLASS_SPELLINGS = {"class_a": ["class_a", "Class A", "CLASS-A", "A", "a"], "class_b": ["class_b", "B", "class b"],
                   "class_c": ["Class-C", "c"], "online": ["online", "Online"], "community": ["COMMUNITY"]}

# --- the database each example starts from ---------------------------------------


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database migrated by ``bin/migrate`` (the test template) holding two societies, two
    stations and two tracks loaded by ``bin/import-catalog``; each example imports into a copy."""
    folder = tmp_path_factory.mktemp("seed")
    url = migrated_sqlite_url(folder / "seed.db")
    names = []
    for name, text in SEED.items():
        (folder / f"{name}.csv").write_text(text, encoding="utf-8")
        names += [f"--{name}", str(folder / f"{name}.csv")]
    result = Project(url, folder).script("import-catalog", *names)
    assert result.returncode == 0, result.stderr
    conn = sqlite3.connect(folder / "seed.db")
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return folder / "seed.db"


def dump(path: Path) -> list[str]:
    """Every table's rows, as SQL: equal dumps are equal databases."""
    conn = sqlite3.connect(path)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


# --- generated lines ----------------------------------------------------------------


@dataclass
class Line:
    """One generated row: its cells by column, and what it must be stored as (None: it must be refused)."""

    cells: dict[str, str]
    stored: tuple | None
    repeats: int | None = None  # the index of the earlier row whose key this one gives again


@dataclass(frozen=True)
class Reader:
    """How to generate one kind of file and read back what it stored."""

    name: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    row: Callable[[st.DrawFn, int], Line]  # a valid row; the index makes its key unique in the file
    bad: tuple[dict[str, str], ...]  # cells that make any row refused
    stored: Callable[[Connection], set[tuple]]
    whole: bool = field(default=False)  # loads whole or not at all
    #: A line repeating an earlier one's key is refused naming it; play logs instead take an airing sent
    #: twice as known already (stored once), as they take a file imported again.
    repeats_refused: bool = field(default=True)

    @property
    def columns(self) -> tuple[str, ...]:
        return self.required + self.optional


free_text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=16)
some_text = free_text.filter(lambda t: bool(t.strip()))
words = st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,7}( [A-Za-z0-9]{1,8}){0,2}", fullmatch=True)
spacing = st.sampled_from(["", "", " ", "\t"])


an_address = st.from_regex(r"[a-z0-9.+]{1,8}@[a-z0-9]{1,8}\.[a-z]{2,4}", fullmatch=True)
#: How people write yes and no in a weekly_summary cell, and what each means; empty: yes (a new row).
YES_NO = {"yes": True, "Yes": True, "Y": True, "true": True, "1": True, "": True,
          "no": False, "NO": False, "n": False, "False": False, "0": False}


def written_yes_no(draw: st.DrawFn) -> tuple[str, bool]:
    spelled = draw(st.sampled_from(sorted(YES_NO)))
    return (padded(draw, spelled) if spelled else spelled), YES_NO[spelled]


def padded(draw: st.DrawFn, value: str) -> str:
    """``value`` with the spaces people leave around a cell (read stripped)."""
    return draw(spacing) + value + draw(spacing)


def optional(draw: st.DrawFn, strategy: st.SearchStrategy) -> object:
    return draw(st.one_of(st.none(), strategy))


def slug_of(words_text: str) -> str:
    """The reference of a name made of ASCII words: lower-case words joined by hyphens."""
    return "-".join(words_text.lower().split())


def stripped(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None


def written_decimal(draw: st.DrawFn, places: int, whole: int, *, low: int = 0,
                    high: int | None = None) -> tuple[str, Decimal]:
    """A decimal of at most ``places`` places and ``whole`` whole digits in [low, high], written with a point
    or a comma (never a comma before exactly three digits, which may group thousands and is refused)."""
    top = 10 ** whole - 1 if high is None else high
    units = draw(st.integers(low * 10 ** places, top * 10 ** places))
    value = Decimal(units).scaleb(-places)
    text = format(value, "f")
    if "." in text and draw(st.booleans()):
        head, tail = text.split(".")
        if not (len(tail) == 3 and re.fullmatch(r"[1-9][0-9]{0,2}", head)):
            text = f"{head},{tail}"
    return text, value


def written_isrc(draw: st.DrawFn) -> tuple[str, str]:
    isrc = draw(st.from_regex(r"[A-Z]{2}[A-Z0-9]{3}[0-9]{7}", fullmatch=True))
    style = draw(st.sampled_from(["plain", "lower", "hyphens", "label"]))
    text = {"plain": isrc, "lower": isrc.lower(), "hyphens": f"{isrc[:2]}-{isrc[2:5]}-{isrc[5:7]}-{isrc[7:]}",
            "label": f"ISRC {isrc}"}[style]
    return text, isrc


def written_iswc(draw: st.DrawFn) -> tuple[str, str]:
    digits = draw(st.from_regex(r"[0-9]{9}", fullmatch=True))
    total = 1 + sum(i * int(d) for i, d in enumerate(digits, start=1))
    iswc = f"T{digits}{(10 - total % 10) % 10}"
    text = draw(st.sampled_from([iswc, f"T-{digits[:3]}.{digits[3:6]}.{digits[6:]}-{iswc[-1]}"]))
    return text, iswc


def written_ipi(draw: st.DrawFn, i: int) -> tuple[str, str]:
    digits = f"{draw(st.integers(0, 9999)):04d}{i:05d}"  # unique in the file
    total = sum(w * int(d) for w, d in zip(range(10, 1, -1), digits)) % 101
    ipi = f"{digits}{0 if total == 0 else (101 - total) % 100:02d}"
    return draw(st.sampled_from([ipi, ipi.lstrip("0") or "0"])), ipi


def written_class(draw: st.DrawFn) -> tuple[str, str]:
    key = draw(st.sampled_from(sorted(CLASS_SPELLINGS)))
    return draw(st.sampled_from(CLASS_SPELLINGS[key])), key


def any_case(draw: st.DrawFn, word: str) -> str:
    return draw(st.sampled_from([word, word.upper(), word.title()]))


def day(index: int, offset: int = 0) -> date:
    """A day that makes row ``index``'s key unique (rows of one file never share it)."""
    return date(2031, 1, 1) + timedelta(days=index * 7 + offset)  # after every row the migrations seed


# --- tracks ---------------------------------------------------------------------------

CATEGORIES = ("music", "jingle", "ad", "ident")


def track_row(draw: st.DrawFn, i: int) -> Line:
    ref = f"{draw(some_text).strip()}#{i}"
    title, artist = draw(some_text), f"{draw(words)} {i}"
    audio = draw(st.sampled_from(["", "audio/odo-{i}.wav", "/srv/audio/sika {i}.mp3"])).format(i=i)
    isrc = written_isrc(draw) if draw(st.booleans()) else None
    iswc = written_iswc(draw) if draw(st.booleans()) else None
    seconds = written_decimal(draw, 3, 5) if draw(st.booleans()) else None
    publisher = optional(draw, words)
    category = optional(draw, st.sampled_from(CATEGORIES))
    society = draw(st.sampled_from([None, "901", "902", "1"]))  # "1": 001, not a society here
    if society == "1":
        society = None
    cells = dict(track_ref=padded(draw, ref), title=title, artist=padded(draw, artist), audio_path=audio,
                 isrc=isrc[0] if isrc else "", iswc=iswc[0] if iswc else "", album=draw(free_text),
                 duration_seconds=seconds[0] if seconds else "", publisher=publisher or "",
                 category=any_case(draw, category) if category else "", society_code=society or "")
    stored = (ref, title.strip(), slug_of(artist), artist, "{folder}/" + audio if audio and audio[0] != "/" else
              audio or None, isrc[1] if isrc else None, iswc[1] if iswc else None, stripped(cells["album"]),
              float(seconds[1]) if seconds else None, slug_of(publisher) if publisher else None,
              category or "music", society)
    return Line(cells, stored)


def stored_tracks(conn: Connection) -> set[tuple]:
    t = tracks.c
    query = (select(t.track_ref, t.title, artists.c.artist_ref, artists.c.name, t.audio_path, t.isrc, t.iswc, t.album,
                    t.duration_seconds, publishers.c.publisher_ref, t.category, partner_societies.c.code)
             .join(artists, artists.c.id == t.artist_id).outerjoin(publishers, publishers.c.id == t.publisher_id)
             .outerjoin(partner_societies, partner_societies.c.id == t.society_id)
             .where(t.track_ref.not_in(list(SEED_TRACKS))))
    return {tuple(row) for row in conn.execute(query)}


TRACKS = Reader(
    "tracks", ("track_ref", "title", "artist", "audio_path"),
    ("isrc", "iswc", "album", "duration_seconds", "publisher", "category", "society_code"), track_row,
    ({"track_ref": " "}, {"title": ""}, {"artist": "!!!"}, {"artist": "日本"}, {"isrc": "GHA12240000"},
     {"isrc": "12A122400001"}, {"iswc": "T-034.524.680-2"}, {"duration_seconds": "1,234"},
     {"duration_seconds": "-1"}, {"duration_seconds": "1.2345"}, {"duration_seconds": "1e3"},
     {"duration_seconds": "NaN"}, {"duration_seconds": "١٢"}, {"category": "song"}, {"society_code": "999"},
     {"society_code": "١٢٣"}, {"society_code": "9999"}),
    stored_tracks)

# --- stations -------------------------------------------------------------------------

TIMEZONES = ("Africa/Accra", "Europe/London", "UTC", "America/Argentina/Buenos_Aires")


def station_url(draw: st.DrawFn, i: int, n: int) -> str:
    host = draw(st.sampled_from(["stream.example", "rádio.example", "10.1.2.3:8000", "[2001:db8::7]:80"]))
    path = draw(st.sampled_from(["live", "ɛkyɛ/stream.mp3", "listen.pls?sid=1", "a%20b"]))
    return f"{draw(st.sampled_from(['http', 'https', 'HTTP']))}://{host}/{path}/{i}-{n}"


def station_row(draw: st.DrawFn, i: int) -> Line:
    ref = f"{draw(some_text).strip()}#{i}"
    spelled, key = written_class(draw)
    primary = draw(st.booleans())
    urls = [station_url(draw, i, 0)] if primary else []
    if primary and draw(st.booleans()):
        urls.append(station_url(draw, i, 1))
    zone = optional(draw, st.sampled_from(TIMEZONES))
    email = optional(draw, an_address)
    spelled_summary, subscribed = written_yes_no(draw)
    cells = dict(station_ref=padded(draw, ref), name=draw(some_text), city=draw(free_text), region=draw(free_text),
                 station_class=padded(draw, spelled), stream_url=urls[0] if urls else "",
                 backup_stream_url=urls[1] if len(urls) > 1 else "", timezone=zone or "", contact_email=email or "",
                 weekly_summary=spelled_summary)
    links = tuple((url, priority) for priority, url in enumerate(urls))
    stored = (ref, cells["name"].strip(), stripped(cells["city"]), stripped(cells["region"]), key,
              zone or "Africa/Accra", email, subscribed, links)
    return Line(cells, stored)


def stored_stations(conn: Connection) -> set[tuple]:
    s = stations.c
    found = set()
    for row in conn.execute(select(s.id, s.station_ref, s.name, s.city, s.region, s.station_class, s.timezone,
                                   s.contact_email, s.weekly_summary).where(s.station_ref.not_in(SEED_STATIONS))):
        links = conn.execute(select(stream_links.c.url, stream_links.c.priority)
                             .where(stream_links.c.station_id == row.id, stream_links.c.active)
                             .order_by(stream_links.c.priority)).all()
        found.add((*row[1:-1], bool(row[-1]), tuple(tuple(link) for link in links)))
    return found


STATIONS = Reader(
    "stations", ("station_ref", "name", "city", "region", "station_class", "stream_url"),
    ("backup_stream_url", "timezone", "contact_email", "weekly_summary"), station_row,
    ({"station_ref": ""}, {"name": " "}, {"station_class": "class_d"}, {"station_class": ""},
     {"stream_url": "ftp://stream.example/live"}, {"stream_url": "http://"}, {"stream_url": "stream.example/live"},
     {"stream_url": "http://stream.example:99999/"}, {"stream_url": "http://[::1/live"},
     {"stream_url": "", "backup_stream_url": "http://stream.example/b"}, {"timezone": "Mars/Base"},
     {"timezone": "Africa/"}, {"timezone": "../etc/passwd"}, {"contact_email": "not-an-email"},
     {"weekly_summary": "maybe"}, {"weekly_summary": "oui"}),
    stored_stations)

# --- artists ------------------------------------------------------------------------------

SEED_ARTISTS = ("ama-seed", "kofi-seed")


def artist_row(draw: st.DrawFn, i: int) -> Line:
    name = f"{draw(words)} {i}"  # the index keeps its reference (the slug) apart from every other line's
    email = optional(draw, an_address)
    spelled, subscribed = written_yes_no(draw)
    cells = dict(artist=padded(draw, name), email=email or "", weekly_summary=spelled)
    return Line(cells, (slug(name), name, email, subscribed))


def stored_artists(conn: Connection) -> set[tuple]:
    a = artists.c
    return {(row[0], row[1], row[2], bool(row[3])) for row in conn.execute(
        select(a.artist_ref, a.name, a.email, a.weekly_summary).where(a.artist_ref.not_in(SEED_ARTISTS)))}


ARTISTS = Reader(
    "artists", ("artist",), ("email", "weekly_summary"), artist_row,
    ({"artist": "", "weekly_summary": "yes"}, {"artist": "!!!"}, {"email": "not-an-email"}, {"email": "a@b"},
     {"weekly_summary": "maybe"}, {"weekly_summary": "2"}),
    stored_artists)

# --- contributors (whole or nothing) ----------------------------------------------------

ROLES = ("composer", "lyricist", "arranger", "publisher")


def contributor_row(draw: st.DrawFn, i: int) -> Line:
    track = draw(st.sampled_from(sorted(SEED_TRACKS)))
    name = f"{draw(words)} {i}"
    ipi = (written_ipi(draw, i) if draw(st.booleans()) else None)
    role = draw(st.sampled_from(ROLES))
    share = written_decimal(draw, 6, 3, high=100)
    publisher = optional(draw, words)
    email = optional(draw, st.from_regex(r"[a-z]{1,8}@[a-z]{1,8}\.example", fullmatch=True))
    cells = dict(track_ref=padded(draw, track), name=padded(draw, name), role=any_case(draw, role),
                 share_percent=share[0], publisher=publisher or "", email=email or "", ipi=ipi[0] if ipi else "")
    stored = (track, ipi[1] if ipi else slug_of(name), name, role, share[1],
              slug_of(publisher) if publisher else None, email, ipi[1] if ipi else None)
    return Line(cells, stored)


def stored_contributors(conn: Connection) -> set[tuple]:
    c = contributors.c
    query = (select(tracks.c.track_ref, c.party_ref, c.name, c.role, c.share_percent, publishers.c.publisher_ref,
                    c.email, c.ipi).join(tracks, tracks.c.id == c.track_id)
             .outerjoin(publishers, publishers.c.id == c.publisher_id))
    return {tuple(row) for row in conn.execute(query)}


CONTRIBUTORS = Reader(
    "contributors", ("track_ref", "name", "role", "share_percent"), ("publisher", "email", "ipi"), contributor_row,
    ({"track_ref": "GH-999"}, {"name": "?!", "ipi": ""}, {"role": ""}, {"share_percent": "101"},
     {"share_percent": "-1"}, {"share_percent": "1.1234567"}, {"share_percent": "50%"}, {"share_percent": ""},
     {"ipi": "123456789012"}, {"ipi": "00014107339"}, {"ipi": "¹²³⁴⁵⁶⁷⁸⁹¹²"}, {"email": "x@"}),
    stored_contributors, whole=True)

# --- societies ------------------------------------------------------------------------


def society_row(draw: st.DrawFn, i: int) -> Line:
    code = 910 + i  # no society the migrations seed
    written_code = draw(st.sampled_from([f"{code}", f" {code} "]))
    short = f"S{i}{draw(st.from_regex(r'[A-Z]{0,4}', fullmatch=True))}"
    currency = draw(st.sampled_from(CURRENCIES))
    fee = (written_decimal(draw, 6, 3, high=100) if draw(st.booleans()) else None)
    since = draw(st.dates(date(1990, 1, 1), date(2030, 12, 31))) if fee and draw(st.booleans()) else None
    country = optional(draw, st.from_regex(r"[A-Za-z]{2}", fullmatch=True))
    email = optional(draw, st.from_regex(r"[a-z]{1,8}@[a-z]{1,8}\.example", fullmatch=True))
    cells = dict(code=written_code, name=draw(some_text), short_name=any_case(draw, short),
                 currency=any_case(draw, currency), country=country or "",
                 default_admin_fee_percent=fee[0] if fee else "", email=email or "",
                 fee_effective_from=since.isoformat() if since else "")
    percent = fee[1] if fee else Decimal(15)
    stored = (f"{code}", cells["name"].strip(), short.upper(), country.upper() if country else None, currency,
              percent, email, since or SINCE_ALWAYS, percent)
    return Line(cells, stored)


def stored_societies(conn: Connection) -> set[tuple]:
    p, f = partner_societies.c, society_admin_fees.c
    query = (select(p.code, p.name, p.short_name, p.country, p.currency, p.default_admin_fee_percent, p.email,
                    f.effective_from, f.admin_fee_percent).join(society_admin_fees, f.society_id == p.id)
             .where(p.code.not_in(SEED_SOCIETIES)))
    return {tuple(row) for row in conn.execute(query)}


SOCIETIES = Reader(
    "societies", ("code", "name", "short_name", "currency"),
    ("country", "default_admin_fee_percent", "email", "fee_effective_from"), society_row,
    ({"code": "12a"}, {"code": "1234"}, {"code": "١٢٣"}, {"name": ""}, {"short_name": " "}, {"currency": "XXX"},
     {"currency": ""}, {"default_admin_fee_percent": "101"}, {"default_admin_fee_percent": "1 5"},
     {"default_admin_fee_percent": "", "fee_effective_from": "2026-01-01"}, {"fee_effective_from": "2026-02-30"},
     {"email": "nobody"}),
    stored_societies, whole=True)

# --- agreements -----------------------------------------------------------------------

STATUSES = ("active", "draft", "suspended", "terminated")
FREQUENCIES = ("quarterly", "semiannual", "annual", "custom")


def agreement_row(draw: st.DrawFn, i: int) -> Line:
    code = draw(st.sampled_from(SEED_SOCIETIES))
    start = day(i)
    end = optional(draw, st.integers(1, 4000).map(lambda n: start + timedelta(days=n)))
    territory = optional(draw, st.from_regex(r"[A-Za-z]{2}", fullmatch=True))
    fee = (written_decimal(draw, 6, 3, high=100) if draw(st.booleans()) else None)
    status, frequency = draw(st.sampled_from(STATUSES)), optional(draw, st.sampled_from(FREQUENCIES))
    cells = dict(society_code=padded(draw, code), effective_from=start.isoformat(), status=any_case(draw, status),
                 territory=territory or "", admin_fee_percent=fee[0] if fee else "",
                 expires_on=end.isoformat() if end else "",
                 reporting_frequency=any_case(draw, frequency) if frequency else "")
    stored = (code, territory.upper() if territory else "GH", fee[1] if fee else None, start, end, status,
              frequency or "quarterly")
    return Line(cells, stored)


def stored_agreements(conn: Connection) -> set[tuple]:
    a = reciprocal_agreements.c
    query = select(partner_societies.c.code, a.territory, a.admin_fee_percent, a.effective_from, a.expires_on,
                   a.status, a.reporting_frequency).join(partner_societies, partner_societies.c.id == a.society_id)
    return {tuple(row) for row in conn.execute(query)}


AGREEMENTS = Reader(
    "agreements", ("society_code", "effective_from", "status"),
    ("territory", "admin_fee_percent", "expires_on", "reporting_frequency"), agreement_row,
    ({"society_code": "999"}, {"society_code": ""}, {"status": "pending"}, {"effective_from": ""},
     {"effective_from": "01/02/2026"}, {"expires_on": "2030-12-31"}, {"reporting_frequency": "weekly"},
     {"admin_fee_percent": "1,234"}, {"admin_fee_percent": "-0.5"}),
    stored_agreements, whole=True)

# --- repertoire -----------------------------------------------------------------------


def repertoire_row(draw: st.DrawFn, i: int) -> Line:
    code = draw(st.sampled_from(SEED_SOCIETIES))
    written, isrc = written_isrc(draw)
    isrc = f"{isrc[:5]}{i:07d}"  # unique in the file
    written = {"plain": isrc, "lower": isrc.lower()}[draw(st.sampled_from(["plain", "lower"]))]
    iswc = (written_iswc(draw) if draw(st.booleans()) else None)
    share = (written_decimal(draw, 6, 3, high=100) if draw(st.booleans()) else None)
    cells = dict(society_code=padded(draw, code), isrc=padded(draw, written), iswc=iswc[0] if iswc else "",
                 title=draw(free_text), artist=draw(free_text), share_percent=share[0] if share else "")
    stored = (code, isrc, iswc[1] if iswc else None, stripped(cells["title"]), stripped(cells["artist"]),
              share[1] if share else None)
    return Line(cells, stored)


def stored_repertoire(conn: Connection) -> set[tuple]:
    r = partner_repertoire.c
    query = select(partner_societies.c.code, r.isrc, r.iswc, r.title, r.artist, r.share_percent).join(
        partner_societies, partner_societies.c.id == r.society_id)
    return {tuple(row) for row in conn.execute(query)}


REPERTOIRE = Reader(
    "repertoire", ("society_code", "isrc"), ("iswc", "title", "artist", "share_percent"), repertoire_row,
    ({"society_code": "999"}, {"isrc": ""}, {"isrc": "GH-A12-24"}, {"iswc": "T0345246802"},
     {"share_percent": "100.0000001"}, {"share_percent": "abc"}),
    stored_repertoire, whole=True)

# --- rate cards -----------------------------------------------------------------------

PERIODS = ("prime", "regular", "off_peak")


def rate_card_row(draw: st.DrawFn, i: int) -> Line:
    territory = draw(st.from_regex(r"[A-Za-z]{2}", fullmatch=True))
    spelled, key = written_class(draw)
    period = draw(st.sampled_from(PERIODS))
    start = day(i)
    end = optional(draw, st.integers(1, 4000).map(lambda n: start + timedelta(days=n)))
    rate, multiplier = written_decimal(draw, 10, 14), written_decimal(draw, 6, 6)
    currency = draw(st.sampled_from(CURRENCIES))
    cells = dict(territory=padded(draw, territory), station_class=spelled, period=any_case(draw, period),
                 rate_per_second=rate[0], multiplier=multiplier[0], currency=any_case(draw, currency),
                 effective_from=start.isoformat(), effective_to=end.isoformat() if end else "")
    stored = (territory.upper(), key, period, rate[1], multiplier[1], currency, start, end)
    return Line(cells, stored)


def stored_rate_cards(conn: Connection) -> set[tuple]:
    r = rate_cards.c
    query = select(r.territory, r.station_class, r.period, r.rate_per_second, r.multiplier, r.currency,
                   r.effective_from, r.effective_to)
    return {tuple(row) for row in conn.execute(query)}


RATE_CARDS = Reader(
    "rate_cards", ("territory", "station_class", "period", "rate_per_second", "multiplier", "currency",
                   "effective_from"), ("effective_to",), rate_card_row,
    ({"territory": ""}, {"station_class": "class_d"}, {"period": "night"}, {"rate_per_second": "-0.1"},
     {"rate_per_second": "0.00000000001"}, {"rate_per_second": "1,234"}, {"rate_per_second": ""},
     {"multiplier": "1234567"}, {"multiplier": "1.5.1"}, {"currency": "XXX"}, {"effective_to": "2030-06-01"},
     {"effective_from": "2026-13-01"}),
    stored_rate_cards, whole=True)

# --- exchange rates -------------------------------------------------------------------


def exchange_rate_row(draw: st.DrawFn, i: int) -> Line:
    source, target = draw(st.sampled_from(CURRENCIES)), draw(st.sampled_from(CURRENCIES))
    rate = written_decimal(draw, 10, 14)
    if rate[1] == 0:
        rate = ("1", Decimal(1))
    cells = dict(from_currency=any_case(draw, source), to_currency=padded(draw, target), rate=rate[0],
                 effective_from=day(i).isoformat(), source=draw(free_text))
    return Line(cells, (source, target, rate[1], day(i), stripped(cells["source"])))


def stored_exchange_rates(conn: Connection) -> set[tuple]:
    e = exchange_rates.c
    return {tuple(row) for row in conn.execute(select(e.from_currency, e.to_currency, e.rate, e.effective_from,
                                                      e.source))}


EXCHANGE_RATES = Reader(
    "exchange_rates", ("from_currency", "to_currency", "rate", "effective_from"), ("source",), exchange_rate_row,
    ({"rate": "0"}, {"rate": "0,0"}, {"rate": "-1"}, {"rate": "1e-3"}, {"from_currency": "XXX"},
     {"to_currency": ""}, {"effective_from": "2026-02-29"}),
    stored_exchange_rates, whole=True)

# --- licence fees ---------------------------------------------------------------------


def licence_fee_row(draw: st.DrawFn, i: int) -> Line:
    station = draw(st.sampled_from(SEED_STATIONS))
    start = day(i)
    end = start + timedelta(days=draw(st.integers(0, 400)))
    amount = written_decimal(draw, 4, 14)
    currency = draw(st.sampled_from(CURRENCIES))
    cells = dict(station_ref=padded(draw, station), period_from=start.isoformat(), period_to=end.isoformat(),
                 amount=amount[0], currency=any_case(draw, currency))
    return Line(cells, (station, start, end, int(amount[1].scaleb(4)), currency))


def stored_licence_fees(conn: Connection) -> set[tuple]:
    f = station_licence_fees.c
    query = select(stations.c.station_ref, f.period_from, f.period_to, f.amount, f.currency).join(
        stations, stations.c.id == f.station_id)
    return {tuple(row) for row in conn.execute(query)}


LICENCE_FEES = Reader(
    "licence_fees", ("station_ref", "period_from", "period_to", "amount", "currency"), (), licence_fee_row,
    ({"station_ref": "nowhere"}, {"period_to": "2030-01-01"}, {"amount": "1.23456"}, {"amount": "-5"},
     {"amount": "1 000"}, {"currency": "cedi"}, {"period_from": "tomorrow"}),
    stored_licence_fees, whole=True)

# --- the domestic commission --------------------------------------------------------


def territory_cell(draw: st.DrawFn) -> tuple[str, str]:
    """A territory cell as written (two letters in any case, padded, or empty) and as stored (GH if empty)."""
    territory = optional(draw, st.from_regex(r"[A-Za-z]{2}", fullmatch=True))
    return (padded(draw, territory), territory.upper()) if territory else ("", "GH")


def commission_rate_row(draw: st.DrawFn, i: int) -> Line:
    written, territory = territory_cell(draw)
    percent = written_decimal(draw, 6, 3, high=100)
    cells = dict(territory=written, commission_percent=percent[0], effective_from=day(i).isoformat())
    return Line(cells, (territory, percent[1], day(i)))


def stored_commission_rates(conn: Connection) -> set[tuple]:
    c = domestic_commission_rates.c
    return {tuple(row) for row in conn.execute(select(c.territory, c.commission_percent, c.effective_from))}


COMMISSION_RATES = Reader(
    "commission_rates", ("commission_percent", "effective_from"), ("territory",), commission_rate_row,
    ({"commission_percent": ""}, {"commission_percent": "100.000001"}, {"commission_percent": "-1"},
     {"commission_percent": "1.1234567"}, {"commission_percent": "10%"}, {"commission_percent": "1,234"},
     {"commission_percent": "NaN"}, {"commission_percent": "١٠"}, {"commission_percent": "1e1"},
     {"effective_from": ""}, {"effective_from": "2031-02-30"}, {"effective_from": "01/02/2031"},
     {"effective_from": "20310101"}, {"effective_from": "2031-W01-1"}),
    stored_commission_rates, whole=True)

# --- withholding tax rates ------------------------------------------------------------

TAXED = ("contributor", "artist", "publisher")
RESIDENCIES = ("resident", "non_resident")


def withholding_rate_row(draw: st.DrawFn, i: int) -> Line:
    written, territory = territory_cell(draw)
    kind, residency = draw(st.sampled_from(TAXED)), draw(st.sampled_from(RESIDENCIES))
    percent = written_decimal(draw, 6, 3, high=100)
    authority = optional(draw, words)
    cells = dict(territory=written, recipient_type=padded(draw, any_case(draw, kind)),
                 residency=any_case(draw, residency), tax_percent=percent[0], effective_from=day(i).isoformat(),
                 authority=padded(draw, authority) if authority else "")
    return Line(cells, (territory, kind, residency, percent[1], authority.upper() if authority else "GRA", day(i)))


def stored_withholding_rates(conn: Connection) -> set[tuple]:
    w = withholding_tax_rates.c
    return {tuple(row) for row in conn.execute(select(w.territory, w.recipient_type, w.residency, w.tax_percent,
                                                      w.authority, w.effective_from))}


WITHHOLDING_RATES = Reader(
    "withholding_rates", ("recipient_type", "residency", "tax_percent", "effective_from"), ("territory", "authority"),
    withholding_rate_row,
    ({"recipient_type": "society"}, {"recipient_type": ""}, {"recipient_type": "label"}, {"residency": ""},
     {"residency": "non-resident"}, {"residency": "abroad"}, {"tax_percent": ""}, {"tax_percent": "100.5"},
     {"tax_percent": "-0.5"}, {"tax_percent": "7.5 %"}, {"tax_percent": "0.0000001"},
     {"effective_from": "2031-13-01"}, {"effective_from": "next year"}, {"effective_from": "2031-1-1"}),
    stored_withholding_rates, whole=True)

# --- payees ---------------------------------------------------------------------------

PAYMENT_CELLS = ("bank_name", "account_number", "branch_code", "mobile_money_number", "mobile_money_network")
NO_BANK = {"bank_name": "", "account_number": "", "branch_code": ""}


def written_msisdn(draw: st.DrawFn) -> tuple[str, str]:
    """A mobile number in international form (9 to 15 digits) written as people write it, and as stored."""
    digits = draw(st.from_regex(r"[1-9][0-9]{8,14}", fullmatch=True))
    head, tail = digits[:3], digits[3:]
    text = draw(st.sampled_from([digits, f"+{digits}", f"+{head} {tail[:2]} {tail[2:]}", f"{head}-{tail}",
                                 f"+{head} ({tail[:2]}) {tail[2:]}", f"{head}\t{tail}"]))
    return text, digits


def payee_row(draw: st.DrawFn, i: int) -> Line:
    kinds = ["contributor", "artist", "publisher"] + (["society"] if i < len(SEED_SOCIETIES) else [])
    kind = draw(st.sampled_from(kinds))
    ref = SEED_SOCIETIES[i] if kind == "society" else f"{draw(some_text).strip()}#{i}"  # unique in the file
    residency = optional(draw, st.sampled_from(RESIDENCIES))
    method = optional(draw, st.sampled_from(["bank", "mobile_money"]))
    paid: dict[str, str | None] = dict.fromkeys(PAYMENT_CELLS)
    written: dict[str, str] = dict.fromkeys(PAYMENT_CELLS, "")
    if method == "bank":
        written["bank_name"] = draw(some_text)
        written["account_number"] = padded(draw, draw(st.from_regex(r"[0-9]{6,16}|GH[0-9]{2}[A-Z0-9]{10,20}",
                                                                    fullmatch=True)))
        written["branch_code"] = draw(free_text)
        paid.update(bank_name=written["bank_name"].strip(), account_number=written["account_number"].strip(),
                    branch_code=stripped(written["branch_code"]))
    elif method == "mobile_money":
        written["mobile_money_number"], paid["mobile_money_number"] = written_msisdn(draw)
        written["mobile_money_network"] = draw(some_text)
        paid["mobile_money_network"] = written["mobile_money_network"].strip().upper()
    cells = dict(recipient_type=padded(draw, any_case(draw, kind)), recipient=padded(draw, ref), name=draw(free_text),
                 residency=any_case(draw, residency) if residency else "",
                 payment_method=padded(draw, any_case(draw, method)) if method else "", **written)
    stored = (kind, ref, stripped(cells["name"]), residency or "resident", method, *paid.values())
    return Line(cells, stored)


def stored_payees(conn: Connection) -> set[tuple]:
    p = payees.c
    return {tuple(row) for row in conn.execute(select(p.recipient_type, p.recipient_ref, p.name, p.residency,
                                                      p.payment_method, p.bank_name, p.account_number, p.branch_code,
                                                      p.mobile_money_number, p.mobile_money_network))}


def mobile(number: str) -> dict[str, str]:
    """Cells paying by mobile money to ``number`` on a network, whatever the row said before."""
    return {**NO_BANK, "payment_method": "mobile_money", "mobile_money_number": number, "mobile_money_network": "MTN"}


PAYEES = Reader(
    "payees", ("recipient_type", "recipient"), ("name", "residency", "payment_method", *PAYMENT_CELLS), payee_row,
    ({"recipient_type": ""}, {"recipient_type": "label"}, {"recipient_type": "societies"}, {"recipient": " "},
     {"recipient_type": "society", "recipient": "999"}, {"recipient_type": "Society", "recipient": "0901"},
     {"residency": "abroad"}, {"residency": "non-resident"}, {"payment_method": "cheque"},
     {"payment_method": "", "bank_name": "GCB Bank"}, {"payment_method": "", "mobile_money_network": "MTN"},
     {"payment_method": "bank", "bank_name": ""}, {"payment_method": "bank", "account_number": ""},
     {"payment_method": "mobile_money", "mobile_money_network": ""},
     {**mobile("233241234567"), "branch_code": "GH010"},
     {"payment_method": "bank", "bank_name": "GCB Bank", "account_number": "1234567",
      "mobile_money_number": "233241234567", "mobile_money_network": ""},
     mobile(""), mobile("24123456"), mobile("2332412345678901"), mobile("233-24-ABC-4567"), mobile("++233241234567"),
     mobile("٢٣٣٢٤١٢٣٤٥٦٧"), mobile("２３３２４１２３４５６７"), mobile("233241234567 ext 1")),
    stored_payees, whole=True)

# --- play logs (bin/import-playlogs) --------------------------------------------------


def play_row(draw: st.DrawFn, i: int) -> Line:
    station = draw(st.sampled_from(SEED_STATIONS))
    moment = datetime(2024, 1, 1, tzinfo=UTC) + timedelta(hours=7 * i, seconds=draw(st.integers(0, 3600)))
    zone = timezone(timedelta(minutes=draw(st.sampled_from([0, 60, -300, 330]))))
    started = moment.astimezone(zone).isoformat()
    if started.endswith("+00:00") and draw(st.booleans()):
        started = started.replace("+00:00", "Z")
    seconds = written_decimal(draw, 3, 5, high=6 * 3600)
    track = draw(st.sampled_from([None, *sorted(SEED_TRACKS)]))
    isrc = None if track else written_isrc(draw)
    scale = draw(st.sampled_from([None, "fraction", "score"]))
    confidence = (None if scale is None else written_decimal(draw, 6, 0, high=1) if scale == "fraction"
                  else written_decimal(draw, 4, 3, low=2, high=100))
    source = optional(draw, st.from_regex(r"[a-z]{1,10}", fullmatch=True))
    reference = optional(draw, st.from_regex(r"[A-Za-z0-9-]{1,10}", fullmatch=True).map(lambda r: f"{r}#{i}"))
    title, artist = draw(free_text), draw(free_text)
    cells = dict(station_ref=padded(draw, station), started_at=padded(draw, started), duration_seconds=seconds[0],
                 track_ref=track or "", isrc=isrc[0] if isrc else "", title=title, artist=artist,
                 source=source or "", confidence=confidence[0] if confidence else "", import_ref=reference or "")
    who = source or "imported"
    stored = (station, moment, float(seconds[1]), track, SEED_TRACKS[track][1] if track else isrc[1] if isrc else None,
              SEED_TRACKS[track][0] if track else stripped(title), stripped(artist),
              float(confidence[1]) if confidence else None, f"{who}:{reference}" if reference else who)
    return Line(cells, stored)


def stored_plays(conn: Connection) -> set[tuple]:
    p = play_logs.c
    query = (select(stations.c.station_ref, p.started_at, p.duration_seconds, tracks.c.track_ref, p.isrc, p.title,
                    p.artist, p.confidence_avg, p.import_ref).join(stations, stations.c.id == p.station_id)
             .outerjoin(tracks, tracks.c.id == p.track_id).where(p.source == "imported"))
    return {tuple(row) for row in conn.execute(query)}


PLAYS = Reader(
    "playlogs", ("station_ref", "started_at", "duration_seconds"),
    ("track_ref", "isrc", "title", "artist", "source", "confidence", "import_ref"), play_row,
    ({"station_ref": "nowhere"}, {"started_at": "2024-03-02T10:00:00"}, {"started_at": "yesterday"},
     {"started_at": "1969-12-31T23:00:00Z"}, {"started_at": "9999-12-31T23:59:59+00:00"},
     {"duration_seconds": "-1"}, {"duration_seconds": "21601"}, {"duration_seconds": "1.2345"},
     {"duration_seconds": "1,234"}, {"track_ref": "GH-999"}, {"track_ref": "", "isrc": ""},
     {"track_ref": "", "isrc": "GHA12"}, {"confidence": "101"}, {"confidence": "0.1234567"},
     {"confidence": "50.12345"}),
    stored_plays, repeats_refused=False)

READERS = (TRACKS, ARTISTS, STATIONS, CONTRIBUTORS, SOCIETIES, AGREEMENTS, REPERTOIRE, RATE_CARDS, EXCHANGE_RATES,
           LICENCE_FEES, COMMISSION_RATES, WITHHOLDING_RATES, PAYEES, PLAYS)
assert {r.name for r in READERS if r.whole} == set(MONEY_FILES)

# --- the file --------------------------------------------------------------------------


@dataclass
class Made:
    """A generated file: its bytes, the line each row starts on, the rows, a required column dropped."""

    data: bytes
    lines: list[tuple[int, Line]]
    dropped: str | None


@st.composite
def import_files(draw: st.DrawFn, reader: Reader) -> Made:
    rows: list[Line] = []
    for i in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["valid", "valid", "valid", "bad", "nul", "repeat"]))
        valid = [n for n, row in enumerate(rows) if row.stored is not None]
        if kind == "repeat" and valid:
            earlier = draw(st.sampled_from(valid))
            again = None if reader.repeats_refused else rows[earlier].stored
            rows.append(Line(dict(rows[earlier].cells), again, repeats=earlier))
            continue
        line = reader.row(draw, i)
        if kind == "bad":
            line = Line({**line.cells, **draw(st.sampled_from(reader.bad))}, None)
        elif kind == "nul":
            column = draw(st.sampled_from(reader.columns))
            at = draw(st.integers(0, len(line.cells[column])))
            line = Line({**line.cells, column: line.cells[column][:at] + "\x00" + line.cells[column][at:]}, None)
        rows.append(line)
    header = list(draw(st.permutations([*reader.columns, *draw(st.sampled_from([[], ["notes"]]))])))
    dropped = draw(st.sampled_from(reader.required)) if draw(st.integers(0, 11)) == 0 else None
    if dropped:
        header.remove(dropped)
    terminator = draw(st.sampled_from(["\r\n", "\n"]))
    out = io.StringIO()
    plain = csv.writer(out, lineterminator=terminator, quoting=draw(st.sampled_from([csv.QUOTE_MINIMAL,
                                                                                       csv.QUOTE_ALL])))
    quoted = csv.writer(out, lineterminator=terminator, quoting=csv.QUOTE_ALL)
    plain.writerow([draw(st.sampled_from([name, name.upper(), f" {name}"])) for name in header])
    starts = []
    for row in rows:
        if draw(st.integers(0, 5)) == 0:
            out.write(draw(st.sampled_from(["", ",,", " "])) + terminator)  # a blank line: skipped
        cells = [row.cells.get(name, draw(free_text)) for name in header]
        starts.append(out.tell())
        (quoted if any("\r" in cell for cell in cells) else plain).writerow(cells)
    text = out.getvalue()
    data = (b"\xef\xbb\xbf" if draw(st.booleans()) else b"") + text.encode("utf-8")
    numbers = [len(LINE_BREAK.findall(text[:start])) + 1 for start in starts]
    return Made(data, list(zip(numbers, rows)), dropped)


class Recorded:
    """The Progress of an import: what it counted and each failed item with its reason."""

    def __init__(self) -> None:
        self.done = 0
        self.failures: list[tuple[str, str]] = []

    def ok(self, n: int = 1) -> None:
        self.done += n

    def failed(self, what: str, error: BaseException | str, n: int = 1) -> None:
        self.failures.append((what, str(error)))

    def skipped(self, n: int = 1) -> None:
        pass

    def note(self, text: str) -> None:
        pass

    def should_stop(self) -> bool:
        return False


def run_import(reader: Reader, seeded: Path, folder: Path, made: Made) -> tuple[Recorded, DataError | None, Path]:
    """Import ``made`` into a copy of the seeded database in ``folder``, as the reader's script does."""
    database = folder / "zamio.db"
    shutil.copyfile(seeded, database)
    path = folder / f"{reader.name}.csv"
    path.write_bytes(made.data)
    engine = open_engine(f"sqlite:///{database}")
    progress, refused = Recorded(), None
    try:
        transactions = functools.partial(transaction, engine)
        with within(BOUND_SECONDS, f"importing {reader.name}"):
            if reader.name == "playlogs":
                import_playlogs(transactions, [path], "imported", progress)
            else:
                import_catalog(transactions, [(reader.name, path)], progress)
    except DataError as error:
        refused = error
    finally:
        engine.dispose()
    return progress, refused, database


def stored_rows(reader: Reader, database: Path) -> set[tuple]:
    """The rows of ``reader``'s tables in ``database``, as ``reader.stored`` reads them."""
    engine = open_engine(f"sqlite:///{database}")
    try:
        with engine.connect() as conn:
            return reader.stored(conn)
    finally:
        engine.dispose()


def check_import(reader: Reader, seeded: Path, folder: Path, made: Made) -> None:
    progress, refused, database = run_import(reader, seeded, folder, made)
    bad = {number: line for number, line in made.lines if line.stored is None}
    expected = {line.stored for _, line in made.lines if line.stored is not None}
    if reader.name == "tracks":
        expected = {(*s[:4], s[4].format(folder=folder.resolve()) if s[4] else None, *s[5:]) for s in expected}
    if made.dropped:
        assert refused is not None and made.dropped in str(refused), f"no column {made.dropped}: {refused}"
        assert dump(database) == dump(seeded), "a file refused whole changed the database"
        tally(reader.name, FILE_REFUSED)
        return
    reported = {}
    for what, reason in progress.failures:
        found = re.fullmatch(r".* line (\d+)", what)
        assert found, f"a failure names no line: {what}: {reason}"
        reported[int(found.group(1))] = reason
    assert sorted(reported) == sorted(bad), f"refused lines {sorted(reported)}, expected {sorted(bad)}: {reported}"
    rows = dict(made.lines)
    for number, reason in reported.items():
        assert reason.strip(), f"line {number} refused without a reason"
        repeats = rows[number].repeats
        if repeats is not None:
            assert f"line {made.lines[repeats][0]}" in reason, reason
    if reader.whole and bad:
        assert refused is not None, "a money file with a bad line was not refused"
        assert f"line {min(bad)}" in str(refused)
        assert dump(database) == dump(seeded), "a file refused whole changed the database"
        tally(reader.name, FILE_REFUSED, refused=len(bad))
        return
    assert refused is None, str(refused)
    assert stored_rows(reader, database) - stored_rows(reader, seeded) == expected
    assert progress.done == sum(1 for _, line in made.lines if line.stored is not None)
    tally(reader.name, ROWS_REFUSED if bad else LOADED, loaded=len(expected), refused=len(bad))


def fuzz_reader(reader: Reader) -> Callable[..., None]:
    @fuzz_settings(EXAMPLES)
    @given(made=import_files(reader))
    def test(seeded: Path, tmp_path_factory: pytest.TempPathFactory, made: Made) -> None:
        check_import(reader, seeded, tmp_path_factory.mktemp(reader.name), made)

    test.__name__ = test.__qualname__ = f"test_{reader.name}_import_stores_exactly_the_valid_lines"
    test.__doc__ = (f"A {reader.name} file: the valid lines stored value for value, each bad line reported "
                    f"with its line number and a reason" + (", the file refused whole when one is bad."
                                                             if reader.whole else "."))
    return test


test_tracks_import = fuzz_reader(TRACKS)
test_artists_import = fuzz_reader(ARTISTS)
test_stations_import = fuzz_reader(STATIONS)
test_contributors_import = fuzz_reader(CONTRIBUTORS)
test_societies_import = fuzz_reader(SOCIETIES)
test_agreements_import = fuzz_reader(AGREEMENTS)
test_repertoire_import = fuzz_reader(REPERTOIRE)
test_rate_cards_import = fuzz_reader(RATE_CARDS)
test_exchange_rates_import = fuzz_reader(EXCHANGE_RATES)
test_licence_fees_import = fuzz_reader(LICENCE_FEES)
test_commission_rates_import = fuzz_reader(COMMISSION_RATES)
test_withholding_rates_import = fuzz_reader(WITHHOLDING_RATES)
test_payees_import = fuzz_reader(PAYEES)
test_playlogs_import = fuzz_reader(PLAYS)


# --- the smallest inputs on which these fuzzers found an import wrong --------------------


def import_text(seeded: Path, folder: Path, name: str, text: str) -> tuple[Recorded, DataError | None, Path]:
    reader = next(r for r in READERS if r.name == name)
    return run_import(reader, seeded, folder, Made(text.encode("utf-8"), [], None))


def test_a_track_duration_finer_than_a_millisecond_is_refused_not_rounded(seeded: Path, tmp_path: Path) -> None:
    text = "track_ref,title,artist,audio_path,duration_seconds\nGH-9,Odo,Ama,,215.0004\nGH-10,Sika,Kofi,,0.1\n"
    progress, refused, _ = import_text(seeded, tmp_path, "tracks", text)
    assert refused is None and progress.done == 1
    [(what, reason)] = progress.failures
    assert what.endswith("tracks.csv line 2") and reason.startswith("duration_seconds '215.0004' has 4 decimal places")


def test_a_contributor_ipi_in_superscript_digits_is_refused_naming_its_line(seeded: Path, tmp_path: Path) -> None:
    text = "track_ref,name,role,share_percent,ipi\nGH-001,Ama,composer,100,¹²³⁴⁵⁶⁷⁸⁹¹²\n"
    progress, refused, database = import_text(seeded, tmp_path, "contributors", text)
    assert refused is not None and "line 2" in str(refused)
    assert [what.rsplit(" ", 2)[1:] for what, _ in progress.failures] == [["line", "2"]]
    assert "IPI name number" in progress.failures[0][1]
    assert dump(database) == dump(seeded)


@pytest.mark.parametrize("number", ["٢٣٣٢٤١٢٣٤٥٦٧", "２３３２４１２３４５６７", "+233 ٢٤ 123 4567"])
def test_a_mobile_money_number_in_digits_other_than_0_to_9_is_refused_naming_its_line(
        seeded: Path, tmp_path: Path, number: str) -> None:
    text = ("recipient_type,recipient,payment_method,mobile_money_number,mobile_money_network\n"
            "artist,ama-seed,mobile_money,+233 24 123 4567,MTN\n"
            f"artist,kofi-seed,mobile_money,{number},MTN\n")
    progress, refused, database = import_text(seeded, tmp_path, "payees", text)
    assert refused is not None and "line 3" in str(refused)
    [(what, reason)] = progress.failures
    assert what.endswith("payees.csv line 3")
    assert reason == (f"mobile_money_number {number!r} is not a mobile number: write it in international form, "
                      "country code first, 9 to 15 digits (233241234567)")
    assert dump(database) == dump(seeded)
