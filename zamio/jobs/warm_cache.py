"""Recompute the aggregates the dashboards read into cache_entries.

Per station (plays per day for 30 days, top tracks, detection coverage), per
artist and publisher (plays, seconds, top stations, earnings by cycle), the
platform overview and the weekly and monthly charts.  Each key is replaced
whole in one statement, so readers never see a half-written value.

Examples:
    bin/warm-cache
    bin/warm-cache --only station --only platform
    bin/warm-cache --show station:12
    bin/warm-cache --list artist:
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from datetime import timedelta

from zamio.cache.terms import DEFAULT_TTL, FAMILY_NAMES
from zamio.runtime.runner import Job, JobContext


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--only", action="append", choices=sorted(FAMILY_NAMES), metavar="FAMILY",
                        help=f"warm only this family (repeatable): {', '.join(FAMILY_NAMES)}")
    parser.add_argument("--ttl-minutes", type=float, default=DEFAULT_TTL.total_seconds() / 60, metavar="M",
                        help="how long warmed values stay fresh (default 120)")
    parser.add_argument("--show", metavar="KEY", help="print the value of KEY (computed if missing or stale) and exit")
    parser.add_argument("--list", nargs="?", const="", metavar="PREFIX",
                        help="list keys (optionally by prefix) with age")


@dataclass(frozen=True)
class Settings:
    families: tuple[str, ...]
    ttl_minutes: float
    show: str | None
    list_prefix: str | None

    @property
    def ttl(self) -> timedelta:
        return timedelta(minutes=self.ttl_minutes)


def settings(args: argparse.Namespace) -> Settings:
    return Settings(tuple(args.only or FAMILY_NAMES), args.ttl_minutes, args.show, args.list)


def main(ctx: JobContext) -> int | None:
    """Warm every family (or the ``--only`` ones); or print one key (``--show``) or the keys held (``--list``)."""
    from zamio.cache.warming import warm
    from zamio.db.engine import utcnow

    given = settings(ctx.args)
    if given.show:
        return show(ctx, given.show)
    if given.list_prefix is not None:
        return list_keys(ctx, given.list_prefix)
    warm(ctx.transaction, ctx, given.families, utcnow(), given.ttl)
    return None


def show(ctx: JobContext, key: str) -> int:
    from zamio.cache.warming import value_of

    value = value_of(ctx.transaction, key)
    if value is None:
        ctx.failed(key, "no such entity")
        return 1
    print(json.dumps(value, indent=2, sort_keys=True, default=str))
    return 0


def list_keys(ctx: JobContext, prefix: str) -> int:
    from zamio.cache.warming import keys_held, listing_lines
    from zamio.db.engine import utcnow

    now = utcnow()
    rows = keys_held(ctx.transaction, prefix)
    print("\n".join(listing_lines(rows, now)))
    ctx.note(f"{len(rows)} key(s)")
    return 0


JOB = Job("warm-cache", __doc__, main, period_seconds=3600, add_arguments=add_arguments)
