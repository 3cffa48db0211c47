"""CSV loaders of the reference data, and the ISRC → society mapping job."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from tests.fake_acrcloud import FakeAcrCloud
from tests.support import Project
from tests.world import World, recording  # noqa: F401
from zamio.catalog.reference import LOADERS
from zamio.db.tables import exchange_rates, rate_cards
from zamio.files.csvread import ImportReport


def load(project: Project, name: str, text: str) -> ImportReport:
    path = project.tmp_path / f"{name}.csv"
    path.write_text(text)
    report = ImportReport()
    with project.engine.begin() as conn:
        LOADERS[name](conn, path, report)
    return report


def test_the_seeded_defaults_are_the_upstream_tariff(project: Project) -> None:
    rows = project.query("SELECT station_class, period, rate_per_second, multiplier FROM rate_cards")
    got = {(c, p): (Decimal(str(r)), Decimal(str(m))) for c, p, r, m in rows}
    assert len(got) == 15
    assert got[("class_a", "prime")] == (Decimal("0.015"), Decimal("1.5"))
    assert got[("class_b", "off_peak")] == (Decimal("0.012"), Decimal("0.8"))
    assert got[("community", "regular")] == (Decimal("0.005"), Decimal("1.0"))
    assert project.scalar("SELECT count(*) FROM partner_societies") == 17
    assert project.scalar("SELECT code FROM partner_societies WHERE is_local") == "285"


def test_loaders_keep_good_rows_and_report_bad_ones_by_line(project: Project) -> None:
    report = load(project, "societies", "code,name,short_name,currency,default_admin_fee_percent\n"
                                        "268,Copyright Society of Nigeria,COSON,NGN,12.5\n"
                                        "9999,Bad,BAD,GHS,10\n")
    assert report.rows_ok == 1 and report.errors[0][0] == 3
    report = load(project, "agreements", "society_code,effective_from,status,admin_fee_percent,expires_on\n"
                                         "268,2026-01-01,active,10,2027-01-01\n"
                                         "268,2026-02-01,active,10,2025-01-01\n")
    assert report.rows_ok == 1 and "not after" in report.errors[0][1]
    report = load(project, "repertoire", "society_code,isrc,iswc,title\n"
                                         "268,ng-a01-26-00001,T-034.524.680-1,Song\n"
                                         "268,NOTANISRC,,Other\n")
    assert report.rows_ok == 1 and report.errors[0][0] == 3
    assert project.scalar("SELECT isrc FROM partner_repertoire") == "NGA012600001"
    report = load(project, "rate_cards", "territory,station_class,period,rate_per_second,multiplier,currency,"
                                         "effective_from\nGH,Class A,prime,0.02,1.5,GHS,2026-06-01\n"
                                         "GH,class_a,midnight,0.02,1.5,GHS,2026-06-01\n")
    assert report.rows_ok == 1 and "period" in report.errors[0][1]
    report = load(project, "exchange_rates", "from_currency,to_currency,rate,effective_from\n"
                                             "GHS,NGN,120.5,2026-01-01\nGHS,XXX,1,2026-01-01\n")
    assert report.rows_ok == 1 and "XXX" in report.errors[0][1]
    world = World(project)
    world.station("joy")
    world.load()
    report = load(project, "licence_fees", "station_ref,period_from,period_to,amount,currency\n"
                                           "joy,2026-03-01,2026-03-31,1500.25,GHS\n"
                                           "nobody,2026-03-01,2026-03-31,1,GHS\n")
    assert report.rows_ok == 1 and "nobody" in report.errors[0][1]
    assert project.scalar("SELECT amount FROM station_licence_fees") == 15_002_500
    again = load(project, "licence_fees", "station_ref,period_from,period_to,amount,currency\n"
                                          "joy,2026-03-01,2026-03-31,1500.25,GHS\n")
    assert again.rows_ok == 1 and project.scalar("SELECT count(*) FROM station_licence_fees") == 1


def test_mappings_are_exact_explicit_and_idempotent(project: Project, recording: Path) -> None:
    world = World(project)
    station = world.station()
    world.repertoire("052", "GBAYE0601498")
    world.repertoire("010", "USRC17607839")
    world.repertoire("021", "USRC17607839")  # claimed twice
    plays = [world.play(station, "2026-03-02 12:00", 100, isrc="GB-AYE-06-01498"),
             world.play(station, "2026-03-02 13:00", 100, isrc="USRC17607839"),
             world.play(station, "2026-03-02 14:00", 100, isrc="GHA122400001")]
    # Heard at 15:00 by ACRCloud, which names a malformed ISRC: the detection keeps it, the play made of it
    # names none.
    world.snippet(station, "2026-03-02 15:00", recording)
    with FakeAcrCloud() as fake:
        fake.respond_match("12345")
        world.scan_snippets(fake)
    world.convert("2026-03-03 00:00")
    mapped, ambiguous, unknown = (play.id for play in plays)
    invalid = project.scalar("SELECT p.id FROM play_logs p JOIN play_detections pd ON pd.play_id = p.id "
                             "JOIN detections d ON d.id = pd.detection_id WHERE d.isrc = '12345' AND p.isrc IS NULL")
    first = project.script("update-pro-mappings")
    assert first.returncode == 0, first.stderr
    assert "1 ok" in first.stderr and "1 ISRC ambiguous, 1 ISRC invalid_isrc, 1 ISRC mapped" in first.stderr
    state = {r[0]: (r[1], r[2]) for r in project.query("SELECT isrc, society_id, status FROM isrc_mappings")}
    assert state == {"GBAYE0601498": (world.society_id("052"), "mapped"),  # by the normalised ISRC
                     "USRC17607839": (None, "ambiguous"),
                     "GHA122400001": (None, "unknown"),  # explicit, never the local society
                     "12345": (None, "invalid_isrc")}
    second = project.script("update-pro-mappings")
    assert "nothing newly mapped" in second.stderr
    world.repertoire("285", "GHA122400001")  # the repertoire grows: unknown ISRCs are re-checked
    world.map_isrcs()
    assert project.query("SELECT society_id, status FROM isrc_mappings WHERE isrc = 'GHA122400001'") == [
        (world.society_id("285"), "mapped")]
    assert project.scalar("SELECT count(*) FROM isrc_mappings") == 4
    rows = project.query("SELECT id, society_id, society_status FROM play_logs WHERE id IN (:a, :b, :c, :d)",
                         a=mapped, b=ambiguous, c=unknown, d=invalid)
    assert sorted(tuple(r) for r in rows) == [(p, None, "unmapped") for p in sorted((mapped, ambiguous, unknown,
                                                                                      invalid))]


# --- reference rows used by money are history ------------------------------------

RATE_CARDS = "territory,station_class,period,rate_per_second,multiplier,currency,effective_from\n"
AGREEMENTS = "society_code,effective_from,status,admin_fee_percent\n"
SOCIETIES = "code,name,short_name,currency,default_admin_fee_percent,fee_effective_from\n"
PRS = "052,Performing Right Society (PRS for Music),PRS"


def import_csv(project: Project, option: str, text: str) -> tuple[int, str]:
    path = project.tmp_path / f"{option}.csv"
    path.write_text(text)
    result = project.script("import-catalog", f"--{option}", str(path))
    return result.returncode, result.stderr


def price(project: Project) -> None:
    result = project.script("calculate-royalty-distributions")
    assert result.returncode == 0, result.stderr


def trace(project: Project, play: int, kind: str = "share") -> dict:
    entry = project.scalar("SELECT max(id) FROM royalty_ledger WHERE play_id = :p AND kind = :k", p=play, k=kind)
    result = project.script("process-royalty-cycle", "--trace", str(entry))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_a_used_rate_card_is_refused_in_place_and_changes_as_a_new_dated_row(project: Project) -> None:
    world = World(project)
    station = world.station()  # class A; at noon the regular period
    track = world.track("t1", "Odo", "Ama")
    march = world.play(station, "2026-03-02 12:00", 100, track=track)
    world.load()
    assert import_csv(project, "rate-cards", RATE_CARDS + "GH,class_a,regular,0.02,1.0,GHS,2026-03-01\n")[0] == 0
    price(project)  # 0.02 × 1.0 × 100 s = GHS 2.00 = 20,000 units
    card = project.scalar("SELECT rate_card_id FROM royalty_pricings WHERE play_id = :p", p=march.id)
    code, stderr = import_csv(project, "rate-cards", RATE_CARDS + "GH,class_a,regular,0.03,1.0,GHS,2026-03-01\n"
                                                                  "GH,class_a,prime,0.05,1.5,GHS,2027-01-01\n")
    assert code == 65, stderr
    assert (f"rate-cards.csv line 2: the rate card GH class_a regular from 2026-03-01 (row {card}) has priced "
            "plays: it is never changed in place (refused: rate_per_second 0.02 → 0.03); to change it, load the "
            "new values as a row of their own with the day they apply from as effective_from") in stderr
    # A rate card file loads whole or not at all: line 3 waits until the file is corrected.
    assert "nothing was imported" in stderr
    assert project.scalar("SELECT count(*) FROM rate_cards WHERE effective_from = '2027-01-01'") == 0
    assert import_csv(project, "rate-cards", RATE_CARDS + "GH,class_a,prime,0.05,1.5,GHS,2027-01-01\n")[0] == 0
    chain = trace(project, march.id)
    assert chain["entry"]["amount"] == 20_000 and chain["rate_card"]["id"] == card
    assert chain["rate_card"]["rate_per_second"] == "0.02"  # the rate that produced the amount
    # An unused row is still corrected in place; a used one changes by a row from the day it applies.
    assert import_csv(project, "rate-cards", RATE_CARDS + "GH,class_a,prime,0.06,1.5,GHS,2027-01-01\n")[0] == 0
    assert project.scalar("SELECT count(*) FROM rate_cards WHERE effective_from = '2027-01-01'") == 1
    assert Decimal(str(project.scalar("SELECT rate_per_second FROM rate_cards "
                                      "WHERE effective_from = '2027-01-01'"))) == Decimal("0.06")
    assert import_csv(project, "rate-cards", RATE_CARDS + "GH,class_a,regular,0.03,1.0,GHS,2026-03-15\n")[0] == 0
    later = world.play(station, "2026-03-20 12:00", 100, track=track)
    world.load()
    result = project.script("calculate-royalty-distributions", "--recalculate")
    assert result.returncode == 0, result.stderr
    assert project.scalar("SELECT max(version) FROM royalty_pricings WHERE play_id = :p", p=march.id) == 1
    assert trace(project, later.id)["entry"]["amount"] == 30_000  # 0.03 × 100 s from 2026-03-15
    assert trace(project, march.id)["rate_card"]["rate_per_second"] == "0.02"


def test_a_used_agreement_or_society_fee_is_refused_in_place_and_pricing_follows_the_dated_rows(
        project: Project) -> None:
    world = World(project)
    station = world.station()
    work = world.track("t-prs", "London", "UK Artist", society="052")
    months = {month: world.play(station, f"2026-{month}-10 12:00", 100, track=work)
              for month in ("03", "04", "05", "06")}
    world.load()
    plays = {month: play.id for month, play in months.items()}
    # The agreement names no fee: PRS's default applies (15 %, seeded).  Each play is 0.015 × 100 s = 15,000.
    assert import_csv(project, "agreements", AGREEMENTS + "052,2025-01-01,active,\n")[0] == 0
    price(project)
    agreement = project.scalar("SELECT id FROM reciprocal_agreements")
    first_fee = project.scalar("SELECT id FROM society_admin_fees WHERE society_id = :s", s=world.society_id("052"))
    code, stderr = import_csv(project, "agreements", AGREEMENTS + "052,2025-01-01,active,10\n"
                                                                  "052,2026-05-01,active,10\n"
                                                                  "052,2026-06-01,terminated,\n")
    assert code == 65, stderr
    assert (f"agreements.csv line 2: the agreement of society 052 for GH from 2025-01-01 (row {agreement}) has "
            "paid plays: it is never changed in place (refused: admin_fee_percent empty → 10)") in stderr
    # An agreements file loads whole or not at all: its other rows wait until the file is corrected.
    assert "nothing was imported" in stderr and project.scalar("SELECT count(*) FROM reciprocal_agreements") == 1
    assert import_csv(project, "agreements", AGREEMENTS + "052,2026-05-01,active,10\n"
                                                          "052,2026-06-01,terminated,\n")[0] == 0
    code, stderr = import_csv(project, "societies", SOCIETIES + f"{PRS},GBP,20,\n")
    assert code == 65, stderr
    assert (f"societies.csv line 2: the default admin fee of society 052 from 1900-01-01 (row {first_fee}) has "
            "paid plays: it is never changed in place (refused: admin_fee_percent 15 → 20); to change it, add "
            "fee_effective_from") in stderr
    for play in plays.values():  # March: fee 15 % of 15,000 = 2,250 to GHAMRO, 12,750 to PRS
        chain = trace(project, play, "admin_fee")
        assert chain["entry"]["amount"] == 2_250 and chain["agreement"]["admin_fee_percent"] is None
        assert Decimal(chain["society_admin_fee"]["admin_fee_percent"]) == 15
    # The fee changes from April as a row of its own.
    assert import_csv(project, "societies", SOCIETIES + f"{PRS},GBP,20,2026-04-01\n")[0] == 0
    assert Decimal(str(project.scalar("SELECT default_admin_fee_percent FROM partner_societies "
                                      "WHERE code = '052'"))) == 20
    result = project.script("calculate-royalty-distributions", "--recalculate")
    assert result.returncode == 0, result.stderr
    fees = {month: project.query("SELECT kind, amount FROM royalty_ledger WHERE play_id = :p AND version = "
                                 "(SELECT max(version) FROM royalty_pricings WHERE play_id = :p) "
                                 "AND kind IN ('admin_fee', 'suspense') ORDER BY kind", p=play)
            for month, play in plays.items()}
    assert [tuple(r) for r in fees["03"]] == [("admin_fee", 2_250)]  # 15 %: before April, unchanged
    assert [tuple(r) for r in fees["04"]] == [("admin_fee", 3_000)]  # the society's 20 % from April
    assert [tuple(r) for r in fees["05"]] == [("admin_fee", 1_500)]  # the agreement's own 10 % from May
    assert [tuple(r) for r in fees["06"]] == [("suspense", 15_000)]  # terminated from June: no agreement
    april = trace(project, plays["04"], "admin_fee")
    assert april["society_admin_fee"]["effective_from"] == "2026-04-01"
    assert trace(project, plays["03"], "admin_fee")["society_admin_fee"]["id"] == first_fee


STATIONS_CSV = ("station_ref,name,city,region,station_class,stream_url,timezone\n"
                "joy,Joy FM,Accra,Greater Accra,community,http://stream.example/joy,Africa/Accra\n")
TRACKS_CSV = "track_ref,title,artist,audio_path\nT1,Odo,Ama,odo.wav\n"
RATES_HEADER = "territory,station_class,period,rate_per_second,multiplier,currency,effective_from\n"


def write(project: Project, name: str, text: str) -> str:
    path = project.tmp_path / name
    path.write_text(text)
    return str(path)


def test_a_decimal_comma_is_a_decimal_separator_in_a_rate_card(project: Project) -> None:
    rates = write(project, "rates.csv", RATES_HEADER + "GH,community,regular,\"0,015\",\"1,0\",GHS,2026-01-01\n")
    result = project.script("import-catalog", "--stations", write(project, "stations.csv", STATIONS_CSV),
                            "--tracks", write(project, "tracks.csv", TRACKS_CSV), "--rate-cards", rates)
    assert result.returncode == 0, result.stderr
    plays = write(project, "plays.csv", "station_ref,started_at,duration_seconds,track_ref\n"
                                        "joy,2026-03-02T12:00:00Z,\"60,0\",T1\n")
    assert project.script("import-playlogs", plays).returncode == 0
    priced = project.script("calculate-royalty-distributions")
    assert priced.returncode == 0, priced.stderr
    # 0.015 GHS a second × 1.0 × 60 s = GHS 0.90 = 9000 units (read as 15 and 10 it was GHS 9000).
    assert project.scalar("SELECT gross FROM royalty_pricings") == 9000
    card = project.query("SELECT rate_per_second, multiplier FROM rate_cards WHERE station_class = 'community' "
                         "AND effective_from = :d", d=date(2026, 1, 1))
    assert [(Decimal(str(r)), Decimal(str(m))) for r, m in card] == [(Decimal("0.015"), Decimal("1"))]


def test_money_reference_data_with_a_refused_number_is_not_loaded_at_all(project: Project) -> None:
    rates = write(project, "rates.csv", RATES_HEADER + "\n".join([
        "GH,community,prime,0.02,1.5,GHS,2026-06-01",  # good, but not loaded: its file is refused
        "GH,community,regular,\"1,234.5\",1,GHS,2026-06-01",
        "GH,community,off_peak,0.01500000001,1,GHS,2026-06-01",  # 11 places: PostgreSQL rounded it
        "GH,online,prime,0.01,1.1234567,GHS,2026-06-01",
        "GH,online,regular,\"0,010\",\"1,000\",GHS,2026-06-01"]) + "\n")
    exchange = write(project, "fx.csv", "from_currency,to_currency,rate,effective_from\n"
                                        "GHS,NGN,\"120,5\",2026-01-01\nGHS,USD,1 234,2026-01-01\n")
    result = project.script("import-catalog", "--stations", write(project, "stations.csv", STATIONS_CSV),
                            "--rate-cards", rates, "--exchange-rates", exchange)
    assert result.returncode == 65, result.stderr
    expected = [
        ("rates.csv line 3", "rate_per_second '1,234.5' has a thousands separator",
         "(1234.5 if that is the number meant)"),
        ("rates.csv line 4", "rate_per_second '0.01500000001' has 11 decimal places",
         "a rate per second keeps 10 and zamio never rounds one"),
        ("rates.csv line 5", "multiplier '1.1234567' has 7 decimal places", "write it with at most 6"),
        ("rates.csv line 6", "multiplier '1,000' is ambiguous", "write 1000 for the whole number or 1.000"),
        ("fx.csv line 3", "rate '1 234' has a thousands separator", "(1234 if that is the number meant)"),
    ]
    for where, what, advice in expected:
        assert any(where in line and what in line and advice in line for line in result.stderr.splitlines()), where
    assert "nothing was imported" in result.stderr
    assert project.scalar("SELECT count(*) FROM rate_cards WHERE effective_from = :d", d=date(2026, 6, 1)) == 0
    assert project.scalar("SELECT count(*) FROM exchange_rates WHERE to_currency = 'NGN'") == 0
    assert project.scalar("SELECT count(*) FROM stations") == 0  # one transaction: the good file too


def test_ten_places_are_kept_exactly_on_both_databases(project: Project) -> None:
    rates = write(project, "rates.csv", RATES_HEADER + "GH,community,regular,\"0,0150000001\",\"1,123456\",GHS,"
                                                       "2026-01-01\n")
    fees = write(project, "fees.csv", "station_ref,period_from,period_to,amount,currency\n"
                                      "joy,2026-03-01,2026-03-31,\"1500,2525\",GHS\n")
    exchange = write(project, "fx.csv", "from_currency,to_currency,rate,effective_from\n"
                                        "GHS,JPY,\"12,3456789012\",2026-01-01\n")
    result = project.script("import-catalog", "--stations", write(project, "stations.csv", STATIONS_CSV),
                            "--rate-cards", rates, "--licence-fees", fees, "--exchange-rates", exchange)
    assert result.returncode == 0, result.stderr
    with project.engine.connect() as conn:
        card = conn.execute(select(rate_cards.c.rate_per_second, rate_cards.c.multiplier)
                            .where(rate_cards.c.effective_from == date(2026, 1, 1))).one()
        rate = conn.execute(select(exchange_rates.c.rate).where(exchange_rates.c.to_currency == "JPY")).scalar()
    assert tuple(card) == (Decimal("0.0150000001"), Decimal("1.123456"))
    assert rate == Decimal("12.3456789012")
    assert project.scalar("SELECT amount FROM station_licence_fees") == 15_002_525
