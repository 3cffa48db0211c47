"""A correction by hand stands when convert-matches rebuilds the plays around it from late detections.

The world is built through the real scripts: ``import-catalog`` (Joy FM, class_a in Accra, and
two fingerprinted songs whose catalog length is 200 s) → ``batch-fingerprint-tracks`` →
``detect-audio --record`` (clips recorded at given times, as a station's uploaded snippets are)
→ ``convert-matches`` → ``calculate-royalty-distributions``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.audio_fixtures import excerpt_file, song_files  # noqa: F401
from tests.support import Project

AS_OF = "2026-03-03T00:00:00Z"


class Station:
    def __init__(self, project: Project, songs: dict[str, Path]) -> None:
        self.project = project
        self.songs = songs

    def run(self, name: str, *args: str) -> str:
        result = self.project.script(name, *args)
        assert result.returncode == 0, f"{name} {' '.join(args)} exited {result.returncode}:\n{result.stderr}"
        return result.stdout + result.stderr

    def heard(self, at: str, song: str, offset: float) -> None:
        """A clip of ``song`` from ``offset`` s, recorded on Joy FM at ``at`` (ISO 8601)."""
        clip = self.project.tmp_path / f"clip-{at.replace(':', '')}.wav"
        excerpt_file(self.songs[song], clip, offset, 8.0, ["-c:a", "pcm_s16le"])
        self.run("detect-audio", "--record", "--station", "JOY", "--at", at, str(clip))

    def plays(self) -> list[tuple]:
        return [tuple(r) for r in self.project.query(
            "SELECT p.id, t.track_ref, p.duration_seconds, p.status, p.version FROM play_logs p "
            "JOIN tracks t ON t.id = p.track_id ORDER BY p.id")]


@pytest.fixture
def station(project: Project, song_files: dict[str, Path]) -> Station:  # noqa: F811
    folder = project.tmp_path / "input"
    folder.mkdir()
    (folder / "stations.csv").write_text("station_ref,name,city,region,station_class,stream_url,timezone\n"
                                         "JOY,Joy FM,Accra,Greater Accra,class_a,,Africa/Accra\n")
    (folder / "tracks.csv").write_text("track_ref,title,artist,audio_path,duration_seconds\n"
                                       f"T-A,Song A,Ama Ghana,{song_files['song-21']},200\n"
                                       f"T-B,Song B,Kojo Beats,{song_files['song-22']},200\n")
    joy = Station(project, {"A": song_files["song-21"], "B": song_files["song-22"]})
    joy.run("import-catalog", "--stations", str(folder / "stations.csv"), "--tracks", str(folder / "tracks.csv"))
    joy.run("batch-fingerprint-tracks", "--all")
    return joy


def test_a_late_detection_in_a_corrected_window_leaves_the_correction_standing(station: Station) -> None:
    """A at 12:00, B at 12:04, A at 12:08 (each heard once, 5 s in): three plays of about 200 s.  A person
    retimes the first to 11 s (0.015 × 11 = 1,650 units) and voids the second.  Then two snippets arrive
    late: one 12 s into A heard at 12:00:12 (the first airing, just after the corrected end) and one 10 s
    into B at 12:05:10 (inside the voided airing).  The rebuild they cause leaves both corrections as they
    are: no new play, the late detections pinned to the plays that hold them, the money of the correction."""
    project = station.project
    station.heard("2026-03-02T12:00:05Z", "A", 5)
    station.heard("2026-03-02T12:04:05Z", "B", 5)
    station.heard("2026-03-02T12:08:05Z", "A", 5)
    station.run("convert-matches", "--as-of", AS_OF)
    first, second, third = (row[0] for row in station.plays())
    station.run("calculate-royalty-distributions")
    printed = station.run("correct-plays", "retime", str(first), "--seconds", "11", "--reason", "station log: a jingle "
                          "cut in at 0:11", "--by", "ama.owusu")
    assert "billable play 4: GHS 0.1650 (priced)" in printed
    station.run("correct-plays", "void", str(second), "--reason", "a trailer quoting B, not B", "--by", "ama.owusu")
    corrected = project.scalar("SELECT id FROM play_logs WHERE correction_id IS NOT NULL")
    before = station.plays()
    assert before == [(first, "T-A", before[0][2], "superseded", 1), (second, "T-B", before[1][2], "superseded", 1),
                      (third, "T-A", before[2][2], "final", 1), (corrected, "T-A", 11.0, "final", 2)]

    station.heard("2026-03-02T12:00:12Z", "A", 12)
    station.heard("2026-03-02T12:05:10Z", "B", 10)
    converted = station.run("convert-matches", "--as-of", AS_OF)
    assert "0 plays stored" in converted and "2 detections left to corrections by hand" in converted
    assert station.plays() == before
    late = project.query("SELECT convert_status, convert_error FROM detections ORDER BY id")[3:]
    assert [status for status, _ in late] == ["pinned", "pinned"]
    assert f"captured within play {corrected}, corrected by hand" in late[0][1]
    assert f"captured within play {second}, corrected by hand" in late[1][1]
    assert "0 plays stored" in station.run("convert-matches", "--as-of", AS_OF)  # and again: nothing

    station.run("calculate-royalty-distributions")
    net = dict(project.query("SELECT play_id, sum(amount) FROM royalty_ledger GROUP BY play_id"))
    assert net[first] == 0 and net[second] == 0  # reversed whole
    assert net[corrected] == 1_650  # 0.015 × 11 s, regular hours (12:00 in Accra)
    assert project.scalar("SELECT count(*) FROM royalty_pricings WHERE play_id = :p", p=third) == 1
