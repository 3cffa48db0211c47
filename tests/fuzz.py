"""Fuzzing the readers of outside input: how many examples, the bound on each, the tally of outcomes.

Every fuzz test (``tests/unit/test_fuzz_readers.py``, ``tests/db/test_fuzz_imports.py``) takes its
hypothesis settings from :func:`fuzz_settings`: the profile ``zamio-fuzz`` with a small number of
examples chosen per test, so the whole fuzz tier costs CI well under a minute, or the number
given in ``ZAMIO_FUZZ_EXAMPLES`` for a deep run (``bench/fuzz_counts.py`` runs the tier so and
prints the tally).

Each example runs :func:`within` a bound of seconds: an example still running then is interrupted
and fails as a hang, with its input shown by hypothesis, instead of holding CI until its own
time is up.  A reader is quick (milliseconds); the bounds leave a loaded machine a wide margin.

Each example also adds its outcome to :data:`TALLY` under its reader's name: ``loaded`` (everything
read), ``rows refused`` (some rows refused, each with its line number and a reason, the others
read) or ``file refused`` (the whole input refused with the reader's own error, naming the line or
the thing), with the lines loaded and refused.
"""

from __future__ import annotations

import os
import signal
import threading
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager

from hypothesis import HealthCheck, settings

EXAMPLES_VARIABLE = "ZAMIO_FUZZ_EXAMPLES"
LOADED, ROWS_REFUSED, FILE_REFUSED = "loaded", "rows refused", "file refused"
OUTCOMES = (LOADED, ROWS_REFUSED, FILE_REFUSED)

settings.register_profile(
    "zamio-fuzz",
    # The bound is ``within``'s: a hypothesis deadline only fails an example after it ends, and
    # times measured on a shared machine would fail sound examples now and then.
    deadline=None,
    # Generated files are large by design (long fields, many rows).
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
                           HealthCheck.large_base_example, HealthCheck.function_scoped_fixture],
    print_blob=True,
)

#: Per reader: inputs tried, the count of each outcome, and the lines (rows, entries) loaded and refused.
TALLY: dict[str, Counter[str]] = defaultdict(Counter)


def examples(ci_examples: int) -> int:
    """The number of examples a fuzz test runs: ``ZAMIO_FUZZ_EXAMPLES`` if set, else ``ci_examples``."""
    deep = os.environ.get(EXAMPLES_VARIABLE, "").strip()
    if not deep:
        return ci_examples
    if not deep.isdigit() or int(deep) < 1:
        raise ValueError(f"{EXAMPLES_VARIABLE}={deep!r}: give a positive number of examples")
    return int(deep)


def fuzz_settings(ci_examples: int) -> settings:
    """The settings of one fuzz test: the ``zamio-fuzz`` profile and :func:`examples` examples."""
    return settings(settings.get_profile("zamio-fuzz"), max_examples=examples(ci_examples))


def tally(reader: str, outcome: str, loaded: int = 0, refused: int = 0) -> None:
    """Count one input of ``reader`` with its outcome (one of ``OUTCOMES``) and its rows."""
    assert outcome in OUTCOMES, outcome
    counts = TALLY[reader]
    counts["inputs"] += 1
    counts[outcome] += 1
    counts["lines loaded"] += loaded
    counts["lines refused"] += refused


class Hang(AssertionError):
    """An example ran past its bound: the reader hangs (or is far too slow) on that input."""


@contextmanager
def within(seconds: float, what: str) -> Iterator[None]:
    """Run the block; interrupt it with :class:`Hang` naming ``what`` if it runs ``seconds`` or longer.

    SIGALRM interrupts Python code and the regular expression engine alike; it is only
    available in the main thread, where pytest (and each xdist worker) runs its tests.
    """
    assert threading.current_thread() is threading.main_thread(), "within() needs the main thread"

    def expired(signum: int, frame: object) -> None:
        raise Hang(f"{what} still ran after {seconds:g} s: a hang on this input")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
