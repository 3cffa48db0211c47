"""Queue the weekly summaries: one e-mail a week to each artist with an address and to each active station's contact.

An artist's summary gives her plays of the week by station, her most played song
and her estimated earnings not yet in a royalty cycle; a station's gives its plays
of the week, its monitoring coverage (the share of the week outside coverage gaps)
and its longest outages, in its own time.  bin/send-emails delivers them.

The week is an ISO week, Monday 00:00 to Sunday 24:00: a station's in its own time
zone, an artist's in the society's (CRON_TZ in crontab.txt).  Without --week each
recipient gets the last week that has ended: a run on Monday at 06:00 or on a
Wednesday covers the week before.  Each summary is queued once per week and
recipient, however often this runs (weekly_summaries keeps a row for it); an artist
or station set to weekly_summary "no" in the catalog import gets none, and is
counted as unsubscribed.

Examples:
    bin/send-weekly-summaries
    bin/send-weekly-summaries --week 2026-W48
    bin/send-weekly-summaries --dry-run -v
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from zamio.runtime.config import Config
from zamio.runtime.errors import UsageError
from zamio.runtime.runner import Job, JobContext
from zamio.runtime.schedule import schedule_time_zone

if TYPE_CHECKING:
    from zamio.reports.weekly import Summaries

WEEK_SECONDS = 7 * 24 * 3600


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--week", metavar="YYYY-Www",
                        help="summarise this ISO week (2026-W48) for every recipient, once, instead of each one's "
                             "last week ended; for a week the schedule missed")


@dataclass(frozen=True)
class Settings:
    summaries: Summaries


def settings(args: argparse.Namespace, config: Config) -> Settings:
    """The run's week and zone, and the e-mails' templates of TEMPLATES_DIR, checked now (a broken one exits 78
    before anything is queued)."""
    from zamio.db.engine import utcnow
    from zamio.mail import templates as mail_templates
    from zamio.reports.weekly import IsoWeek, Summaries

    zone = schedule_time_zone() or "UTC"
    now = utcnow()
    week = None
    if args.week is not None:
        try:
            week = IsoWeek.parse(args.week)
        except ValueError as error:
            raise UsageError(f"--week {error}") from None
        if week.window(ZoneInfo(zone)).until > now:
            raise UsageError(f"--week {week.name} is not over yet: it ends on Sunday {week.sunday} at midnight "
                             f"({zone}); give a week that has ended")
    return Settings(Summaries(week, zone, now, mail_templates.load(config.templates_dir)))


def main(ctx: JobContext) -> None:
    """Queue each recipient's summary of its week, once; print what was queued and what was skipped."""
    from zamio.reports.weekly import send_weekly_summaries

    given = settings(ctx.args, ctx.config)
    tally = send_weekly_summaries(ctx.transaction, given.summaries, ctx)
    line = tally.line()
    if not ctx.args.quiet:  # the schedule's runs (-q) print nothing, so cron mails only a failure
        print(("dry run, nothing queued: " if ctx.dry_run else "") + line)
    ctx.note(line)


JOB = Job("send-weekly-summaries", __doc__, main, period_seconds=WEEK_SECONDS, add_arguments=add_arguments)
