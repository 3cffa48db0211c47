"""``bin/warm-cache``: recompute the dashboard aggregates, or show what the cache holds."""

from __future__ import annotations

import argparse
import json
import time
from datetime import timedelta
from typing import Any

from zamio.cache import FAMILIES, get, store, warm_family
from zamio.db.engine import utcnow


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--only", action="append", choices=sorted(FAMILIES), metavar="FAMILY",
                        help=f"warm only this family (repeatable): {', '.join(FAMILIES)}")
    parser.add_argument("--ttl-minutes", type=float, default=store.DEFAULT_TTL.total_seconds() / 60, metavar="M",
                        help="how long warmed values stay fresh (default 120)")
    parser.add_argument("--show", metavar="KEY", help="print the value of KEY (computed if missing or stale) and exit")
    parser.add_argument("--list", nargs="?", const="", metavar="PREFIX", help="list keys (optionally by prefix) with age")


def warm_cache(ctx: Any) -> int | None:
    """The job: warm every family (or ``--only`` ones), one read transaction per family, batched writes."""
    if ctx.args.show:
        return show(ctx, ctx.args.show)
    if ctx.args.list is not None:
        return list_keys(ctx, ctx.args.list)
    now = utcnow()
    ttl = timedelta(minutes=ctx.args.ttl_minutes)
    for family in ctx.args.only or list(FAMILIES):
        if ctx.should_stop():
            break
        started = time.monotonic()
        written = warm_family(ctx.transaction, family, now, ttl)
        ctx.ok(written)
        ctx.note(f"{family} {written} key(s) in {time.monotonic() - started:.1f}s")
    return None


def show(ctx: Any, key: str) -> int:
    with ctx.transaction() as conn:
        value = get(conn, key)
    if value is None:
        ctx.failed(key, "no such entity")
        return 1
    print(json.dumps(value, indent=2, sort_keys=True, default=str))
    return 0


def list_keys(ctx: Any, prefix: str) -> int:
    now = utcnow()
    with ctx.transaction(read_only=True) as conn:
        rows = store.listing(conn, prefix)
    print(f"{'key':32} {'age':>8} {'state':8} {'bytes':>8}")
    for row in rows:
        age = int((now - row.computed_at).total_seconds())
        state = "fresh" if row.expires_at > now else "expired"
        print(f"{row.key:32} {_age(age):>8} {state:8} {row.bytes:>8}")
    ctx.note(f"{len(rows)} key(s)")
    return 0


def _age(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h"
