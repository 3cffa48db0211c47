"""tests.support.race: a racing thread that raises, or never ends, fails the test that raced it."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.support import race
from zamio.db.engine import open_engine


def test_a_thread_that_raises_fails_the_race_with_its_traceback(tmp_path: Path) -> None:
    engine = open_engine(f"sqlite:///{tmp_path / 'race.db'}")
    done = []

    def works() -> None:
        with engine.connect() as conn:
            done.append(conn.execute(text("SELECT 1")).scalar())

    def crashes() -> None:
        raise ValueError("the second run crashed")

    threads = [threading.Thread(target=works, name="worker"), threading.Thread(target=crashes, name="crasher")]
    with pytest.raises(AssertionError) as failed:
        race(threads, [engine])
    assert done == [1]  # the other thread ran to the end all the same
    assert "crasher raised:" in str(failed.value) and "ValueError: the second run crashed" in str(failed.value)
    assert "worker" not in str(failed.value)


def test_a_thread_still_running_after_the_timeout_fails_the_race() -> None:
    release = threading.Event()
    stuck = threading.Thread(target=release.wait, name="stuck")
    try:
        with pytest.raises(AssertionError, match="stuck still running after 0.2 s"):
            race([stuck], [], timeout=0.2)
    finally:
        release.set()
        stuck.join()


def test_threads_that_finish_pass_the_race() -> None:
    results = []
    threads = [threading.Thread(target=results.append, args=(n,)) for n in range(3)]
    race(threads, [])
    assert sorted(results) == [0, 1, 2]
