"""Plays against the truth: a simulated broadcast morning through the real recognition path.

Three stations play known schedules (back-to-back songs, the same song an hour apart, A-B-A,
a song sped up 2 %, a jingle, talk, talk over an intro at low SNR, a song cut short, dead
air, a stream dead for ten minutes).  Clips cut every two minutes are recognised once per
session with ``zamio.recognition.index.identify`` (tests/broadcast.py); each database then gets
the same captures and detections, bin/convert-matches runs, and its plays are compared with
the schedules.  Errors that recognition caused (a fingerprint locking onto a repeated section
and reporting a wrong offset) are counted apart from the play builder's own.
"""

from __future__ import annotations

import pytest

from tests import broadcast as ev
from tests.support import Project

HOURS = 2.0
LATER = "2026-03-03T00:00:00Z"


@pytest.fixture(scope="session")
def simulation(tmp_path_factory) -> ev.Simulation:
    from zamio.db.engine import open_engine
    from zamio.runtime import migrate

    engine = open_engine(f"sqlite:///{tmp_path_factory.mktemp('recognition') / 'catalog.db'}")
    migrate.migrate(engine)
    sim = ev.simulate(engine, HOURS, 3, ev.make_songs(8, 100.0, 80.0))
    engine.dispose()
    return sim


def test_plays_match_the_broadcast_schedule(project: Project, simulation: ev.Simulation):
    ev.load(project.engine, simulation)
    result = project.script("convert-matches", "--as-of", LATER)
    assert result.returncode == 0, result.stderr
    with project.engine.connect() as conn:
        scores = ev.score(ev.final_plays(conn), simulation.days, HOURS)
        blame = ev.blame(conn, scores, simulation.heard, simulation.days)
        print("\n".join(scores.lines() + blame.lines(scores)))
        assert ev.duplicates(conn) == 0
    precision, recall = blame.builder(scores)
    assert precision >= 0.99 and recall >= 0.98
    assert scores.matched >= 0.9 * scores.truth  # recognition itself stays good on this material
    assert scores.precision >= 0.99  # plays as recognised, offsets included, before any allowance
    assert ev.percentile(sorted(scores.start_errors), 50) <= 2.0


def test_runs_every_two_minutes_store_the_plays_of_one_run(project: Project, simulation: ev.Simulation):
    ev.load(project.engine, simulation)
    assert project.script("convert-matches", "--as-of", LATER).returncode == 0
    with project.engine.connect() as conn:
        one_run = ev.digest(conn)
    with project.engine.begin() as conn:
        ev.reset_plays(conn)
    ev.run_as_cron(project.engine, ev.station_ids(project.engine), HOURS)
    with project.engine.connect() as conn:
        assert ev.digest(conn) == one_run
        assert ev.duplicates(conn) == 0
    assert project.scalar("SELECT max(version) FROM play_logs") == 1  # nothing stored had to be revised
