"""Pricing and splitting plays into the ledger, on SQLite and PostgreSQL, with hand-computed figures.

Seeded rates (sql/0005_royalties.sql), GHS per second: class A 0.015, class B 0.012,
class C 0.008; multipliers class A 1.5 / 1.0 / 0.7, class C 1.2 / 1.0 / 0.9
(prime / regular / off-peak); prime 06-10 h and 16-20 h, off-peak 00-06 h, station-local.
One unit = GHS 0.0001.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy.exc import DBAPIError

from tests.support import Project
from tests.world import World, run, store_imported_play
from zamio.db.engine import transaction
from zamio.royalties.pricing.run import PricingStats, price_pending


def price(project: Project, **options) -> PricingStats:
    return price_pending(lambda: transaction(project.engine), f"run-{uuid.uuid4()}", **options)


def lines(project: Project, play_id: int) -> dict[str, int]:
    rows = project.query("SELECT entry_key, amount FROM royalty_ledger WHERE play_id = :p ORDER BY id", p=play_id)
    return {key.split(":", 2)[2]: amount for key, amount in rows}


def test_local_track_with_three_contributors_and_a_publisher(project: Project) -> None:
    world = World(project)
    station = world.station()
    track = world.track("t1", "Odo", "Ama")
    world.contributor(track, "Ama", "33.33")
    world.contributor(track, "Kofi", "33.33", publisher="Pub X")
    world.contributor(track, "Yaw", "33.34")
    play = world.play(station, "2026-03-02 07:00", "187.3", track=track)
    world.load()
    stats = price(project)
    # class A prime: 0.015 × 1.5 × 187.3 s = GHS 4.21425 → 42142.5 units → half-even 42142.
    # 33.33 % → 14045.93, 33.33 % → 14045.93, 33.34 % → 14050.14: floors 14045 + 14045 + 14050 = 42140,
    # the 2 units left go to the two largest remainders (.93, .93): Ama and Kofi's publisher.
    assert lines(project, play.id) == {
        "share:contributor:ama": 14046, "share:publisher:pub-x": 14046, "share:contributor:yaw": 14050}
    assert project.scalar("SELECT gross FROM royalty_pricings WHERE play_id = :p", p=play.id) == 42142
    assert stats.statuses == {"priced": 1}
    assert price(project).booked == 0  # a second run books nothing
    assert project.scalar("SELECT count(*) FROM royalty_ledger") == 3


def test_a_work_without_contributors_pays_its_own_publisher_else_the_artists_default_publisher(
        project: Project) -> None:
    world = World(project)
    station = world.station()
    world.artist("Ama", publisher="Sika Music")
    world.artist("Kojo", publisher="Sika Music")
    world.artist("Efua")
    odo = world.track("t1", "Odo", "Ama")  # names no publisher: Ama's default
    kente = world.track("t2", "Kente", "Kojo", publisher="Pub X")  # its own publisher comes first
    sunrise = world.track("t3", "Sunrise", "Efua")  # no publisher at all: Efua herself
    plays = [world.play(station, f"2026-03-02 0{7 + n}:00", 100, track=track)
             for n, track in enumerate((odo, kente, sunrise))]
    world.load()
    price(project)
    # class A prime: 0.015 × 1.5 × 100 s = GHS 2.25 = 22500 units, 100 % to one party.
    assert [lines(project, play.id) for play in plays] == [
        {"share:publisher:sika-music": 22500}, {"share:publisher:pub-x": 22500}, {"share:artist:efua": 22500}]
    # A file without the column keeps the default publisher; an empty cell takes it away.
    again = project.tmp_path / "artists-again.csv"
    again.write_text("artist,email\nAma,\n")
    run(project, "import-catalog", "--artists", str(again))
    assert project.scalar("SELECT p.publisher_ref FROM artists a JOIN publishers p ON p.id = a.publisher_id "
                          "WHERE a.artist_ref = 'ama'") == "sika-music"
    world.artist("Ama", publisher=None)
    world.load()
    assert project.scalar("SELECT publisher_id FROM artists WHERE artist_ref = 'ama'") is None


def test_foreign_work_under_an_agreement_with_a_15_percent_admin_fee(project: Project) -> None:
    world = World(project)
    station = world.station(station_class="class_b")
    world.agreement("052", "15", "2025-01-01", "2027-01-01")
    track = world.track("t-prs", "London", "UK Artist", society="052")
    play = world.play(station, "2026-03-02 12:00", 240, track=track)
    world.load()
    price(project)
    # class B regular: 0.012 × 1.0 × 240 = GHS 2.88 = 28800 units; 15 % fee = 4320 to GHAMRO, 24480 to PRS.
    assert lines(project, play.id) == {"admin_fee:local_society:285": 4320, "share:society:052": 24480}


def test_no_agreement_in_force_and_unknown_recordings_go_to_suspense(project: Project) -> None:
    world = World(project)
    station = world.station()
    world.agreement("052", "15", "2025-01-01", "2026-01-01")  # expired before the play
    track = world.track("t-prs", "London", "UK", society="052")
    expired = world.play(station, "2026-03-02 12:00", 100, track=track)
    unknown = world.play(station, "2026-03-02 13:00", 100, isrc="USRC17607839")
    world.load()
    price(project)
    # class A regular: 0.015 × 1.0 × 100 = GHS 1.50 = 15000 units each, held whole.
    assert lines(project, expired.id) == {f"suspense:suspense:no_agreement:track:{track.id}": 15000}
    assert lines(project, unknown.id) == {"suspense:suspense:unidentified:isrc:USRC17607839": 15000}


def test_bad_shares_go_to_suspense_and_a_short_play_gets_a_zero_line(project: Project) -> None:
    world = World(project)
    station = world.station()
    track = world.track("t1", "Odo", "Ama")
    world.contributor(track, "Ama", "60")
    world.contributor(track, "Yaw", "30")
    bad = world.play(station, "2026-03-02 12:00", 100, track=track)
    short = world.play(station, "2026-03-02 13:00", 8, track=track)
    world.load()
    price(project)
    assert lines(project, bad.id) == {f"suspense:suspense:bad_shares:track:{track.id}": 15000}  # 60 + 30 ≠ 100
    assert lines(project, short.id) == {"ineligible:ineligible:below_min_seconds": 0}  # 8 s < 10 s minimum
    assert project.scalar("SELECT status FROM royalty_pricings WHERE play_id = :p", p=short.id) == "ineligible"


def test_a_rate_change_mid_period_prices_each_play_by_the_card_in_force(project: Project) -> None:
    world = World(project)
    station = world.station()
    world.rate_card("class_a", "prime", "0.020", "1.5", "2026-03-15")
    track = world.track("t1", "Odo", "Ama")
    before = world.play(station, "2026-03-10 07:00", 100, track=track)
    after = world.play(station, "2026-03-20 07:00", 100, track=track)
    world.load()
    price(project)
    # 0.015 × 1.5 × 100 = 2.25 (22500 units); from 15 March 0.020 × 1.5 × 100 = 3.00 (30000 units).
    assert lines(project, before.id) == {"share:artist:ama": 22500}
    assert lines(project, after.id) == {"share:artist:ama": 30000}


def test_periods_are_station_local_time(project: Project) -> None:
    world = World(project)
    lagos = world.station("lagos", "class_c", "Africa/Lagos")  # UTC+1
    accra = world.station("accra", "class_c", "Africa/Accra")  # UTC+0
    track = world.track("t1", "Odo", "Ama")
    in_lagos = world.play(lagos, "2026-03-02 05:30", 100, track=track)
    in_accra = world.play(accra, "2026-03-02 05:30", 100, track=track)
    world.load()
    price(project)
    # 06:30 in Lagos is prime: 0.008 × 1.2 × 100 = 0.96 (9600); 05:30 in Accra is off-peak: × 0.9 → 0.72 (7200).
    assert lines(project, in_lagos.id) == {"share:artist:ama": 9600}
    assert lines(project, in_accra.id) == {"share:artist:ama": 7200}


def test_a_share_correction_is_booked_as_reversals_and_new_lines(project: Project) -> None:
    world = World(project)
    station = world.station()
    track = world.track("t1", "Odo", "Ama")
    world.contributor(track, "Ama", "50")
    world.contributor(track, "Yaw", "50")
    play = world.play(station, "2026-03-02 12:00", 100, track=track)
    world.load()
    price(project)
    world.contributor(track, "Ama", "70")  # the share table corrected: the contributors file sent again
    world.contributor(track, "Yaw", "30")
    world.load()
    assert price(project).booked == 0  # the hourly run re-examines only suspense; nothing moves
    stats = price(project, recalculate=True)
    assert stats.statuses == {"priced": 1}
    # v1: 15000 units split 7500 / 7500; v2 reverses both and books 70 % = 10500 and 30 % = 4500.
    rows = project.query("SELECT version, kind, recipient_ref, amount FROM royalty_ledger WHERE play_id = :p "
                         "ORDER BY id", p=play.id)
    assert [tuple(r) for r in rows] == [
        (1, "share", "ama", 7500), (1, "share", "yaw", 7500),
        (2, "reversal", "ama", -7500), (2, "reversal", "yaw", -7500),
        (2, "share", "ama", 10500), (2, "share", "yaw", 4500)]
    assert project.scalar("SELECT sum(amount) FROM royalty_ledger") == 15000
    assert price(project, recalculate=True).booked == 0  # recalculating again changes nothing


def test_a_superseded_play_is_reversed_and_its_new_version_priced(project: Project) -> None:
    world = World(project)
    station = world.station()
    track = world.track("t1", "Odo", "Ama")
    old = world.play(station, "2026-03-02 12:00", 100, track=track)
    world.load()
    price(project)
    new = world.correct(old, seconds=180)  # the partner sends the row again with the length corrected
    world.load()
    assert project.scalar("SELECT status FROM play_logs WHERE id = :p", p=old.id) == "superseded"
    assert project.scalar("SELECT supersedes_id FROM play_logs WHERE id = :p", p=new.id) == old.id
    price(project)
    assert lines(project, old.id) == {
        "share:artist:ama": 15000,
        f"reversal:{project.scalar('SELECT id FROM royalty_ledger WHERE play_id = :p AND version = 1', p=old.id)}":
            -15000}
    assert lines(project, new.id) == {"share:artist:ama": 27000}  # 0.015 × 1.0 × 180 s
    assert project.scalar("SELECT sum(amount) FROM royalty_ledger") == 27000


def test_suspense_is_released_once_the_recording_is_mapped(project: Project) -> None:
    world = World(project)
    station = world.station()
    world.agreement("010", None, "2025-01-01")  # ASCAP: no fee in the agreement, society default 15 %
    play = world.play(station, "2026-03-02 12:00", 100, isrc="usrc-176-07839")
    world.load()
    price(project)
    world.repertoire("010", "USRC17607839")  # ASCAP claims the recording
    world.map_isrcs("-q")
    assert project.query("SELECT society_id, status FROM isrc_mappings WHERE isrc = 'USRC17607839'") == [
        (world.society_id("010"), "mapped")]
    price(project)
    held = "suspense:suspense:unidentified:isrc:USRC17607839"
    got = lines(project, play.id)
    assert got.pop(held) == 15000 and sorted(got.values()) == [-15000, 2250, 12750]  # 15 % of 15000 = 2250


def test_names_with_tabs_backslashes_and_line_breaks_are_booked_unchanged(project: Project) -> None:
    world = World(project)
    station = world.station()
    track = world.track("t1", "Odo", "Ama")
    odd = "Ama\tB. \\ \"Nana\"\nÉwé"
    other = "Kofi\t2 \\ \"K\"\r\nMensah"
    world.contributor(track, odd, "50")
    world.contributor(track, other, "50")
    play = world.play(station, "2026-03-02 12:00", 100, track=track)
    world.load()
    price(project)
    # The party references are the names' slugs; the names are booked as written.
    assert project.query("SELECT recipient_ref, recipient_name, amount FROM royalty_ledger WHERE play_id = :p "
                         "ORDER BY recipient_ref", p=play.id) == [("ama-b-nana-ewe", odd, 7500),
                                                                  ("kofi-2-k-mensah", other, 7500)]


def test_two_workers_price_every_play_once_in_small_batches(project: Project) -> None:
    world = World(project)
    station = world.station()
    track = world.track("t1", "Odo", "Ama")
    world.contributor(track, "Ama", "33.33")
    world.contributor(track, "Kofi", "33.33")
    world.contributor(track, "Yaw", "33.34")
    # Two minutes apart, so that no two 100 s plays are one airing.
    plays = [world.play(station, f"2026-03-02 12:{2 * m:02d}", 100, track=track) for m in range(23)]
    world.load()
    stats = price(project, batch_size=4, workers=2)
    # class A regular: 0.015 × 1.0 × 100 = 15000 units a play; 33.33 % → 4999.5, 33.33 % → 4999.5,
    # 33.34 % → 5001: floors 4999 + 4999 + 5001 = 14999, the unit left goes to the first of the equal
    # remainders by recipient (ama).  23 plays in batches of 4: six batches shared by two workers.
    assert stats.statuses == {"priced": 23}
    assert stats.gross == {"GHS": 23 * 15000}
    assert project.scalar("SELECT count(DISTINCT play_id) FROM royalty_pricings") == 23
    assert project.scalar("SELECT count(*) FROM royalty_ledger") == 3 * 23
    assert project.scalar("SELECT sum(amount) FROM royalty_ledger") == 23 * 15000
    for play in plays:
        assert lines(project, play.id) == {
            "share:contributor:ama": 5000, "share:contributor:kofi": 4999, "share:contributor:yaw": 5001}
    assert price(project, workers=2).booked == 0


def test_a_play_that_cannot_be_priced_is_parked_with_its_reason_and_the_others_are_priced(project: Project) -> None:
    catalog = project.tmp_path / "catalog"
    catalog.mkdir()
    (catalog / "stations.csv").write_text(
        "station_ref,name,city,region,station_class,stream_url,timezone\n"
        "joy,Joy FM,Accra,Greater Accra,class_a,,Africa/Accra\n"
        "kiri,Radio Kiritimati,London,Line Islands,class_a,,Pacific/Kiritimati\n"  # UTC+14
        "la,Radio LA,Los Angeles,California,class_a,,America/Los_Angeles\n")  # UTC-8
    (catalog / "tracks.csv").write_text("track_ref,title,artist,audio_path\nT1,Odo,Ama,odo.wav\n")
    (catalog / "plays.csv").write_text("station_ref,started_at,duration_seconds,track_ref\n"
                                       "joy,2026-03-02T07:00:00Z,100,T1\njoy,2026-03-02T12:00:00Z,100,T1\n")
    loaded = project.script("import-catalog", "--stations", str(catalog / "stations.csv"),
                            "--tracks", str(catalog / "tracks.csv"))
    assert loaded.returncode == 0, loaded.stderr
    assert project.script("import-playlogs", str(catalog / "plays.csv")).returncode == 0
    # Station-local, these starts lie beyond the calendar: 10000-01-01 in Kiritimati, year 0 in Los Angeles.
    last_year = store_imported_play(project, "kiri", "T1", datetime(9999, 12, 31, 23, 0, tzinfo=UTC), 180)
    first_year = store_imported_play(project, "la", "T1", datetime(1, 1, 1, 0, 30, tzinfo=UTC), 180)

    first = project.script("calculate-royalty-distributions", "--batch-size", "10")
    assert first.returncode == 1, first.stderr  # the parked plays are failed items; the batch is committed
    assert "2 plays: cannot be priced (local_time_out_of_range 2)" in first.stderr
    # Class A, Accra: 07:00 is prime, 0.015 × 1.5 × 100 s = GHS 2.25 = 22500 units; 12:00 is regular,
    # 0.015 × 1.0 × 100 s = GHS 1.50 = 15000 units.
    priced = project.query("SELECT p.gross FROM royalty_pricings p JOIN play_logs l ON l.id = p.play_id "
                           "WHERE p.status = 'priced' ORDER BY l.started_at")
    assert [row[0] for row in priced] == [22500, 15000]
    parked = {row[0]: tuple(row[1:]) for row in project.query(
        "SELECT play_id, status, reason, gross, play_date FROM royalty_pricings WHERE play_id IN (:a, :b)",
        a=last_year, b=first_year)}
    assert {play: (status, reason, gross, str(day)) for play, (status, reason, gross, day) in parked.items()} == {
        last_year: ("unpriced", "local_time_out_of_range", 0, "9999-12-31"),
        first_year: ("unpriced", "local_time_out_of_range", 0, "0001-01-01")}
    assert "OverflowError" in project.scalar("SELECT details FROM royalty_pricings WHERE play_id = :p", p=last_year)

    again = project.script("calculate-royalty-distributions")
    assert again.returncode == 0, again.stderr
    assert "0 failed, 2 skipped, 2 unchanged" in again.stderr
    assert project.scalar("SELECT count(*) FROM royalty_pricings") == 4

    status = project.script("zamio-status")
    assert "2  plays that cannot be priced (bin/suspense-report lists them)" in status.stdout, status.stdout
    report = project.script("suspense-report")
    assert report.returncode == 0, report.stderr
    assert "not priced (no money booked; every pricing run tries them again): 2 plays" in report.stdout
    rows = [line.split() for line in report.stdout.splitlines()]
    assert ["kiri", "local_time_out_of_range", "1", "9999-12-31", str(last_year)] in rows
    assert ["la", "local_time_out_of_range", "1", "0001-01-01", str(first_year)] in rows


@pytest.mark.postgres
def test_a_play_whose_pricing_raises_anything_is_parked_with_the_error(postgres_url: str, tmp_path) -> None:
    project = Project(postgres_url, tmp_path)
    project.migrate()
    (tmp_path / "stations.csv").write_text("station_ref,name,city,region,station_class,stream_url\n"
                                           "joy,Joy FM,Accra,Greater Accra,class_a,\n")
    (tmp_path / "tracks.csv").write_text("track_ref,title,artist,audio_path\nT1,Odo,Ama,odo.wav\n")
    assert project.script("import-catalog", "--stations", str(tmp_path / "stations.csv"),
                          "--tracks", str(tmp_path / "tracks.csv")).returncode == 0
    good = store_imported_play(project, "joy", "T1", datetime(2026, 3, 2, 12, 0, tzinfo=UTC), 100)
    # PostgreSQL keeps a NaN duration (SQLite would store NULL and refuse it); nothing that reads
    # numbers people write lets one in any more, so it is written as store_imported_play writes.
    nan = store_imported_play(project, "joy", "T1", datetime(2026, 3, 2, 13, 0, tzinfo=UTC), float("nan"))
    result = project.script("calculate-royalty-distributions")
    assert result.returncode == 1, result.stderr
    assert "1 plays: cannot be priced (pricing_error 1)" in result.stderr
    assert f"play {nan} cannot be priced (pricing_error)" in result.stderr
    pricings = {row[0]: tuple(row[1:]) for row in project.query(
        "SELECT play_id, status, reason, gross, seconds FROM royalty_pricings")}
    # 0.015 × 1.0 × 100 s = GHS 1.50 = 15000 units; the NaN play is booked with no seconds.
    assert pricings == {good: ("priced", None, 15000, 100.0), nan: ("unpriced", "pricing_error", 0, 0.0)}
    assert "InvalidOperation" in project.scalar("SELECT details FROM royalty_pricings WHERE play_id = :p", p=nan)


@pytest.mark.postgres
def test_a_priced_play_or_rate_card_cannot_be_deleted(postgres_url: str, tmp_path) -> None:
    # PostgreSQL has no foreign keys from pricings to plays and rate cards (sql/0012): triggers keep them.
    project = Project(postgres_url, tmp_path)
    world = World(project)
    station = world.station()
    world.rate_card("class_a", "regular", "0.02", "1.0", "2026-03-01")
    world.rate_card("class_b", "regular", "0.02", "1.0", "2026-03-01")
    track = world.track("t1", "Odo", "A")
    priced = world.play(station, "2026-03-02 12:00", 100, track=track)
    # The same airing reported by a second partner: kept as a duplicate, never priced.
    unpriced = world.play(station, "2026-03-02 12:00", 100, track=track, source="radiomonitor")
    world.load()
    card, unused = (project.scalar("SELECT id FROM rate_cards WHERE station_class = :c AND effective_from = "
                                   "'2026-03-01'", c=c) for c in ("class_a", "class_b"))
    assert project.scalar("SELECT status FROM play_logs WHERE id = :p", p=unpriced.id) == "duplicate"
    price(project)
    assert project.scalar("SELECT rate_card_id FROM royalty_pricings WHERE play_id = :p", p=priced.id) == card
    for sql, row in (("DELETE FROM play_logs WHERE id = :i", priced.id),
                     ("DELETE FROM rate_cards WHERE id = :i", card)):
        with pytest.raises(DBAPIError, match="was priced"):
            project.execute(sql, i=row)
    project.execute("DELETE FROM play_logs WHERE id = :i", i=unpriced.id)
    project.execute("DELETE FROM rate_cards WHERE id = :i", i=unused)
    assert project.scalar("SELECT count(*) FROM play_logs") == 1
