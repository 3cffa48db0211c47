#!/usr/bin/env python3
"""Run every fuzzer of the readers of outside input with a given number of examples; print what each met.

Usage:
    python bench/fuzz_counts.py [--examples 2000] [--db-examples 300] [--only unit|db] [--json FILE]

The fuzz tests (``tests/unit/test_fuzz_readers.py``: CSV rows and fields, identifiers,
playlists, HLS, ICY metadata, side-cars; ``tests/db/test_fuzz_imports.py``: every CSV import
end to end into SQLite) run in this process under pytest with ``ZAMIO_FUZZ_EXAMPLES`` set,
``--examples`` for the pure readers and ``--db-examples`` for the imports (each example of
those copies a database and imports a file).  Then, per reader, the inputs tried and how
each ended: ``loaded`` (everything read), ``rows refused`` (some rows refused with their line
numbers and reasons, the others loaded), ``file refused`` (the whole input refused with the
reader's own error naming the line or the thing), with the lines loaded and refused.  Any
other end (a traceback, a hang, a wrong value) fails its test: the exit code is pytest's.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pytest  # noqa: E402

from tests.fuzz import EXAMPLES_VARIABLE, OUTCOMES, TALLY  # noqa: E402

TIERS = {"unit": "tests/unit/test_fuzz_readers.py", "db": "tests/db/test_fuzz_imports.py"}
COLUMNS = ("inputs", *OUTCOMES, "lines loaded", "lines refused")


def run(tier: str, examples: int) -> int:
    """Run one tier's fuzz tests with ``examples`` examples each; return pytest's exit code."""
    os.environ[EXAMPLES_VARIABLE] = str(examples)
    return int(pytest.main(["-p", "no:cacheprovider", "-o", "addopts=", "-q", "--no-header", "-x",
                            str(ROOT / TIERS[tier])]))


def table(seconds: dict[str, float], examples: dict[str, int]) -> str:
    width = max(len(reader) for reader in TALLY) if TALLY else 10
    lines = [f"{'reader':<{width}}  " + "  ".join(f"{c:>12}" for c in COLUMNS)]
    for reader in sorted(TALLY):
        counts = TALLY[reader]
        lines.append(f"{reader:<{width}}  " + "  ".join(f"{counts[c]:>12}" for c in COLUMNS))
    lines.append("")
    lines += [f"{tier}: {examples[tier]} examples per fuzzer, {seconds[tier]:.1f} s" for tier in seconds]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=2000, help="examples per pure-reader fuzzer")
    parser.add_argument("--db-examples", type=int, default=300, help="examples per end-to-end import fuzzer")
    parser.add_argument("--only", choices=sorted(TIERS), help="run one tier only")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the counts as JSON")
    args = parser.parse_args()
    examples = {"unit": args.examples, "db": args.db_examples}
    seconds, code = {}, 0
    for tier in [args.only] if args.only else list(TIERS):
        began = time.monotonic()
        code = run(tier, examples[tier]) or code
        seconds[tier] = time.monotonic() - began
    print()
    print(table(seconds, examples))
    if args.json:
        args.json.write_text(json.dumps({"examples": examples, "seconds": seconds,
                                         "readers": {r: dict(c) for r, c in sorted(TALLY.items())}}, indent=2) + "\n")
    return code


if __name__ == "__main__":
    sys.exit(main())
