"""One airing, one billing: every report of an airing is kept, exactly one is billed and priced."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import exc

from tests.e2e.test_playlog_import_export import HEADER, world  # noqa: F401  (the fixture)
from tests.support import Project
from tests.world import T0, CaptureWorld
from zamio.db.engine import utcnow
from zamio.db.tables import play_logs
from zamio.playlogs import billing


def load(world: CaptureWorld, name: str, *rows: str):
    path = world.project.tmp_path / name
    path.write_text(HEADER + "".join(row + "\n" for row in rows))
    result = world.project.script("import-playlogs", str(path))
    assert result.returncode == 0, result.stderr
    return result


def billed(world: CaptureWorld) -> list:
    return world.project.query(
        "SELECT p.id, p.play_key, p.version, p.source, p.import_ref, p.started_at, p.duration_seconds "
        "FROM play_logs p WHERE p.status = 'final' ORDER BY p.id")


def pricings_per_airing(world: CaptureWorld) -> list[tuple[int, int]]:
    """(play id, pricings not reversed) of every play that has a standing pricing."""
    return [tuple(row) for row in world.project.query(
        "SELECT r.play_id, COUNT(*) FROM royalty_pricings r WHERE r.status <> 'reversed' AND NOT EXISTS ("
        " SELECT 1 FROM royalty_pricings n WHERE n.play_id = r.play_id AND n.version > r.version)"
        " GROUP BY r.play_id ORDER BY r.play_id")]


def price(world: CaptureWorld) -> None:
    result = world.project.script("calculate-royalty-distributions")
    assert result.returncode in (0, 1), result.stderr


def test_two_partners_reporting_one_airing_bill_it_once(world: CaptureWorld):
    # The station's log names the track; a monitoring service names the ISRC, 7 seconds later.
    load(world, "station-log.csv", "joy,2026-03-02T12:00:00Z,240,A,,,,station-log,,L-1")
    second = load(world, "monitor.csv", "joy,2026-03-02T12:00:07Z,236,,GHA012600001,,,monitor,,M-77")
    assert "1 of them reporting airings billed already" in second.stderr
    (first,) = billed(world)
    assert first.import_ref == "station-log:L-1"
    (duplicate,) = world.plays("duplicate")
    assert duplicate.duplicate_of == first.id and duplicate.import_ref == "monitor:M-77"
    price(world)
    assert pricings_per_airing(world) == [(first.id, 1)]


def test_a_resent_row_under_a_new_reference_and_a_moved_start_is_not_billed_again(world: CaptureWorld):
    load(world, "march.csv", "peace,2026-03-02T12:00:00Z,200,B,,,,partner,,r-1")
    load(world, "march-resent.csv", "peace,2026-03-02T12:00:04Z,200,B,,,,partner,,r-1-bis",
         "peace,2026-03-02T12:00:00Z,200,B,,,,partner,,")
    assert len(billed(world)) == 1 and len(world.plays("duplicate")) == 2
    # A real second airing of the same song later that hour is billed on its own.
    load(world, "later.csv", "peace,2026-03-02T12:40:00Z,200,B,,,,partner,,r-2")
    assert len(billed(world)) == 2


def test_a_corrected_row_is_a_new_version_of_its_play(world: CaptureWorld):
    load(world, "march.csv", "peace,2026-03-02T12:00:00Z,200,B,,,,partner,,r-1")
    price(world)
    (old,) = billed(world)
    again = load(world, "march.csv", "peace,2026-03-02T12:00:00Z,200,B,,,,partner,,r-1")
    assert "0 plays added" in again.stderr and "1 already imported" in again.stderr
    corrected = load(world, "march-fixed.csv", "peace,2026-03-02T12:00:00Z,185.5,B,,,,partner,,r-1")
    assert "1 corrected" in corrected.stderr
    (new,) = billed(world)
    assert (new.play_key, new.version, new.duration_seconds) == (old.play_key, 2, 185.5)
    (superseded,) = world.plays("superseded")
    assert superseded.id == old.id
    price(world)  # the old version's money is reversed, the new one priced: one standing pricing
    assert pricings_per_airing(world) == [(new.id, 1)]


def test_a_duplicate_is_billed_when_the_play_it_duplicated_moves_away(world: CaptureWorld):
    load(world, "monitor.csv", "joy,2026-03-02T12:00:00Z,240,A,,,,monitor,,m-1")
    load(world, "station-log.csv", "joy,2026-03-02T12:00:10Z,240,A,,,,station-log,,s-1")
    (monitor,) = billed(world)
    # The monitoring service corrects its row: that airing was at 13:00, not 12:00.
    load(world, "monitor-fixed.csv", "joy,2026-03-02T13:00:00Z,240,A,,,,monitor,,m-1")
    now_billed = {row.import_ref: row for row in billed(world)}
    assert set(now_billed) == {"monitor:m-1", "station-log:s-1"}
    assert now_billed["monitor:m-1"].version == 2 and world.plays("duplicate") == []


def test_a_detected_airing_reported_later_by_a_partner_is_billed_once(world: CaptureWorld):
    world.programme("joy", [("A", -30, 240)], T0, 3)
    assert world.convert().returncode == 0
    load(world, "station-log.csv", "joy,2026-03-02T11:59:40Z,240,,GHA012600001,,,station-log,,x")
    (detected,) = billed(world)
    assert detected.source == "local" and world.plays("duplicate")[0].duplicate_of == detected.id
    price(world)
    assert pricings_per_airing(world) == [(detected.id, 1)]


def test_the_database_refuses_a_second_billing_of_an_airing(world: CaptureWorld):
    """Whatever a writer checked before, the schema itself refuses a second final play of an airing."""
    load(world, "log.csv", "joy,2026-03-02T12:00:00Z,240,A,,,,log,,1")
    now = utcnow()
    row = {"play_key": "import|written-past-the-check", "version": 1, "station_id": world.stations["joy"],
           "track_id": world.tracks["A"], "recording_key": f"track:{world.tracks['A']}", "isrc": "GHA012600001",
           "category": "music", "source": "imported", "started_at": T0 + timedelta(seconds=30),
           "ended_at": T0 + timedelta(seconds=270), "duration_seconds": 240.0, "status": "final",
           "created_at": now}
    with pytest.raises(exc.IntegrityError):
        with world.engine.begin() as conn:
            conn.execute(play_logs.insert().values(**billing.with_recording_ref(dict(row))))
    # Starting 61 seconds apart, or not overlapping, is another airing: accepted.
    later = dict(row, play_key="import|another-airing", started_at=T0 + timedelta(seconds=61),
                 ended_at=T0 + timedelta(seconds=301))
    with world.engine.begin() as conn:
        conn.execute(play_logs.insert().values(**billing.with_recording_ref(later)))
    # Nor can a duplicate be turned final behind the billing's back.
    with pytest.raises(exc.IntegrityError):
        with world.engine.begin() as conn:
            duplicate = dict(row, play_key="import|kept-as-evidence", status="duplicate")
            conn.execute(play_logs.insert().values(**billing.with_recording_ref(duplicate)))
            conn.execute(play_logs.update().where(play_logs.c.play_key == "import|kept-as-evidence")
                         .values(status="final"))


@pytest.mark.postgres
def test_an_import_racing_the_converter_on_one_airing_bills_it_once(postgres_url: str, tmp_path):
    project = Project(postgres_url, tmp_path)
    world = CaptureWorld(project)
    world.track("A", isrc="GHA012600001")
    rounds = 12
    for n in range(rounds):
        world.station(f"s{n}")
        world.programme(f"s{n}", [("A", -30, 240)], T0, 3)
    for n in range(rounds):
        path = tmp_path / f"log-{n}.csv"
        path.write_text(HEADER + f"s{n},2026-03-02T11:59:35Z,240,A,,,,log,,{n}\n")
        importer = project.popen("import-playlogs", str(path))
        converter = project.popen("convert-matches", "--as-of", "2026-03-03T00:00:00Z", "--station", f"s{n}")
        for process in (importer, converter):
            _, err = process.communicate(timeout=120)
            assert process.returncode == 0, err
    counts = project.query("SELECT s.station_ref, p.status, COUNT(*) AS n FROM play_logs p "
                           "JOIN stations s ON s.id = p.station_id GROUP BY s.station_ref, p.status")
    by_station: dict[str, dict[str, int]] = {}
    for station, status, n in counts:
        by_station.setdefault(station, {})[status] = n
    assert by_station == {f"s{n}": {"final": 1, "duplicate": 1} for n in range(rounds)}
    price(world)
    assert all(n == 1 for _, n in pricings_per_airing(world)) and len(pricings_per_airing(world)) == rounds
