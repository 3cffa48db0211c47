"""CSV loaders of the reference data, and the ISRC → society mapping job."""

from __future__ import annotations

from decimal import Decimal

from tests.support import Project
from tests.test_royalties_support import Books, utc
from zamio.csvimport import ImportReport
from zamio.reference import LOADERS


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
    Books(project.engine).station("joy")
    report = load(project, "licence_fees", "station_ref,period_from,period_to,amount,currency\n"
                                           "joy,2026-03-01,2026-03-31,1500.25,GHS\n"
                                           "nobody,2026-03-01,2026-03-31,1,GHS\n")
    assert report.rows_ok == 1 and "nobody" in report.errors[0][1]
    assert project.scalar("SELECT amount FROM station_licence_fees") == 15_002_500
    again = load(project, "licence_fees", "station_ref,period_from,period_to,amount,currency\n"
                                          "joy,2026-03-01,2026-03-31,1500.25,GHS\n")
    assert again.rows_ok == 1 and project.scalar("SELECT count(*) FROM station_licence_fees") == 1


def test_mappings_are_exact_explicit_and_idempotent(project: Project) -> None:
    books = Books(project.engine)
    station = books.station()
    books.repertoire("052", "GBAYE0601498")
    books.repertoire("010", "USRC17607839")
    books.repertoire("021", "USRC17607839")  # claimed twice
    mapped = books.play(station, utc("2026-03-02 12:00"), 100, isrc="GB-AYE-06-01498")
    ambiguous = books.play(station, utc("2026-03-02 13:00"), 100, isrc="USRC17607839")
    unknown = books.play(station, utc("2026-03-02 14:00"), 100, isrc="GHA122400001")
    invalid = books.play(station, utc("2026-03-02 15:00"), 100, isrc="12345")
    first = project.script("update-pro-mappings")
    assert first.returncode == 0, first.stderr
    state = {r[0]: (r[1], r[2]) for r in project.query("SELECT id, society_id, society_status FROM play_logs")}
    assert state[mapped] == (books.society_id("052"), "mapped")
    assert state[ambiguous] == (None, "ambiguous")
    assert state[unknown] == (None, "unknown")  # explicit, never the local society
    assert state[invalid] == (None, "invalid_isrc")
    second = project.script("update-pro-mappings")
    assert "nothing newly mapped" in second.stderr
    books.repertoire("285", "GHA122400001")  # the repertoire grows: unknown rows are re-checked
    project.script("update-pro-mappings")
    assert project.scalar("SELECT society_status FROM play_logs WHERE id = :p", p=unknown) == "mapped"
