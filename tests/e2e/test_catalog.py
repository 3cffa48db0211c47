"""bin/import-catalog and the CSV reader it shares with the reference-data loaders."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from tests.support import Project, log_events
from zamio.files import csvread as csvimport
from zamio.runtime.errors import DataError

TRACKS = """\
track_ref,title,artist,audio_path,isrc,album,duration_seconds,publisher,category
GH-001,Odo Nsu,Kwame Eugène,audio/odo.mp3,gh-a01-26-00001,First,201.5,Sika Music,music
GH-002,Peace FM Ident,Peace FM,/srv/audio/ident.wav,,,,,ident
GH-003,,Nobody,audio/x.mp3,,,,,
GH-004,Bad Code,Someone,audio/y.mp3,NOT-AN-ISRC,,,,
GH-005,Bad Kind,Someone,audio/z.mp3,,,,,podcast
GH-006,Bad Length,Someone,audio/z.mp3,,,-3,,
"""

STATIONS = """\ufeffstation_ref,name,city,region,station_class,stream_url,backup_stream_url,timezone
peace-fm,Peace FM,Accra,Greater Accra,class_a,http://stream.example/peace,https://backup.example/peace,
luv-fm,Luv FM,Kumasi,Ashanti,class_z,http://stream.example/luv,,
kessben,Kessben FM,Kumasi,Ashanti,class_b,ftp://stream.example/k,,
"""

CONTRIBUTORS = """\
track_ref,name,role,share_percent,publisher,email,ipi
GH-001,Kwame Eugène,Composer,50.00,Sika Music,kwame@example.com,00014107338
GH-001,Ama Serwaa,Lyricist,50,,,
GH-999,Ghost,Composer,100,,,
GH-001,Too Much,Producer,150,,,
"""


def write(tmp_path: Path, name: str, content: str) -> Path:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


def test_good_rows_load_and_bad_rows_are_reported_by_line(project: Project, tmp_path: Path) -> None:
    files = [write(tmp_path, n, c) for n, c in (("tracks.csv", TRACKS), ("stations.csv", STATIONS))]
    result = project.script("import-catalog", "--tracks", str(files[0]), "--stations", str(files[1]))
    assert result.returncode == 1, result.stderr
    for line, words in ((4, "title is empty"), (5, "isrc"), (6, "category 'podcast'"), (7, "duration_seconds"),
                        (3, "station_class 'class_z'"), (4, "must start with http")):
        assert any(f"line {line}: " in row and words in row for row in result.stderr.splitlines()), (line, words)
    assert "tracks.csv: 2 rows loaded, 4 rejected" in result.stderr

    tracks = project.query("SELECT track_ref, title, isrc, duration_seconds, audio_path, category FROM tracks "
                           "ORDER BY track_ref")
    assert [(t[0], t[2], t[3], t[5]) for t in tracks] == [("GH-001", "GHA012600001", 201.5, "music"),
                                                         ("GH-002", None, None, "ident")]
    assert tracks[0].audio_path == str(tmp_path / "audio" / "odo.mp3")  # relative to the CSV's folder
    assert project.scalar("SELECT artist_ref FROM artists a JOIN tracks t ON t.artist_id = a.id "
                          "WHERE t.track_ref = 'GH-001'") == "kwame-eugene"
    links = project.query("SELECT s.station_ref, l.url, l.priority FROM stream_links l "
                          "JOIN stations s ON s.id = l.station_id ORDER BY l.priority")
    assert [tuple(r) for r in links] == [("peace-fm", "http://stream.example/peace", 0),
                                         ("peace-fm", "https://backup.example/peace", 1)]


def test_a_share_table_loads_whole_or_not_at_all(project: Project, tmp_path: Path) -> None:
    tracks = write(tmp_path, "tracks.csv", TRACKS)
    assert project.script("import-catalog", "--tracks", str(tracks)).returncode == 1  # its bad rows: see above
    contributors = write(tmp_path, "contributors.csv", CONTRIBUTORS)
    refused = project.script("import-catalog", "--contributors", str(contributors))
    assert refused.returncode == 65, refused.stderr
    for line, words in ((4, "track_ref 'GH-999' is not in the catalog"),
                        (5, "share_percent 150 is above the maximum 100; the accepted range is 0 to 100")):
        assert any(f"contributors.csv line {line}: " in row and words in row for row in refused.stderr.splitlines())
    assert "nothing was imported" in refused.stderr
    assert project.scalar("SELECT count(*) FROM contributors") == 0  # not the two good rows either
    good = write(tmp_path, "contributors.csv", "\n".join(CONTRIBUTORS.splitlines()[:3]) + "\n")
    assert project.script("import-catalog", "--contributors", str(good)).returncode == 0
    shares = project.query("SELECT party_ref, role, share_percent, email FROM contributors ORDER BY party_ref")
    assert [(r[0], r[1], Decimal(str(r[2])), r[3]) for r in shares] == [
        ("00014107338", "composer", Decimal("50"), "kwame@example.com"),
        ("ama-serwaa", "lyricist", Decimal("50"), None)]


def test_reimport_is_idempotent_and_updates_in_place(project: Project, tmp_path: Path) -> None:
    tracks = write(tmp_path, "tracks.csv",
                   "track_ref,title,artist,audio_path\nGH-1,One,Ama,a.wav\nGH-2,Two,Ama,b.wav\n")
    stations = write(tmp_path, "stations.csv", STATIONS.splitlines()[0] + "\n" + STATIONS.splitlines()[1] + "\n")
    for _ in range(2):
        result = project.script("import-catalog", "--tracks", str(tracks), "--stations", str(stations))
        assert result.returncode == 0, result.stderr
    assert project.scalar("SELECT count(*) FROM tracks") == 2
    assert project.scalar("SELECT count(*) FROM artists") == 1
    assert project.scalar("SELECT count(*) FROM stream_links") == 2
    write(tmp_path, "tracks.csv", "track_ref,title,artist,audio_path\nGH-1,One (edit),Ama,a2.wav\n")
    stations.write_text("station_ref,name,city,region,station_class,stream_url\n"
                        "peace-fm,Peace FM,Accra,Greater Accra,class_a,http://new.example/peace\n")
    assert project.script("import-catalog", "--tracks", str(tracks), "--stations", str(stations)).returncode == 0
    assert project.scalar("SELECT title FROM tracks WHERE track_ref = 'GH-1'") == "One (edit)"
    # The changed audio is queued for fingerprinting; the station's old links are switched off.
    assert project.scalar("SELECT status FROM fingerprint_work") == "pending"
    active = project.query("SELECT url FROM stream_links WHERE active = :t", t=True)
    assert [r[0] for r in active] == ["http://new.example/peace"]


def test_a_file_without_its_columns_writes_nothing_and_exits_65(project: Project, tmp_path: Path) -> None:
    good = write(tmp_path, "tracks.csv", "track_ref,title,artist,audio_path\nGH-1,One,Ama,a.wav\n")
    bad = write(tmp_path, "contributors.csv", "track_ref,name\nGH-1,Ama\n")
    result = project.script("import-catalog", "--tracks", str(good), "--contributors", str(bad))
    assert result.returncode == 65, result.stderr
    assert "missing column(s) role, share_percent" in result.stderr
    assert project.scalar("SELECT count(*) FROM tracks") == 0
    missing = project.script("import-catalog", "--tracks", str(tmp_path / "nope.csv"))
    assert missing.returncode == 65 and "no such file" in missing.stderr


def test_an_import_naming_no_file_is_a_usage_error(tmp_path: Path) -> None:
    project = Project(f"sqlite:///{tmp_path / 'zamio.db'}", tmp_path)
    project.migrate()
    result = project.script("import-catalog")
    assert result.returncode == 2
    assert "name at least one file to import, e.g. --tracks tracks.csv (see --help)" in result.stderr


def test_reader_strips_cells_skips_blank_lines_and_numbers_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "x.csv", '\ufeffA, b ,c\n 1 , two ,\n\n"multi\nline",x,y\n4,,\n')
    rows = list(csvimport.read_rows(path, required=["a", "b"], optional=["c"]))
    assert rows == [(2, {"a": "1", "b": "two", "c": None}), (4, {"a": "multi\nline", "b": "x", "c": "y"}),
                    (6, {"a": "4", "b": None, "c": None})]
    with pytest.raises(DataError, match="empty"):
        list(csvimport.read_rows(write(tmp_path, "e.csv", ""), required=["a"]))


@pytest.mark.parametrize("raw, expected", [("12.50", Decimal("12.50")), ("12,50", Decimal("12.50")),
                                           ("0,015", Decimal("0.015")), ("1000.5", Decimal("1000.5")), (None, None)])
def test_decimal_field_is_exact(raw, expected) -> None:
    assert csvimport.decimal({"x": raw}, "x") == expected


@pytest.mark.parametrize("raw, words", [("abc", "is not a number"), ("1e3", "has an exponent"),
                                        ("NaN", "is not a number"), ("12.5.1", "more than one decimal separator"),
                                        ("1,000.5", "(1000.5 if that is the number meant)"),
                                        ("1,000", "write 1000 for the whole number or 1.000 for the decimal")])
def test_decimal_field_refuses_what_is_not_a_plain_number(raw, words) -> None:
    with pytest.raises(csvimport.RowError) as refused:
        csvimport.decimal({"x": raw}, "x")
    assert str(refused.value).startswith(f"x {raw!r} ") and words in str(refused.value)


def test_slug_makes_ascii_references() -> None:
    assert csvimport.slug("Kwame Eugène & Co.") == "kwame-eugene-co"
    with pytest.raises(csvimport.RowError):
        csvimport.slug("!!!")


def test_stations_and_rate_cards_read_one_station_class_vocabulary(project: Project, tmp_path: Path) -> None:
    stations = write(tmp_path, "stations.csv", "station_ref,name,city,region,station_class,stream_url\n"
                     "s-a,Radio A,Accra,,A,\ns-b,Radio B,Accra,,Class B,\ns-c,Radio C,Accra,,class-c,\n"
                     "s-o,Radio O,Accra,,ONLINE,\ns-z,Radio Z,Accra,,class_z,\n")
    result = project.script("import-catalog", "--stations", str(stations))
    assert result.returncode == 1, result.stderr  # the one unknown class
    assert "stations.csv line 6: station_class 'class_z' is not one of class_a, class_b, class_c, online" \
           in result.stderr
    assert [tuple(r) for r in project.query("SELECT station_ref, station_class FROM stations ORDER BY station_ref")] \
        == [("s-a", "class_a"), ("s-b", "class_b"), ("s-c", "class_c"), ("s-o", "online")]

    header = "territory,station_class,period,rate_per_second,multiplier,currency,effective_from\n"
    cards = write(tmp_path, "rate-cards.csv", header + "NG,A,prime,0.02,1.5,GHS,2026-01-01\n"
                  "NG,Class B,prime,0.01,1.2,GHS,2026-01-01\n")
    assert project.script("import-catalog", "--rate-cards", str(cards)).returncode == 0
    assert [r[0] for r in project.query("SELECT station_class FROM rate_cards WHERE territory = 'NG' "
                                        "ORDER BY station_class")] == ["class_a", "class_b"]
    unknown = write(tmp_path, "rate-cards.csv", header + "NG,class_z,prime,0.02,1.5,GHS,2026-01-01\n")
    refused = project.script("import-catalog", "--rate-cards", str(unknown))
    assert refused.returncode == 65, refused.stderr
    assert "rate-cards.csv line 2: station_class 'class_z' is not one of class_a" in refused.stderr
    assert project.scalar("SELECT count(*) FROM rate_cards WHERE territory = 'NG'") == 2


def lines_of(stderr: str, name: str) -> list[str]:
    return [event.split(f"{name} ", 1)[1] for event in log_events(stderr) if f"{name} line " in event]


def test_a_reference_given_twice_in_a_file_loads_its_first_line_and_refuses_the_second(
        project: Project, tmp_path: Path) -> None:
    tracks = write(tmp_path, "tracks.csv", "track_ref,title,artist,audio_path\n"
                   "GH-1,First,Ama,a.wav\nGH-2,Two,Ama,b.wav\nGH-1,Second,Ama,c.wav\n")
    stations = write(tmp_path, "stations.csv", "station_ref,name,city,region,station_class,stream_url\n"
                     "joy,Joy FM,Accra,,class_a,\njoy,Joy Again,Kumasi,,class_b,\n")
    result = project.script("import-catalog", "--tracks", str(tracks), "--stations", str(stations))
    assert result.returncode == 1, result.stderr
    assert lines_of(result.stderr, "tracks.csv") == [
        "line 4: track_ref 'GH-1' is already on line 2; a file gives each once, so this line is refused: "
        "keep the line meant and delete the other"]
    assert [line.split(";")[0] for line in lines_of(result.stderr, "stations.csv")] == [
        "line 3: station_ref 'joy' is already on line 2"]
    assert "tracks.csv: 2 rows loaded, 1 rejected" in result.stderr
    assert "stations.csv: 1 rows loaded, 1 rejected" in result.stderr
    assert project.scalar("SELECT title FROM tracks WHERE track_ref = 'GH-1'") == "First"
    assert tuple(project.query("SELECT name, station_class FROM stations")[0]) == ("Joy FM", "class_a")


def test_a_contributor_given_twice_refuses_the_share_table(project: Project, tmp_path: Path) -> None:
    tracks = write(tmp_path, "tracks.csv", "track_ref,title,artist,audio_path\nGH-1,One,Ama,a.wav\n")
    assert project.script("import-catalog", "--tracks", str(tracks)).returncode == 0
    contributors = write(tmp_path, "contributors.csv", "track_ref,name,role,share_percent\n"
                         "GH-1,Ama Serwaa,Composer,40\nGH-1,Ama Serwaa,Lyricist,10\nGH-1,Kofi,Composer,10\n"
                         "GH-1,Ama Serwaa,composer,50\n")
    refused = project.script("import-catalog", "--contributors", str(contributors))
    assert refused.returncode == 65, refused.stderr
    assert [line.split(";")[0] for line in lines_of(refused.stderr, "contributors.csv")] == [
        "line 5: contributor ama-serwaa as composer of track_ref 'GH-1' is already on line 2"]
    assert "is already on line 2" in refused.stderr and "nothing was imported" in refused.stderr
    assert project.scalar("SELECT count(*) FROM contributors") == 0


def test_a_reference_data_key_given_twice_refuses_the_file_naming_both_lines(project: Project,
                                                                             tmp_path: Path) -> None:
    cards = write(tmp_path, "rate-cards.csv", "territory,station_class,period,rate_per_second,multiplier,currency,"
                  "effective_from\nNG,A,prime,0.02,1.5,GHS,2026-01-01\nNG,class_b,prime,0.01,1.2,GHS,2026-01-01\n"
                  "ng,Class A,Prime,0.03,1.5,GHS,2026-01-01\n")
    rates = write(tmp_path, "exchange-rates.csv", "from_currency,to_currency,rate,effective_from\n"
                  "GHS,USD,0.2,2026-01-01\nghs,usd,0.3,2026-01-01\n")
    refused = project.script("import-catalog", "--rate-cards", str(cards), "--exchange-rates", str(rates))
    assert refused.returncode == 65, refused.stderr
    assert [line.split(";")[0] for line in lines_of(refused.stderr, "rate-cards.csv")] == [
        "line 4: the rate card NG class_a prime from 2026-01-01 is already on line 2"]
    assert [line.split(";")[0] for line in lines_of(refused.stderr, "exchange-rates.csv")] == [
        "line 3: the exchange rate GHS to USD from 2026-01-01 is already on line 2"]
    assert project.scalar("SELECT count(*) FROM rate_cards WHERE territory = 'NG'") == 0
    assert project.scalar("SELECT count(*) FROM exchange_rates WHERE effective_from = '2026-01-01'") == 0
    fees = write(tmp_path, "societies.csv", "code,name,short_name,currency,default_admin_fee_percent,"
                 "fee_effective_from\n052,PRS,PRS,GBP,20,2026-01-01\n052,PRS,PRS,GBP,25,2026-07-01\n")
    loaded = project.script("import-catalog", "--societies", str(fees))  # one society's dated fees: no repeat
    assert loaded.returncode == 0, loaded.stderr
    assert project.scalar("SELECT count(*) FROM society_admin_fees f JOIN partner_societies s "
                          "ON s.id = f.society_id WHERE s.code = '052' AND f.effective_from >= '2026-01-01'") == 2


def test_a_stream_url_outside_ascii_loads_as_written_and_one_with_no_idna_host_is_refused(
        project: Project, tmp_path: Path) -> None:
    host = "á" * 64 + ".example"  # a DNS label holds at most 63 characters
    stations = write(tmp_path, "stations.csv",
                     "station_ref,name,city,region,station_class,stream_url,backup_stream_url\n"
                     "ekye,Ɛkyɛ FM,Accra,,class_a,http://radio.example.gh/ɛkyɛ/stream,http://rádio.example/live\n"
                     f"long,Long FM,Accra,,class_a,http://monitor:S3cretPass@{host}/live,\n"
                     "nohost,No Host FM,Accra,,class_a,http://:8000/live,\n")
    result = project.script("import-catalog", "--stations", str(stations))
    assert result.returncode == 1, result.stderr
    assert [line.split(" (")[0] for line in lines_of(result.stderr, "stations.csv")] == [
        f"line 3: stream_url: stream URL http://{host}/live has a host name that cannot be written for DNS",
        "line 4: stream_url: stream URL http://:8000/live has no host; check the stream link"]
    assert "S3cretPass" not in result.stderr
    links = project.query("SELECT l.url FROM stream_links l JOIN stations s ON s.id = l.station_id "
                          "ORDER BY l.priority")
    assert [link.url for link in links] == ["http://radio.example.gh/ɛkyɛ/stream", "http://rádio.example/live"]
    assert [s.station_ref for s in project.query("SELECT station_ref FROM stations")] == ["ekye"]


def test_artists_and_stations_set_their_address_and_weekly_summary_and_bad_rows_are_refused_by_line(
        project: Project, tmp_path: Path) -> None:
    tracks = write(tmp_path, "tracks.csv", "track_ref,title,artist,audio_path\nGH-1,Odo,Ama Ghana,a.wav\n")
    artists = write(tmp_path, "artists.csv", "artist,email,weekly_summary\n"
                    "Ama Ghana,ama@example.com,\n"  # empty: yes, for a row new or stored as yes
                    "Efua Mensah,efua@example.com,No\n"  # not named by a track yet: added
                    "Kojo,kojo@example.com,maybe\n"
                    "Yaw,not-an-address,yes\n"
                    "AMA GHANA,ama2@example.com,no\n")  # the same reference as line 2
    stations = write(tmp_path, "stations.csv", "station_ref,name,city,region,station_class,stream_url,"
                     "contact_email,weekly_summary\n"
                     "joy,Joy FM,Accra,,class_a,,joy@example.org,n\n"
                     "obu,Obuasi FM,Obuasi,,class_b,,obu@example.org,\n")
    result = project.script("import-catalog", "--tracks", str(tracks), "--artists", str(artists),
                            "--stations", str(stations))
    assert result.returncode == 1, result.stderr
    assert [line.split(";")[0] for line in lines_of(result.stderr, "artists.csv")] == [
        "line 4: weekly_summary 'maybe' is neither yes nor no",
        "line 5: email 'not-an-address' is not an e-mail address",
        "line 6: artist 'ama-ghana' is already on line 2"]
    assert "artists.csv: 2 rows loaded, 3 rejected" in result.stderr
    stored = project.query("SELECT artist_ref, email, weekly_summary FROM artists ORDER BY artist_ref")
    assert [(r[0], r[1], bool(r[2])) for r in stored] == [("ama-ghana", "ama@example.com", True),
                                                          ("efua-mensah", "efua@example.com", False)]
    # Files loaded again without the column, or with it empty, keep what is stored.
    again = write(tmp_path, "again.csv", "artist,email\nEfua Mensah,efua@example.org\n")
    stations_again = write(tmp_path, "stations-again.csv", "station_ref,name,city,region,station_class,stream_url,"
                           "contact_email\njoy,Joy FM,Accra,,class_a,,joy@example.org\n")
    assert project.script("import-catalog", "--artists", str(again), "--stations", str(stations_again)).returncode == 0
    efua = project.query("SELECT email, weekly_summary FROM artists WHERE artist_ref = 'efua-mensah'")[0]
    assert (efua[0], bool(efua[1])) == ("efua@example.org", False)
    assert [(r[0], bool(r[1])) for r in project.query(
        "SELECT station_ref, weekly_summary FROM stations ORDER BY station_ref")] == [("joy", False), ("obu", True)]
