"""Fingerprint lookups served by streaming replicas (``FINGERPRINT_DATABASE_URL``), as docs/operations.md sets
them up: a primary started here with ``initdb`` and two hot standbys made by ``pg_basebackup -R``.

Every server logs each statement with its application name (``zamio scan <host>``) and virtual
transaction id, so the tests read from the servers themselves who looked up what where: one REPEATABLE
READ transaction per capture on a replica.

* Two scan hosts, two snippets each, both replicas named: each host's two captures are looked up one on
  each replica (round robin per capture), nothing is looked up on the primary, no replica is written to,
  and the detections are the ones a scan of the same audio on the primary alone records.
* A replica shut down: its captures go to the other one, with a warning, and with none up to the primary;
  none is lost.
* A replica whose replay is paused while a track is fingerprinted again on the primary (its audio
  replaced): the capture of the old audio matches on the replica, is refused by the primary's stamp and
  recognised again on the primary, where it matches nothing.
* SQLite: the setting is refused (exit 78) naming it.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pgcluster import StandbyCluster, free_port, missing_binaries
from tests.support import Project
from tests.world import World
from zamio.demo import synth

REQUIRE_POSTGRES = os.environ.get("ZAMIO_REQUIRE_POSTGRES") == "1"
LOOKUP = "zamio_fingerprint_rows"  # the triplet lookup's function (sql/0014)
WRITES = ("INSERT", "UPDATE", "DELETE", "COPY fingerprints", "TRUNCATE")
SONGS = {"odo": 71, "kente": 72, "adowa": 73, "highlife": 74}


@pytest.fixture(scope="module")
def cluster() -> Iterator[StandbyCluster]:
    missing = missing_binaries()
    if missing:
        if REQUIRE_POSTGRES:
            pytest.fail(f"PostgreSQL's server programs are required here (ZAMIO_REQUIRE_POSTGRES=1): {missing}")
        pytest.skip(missing)
    started = StandbyCluster.start(standbys=2)
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="module")
def songs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Twenty seconds of each catalog song as a WAV file."""
    folder = tmp_path_factory.mktemp("replica-songs")
    for name, seed in SONGS.items():
        synth.write_wav(folder / f"{name}.wav", synth.song(seed, seconds=20.0))
    return {name: folder / f"{name}.wav" for name in SONGS}


@pytest.fixture
def catalog(cluster: StandbyCluster, songs: dict[str, Path], tmp_path: Path) -> Project:
    """A migrated database on the primary with the four songs fingerprinted, replayed on both standbys."""
    name = f"zamio_replicas_{uuid.uuid4().hex[:12]}"
    cluster.psql(cluster.primary, f'CREATE DATABASE "{name}"')
    primary = Project(cluster.primary.url(name), tmp_path / "primary")
    primary.migrate()
    world = World(primary)
    world.station("joy")
    world.station("adom")
    for ref, path in songs.items():
        audio = primary.tmp_path / "audio" / path.name  # the track's own file, which a test may replace
        audio.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, audio)
        world.track(f"t-{ref}", ref.title(), "Ama", audio_path=audio)
    world.fingerprint()
    for standby in cluster.standbys:
        cluster.caught_up(standby)
    return primary


def host(catalog: Project, name: str, replicas: list[str]) -> Project:
    """A scan host of its own var/ on the catalog's database, its lookups sent to ``replicas``."""
    project = Project(catalog.database_url, catalog.tmp_path / name)
    project.var_dir.mkdir(parents=True)
    (project.var_dir / "test.env").write_text(
        f"ZAMIO_HOST_NAME={name}\nFINGERPRINT_DATABASE_URL={','.join(replicas)}\n"
    )
    return project


def scan(project: Project, name: str, station: str, songs: list[Path], at: str = "2026-05-04 12:00") -> None:
    world = World(project)
    for minute, path in enumerate(songs):
        world.snippet(station, f"{at[:-2]}{minute:02d}", path)
    world.scan_snippets(host=name)


def detections(project: Project, station: str) -> list[tuple[str, float, float]]:
    """(track, offset in the track, speed) of each detection on ``station``, in capture order."""
    return [
        (row.track_ref, round(row.offset_seconds, 2), round(row.speed, 3))
        for row in project.query(
            "SELECT t.track_ref, d.offset_seconds, d.speed FROM detections d JOIN tracks t ON t.id = d.track_id "
            "JOIN stations s ON s.id = d.station_id WHERE s.station_ref = :station ORDER BY d.detected_at",
            station=station,
        )
    ]


def lookups_by_host(statements: list[tuple[str, str, str]]) -> Counter[str]:
    """Application name -> transactions that looked fingerprints up."""
    return Counter(app for app, _ in {(app, vxid) for app, vxid, sql in statements if LOOKUP in sql})


@pytest.mark.postgres
def test_scan_hosts_spread_their_lookups_over_the_replicas_and_record_what_the_primary_alone_would(
    cluster: StandbyCluster, catalog: Project, songs: dict[str, Path]
) -> None:
    name = catalog.database.sqlalchemy_url.database
    assert name is not None
    replicas = [standby.url(name) for standby in cluster.standbys]
    alpha, beta = host(catalog, "alpha", replicas), host(catalog, "beta", replicas)
    for server in [cluster.primary, *cluster.standbys]:
        server.mark()

    scan(alpha, "alpha", "joy", [songs["odo"], songs["kente"]])
    scan(beta, "beta", "joy", [songs["adowa"], songs["highlife"]], at="2026-05-04 13:00")

    # Each host's two captures: one on each replica, whichever it started with.
    for standby in cluster.standbys:
        statements = standby.statements()
        assert lookups_by_host(statements) == {"zamio scan alpha": 1, "zamio scan beta": 1}, standby.name
        assert not [sql for _, _, sql in statements if sql.lstrip().upper().startswith(WRITES)], standby.name
    on_primary = cluster.primary.statements()
    assert not [sql for _, _, sql in on_primary if LOOKUP in sql or "FROM fingerprints" in sql]
    # The writes went to the primary: captures, detections, job runs.
    assert catalog.scalar("SELECT count(*) FROM captures") == 4
    assert [track for track, _, _ in detections(catalog, "joy")] == ["t-odo", "t-kente", "t-adowa", "t-highlife"]

    # The same four snippets heard on the primary alone (no FINGERPRINT_DATABASE_URL): the same detections.
    single = host(catalog, "gamma", [])
    scan(single, "gamma", "adom", [songs["odo"], songs["kente"]])
    scan(single, "gamma", "adom", [songs["adowa"], songs["highlife"]], at="2026-05-04 13:00")
    assert detections(catalog, "adom") == detections(catalog, "joy")
    assert all(abs(offset) < 0.1 for _, offset, _ in detections(catalog, "joy"))  # each snippet is a song's start
    assert lookups_by_host(cluster.primary.statements()) == {"zamio scan-station-streams": 4}
    assert all(
        lookups_by_host(standby.statements()) == {"zamio scan alpha": 1, "zamio scan beta": 1}
        for standby in cluster.standbys
    )


@pytest.mark.postgres
def test_a_replica_that_is_down_gives_its_captures_to_the_other(
    cluster: StandbyCluster, catalog: Project, songs: dict[str, Path]
) -> None:
    name = catalog.database.sqlalchemy_url.database
    assert name is not None
    down, alive = cluster.standbys
    delta = host(catalog, "delta", [down.url(name), alive.url(name)])
    alive.mark()
    cluster.primary.mark()
    with cluster.stopped(down):
        world = World(delta)
        for minute, song in enumerate(("odo", "kente", "adowa")):
            world.snippet("joy", f"2026-05-04 14:0{minute}", songs[song])
        result = delta.script("scan-station-streams", "--only", "snippets", env=delta.env(SCAN_CONCURRENCY="1"))
        assert result.returncode == 0, result.stderr
        assert f"the replica {down.url(name)} cannot serve fingerprint lookups" in result.stderr
        assert [track for track, _, _ in detections(catalog, "joy")] == ["t-odo", "t-kente", "t-adowa"]
        assert lookups_by_host(alive.statements()) == {"zamio scan delta": 3}
        assert not [sql for _, _, sql in cluster.primary.statements() if LOOKUP in sql]

        # bin/detect-audio looks up where the scan does.
        heard = delta.script("detect-audio", "--json", str(songs["highlife"]))
        assert heard.returncode == 0 and '"t-highlife"' in heard.stdout, heard.stdout + heard.stderr
        assert lookups_by_host(alive.statements()) == {"zamio scan delta": 3, "zamio detect-audio delta": 1}

        # No replica answers: the primary looks up, with a warning; still no capture is lost.
        lonely = host(catalog, "epsilon", [down.url(name), f"postgresql://postgres@127.0.0.1:{free_port()}/{name}"])
        scan(lonely, "epsilon", "adom", [songs["highlife"]])
        assert [track for track, _, _ in detections(catalog, "adom")] == ["t-highlife"]
        assert lookups_by_host(cluster.primary.statements()) == {"zamio scan-station-streams": 1}


@pytest.mark.postgres
def test_a_track_fingerprinted_again_on_the_primary_is_not_matched_from_a_lagging_replicas_old_set(
    cluster: StandbyCluster, catalog: Project, songs: dict[str, Path]
) -> None:
    name = catalog.database.sqlalchemy_url.database
    assert name is not None
    lagging = cluster.standbys[0]
    cluster.psql(lagging, "SELECT pg_wal_replay_pause()")
    try:
        # Odo's audio was the wrong recording: it is replaced and fingerprinted again, on the primary only.
        track_audio = catalog.tmp_path / "audio" / "odo.wav"
        synth.write_wav(track_audio, synth.song(99, seconds=20.0))
        done = catalog.script("batch-fingerprint-tracks", "--track", "t-odo", "--force")
        assert done.returncode == 0, done.stderr
        lagging.mark()
        epsilon = host(catalog, "zeta", [lagging.url(name)])
        world = World(epsilon)
        world.snippet("joy", "2026-05-04 15:00", songs["odo"])  # the old, wrong recording
        world.snippet("joy", "2026-05-04 15:01", songs["kente"])
        result = epsilon.script("scan-station-streams", "--only", "snippets", env=epsilon.env(SCAN_CONCURRENCY="1"))
        assert result.returncode == 0, result.stderr
        # The replica still holds Odo's old set and matched it; the primary's stamp differs, so the capture was
        # heard again there, where nothing matches it.  Kente, unchanged, keeps the replica's match.
        assert [track for track, _, _ in detections(catalog, "joy")] == ["t-kente"]
        assert lookups_by_host(lagging.statements()) == {"zamio scan zeta": 2}
        assert "was fingerprinted again (or its fingerprints removed) since the replica's copy" in result.stderr
        assert catalog.scalar("SELECT count(*) FROM captures") == 2
    finally:
        cluster.psql(lagging, "SELECT pg_wal_replay_resume()")


def test_sqlite_refuses_the_replicas_setting(sqlite_url: str, tmp_path: Path) -> None:
    project = Project(sqlite_url, tmp_path)
    result = project.script(
        "scan-station-streams",
        "--only",
        "snippets",
        env=project.env(FINGERPRINT_DATABASE_URL="postgresql://zamio@replica.example/zamio"),
    )
    assert result.returncode == 78, result.stderr
    assert (
        "FINGERPRINT_DATABASE_URL names read replicas of PostgreSQL, but DATABASE_URL names a SQLite" in result.stderr
    )
    assert "replica.example" not in result.stderr
