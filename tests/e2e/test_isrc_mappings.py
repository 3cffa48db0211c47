"""ISRC → society mappings live in isrc_mappings: the job writes only there, pricing reads it, and
the decisions detections and plays held before are carried over by the migration."""

from __future__ import annotations

import itertools
import json
import shutil
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Table, insert

from tests.fake_acrcloud import FakeAcrCloud
from tests.support import Project, race
from tests.world import Station, World, recording, utc  # noqa: F401
from zamio.catalog.mappings import update_mappings
from zamio.db.engine import open_engine, transaction
from zamio.db.tables import artists, captures, detections, play_logs, stations, tracks
from zamio.royalties.pricing.works import load_plays
from zamio.runtime import migrate

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def heard_by_acrcloud(world: World, station: Station, recording: Path, *isrcs: str) -> None:
    """Recordings of ``station`` at noon uploaded to the snippet inbox and scanned: the catalog knows none,
    ACRCloud names a recording of each ISRC in turn; a detection each, no play yet."""
    for _ in isrcs:
        world.snippet(station, "2026-03-02 12:00", recording)
    with FakeAcrCloud() as fake:
        for isrc in isrcs:
            fake.respond_match(isrc)
        world.scan_snippets(fake)


def acr_detection(project: Project, station: int, isrc: str, society_status: str = "unmapped") -> int:
    """An ACRCloud detection (and its capture) heard at noon, as the scanner stored it before sql/0019 (with
    the mapping job's society status on the row): the schema of then is not the one today's scan writes."""
    with project.engine.begin() as conn:
        capture = conn.execute(insert(captures).values(
            capture_key=f"cap-{isrc}-{society_status}", station_id=station, source="stream",
            started_at=utc("2026-03-02 12:00"), outcome="match", created_at=NOW)).inserted_primary_key[0]
        return conn.execute(insert(detections).values(
            capture_id=capture, station_id=station, detected_at=utc("2026-03-02 12:00"), source="acrcloud",
            isrc=isrc, society_status=society_status, created_at=NOW)).inserted_primary_key[0]


def rows(project: Project, table: str) -> list[tuple]:
    """Every row of ``table`` with every column, as the driver returns them."""
    return [tuple(row) for row in project.query(f"SELECT * FROM {table} ORDER BY id")]


def mappings(project: Project) -> dict[str, tuple]:
    return {r[0]: (r[1], r[2]) for r in project.query("SELECT isrc, status, society_id FROM isrc_mappings")}


def test_a_run_writes_only_mappings_and_leaves_plays_and_detections_as_they_were(project: Project,
                                                                                  recording: Path) -> None:
    world = World(project)
    station = world.station()
    world.repertoire("052", "GBAYE0601498")
    world.repertoire("010", "USRC17607839")
    world.repertoire("021", "USRC17607839")
    foreign = world.track("t-prs", "London", "UK", society="052", isrc="GBXYZ2600007")
    world.play(station, "2026-03-02 12:00", 100, isrc="gb-aye-06-01498")
    world.play(station, "2026-03-02 13:00", 100, isrc="USRC17607839")
    world.play(station, "2026-03-02 13:00", 100, isrc="USRC17607839", source="radiomonitor")  # a duplicate
    world.play(station, "2026-03-02 14:00", 100, isrc="GHA122400001")
    corrected = world.play(station, "2026-03-02 15:00", 100, isrc="NGA012600001")
    world.correct(corrected, isrc="GHA122400001")  # NGA012600001 is left in a superseded version only
    world.play(station, "2026-03-02 16:00", 100, track=foreign)  # the catalog names its society
    world.load()
    heard_by_acrcloud(world, station, recording, "12345", "GBAYE0601498")
    prs, ascap = world.society_id("052"), world.society_id("010")
    assert [tuple(r) for r in project.query("SELECT isrc, status, society_id, society_status FROM play_logs "
                                            "ORDER BY id")] == [
        ("GBAYE0601498", "final", None, "unmapped"), ("USRC17607839", "final", None, "unmapped"),
        ("USRC17607839", "duplicate", None, "unmapped"), ("GHA122400001", "final", None, "unmapped"),
        ("NGA012600001", "superseded", None, "unmapped"), ("GHA122400001", "final", None, "unmapped"),
        ("GBXYZ2600007", "final", prs, "mapped")]
    before = {table: rows(project, table) for table in ("play_logs", "detections")}
    assert len(before["play_logs"]) == 7 and len(before["detections"]) == 2

    first = project.script("update-pro-mappings")
    assert first.returncode == 0, first.stderr
    assert {table: rows(project, table) for table in ("play_logs", "detections")} == before
    assert mappings(project) == {"GBAYE0601498": ("mapped", prs), "USRC17607839": ("ambiguous", None),
                                 "GHA122400001": ("unknown", None), "12345": ("invalid_isrc", None)}
    unknown = project.query("SELECT decided_at, checked_at FROM isrc_mappings WHERE isrc = 'GHA122400001'")[0]

    world.repertoire("010", "GHA122400001")  # claimed since: the unknown ISRC is re-checked and mapped
    world.load()
    second = project.script("update-pro-mappings")
    assert second.returncode == 0 and "1 ok" in second.stderr and "1 ISRC mapped" in second.stderr, second.stderr
    assert {table: rows(project, table) for table in ("play_logs", "detections")} == before
    assert mappings(project)["GHA122400001"] == ("mapped", ascap)
    decided, checked = project.query("SELECT decided_at, checked_at FROM isrc_mappings "
                                     "WHERE isrc = 'GHA122400001'")[0]
    assert decided > unknown[0] and checked > unknown[1]
    settled = rows(project, "isrc_mappings")
    assert "nothing newly mapped" in project.script("update-pro-mappings").stderr
    assert rows(project, "isrc_mappings") == settled  # settled rows are left alone


def test_a_dry_run_writes_no_mapping(project: Project) -> None:
    world = World(project)
    world.repertoire("052", "GBAYE0601498")
    world.play(world.station(), "2026-03-02 12:00", 100, isrc="GBAYE0601498")
    world.load()
    result = project.script("update-pro-mappings", "--dry-run")
    assert result.returncode == 0 and "dry run: exit 0, 1 ok" in result.stderr and "1 ISRC mapped" in result.stderr
    assert project.scalar("SELECT count(*) FROM isrc_mappings") == 0


def write_csv(project: Project, name: str, text: str) -> str:
    path = project.tmp_path / name
    path.write_text(text)
    return str(path)


def run(project: Project, script: str, *args: str) -> None:
    result = project.script(script, *args)
    assert result.returncode == 0, (script, result.stderr)


def test_a_play_claimed_after_its_first_pricing_is_released_to_the_society(project: Project) -> None:
    run(project, "import-catalog",
        "--stations", write_csv(project, "stations.csv", "station_ref,name,city,region,station_class,stream_url,"
                                "timezone\njoy,Joy FM,Accra,Greater Accra,class_a,,Africa/Accra\n"),
        "--agreements", write_csv(project, "agreements.csv", "society_code,effective_from,status,admin_fee_percent\n"
                                  "010,2025-01-01,active,10\n"))
    run(project, "import-playlogs", write_csv(project, "plays.csv", "station_ref,started_at,duration_seconds,isrc\n"
                                              "joy,2026-03-02T12:00:00Z,100,us-rc1-76-07839\n"))
    play = project.scalar("SELECT id FROM play_logs")
    run(project, "update-pro-mappings")  # nobody claims it yet
    run(project, "calculate-royalty-distributions")
    # Class A at noon in Accra is the regular period: 0.015 × 1.0 × 100 s = GHS 1.50 = 15000 units, held.
    account = "unidentified:isrc:USRC17607839"
    held = [(1, "suspense", account, 15000)]
    ledger = "SELECT version, kind, recipient_ref, amount FROM royalty_ledger WHERE play_id = :p ORDER BY id"
    assert [tuple(r) for r in project.query(ledger, p=play)] == held
    stored = rows(project, "play_logs")

    run(project, "import-catalog", "--repertoire", write_csv(project, "repertoire.csv",
                                                             "society_code,isrc,title\n010,USRC17607839,Song\n"))
    run(project, "calculate-royalty-distributions")  # claimed, but not mapped yet: still held
    assert [tuple(r) for r in project.query(ledger, p=play)] == held
    run(project, "update-pro-mappings")
    run(project, "calculate-royalty-distributions")
    # Released: the suspense line reversed; GHAMRO keeps the agreement's 10 % (1500), ASCAP gets 13500.
    assert [tuple(r) for r in project.query(ledger, p=play)] == held + [
        (2, "reversal", account, -15000), (2, "admin_fee", "285", 1500), (2, "share", "010", 13500)]
    assert rows(project, "play_logs") == stored  # the play itself never changed
    entry = project.scalar("SELECT id FROM royalty_ledger WHERE play_id = :p AND kind = 'share'", p=play)
    chain = json.loads(project.script("process-royalty-cycle", "--trace", str(entry)).stdout)
    ascap = project.scalar("SELECT id FROM partner_societies WHERE code = '010'")
    assert chain["isrc_mapping"]["society_id"] == ascap and chain["isrc_mapping"]["status"] == "mapped"
    assert chain["play"]["society_id"] is None and chain["play"]["society_status"] == "unmapped"


def mapped_before_0019(project: Project, play: int, society: int) -> None:
    """Give a play the society the mapping job wrote onto play rows before sql/0019 (since then it writes
    only isrc_mappings, and the migration carried such rows over as they were): no job writes this today."""
    project.execute("UPDATE play_logs SET society_id = :s, society_status = 'mapped' WHERE id = :p", s=society, p=play)


def test_pricing_takes_the_mapping_first_and_the_play_s_own_society_otherwise(project: Project) -> None:
    world = World(project)
    station = world.station()
    world.repertoire("052", "GBAYE0601498")
    track = world.track("t1", "Odo", "Ama", isrc="GBAYE0601498")
    plays = [world.play(station, "2026-03-02 12:00", 100, isrc="gb-aye-06-01498"),
             world.play(station, "2026-03-02 13:00", 100, isrc="FRAAA0000001"),
             world.play(station, "2026-03-02 14:00", 100, track=track)]
    world.load()
    by_mapping, own, with_track = (play.id for play in plays)
    prs, sacem = world.society_id("052"), world.society_id("058")
    mapped_before_0019(project, own, sacem)
    run(project, "update-pro-mappings")
    with project.engine.connect() as conn:
        got = {p.id: p.society_id for p in load_plays(conn, [by_mapping, own, with_track])}
    # A play with a catalog track is owed through its work: its ISRC's mapping is not looked up.
    assert got == {by_mapping: prs, own: sacem, with_track: None}


CHUNK = 100  # ISRCs per transaction in the race below: small, so the runs interleave over several chunks
PLAYS = 250  # more than two chunks of distinct ISRCs


def test_two_runs_at_once_leave_one_row_per_isrc(project: Project, monkeypatch) -> None:
    monkeypatch.setattr("zamio.catalog.mappings.CHUNK_ISRCS", CHUNK)
    world = World(project)
    station = world.station()
    isrcs = [f"GHA12260{n:04d}" for n in range(PLAYS)]
    # By n % 3: claimed by one society (84 ISRCs), by two (83), by none (83).
    claimants = {0: ["052"], 1: ["052", "058"], 2: []}
    for n, isrc in enumerate(isrcs):
        world.play(station, "2026-03-02 12:00", 100, isrc=isrc)
        for code in claimants[n % 3]:
            world.repertoire(code, isrc)
    world.load()
    engines = [open_engine(project.database_url) for _ in range(2)]
    start = threading.Barrier(2)
    decided: list[Counter] = []

    def one_run(engine) -> None:  # noqa: ANN001
        start.wait()
        decided.append(update_mappings(lambda read_only=False: transaction(engine, read_only=read_only)))

    race([threading.Thread(target=one_run, args=(engine,)) for engine in engines], engines)
    assert project.scalar("SELECT count(*) FROM isrc_mappings") == PLAYS
    assert project.scalar("SELECT count(DISTINCT isrc) FROM isrc_mappings") == PLAYS
    statuses = dict(project.query("SELECT status, count(*) FROM isrc_mappings GROUP BY status"))
    assert statuses == {"mapped": 84, "ambiguous": 83, "unknown": 83}
    # Each ISRC was decided by one run: what the two counted adds up to what is stored.
    assert decided[0] + decided[1] == Counter(mapped=84, ambiguous=83)
    # And the scripts themselves: a second run at the same moment is turned away by the job lock.
    procs = [project.popen("update-pro-mappings") for _ in range(2)]
    assert sorted(p.wait(60) for p in procs) in ([0, 0], [0, 75])
    assert project.scalar("SELECT count(*) FROM isrc_mappings") == PLAYS


def migrated_before_0019(project: Project, tmp_path: Path) -> Path:
    """Migrate ``project`` with the migrations before 0019 only; return the folder holding them all."""
    before, every = tmp_path / "sql-before", tmp_path / "sql-all"
    before.mkdir()
    every.mkdir()
    for found in migrate.discover():
        shutil.copy(found.path, every / found.path.name)
        if found.version < "0019":
            shutil.copy(found.path, before / found.path.name)
    migrate.migrate(project.engine, before)
    return every


class RowsBefore0019:
    """Stations, tracks and plays as the jobs before sql/0019 left them, with the mapping job's decisions on
    the play rows.  Written directly: today's scripts refuse to run on a schema with migrations pending, and
    today's jobs no longer write these decisions there."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.keys = itertools.count(1)

    def insert(self, table: Table, **values: object) -> int:
        with self.project.engine.begin() as conn:
            return conn.execute(insert(table).values(**values, created_at=NOW)).inserted_primary_key[0]

    def society_id(self, code: str) -> int:
        return self.project.scalar("SELECT id FROM partner_societies WHERE code = :c", c=code)

    def station(self) -> int:
        return self.insert(stations, station_ref="st1", name="Radio st1", station_class="class_a",
                           timezone="Africa/Accra")

    def track(self, ref: str, society: int, isrc: str) -> int:
        artist = self.insert(artists, artist_ref="uk", name="UK")
        return self.insert(tracks, track_ref=ref, title="London", artist_id=artist, society_id=society, isrc=isrc,
                           updated_at=NOW)

    def play(self, station: int, at: datetime, isrc: str, status: str, society: int | None,
             track: int | None) -> int:
        return self.insert(
            play_logs, play_key=f"play-{next(self.keys)}", version=1, station_id=station, track_id=track,
            recording_key=f"track:{track}" if track else f"isrc:{isrc}", isrc=isrc, category="music",
            source="local" if track else "acrcloud", started_at=at, ended_at=at + timedelta(seconds=100),
            duration_seconds=100, status="final", confidence_avg=0.9, society_id=society, society_status=status)


def test_the_migration_carries_over_the_decisions_plays_and_detections_held(empty_database_url: str,
                                                                            tmp_path: Path) -> None:
    project = Project(empty_database_url, tmp_path)
    every = migrated_before_0019(project, tmp_path)
    rows_then = RowsBefore0019(project)
    station = rows_then.station()
    prs, ascap, sacem = (rows_then.society_id(code) for code in ("052", "010", "058"))
    at = iter(utc(f"2026-03-02 {h:02d}:00") for h in range(24))

    def play(isrc: str, status: str, society: int | None = None, track: int | None = None) -> int:
        return rows_then.play(station, next(at), isrc, status, society, track)

    mapped = play("gb-aye-06-01498", "mapped", prs)  # as the job left it, raw ISRC and all
    acr_detection(project, station, "GBAYE0601498")  # not looked at yet: adds nothing
    play("USRC17607839", "ambiguous")
    play("usrc 1760 7839", "mapped", ascap)  # mapped before a second society claimed it
    first = play("FRAAA0000001", "mapped", sacem)
    second = play("fr.aaa.00.00001", "mapped", prs)  # two societies named for one ISRC
    play("ISRC: GHA122400001", "unknown")
    acr_detection(project, station, "12345", "invalid_isrc")
    foreign = rows_then.track("t-prs", prs, "GBXYZ2600007")
    play("GBXYZ2600007", "mapped", prs, track=foreign)  # the catalog's society, not a mapping
    play("NGA012600001", "unmapped")
    acr_detection(project, station, "  ", "invalid_isrc")  # normalises to nothing
    migrate.migrate(project.engine, every)
    assert mappings(project) == {
        "GBAYE0601498": ("mapped", prs),
        "USRC17607839": ("ambiguous", None),  # a row said ambiguous: it stays so
        "FRAAA0000001": ("ambiguous", None),
        "GHA122400001": ("unknown", None),
        "12345": ("invalid_isrc", None)}
    times = project.query("SELECT decided_at, checked_at FROM isrc_mappings")
    assert all(decided is not None and decided == checked for decided, checked in times)
    # Nothing already priced moves: each play of the ISRC two societies were named for keeps its own.
    with project.engine.connect() as conn:
        got = {p.id: p.society_id for p in load_plays(conn, [mapped, first, second])}
    assert got == {mapped: prs, first: sacem, second: prs}
