"""The one builder of test worlds: rows written as the CSV files people send, loaded by the real jobs.

A test says what its world holds, in the words of the catalog and play files::

    world = World(project)
    joy = world.station("joy", station_class="class_b")
    odo = world.track("t1", "Odo", "Ama")
    world.contributor(odo, "Ama", "50", email="ama@example.com")
    world.contributor(odo, "Yaw", "50")
    play = world.play(joy, "2026-03-02 12:00", 125, track=odo)
    world.load()                      # bin/import-catalog once, bin/import-playlogs once
    world.price()                     # bin/calculate-royalty-distributions
    world.close_cycle("2026-03")      # bin/process-royalty-cycle for March
    play.id                           # the play_logs id the import gave it

Each call adds a row to the file it belongs in (stations, tracks, contributors, societies,
agreements, repertoire, rate cards, exchange rates, licence fees, plays); ``load`` writes the rows
not loaded yet to fresh files and runs each script once with all of them, so a whole scenario costs
one start of each script.  The handles returned (``Station``, ``Track``, ``Play``) look their ids
up once loaded.  Whatever a script derives (artist and publisher references are slugs of their
names, a contributor's party its IPI or the slug of its name, a play's status, version and
society) is the script's doing, never the test's.

Every play is sent with an ``import_ref`` of its own (``p1``, ``p2`` …), the reference a partner
gives its rows: the handle finds its play by it, and ``correct`` sends the row again under it with
other facts, which the import stores as a new version superseding the old one.  A second report of
an airing (another ``source``, same station, recording and time) is stored by the import as a
``duplicate``.

Plays heard on air are made the way the scanner makes them: a track with audio, fingerprinted by
``bin/auto-fingerprint-new-tracks``; a recording recorded by ``bin/detect-audio --record``, or
uploaded to the snippet inbox and heard by ``bin/scan-station-streams`` (asking the fake ACRCloud
about what the catalog does not know); the detections turned into plays by ``bin/convert-matches``
(``fingerprint``, ``hear``, ``snippet`` and ``scan_snippets``, ``convert``).

One play no script can write today has a helper of its own, ``store_imported_play``: a play the import
took before play times were bounded, or one dated after the machine's clock.

Two older worlds write their rows straight into the database, where a test needs what no job
makes at that scale or shape; they live here too, so there is one place to look:

* ``CaptureWorld``: a catalog, stations and what the scanner recorded (captures, detections), sampled
  from a programme of airings (``programme``) or drawn at random for a busy day of several stations
  (``busy_day``), for the play-log conversion and the money model;
* ``fixed_world``: a small fixed world of plays for the dashboard cache, the reports and the retention
  (three stations, one named like an HTML tag, one in UTC+1; captures, detections, plays, some
  superseded, and coverage gaps), over a catalog of artists, their default publishers and tracks
  loaded by bin/import-catalog.
"""

from __future__ import annotations

import calendar
import csv
import io
import itertools
import json
import math
import os
import random
import shutil
import subprocess
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, insert, select

from tests.fake_acrcloud import ACCESS_KEY, ACCESS_SECRET, FakeAcrCloud
from tests.support import Project
from zamio.catalog.terms import IMPORT_ORDER
from zamio.db.engine import insert_ignore, is_sqlite, utcnow
from zamio.db.tables import (
    artists,
    captures,
    coverage_gaps,
    detections,
    play_detections,
    play_logs,
    stations,
    stream_links,
    tracks,
)
from zamio.demo import synth
from zamio.files.csvread import slug
from zamio.playlogs import billing
from zamio.scanning.snippets import SETTLE_SECONDS

#: The columns each file is written with, in IMPORT_ORDER and then the plays: what bin/import-catalog
#: and bin/import-playlogs read (an empty cell is a value not given).
COLUMNS = {
    "societies": ("code", "name", "short_name", "currency", "country", "default_admin_fee_percent", "email",
                  "fee_effective_from"),
    "tracks": ("track_ref", "title", "artist", "audio_path", "isrc", "iswc", "album", "duration_seconds",
               "publisher", "category", "society_code"),
    "artists": ("artist", "email", "weekly_summary", "publisher"),
    "stations": ("station_ref", "name", "city", "region", "station_class", "stream_url", "backup_stream_url",
                 "timezone", "contact_email", "weekly_summary"),
    "contributors": ("track_ref", "name", "role", "share_percent", "publisher", "email", "ipi"),
    "agreements": ("society_code", "effective_from", "status", "territory", "admin_fee_percent", "expires_on",
                   "reporting_frequency"),
    "repertoire": ("society_code", "isrc", "iswc", "title", "artist", "share_percent"),
    "rate_cards": ("territory", "station_class", "period", "rate_per_second", "multiplier", "currency",
                   "effective_from", "effective_to"),
    "exchange_rates": ("from_currency", "to_currency", "rate", "effective_from", "source"),
    "licence_fees": ("station_ref", "period_from", "period_to", "amount", "currency"),
    "commission_rates": ("territory", "commission_percent", "effective_from"),
    "withholding_rates": ("territory", "recipient_type", "residency", "tax_percent", "authority", "effective_from"),
    "payees": ("recipient_type", "recipient", "name", "residency", "payment_method", "bank_name", "account_number",
               "branch_code", "mobile_money_number", "mobile_money_network"),
    "plays": ("station_ref", "started_at", "duration_seconds", "track_ref", "isrc", "title", "artist", "source",
              "confidence", "import_ref"),
}
assert tuple(COLUMNS)[:-1] == IMPORT_ORDER, "the world writes every file bin/import-catalog reads, in its order"
#: The next play reference (and snippet chunk) of each database, and the next load of each folder: shared by
#: every world of a test, so that two never send one reference for two plays nor write over each other's files.
REFERENCES: dict[str, Iterator[int]] = {}
LOADS: dict[Path, Iterator[int]] = {}


def utc(text: str) -> datetime:
    """'2026-03-02 07:00' → an aware UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def instant(at: str | datetime) -> datetime:
    return utc(at) if isinstance(at, str) else at.astimezone(UTC)


def month_days(name: str) -> tuple[str, str]:
    """'2026-03' → ('2026-03-01', '2026-03-31')."""
    year, month = (int(part) for part in name.split("-"))
    return f"{name}-01", f"{name}-{calendar.monthrange(year, month)[1]:02d}"


def cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def run(project: Project, name: str, *args: str, codes: Iterable[int] = (0,),
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``bin/<name>`` (with ``env`` added to its environment) and check its exit code is one of ``codes``;
    return the finished process."""
    result = project.script(name, *args, env=project.env(**env) if env else None)
    assert result.returncode in tuple(codes), f"{name} {' '.join(args)} exited {result.returncode}:\n" \
                                              f"{result.stdout}\n{result.stderr}"
    return result


class Station:
    """A station of the world: its reference as written, its id once loaded."""

    def __init__(self, world: World, ref: str) -> None:
        self.world, self.ref = world, ref

    @property
    def id(self) -> int:
        return self.world.lookup("station", self.ref, select(stations.c.id).where(stations.c.station_ref == self.ref))


class Track:
    """A work of the catalog: its reference as written, its id once loaded."""

    def __init__(self, world: World, ref: str) -> None:
        self.world, self.ref = world, ref

    @property
    def id(self) -> int:
        return self.world.lookup("track", self.ref, select(tracks.c.id).where(tracks.c.track_ref == self.ref))


class Play:
    """One row of a play file (one version of a play): its id once imported."""

    def __init__(self, world: World, row: dict[str, object], version: int) -> None:
        self.world, self.row, self.version = world, row, version

    @property
    def id(self) -> int:
        reference = f"{self.row['source'] or 'imported'}:{self.row['import_ref']}"
        return self.world.lookup(
            "play", (reference, self.version),
            "SELECT p.id FROM play_logs p JOIN stations s ON s.id = p.station_id WHERE s.station_ref = :station "
            "AND p.import_ref = :reference AND p.version = :version",
            station=self.row["station_ref"], reference=reference, version=self.version)


class World:
    """Rows of catalog, reference and play files, loaded into ``project`` by the real scripts (see the module)."""

    def __init__(self, project: Project, folder: Path | None = None) -> None:
        self.project = project
        self.folder = folder or project.tmp_path / "world"
        self.pending: dict[str, list[dict[str, object]]] = {name: [] for name in COLUMNS}
        self.loads = LOADS.setdefault(self.folder, itertools.count(1))
        self.refs = REFERENCES.setdefault(project.database_url, itertools.count(1))
        self.ids: dict[tuple[str, object], int] = {}

    # --- the catalog ------------------------------------------------------------------

    def station(self, ref: str = "st1", station_class: str = "class_a", tz: str = "Africa/Accra", *,
                name: str | None = None, email: str | None = None, city: str | None = None,
                region: str | None = None, stream_url: str | None = None,
                weekly_summary: str | None = None) -> Station:
        """A station; ``weekly_summary`` as written in the file ("no" to unsubscribe; empty keeps what is stored)."""
        self._add("stations", station_ref=ref, name=name or f"Radio {ref}", city=city, region=region,
                  station_class=station_class, stream_url=stream_url, timezone=tz, contact_email=email,
                  weekly_summary=weekly_summary)
        return Station(self, ref)

    def artist(self, name: str, *, email: str | None = None, weekly_summary: str | None = None,
               publisher: str | None = None) -> None:
        """An artist's row of the artists file: her e-mail address, weekly summary setting and default
        publisher (a name; the one paid for her works that name none)."""
        self._add("artists", artist=name, email=email, weekly_summary=weekly_summary, publisher=publisher)

    def track(self, ref: str, title: str, artist: str, *, publisher: str | None = None, isrc: str | None = None,
              iswc: str | None = None, society: str | None = None, category: str | None = None,
              audio_path: Path | str | None = None, album: str | None = None) -> Track:
        """A work: ``artist`` and ``publisher`` are names (the import makes their references), ``society``
        the code of the partner society it belongs to."""
        self._add("tracks", track_ref=ref, title=title, artist=artist, audio_path=audio_path, isrc=isrc, iswc=iswc,
                  album=album, publisher=publisher, category=category, society_code=society)
        return Track(self, ref)

    def contributor(self, track: Track | str, name: str, share: str, *, role: str = "composer",
                    publisher: str | None = None, email: str | None = None, ipi: str | None = None) -> None:
        """A share of a work: the party is ``ipi`` when given, else the slug of ``name``."""
        self._add("contributors", track_ref=_ref(track), name=name, role=role, share_percent=share,
                  publisher=publisher, email=email, ipi=ipi)

    # --- reference data -----------------------------------------------------------------

    def society(self, code: str, name: str, short_name: str, currency: str, *, email: str | None = None,
                fee: str | None = None, fee_from: date | str | None = None, country: str | None = None) -> None:
        self._add("societies", code=code, name=name, short_name=short_name, currency=currency, country=country,
                  default_admin_fee_percent=fee, email=email, fee_effective_from=fee_from)

    def agreement(self, code: str, fee: str | None, effective_from: date | str, expires_on: date | str | None = None,
                  status: str = "active", territory: str | None = None) -> None:
        """A reciprocal agreement with society ``code``; ``fee`` None: the society's default fee applies."""
        self._add("agreements", society_code=code, effective_from=effective_from, status=status, territory=territory,
                  admin_fee_percent=fee, expires_on=expires_on)

    def repertoire(self, code: str, isrc: str, title: str = "t") -> None:
        self._add("repertoire", society_code=code, isrc=isrc, title=title)

    def rate_card(self, station_class: str, period: str, rate: str, multiplier: str, effective_from: date | str,
                  territory: str = "GH", currency: str = "GHS") -> None:
        self._add("rate_cards", territory=territory, station_class=station_class, period=period,
                  rate_per_second=rate, multiplier=multiplier, currency=currency, effective_from=effective_from)

    def exchange_rate(self, from_currency: str, to_currency: str, rate: str, effective_from: date | str) -> None:
        self._add("exchange_rates", from_currency=from_currency, to_currency=to_currency, rate=rate,
                  effective_from=effective_from)

    def licence_fee(self, station: Station | str, period_from: date | str, period_to: date | str, amount: str,
                    currency: str = "GHS") -> None:
        """A station's licence fee for a period; ``amount`` in major units as written ("100.00")."""
        self._add("licence_fees", station_ref=_ref(station), period_from=period_from, period_to=period_to,
                  amount=amount, currency=currency)

    def commission_rate(self, percent: str, effective_from: date | str, territory: str | None = None) -> None:
        """The domestic commission the local society keeps from ``effective_from`` on."""
        self._add("commission_rates", territory=territory, commission_percent=percent, effective_from=effective_from)

    def withholding_rate(self, recipient_type: str, residency: str, percent: str, effective_from: date | str,
                         authority: str | None = None) -> None:
        """The tax withheld from payees of a type and residency from ``effective_from`` on."""
        self._add("withholding_rates", recipient_type=recipient_type, residency=residency, tax_percent=percent,
                  effective_from=effective_from, authority=authority)

    def payee(self, recipient_type: str, recipient: str, *, name: str | None = None, residency: str | None = None,
              bank: tuple[str, str, str | None] | None = None, mobile: tuple[str, str] | None = None) -> None:
        """How a recipient (as statements.csv names it) is paid: ``bank`` (bank name, account number, branch
        code) or ``mobile`` (number, network); neither: no payment details."""
        method = "bank" if bank else "mobile_money" if mobile else None
        bank_name, account, branch = bank or (None, None, None)
        number, network = mobile or (None, None)
        self._add("payees", recipient_type=recipient_type, recipient=recipient, name=name, residency=residency,
                  payment_method=method, bank_name=bank_name, account_number=account, branch_code=branch,
                  mobile_money_number=number, mobile_money_network=network)

    # --- plays --------------------------------------------------------------------------

    def play(self, station: Station | str, at: str | datetime, seconds: float | str, *,
             track: Track | str | None = None, isrc: str | None = None, title: str | None = None,
             artist: str | None = None, source: str | None = None, confidence: float | str | None = None,
             ref: str | None = None) -> Play:
        """A play a partner reports (``at``: '2026-03-02 12:00' in UTC, or an aware datetime)."""
        row: dict[str, object] = dict(
            station_ref=_ref(station), started_at=instant(at), duration_seconds=seconds,
            track_ref=_ref(track) if track is not None else None, isrc=isrc, title=title, artist=artist,
            source=source, confidence=confidence, import_ref=ref or f"p{next(self.refs)}")
        self.pending["plays"].append(row)
        return Play(self, row, 1)

    def correct(self, play: Play, **facts: object) -> Play:
        """Send ``play``'s row again under its reference with other facts (``seconds``, ``at``, ``track``…):
        the import stores a new version of the play, superseding the one sent before."""
        row = dict(play.row)
        for name, value in facts.items():
            if name == "at":
                row["started_at"] = instant(str(value) if not isinstance(value, datetime) else value)
            elif name == "track":
                row["track_ref"] = value if value is None or isinstance(value, str) else value.ref  # a Track
            else:
                column = "duration_seconds" if name == "seconds" else name
                assert column in COLUMNS["plays"], f"a play row has no {name}"
                row[column] = value
        self.pending["plays"].append(row)
        return Play(self, row, play.version + 1)

    # --- running the jobs -------------------------------------------------------------------

    def load(self, codes: Iterable[int] = (0,)) -> None:
        """Write the rows not loaded yet and import them: bin/import-catalog once with every catalog and
        reference file, then bin/import-playlogs once with the plays."""
        folder = self.folder / f"load-{next(self.loads)}"
        files = []
        for name in IMPORT_ORDER:
            if self.pending[name]:
                files += [f"--{name.replace('_', '-')}", self._write(folder, name)]
        if files:
            run(self.project, "import-catalog", *files, codes=codes)
        if self.pending["plays"]:
            run(self.project, "import-playlogs", self._write(folder, "plays"), codes=codes)

    def price(self, *args: str, codes: Iterable[int] = (0,)) -> subprocess.CompletedProcess[str]:
        """Load what is pending, then run bin/calculate-royalty-distributions."""
        self.load()
        return run(self.project, "calculate-royalty-distributions", *args, codes=codes)

    def cycle_folder(self, name: str) -> Path:
        return self.project.tmp_path / "cycles" / name

    def close_cycle(self, name: str, first: str | None = None, last: str | None = None, *args: str,
                    method: str | None = None, codes: Iterable[int] = (0,)) -> subprocess.CompletedProcess[str]:
        """Load what is pending, then close cycle ``name`` with bin/process-royalty-cycle into
        ``cycle_folder(name)``: a month's name ('2026-03') is the whole month unless ``first`` and ``last``
        say otherwise."""
        self.load()
        if first is None and last is None:
            first, last = month_days(name)
        period = ["--from", str(first), "--to", str(last)] if first is not None else []
        how = ["--method", method] if method else []
        return run(self.project, "process-royalty-cycle", "--name", name, *period, *how, *args,
                   "--out", str(self.cycle_folder(name)), codes=codes)

    def map_isrcs(self, *args: str, codes: Iterable[int] = (0,)) -> subprocess.CompletedProcess[str]:
        """Load what is pending, then run bin/update-pro-mappings."""
        self.load()
        return run(self.project, "update-pro-mappings", *args, codes=codes)

    # --- plays heard on air ----------------------------------------------------------------

    def fingerprint(self) -> None:
        """Load what is pending, then fingerprint the new tracks' audio (bin/auto-fingerprint-new-tracks)."""
        self.load()
        run(self.project, "auto-fingerprint-new-tracks")

    def hear(self, station: Station | str, at: str | datetime, *files: Path, acrcloud: FakeAcrCloud | None = None,
             codes: Iterable[int] = (0,), **env: str) -> subprocess.CompletedProcess[str]:
        """Record audio files as heard on ``station`` at ``at`` (bin/detect-audio --record --json): a capture
        each, and a detection for each the catalog recognises, or ``acrcloud`` does (with ``env`` added, such
        as its budgets); return the finished process."""
        self.load()
        return run(self.project, "detect-audio", "--json", "--record", "--station", _ref(station), "--at",
                   instant(at).isoformat(), *map(str, files), codes=codes, env={**acrcloud_env(acrcloud), **env})

    def snippet(self, station: Station | str, at: str | datetime, audio: Path, *, title: str | None = None) -> None:
        """Upload a recording of ``station`` made at ``at`` to the snippet inbox, as a recording device does:
        the audio, then its side-car (with ``title``, the RadioText the device read, if given), both old enough
        to be taken by the next scan."""
        chunk = f"chunk-{next(self.refs):04d}"  # the scan takes settled snippets in name order
        inbox = self.project.var_dir / "inbox"
        inbox.mkdir(parents=True, exist_ok=True)
        path = inbox / f"{chunk}{audio.suffix}"
        shutil.copyfile(audio, path)
        sidecar = inbox / f"{path.name}.json"
        fields = {"station_ref": _ref(station), "chunk_id": chunk, "started_at": instant(at).isoformat()}
        sidecar.write_text(json.dumps(fields if title is None else {**fields, "title": title}))
        settled = time.time() - SETTLE_SECONDS - 5
        for written in (path, sidecar):
            os.utime(written, (settled, settled))

    def scan_snippets(self, acrcloud: FakeAcrCloud | None = None, codes: Iterable[int] = (0,), *,
                      host: str | None = None) -> None:
        """Load what is pending, then hear the snippet inbox (bin/scan-station-streams --only snippets), asking
        ``acrcloud`` about what the catalog does not recognise; ``host`` names the host scanning (ZAMIO_HOST_NAME),
        which keeps the snippets' audio in its var/."""
        self.load()
        env = {"SCAN_CONCURRENCY": "1", **acrcloud_env(acrcloud)}
        if host is not None:
            env["ZAMIO_HOST_NAME"] = host
        run(self.project, "scan-station-streams", "--only", "snippets", codes=codes, env=env)

    def convert(self, as_of: str | datetime) -> None:
        """Turn the detections into plays as of ``as_of`` (bin/convert-matches --as-of)."""
        run(self.project, "convert-matches", "--as-of", instant(as_of).isoformat())

    # --- ids ----------------------------------------------------------------------------------

    def lookup(self, kind: str, key: object, query: Any, **params: object) -> int:
        """The id of a loaded row, looked up once."""
        if (kind, key) not in self.ids:
            with self.project.engine.connect() as conn:
                found = conn.execute(query, params).scalar() if not isinstance(query, str) else \
                    self.project.scalar(query, **params)
            assert found is not None, f"no {kind} {key!r} in the database: was the world loaded (world.load())?"
            self.ids[kind, key] = found
        return self.ids[kind, key]

    def society_id(self, code: str) -> int:
        return self.lookup("society", code, "SELECT id FROM partner_societies WHERE code = :code", code=code)

    def artist_id(self, name: str) -> int:
        return self.lookup("artist", name, "SELECT id FROM artists WHERE artist_ref = :ref", ref=slug(name))

    # --- files ----------------------------------------------------------------------------------

    def _add(self, file: str, **row: object) -> None:
        unknown = set(row) - set(COLUMNS[file])
        assert not unknown, f"{file} has no column {unknown}"
        self.pending[file].append(row)

    def _write(self, folder: Path, name: str) -> str:
        """Write the pending rows of file ``name`` as CSV and forget them; return the path."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS[name])
        for row in self.pending[name]:
            writer.writerow([cell(row.get(column)) for column in COLUMNS[name]])
        self.pending[name] = []
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name.replace('_', '-')}.csv"
        path.write_text(out.getvalue(), encoding="utf-8")
        return str(path)


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Eight seconds of a song no catalog holds, as a WAV file (import the fixture into the test module)."""
    path = tmp_path_factory.mktemp("recording") / "heard.wav"
    synth.write_wav(path, synth.song(71, seconds=8.0))
    return path


def acrcloud_env(acrcloud: FakeAcrCloud | None) -> dict[str, str]:
    """The settings that point a script at the fake ACRCloud (none without one)."""
    if acrcloud is None:
        return {}
    return {"ACRCLOUD_HOST": f"http://{acrcloud.host}", "ACRCLOUD_ACCESS_KEY": ACCESS_KEY,
            "ACRCLOUD_ACCESS_SECRET": ACCESS_SECRET}


def _ref(thing: Station | Track | str) -> str:
    return thing if isinstance(thing, str) else thing.ref


def store_imported_play(project: Project, station_ref: str, track_ref: str, started_at: datetime,
                        seconds: float) -> int:
    """Store a play of a catalog track as ``bin/import-playlogs`` stores it, for a start the import refuses
    today: a time beyond the calendar in the station's zone or a NaN length (which the import took before
    play times and numbers were bounded), or a day after the machine's clock (a play of a later year than
    the one the test runs in).  Written with the import's own play-writing function,
    ``zamio.playlogs.billing.store``; return its id."""
    with project.engine.begin() as conn:
        station = conn.execute(select(stations.c.id).where(stations.c.station_ref == station_ref)).scalar_one()
        track, title = conn.execute(select(tracks.c.id, tracks.c.title).where(tracks.c.track_ref == track_ref)).one()
        now = datetime.now(UTC)
        key = f"import|s{station}|{started_at:%Y%m%dT%H%M%SZ}|track:{track}|imported"
        ids = billing.store(conn, [dict(
            play_key=key, version=1, station_id=station, track_id=track, recording_key=f"track:{track}", isrc=None,
            title=title, artist=None, category="music", source="imported", started_at=started_at,
            ended_at=started_at + timedelta(seconds=0 if math.isnan(seconds) else seconds),
            duration_seconds=seconds, status="final", detection_count=0, confidence_avg=None, confidence_min=None,
            society_id=None, society_status="unmapped", import_ref="imported", created_at=now, finalised_at=now)])
        return ids[(key, 1)]


# --- the scanner's records, straight into the database ------------------------------------------

#: Where a programme's seconds count from, and the instant its detections are converted as of.
T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
LATER = "2026-03-03T00:00:00Z"


class CaptureWorld:
    """A catalog, stations and what the scanner recorded, written straight into the database.

    Two shapes it can write are ones the scanner never does: a second detection on one capture (``detect``;
    ``zamio.scanning.records`` writes one per capture, and a capture with a detection is never heard again),
    and an ACRCloud detection naming a catalog track without an ISRC (the scanner names the track by the ISRC
    ACRCloud gave).  A detection naming no recording is written as ACRCloud's, which the scanner stores for a
    best candidate without an acrid or a valid ISRC; a local one always names its track."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.engine = project.engine
        now = utcnow()
        with self.engine.begin() as conn:
            conn.execute(artists.insert().values(artist_ref="a1", name="Ama", created_at=now))
        self.tracks: dict[str, int] = {}
        self.stations: dict[str, int] = {}

    def track(self, ref: str, seconds: float | None = 240.0, category: str = "music", isrc: str | None = None) -> int:
        now = utcnow()
        with self.engine.begin() as conn:
            artist = conn.execute(select(artists.c.id)).scalar()
            result = conn.execute(tracks.insert().values(
                track_ref=ref, title=f"Song {ref}", artist_id=artist, duration_seconds=seconds, category=category,
                isrc=isrc, created_at=now, updated_at=now))
            self.tracks[ref] = result.inserted_primary_key[0]
        return self.tracks[ref]

    def station(self, ref: str) -> int:
        with self.engine.begin() as conn:
            result = conn.execute(stations.insert().values(station_ref=ref, name=ref, station_class="class_a",
                                                           created_at=utcnow()))
            self.stations[ref] = result.inserted_primary_key[0]
        return self.stations[ref]

    def capture(self, station: str, t: datetime, outcome: str = "no_match", *, track: str | None = None,
                offset: float | None = None, source: str = "local", seconds: float = 20.0, **fields) -> int:
        """One capture and, for a match, its detection; return the capture id."""
        now = utcnow()
        key = f"sim:{station}:{t:%Y%m%dT%H%M%S%fZ}:{source}"
        with self.engine.begin() as conn:
            insert_ignore(conn, captures, [dict(
                capture_key=key, station_id=self.stations[station], source="stream", started_at=t,
                seconds=seconds if outcome != "error" else 0.0, outcome=outcome, created_at=now)], ["capture_key"])
            capture_id = conn.execute(select(captures.c.id).where(captures.c.capture_key == key)).scalar_one()
            if outcome == "match":
                self.detect(conn, capture_id, station, t, track, offset, source, **fields)
        return capture_id

    def detect(self, conn, capture_id, station, t, track, offset, source="local", **fields) -> None:
        fields.setdefault("confidence", 0.9)
        conn.execute(detections.insert().values(
            capture_id=capture_id, station_id=self.stations[station], detected_at=t, source=source,
            track_id=self.tracks[track] if track else None, offset_seconds=offset, created_at=utcnow(), **fields))

    def programme(self, station: str, schedule: list[tuple[str | None, float, float]], start: datetime,
                  captures_count: int, interval: float = 120.0) -> None:
        """Sample a schedule of (track or None for talk, start s, seconds on air) every ``interval``."""
        for n in range(captures_count):
            t = start + timedelta(seconds=n * interval)
            s = (t - T0).total_seconds()
            on = [(ref, begin) for ref, begin, length in schedule if ref and begin <= s and s + 20 <= begin + length]
            if on:
                self.capture(station, t, "match", track=on[0][0], offset=s - on[0][1])
            else:
                self.capture(station, t, "no_match")

    def busy_day(self, stations_count: int = 3, hours: float = 4) -> None:
        """Several new stations' captures every two minutes for ``hours``, written in bulk (no audio): songs,
        jingles and talk drawn from the tracks A, B, C and J, restarts, and captures that matched nothing."""
        rnd = random.Random(5)
        rows_c, rows_d = [], []
        now = utcnow()
        refs = [self.station(f"s{n}") for n in range(stations_count)]
        for station_id in refs:
            t, schedule = -60.0, []
            while t < hours * 3600:
                ref = rnd.choice(["A", "B", "C", "J", None])
                length = 30.0 if ref == "J" else rnd.uniform(60, 240)
                schedule.append((ref, t, length))
                t += length
            for n in range(int(hours * 30)):
                s = n * 120.0 + station_id
                on = [(ref, b) for ref, b, length in schedule if ref and b <= s and s + 20 <= b + length]
                outcome = "match" if on else rnd.choice(["no_match", "silence", "error"])
                started = T0 + timedelta(seconds=s)
                rows_c.append(dict(capture_key=f"busy:{station_id}:{n}", station_id=station_id, source="stream",
                                   started_at=started, seconds=20.0, outcome=outcome, created_at=now))
                if on:
                    rows_d.append((f"busy:{station_id}:{n}", dict(
                        station_id=station_id, detected_at=started, source="local", track_id=self.tracks[on[0][0]],
                        offset_seconds=s - on[0][1] + rnd.uniform(-1, 1), confidence=0.8, created_at=now)))
        with self.engine.begin() as conn:
            conn.execute(captures.insert(), rows_c)
            keys = dict(conn.execute(select(captures.c.capture_key, captures.c.id)).all())
            conn.execute(detections.insert(), [dict(row, capture_id=keys[key]) for key, row in rows_d])

    def plays(self, status: str = "final") -> list:
        return self.project.query(
            "SELECT p.*, s.station_ref, t.track_ref FROM play_logs p JOIN stations s ON s.id = p.station_id "
            "LEFT JOIN tracks t ON t.id = p.track_id WHERE p.status = :status ORDER BY s.station_ref, p.started_at",
            status=status)

    def convert(self, *args: str):
        return self.project.script("convert-matches", "--as-of", LATER, *args)

    def digest(self) -> str:
        from tests.broadcast import digest

        with self.engine.connect() as conn:
            return digest(conn)


# --- a fixed world of plays, straight into the database -------------------------------------------

FIXED_WORLD_TABLES = ("stations", "stream_links", "captures", "detections", "play_logs")

STATION_NAMES = {1: "Joy FM", 2: "<script>alert('x')</script> Radio", 3: "=HYPERLINK(\"http://evil\") FM"}


def fixed_world(project: Project, now: datetime, plays: int = 240, days: int = 40,
                seed_value: int = 7) -> list[dict]:
    """Write the fixed test world ending at ``now``; return the play rows written.

    The catalog goes through bin/import-catalog, the artists file first so that ids follow the files' order:
    artists 1 Ama Ghana (default publisher 1, Pub <One> & Co), 2 -Kofi (none), 3 Efua (default publisher 2,
    @Two Publishing); tracks 1 Sunrise and 2 Harmattan (published by @Two Publishing) by Ama Ghana, 3 +Coast by
    -Kofi, 4 Kente by Efua."""
    rng = random.Random(seed_value)
    created = now - timedelta(days=400)
    catalog = World(project, project.tmp_path / "fixed-world")
    catalog.artist("Ama Ghana", publisher="Pub <One> & Co")
    catalog.artist("-Kofi")
    catalog.artist("Efua", publisher="@Two Publishing")
    catalog.load()
    for n, title, artist, publisher in [(1, "Sunrise", "Ama Ghana", None),
                                        (2, "Harmattan", "Ama Ghana", "@Two Publishing"),
                                        (3, "+Coast", "-Kofi", None), (4, "Kente", "Efua", None)]:
        catalog.track(f"T{n}", title, artist, publisher=publisher)
    catalog.load()
    with project.engine.begin() as conn:
        conn.execute(insert(stations), [
            {"id": n, "station_ref": ref, "name": STATION_NAMES[n], "station_class": cls, "timezone": zone,
             "active": active, "created_at": created}
            for n, ref, cls, zone, active in [(1, "JOY", "class_a", "Africa/Accra", True),
                                              (2, "SCR", "class_b", "Africa/Lagos", True),
                                              (3, "EQ", "online", "Africa/Accra", False)]])
        conn.execute(insert(stream_links), [
            {"id": 1, "station_id": 1, "url": "http://joy.example/live", "last_success_at": now - timedelta(minutes=10),
             "created_at": created},
            {"id": 2, "station_id": 2, "url": "http://scr.example/live", "last_success_at": now - timedelta(hours=3),
             "created_at": created}])
        rows = _plays(conn, rng, now, plays, days)
        conn.execute(insert(coverage_gaps), [
            {"station_id": 1, "gap_from": now - timedelta(days=2, hours=3), "gap_to": now - timedelta(days=2, hours=1),
             "reason": "stream_down"},
            {"station_id": 2, "gap_from": now - timedelta(days=50), "gap_to": now - timedelta(days=49),
             "reason": "stream_down"}])
        _continue_ids(conn)
    return rows


def _continue_ids(conn: Connection) -> None:
    """Move PostgreSQL's id sequences past the ids written here, so rows the jobs add later get fresh ones
    (SQLite already continues after the largest id)."""
    if is_sqlite(conn):
        return
    for table in FIXED_WORLD_TABLES:
        conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")


def _plays(conn, rng: random.Random, now: datetime, count: int, days: int) -> list[dict]:
    capture_rows, detection_rows, rows = [], [], []
    for n in range(1, count + 1):
        started = now - timedelta(seconds=rng.randrange(60, days * 86400))
        station = rng.choice([1, 1, 2, 2, 3])
        track = rng.choice([1, 1, 1, 2, 2, 3, 4, None])
        source = "local" if track else "acrcloud"
        capture_rows.append({"id": n, "capture_key": f"link:{station}:{n}", "station_id": station, "source": "stream",
                             "started_at": started, "seconds": 20, "audio_sha256": f"{n:064x}",
                             "audio_path": f"snippets/{n}.ogg", "outcome": "match", "created_at": started})
        confidence = round(rng.uniform(0.3, 1.0), 3)
        detection_rows.append({"id": n, "capture_id": n, "station_id": station, "detected_at": started,
                               "source": source, "track_id": track, "title": None if track else "Foreign Hit",
                               "artist": None if track else "Some Band", "confidence": confidence,
                               "convert_status": "done", "created_at": started})
        status = "superseded" if n % 17 == 0 else "duplicate" if n % 19 == 0 else "final"
        rows.append({"id": n, "play_key": f"play:{n}", "station_id": station, "track_id": track,
                     "recording_key": f"track:{track}" if track else "acr:foreign-hit",
                     "title": None if track else "Foreign Hit", "artist": None if track else "Some Band",
                     "source": source, "started_at": started, "ended_at": started + timedelta(seconds=180),
                     "duration_seconds": float(rng.randrange(60, 300)), "status": status, "detection_count": 1,
                     "confidence_avg": confidence, "confidence_min": confidence, "created_at": started})
    for n in range(count + 1, count + 31):  # captures that matched nothing
        started = now - timedelta(seconds=rng.randrange(60, days * 86400))
        capture_rows.append({"id": n, "capture_key": f"link:1:{n}", "station_id": 1, "source": "stream",
                             "started_at": started, "seconds": 20, "audio_sha256": f"{n:064x}", "audio_path": None,
                             "outcome": "no_match" if n % 3 else "silence", "created_at": started})
    conn.execute(insert(captures), capture_rows)
    conn.execute(insert(detections), detection_rows)
    conn.execute(insert(play_logs), rows)
    conn.execute(insert(play_detections), [{"play_id": r["id"], "detection_id": r["id"]} for r in rows])
    return rows
