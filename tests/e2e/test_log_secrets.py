"""-vvv shows the SQL a job runs, never the values it writes or reads: stream-link passwords stay out of the log."""

from __future__ import annotations

from pathlib import Path

from tests.scan_helpers import add_station, scan
from tests.support import Project

PASSWORD = "Li5tenerPassw0rd"


def test_sql_at_vvv_shows_no_stream_password(project: Project) -> None:
    add_station(project, "joy", f"http://listener:{PASSWORD}@127.0.0.1:9/live")  # nothing listens on port 9
    result = scan(project, "-vvv", "--only", "streams")
    assert result.returncode == 1, result.stderr  # the link fails: connection refused
    assert "SELECT" in result.stderr and "UPDATE stream_links" in result.stderr  # the statements are shown
    assert PASSWORD not in result.stderr
    assert project.scalar("SELECT count(*) FROM stream_links WHERE url LIKE :u", u=f"%{PASSWORD}%") == 1


def test_an_import_at_vvv_shows_no_stream_password(project: Project, tmp_path: Path) -> None:
    stations = tmp_path / "stations.csv"
    stations.write_text("station_ref,name,city,region,station_class,stream_url\n"
                        f"joy,Joy FM,Accra,Greater Accra,class_a,https://listener:{PASSWORD}@stream.example/joy\n")
    result = project.script("import-catalog", "-vvv", "--stations", str(stations))
    assert result.returncode == 0, result.stderr
    assert "INSERT INTO stream_links" in result.stderr
    assert PASSWORD not in result.stderr
