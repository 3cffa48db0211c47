#!/usr/bin/env python3
"""How long every ``bin/`` script takes to answer ``--help``, for one checkout or two side by side.

Usage:
    nice -n 10 python bench/help_startup.py [--rounds 5] [--against OTHER_CHECKOUT]

Each round runs every script of ``bin/`` once with ``--help`` in a fresh process (this
interpreter, ``ZAMIO_NO_REEXEC=1`` so that no script re-executes itself under another one),
for this checkout and, with ``--against``, for the other one too, alternating which goes
first, so that both meet the same load.  A script's time is the median of its rounds.  Prints,
for each checkout, the total over all scripts and the five slowest, and with two checkouts the
ratio of their totals.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def help_seconds(script: Path, env: dict[str, str]) -> float:
    """Wall time of one ``script --help`` in a fresh process; raise if it does not exit 0."""
    began = time.perf_counter()
    subprocess.run([sys.executable, str(script), "--help"], env=env, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - began


def measure(checkouts: list[Path], names: list[str], rounds: int) -> dict[Path, dict[str, float]]:
    """Return, per checkout, each script's median ``--help`` time over ``rounds`` rounds (checkouts alternated)."""
    env = dict(os.environ, ZAMIO_NO_REEXEC="1")
    samples: dict[Path, dict[str, list[float]]] = {c: {n: [] for n in names} for c in checkouts}
    for round_number in range(rounds):
        for name in names:
            order = checkouts if round_number % 2 == 0 else checkouts[::-1]
            for checkout in order:
                samples[checkout][name].append(help_seconds(checkout / "bin" / name, env))
    return {c: {n: statistics.median(times) for n, times in by_name.items()} for c, by_name in samples.items()}


def report(medians: dict[Path, dict[str, float]]) -> None:
    totals = {}
    for checkout, by_name in medians.items():
        totals[checkout] = sum(by_name.values())
        print(f"{checkout}: {len(by_name)} scripts, total {totals[checkout]:.2f} s "
              f"(median per script {statistics.median(by_name.values()):.3f} s)")
        for name, seconds in sorted(by_name.items(), key=lambda item: -item[1])[:5]:
            print(f"  {name:34} {seconds:6.3f} s")
    if len(totals) == 2:
        first, second = totals
        print(f"{second} takes {totals[second] / totals[first]:.1f}x as long as {first} in total")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5, help="runs of each script per checkout (default 5)")
    parser.add_argument("--against", type=Path, metavar="CHECKOUT", help="another checkout to time beside this one")
    args = parser.parse_args()
    checkouts = [ROOT] + ([args.against.resolve()] if args.against else [])
    names = sorted(p.name for p in (ROOT / "bin").iterdir() if p.is_file())
    names = [n for n in names if all((c / "bin" / n).is_file() for c in checkouts)]
    print(f"{len(names)} scripts, {args.rounds} rounds, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.2f} at the start", flush=True)
    report(measure(checkouts, names, args.rounds))
    print(f"load average {os.getloadavg()[0]:.2f} at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
