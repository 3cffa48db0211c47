"""A NUL character in a CSV field refuses its line, the same way on SQLite and PostgreSQL.

PostgreSQL text cannot hold a NUL, so such a row used to stop the whole import there (exit 70)
while SQLite stored it.  Now the reader refuses the line, naming the field: the files that load
row by row (tracks, stations, play logs) keep their other rows and exit 1; the files that load
whole or not at all (contributors, reference data) are refused, exit 65.
"""

from __future__ import annotations

from pathlib import Path

from tests.support import Project

NUL = "\x00"
TRACKS = ("track_ref,title,artist,audio_path\n"
          "GH-001,Odo,Ama,odo.wav\n"
          f"GH-002,Sika{NUL}Mp3,Kofi,sika.wav\n"
          "GH-003,Nsu,Yaw,nsu.wav\n")
STATIONS = ("station_ref,name,city,region,station_class,stream_url\n"
            f"joy,Joy FM,Accra{NUL},Greater Accra,class_a,http://stream.example/joy\n"
            "peace,Peace FM,Accra,Greater Accra,class_a,http://stream.example/peace\n")
PLAYS = ("station_ref,started_at,duration_seconds,track_ref,title,artist\n"
         "peace,2026-03-02T10:00:00Z,180,GH-001,,\n"
         f"peace,2026-03-02T10:05:00Z,180,GH-003,Nsu{NUL},Yaw{NUL}\n"
         "peace,2026-03-02T10:10:00Z,180,GH-003,,\n")


def write(tmp_path: Path, name: str, content: str) -> str:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return str(path)


def refused_lines(stderr: str, name: str) -> list[str]:
    return [line.split(f"{name} ", 1)[1] for line in stderr.splitlines() if f"{name} line " in line]


def test_tracks_stations_and_plays_refuse_the_line_with_a_nul_and_load_the_others(project: Project,
                                                                                   tmp_path: Path) -> None:
    result = project.script("import-catalog", "--tracks", write(tmp_path, "tracks.csv", TRACKS),
                            "--stations", write(tmp_path, "stations.csv", STATIONS))
    assert result.returncode == 1, result.stderr
    assert [line.split(";")[0] for line in refused_lines(result.stderr, "tracks.csv")] == [
        "line 3: title contains a NUL character, which no text field can hold"]
    assert [line.split(";")[0] for line in refused_lines(result.stderr, "stations.csv")] == [
        "line 2: city contains a NUL character, which no text field can hold"]
    assert [r.track_ref for r in project.query("SELECT track_ref FROM tracks ORDER BY track_ref")] == [
        "GH-001", "GH-003"]
    assert [r.station_ref for r in project.query("SELECT station_ref FROM stations")] == ["peace"]

    plays = project.script("import-playlogs", write(tmp_path, "plays.csv", PLAYS))
    assert plays.returncode == 1, plays.stderr
    assert [line.split(";")[0] for line in refused_lines(plays.stderr, "plays.csv")] == [
        "line 3: title, artist contain a NUL character, which no text field can hold"]
    assert "2 plays added" in plays.stderr
    assert project.scalar("SELECT count(*) FROM play_logs") == 2


def test_a_share_table_with_a_nul_is_refused_whole(project: Project, tmp_path: Path) -> None:
    assert project.script("import-catalog", "--tracks", write(tmp_path, "tracks.csv", TRACKS)).returncode == 1
    contributors = write(tmp_path, "contributors.csv", "track_ref,name,role,share_percent\n"
                                                       "GH-001,Ama,composer,50\n"
                                                       f"GH-001,Esi{NUL},lyricist,50\n")
    refused = project.script("import-catalog", "--contributors", contributors)
    assert refused.returncode == 65, refused.stderr
    assert [line.split(";")[0] for line in refused_lines(refused.stderr, "contributors.csv")] == [
        "line 3: name contains a NUL character, which no text field can hold"]
    assert "nothing was imported" in refused.stderr
    assert project.scalar("SELECT count(*) FROM contributors") == 0


def test_reference_data_with_a_nul_is_refused_whole(project: Project, tmp_path: Path) -> None:
    societies = write(tmp_path, "societies.csv", "code,name,short_name,currency,email\n"
                                                 "901,Sika Rights,SIKA,GHS,\n"
                                                 f"902,Nsoromma Rights,NSO,GHS,info@nsoromma.example{NUL}\n")
    rates = write(tmp_path, "rate-cards.csv", "territory,station_class,period,rate_per_second,multiplier,currency,"
                                              f"effective_from\nGH,class_a,prime,0.02,1.0,GHS{NUL},2026-01-01\n")
    refused = project.script("import-catalog", "--societies", societies, "--rate-cards", rates)
    assert refused.returncode == 65, refused.stderr
    assert [line.split(";")[0] for line in refused_lines(refused.stderr, "societies.csv")] == [
        "line 3: email contains a NUL character, which no text field can hold"]
    assert [line.split(";")[0] for line in refused_lines(refused.stderr, "rate-cards.csv")] == [
        "line 2: currency contains a NUL character, which no text field can hold"]
    assert project.scalar("SELECT count(*) FROM partner_societies WHERE code IN ('901', '902')") == 0
    assert project.scalar("SELECT count(*) FROM rate_cards WHERE effective_from > '2025-01-01'") == 0
