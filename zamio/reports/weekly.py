"""The weekly summaries (``bin/send-weekly-summaries``): one e-mail per ISO week to each artist with an address and
to each active station's contact, queued once in the outbox for ``bin/send-emails`` to deliver.

**The week.**  An ISO week runs from Monday 00:00 to the next Monday 00:00.  A station's week is in its own
zone (``stations.timezone``), as its contact reads its programme; an artist's week is in the society's zone
(the schedule's ``CRON_TZ``, which the job gives), one interval for her plays on every station.  So for a
station outside the society's zone, a play near midnight between Sunday and Monday may fall in another week on
the artist's summary than on the station's.  Without ``week``, each recipient gets the last week that has ended
in its zone: a run on Monday 06:00 or on Wednesday covers the week before.  A week is summarised only once it
has ended in the recipient's zone.

**An artist's summary**: her plays in the week by station (current plays, ``status = 'final'``: imported and
detected alike, as the dashboards count them), her most played song, and her estimated earnings not yet in a
cycle: per currency, the net of her ledger lines that no locked cycle has paid yet (``paid_by`` empty in
``zamio.royalties.pricing.paid``; as artist, as contributor and through her publisher, by the rules of
``zamio.royalties.statements.earnings``), for plays aired before the week's end.  It is what a per-second close
would pay them (a pool close pays its licence fees instead: hence "estimated"), summed in units and rounded to
the currency's minor units once, by ``zamio.values.money.format_amount``.

**A station's summary**: its plays in the week, its monitoring coverage and its longest outages.  Coverage is
the share of the week outside the station's coverage gaps (``zamio.scanning.gaps``: no good capture for two
scan intervals), the dashboards' ``monitored_share`` over the week; the outages are those gaps, clipped to the
week, longest first, their times in the station's zone.  A station with no stream link is heard only through
the recordings it uploads: its summary says so and counts them instead.

**Once.**  Each summary is queued in one transaction with its row in ``weekly_summaries`` (unique per week, kind
and recipient reference); the e-mail's dedupe key is ``weekly_summary:<week>:<kind>:<reference>``.  A recipient
whose row exists is skipped, so a second run, two runs at once, or a run after one killed midway queue each
summary once; the row outlives the sent e-mail's retention.  An artist or station whose ``weekly_summary`` is
off (unsubscribed, in the catalog import) is skipped and counted.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, literal, select

from zamio.cache.aggregates import DIMENSIONS, Gap, Window, capture_outcomes, coverage_gaps, plays_by_bucket, top_items
from zamio.cache.families import coverage
from zamio.db.engine import insert_ignore, utcnow
from zamio.db.tables import artists, stations, stream_links, weekly_summaries
from zamio.mail.queue import queue_email
from zamio.mail.templates import TOP_TRACKS_SHOWN, MailTemplates
from zamio.royalties.statements.earnings import Aired, artist_earnings
from zamio.runtime.errors import ItemError
from zamio.runtime.progress import Progress, Transactions

log = logging.getLogger(__name__)

ARTIST, STATION = "artist", "station"
TEMPLATES = {ARTIST: "weekly_artist_summary", STATION: "weekly_station_summary"}
STATIONS_SHOWN = 20  # rows of an artist's plays by station; the rest are added up on one row
GAPS_SHOWN = 5  # outages listed on a station's summary, longest first
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # every play aired since: earnings count every play before the week's end
WEEK_PATTERN = re.compile(r"(\d{4})-W(\d{2})")


@dataclass(frozen=True, order=True)
class IsoWeek:
    """An ISO 8601 week: ``2026-W48``."""

    year: int
    number: int

    @classmethod
    def parse(cls, text: str) -> IsoWeek:
        """Given ``YYYY-Www`` (``2026-W48``), return the week; raise ValueError saying how to write one."""
        match = WEEK_PATTERN.fullmatch(text.strip())
        try:
            if match is None:
                raise ValueError(text)
            date.fromisocalendar(int(match.group(1)), int(match.group(2)), 1)  # week 0, or a 53rd the year lacks
        except ValueError:
            raise ValueError(f"{text!r} is not an ISO week; write it as 2026-W48 (the year, W, the week: 01 to 52, "
                             "or 53 in a year that has one)") from None
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, day: date) -> IsoWeek:
        year, number, _ = day.isocalendar()
        return cls(year, number)

    @classmethod
    def last_ended(cls, now: datetime, zone: ZoneInfo) -> IsoWeek:
        """Given an instant and a zone, return the last ISO week that has ended there (the one before today's)."""
        return cls.of(now.astimezone(zone).date() - timedelta(days=7))

    @property
    def name(self) -> str:
        return f"{self.year}-W{self.number:02d}"

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.number, 1)

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    def window(self, zone: ZoneInfo) -> Window:
        """The week's instants in ``zone``: [Monday 00:00, next Monday 00:00), as aware UTC."""
        start = datetime.combine(self.monday, time(), zone)
        end = datetime.combine(self.monday + timedelta(days=7), time(), zone)
        return Window(start.astimezone(UTC), end.astimezone(UTC))


@dataclass(frozen=True)
class Summaries:
    """What a run summarises: ``week`` (None: each recipient's last week ended), the zone of an artist's week, and
    the e-mails' templates (None: the shipped ones)."""

    week: IsoWeek | None
    society_zone: str
    now: datetime = field(default_factory=utcnow)
    mail_templates: MailTemplates | None = None

    def week_in(self, zone: ZoneInfo) -> IsoWeek:
        return self.week or IsoWeek.last_ended(self.now, zone)


@dataclass
class Tally:
    """What a run did: summaries queued by kind, and the recipients it skipped, by why."""

    queued: dict[str, int] = field(default_factory=lambda: {ARTIST: 0, STATION: 0})
    already: int = 0  # queued by an earlier run
    unsubscribed: int = 0
    not_over: int = 0  # the week has not ended in the recipient's zone yet
    weeks: set[str] = field(default_factory=set)

    def line(self) -> str:
        weeks = f" for {', '.join(sorted(self.weeks))}" if self.weeks else ""
        parts = [f"{self.queued[ARTIST]} artist and {self.queued[STATION]} station summaries queued{weeks}",
                 f"{self.already} already queued", f"{self.unsubscribed} unsubscribed"]
        if self.not_over:
            parts.append(f"{self.not_over} whose week is not over yet")
        return ", ".join(parts)


@dataclass(frozen=True)
class Recipient:
    """An artist with an e-mail address, or an active station with a contact: what its summary needs of it."""

    id: int
    ref: str
    name: str
    address: str
    subscribed: bool
    timezone: str | None = None  # a station's zone; an artist's week is in the society's


def recipients(conn: Connection, kind: str) -> list[Recipient]:
    """Given ``artist`` or ``station``, return the artists with an e-mail address, or the active stations with a
    contact, by reference."""
    if kind == ARTIST:
        query = (select(artists.c.id, artists.c.artist_ref, artists.c.name, artists.c.email,
                        artists.c.weekly_summary, literal(None).label("timezone"))
                 .where(artists.c.email.is_not(None)).order_by(artists.c.artist_ref))
    else:
        query = (select(stations.c.id, stations.c.station_ref, stations.c.name, stations.c.contact_email,
                        stations.c.weekly_summary, stations.c.timezone)
                 .where(stations.c.contact_email.is_not(None), stations.c.active).order_by(stations.c.station_ref))
    return [Recipient(row[0], row[1], row[2], row[3], bool(row[4]), row[5]) for row in conn.execute(query)]


@dataclass(frozen=True)
class Summary:
    """One e-mail to queue: to whom, for which week, and its template's context."""

    kind: str
    ref: str
    address: str
    week: IsoWeek
    context: dict[str, Any]

    @property
    def dedupe_key(self) -> str:
        return f"weekly_summary:{self.week.name}:{self.kind}:{self.ref}"


def send_weekly_summaries(transactions: Transactions, given: Summaries, progress: Progress) -> Tally:
    """Queue the weekly summary of every artist with an e-mail address and every active station with a contact,
    each once (see the module); count each queued ok, each skipped skipped, each refused (a bad address) failed."""
    tally = Tally()
    with transactions(read_only=True) as conn:
        people, contacts = recipients(conn, ARTIST), recipients(conn, STATION)
    society = ZoneInfo(given.society_zone)
    artist_week = given.week_in(society)
    wanted = _wanted(transactions, tally, ARTIST, {a.ref: (a, artist_week, society) for a in people}, given.now,
                     progress)
    if wanted:
        with transactions(read_only=True) as conn:
            summaries = artist_summaries(conn, wanted, artist_week, society)
        _queue_all(transactions, tally, summaries, progress, given.mail_templates)
    weeks = {}
    for station in contacts:
        zone = ZoneInfo(station.timezone or given.society_zone)
        weeks[station.ref] = (station, given.week_in(zone), zone)
    for station in _wanted(transactions, tally, STATION, weeks, given.now, progress):
        if progress.should_stop():
            break
        with transactions(read_only=True) as conn:
            summary = station_summary(conn, station, weeks[station.ref][1])
        _queue_all(transactions, tally, [summary], progress, given.mail_templates)
    return tally


def _wanted(transactions: Transactions, tally: Tally, kind: str,
            weeks: dict[str, tuple[Recipient, IsoWeek, ZoneInfo]], now: datetime, progress: Progress
            ) -> list[Recipient]:
    """Given recipients of one kind by reference, each with its week and zone, return those to summarise:
    subscribed, their week over in their zone, and not queued before; count the others skipped."""
    if not weeks:
        return []
    with transactions(read_only=True) as conn:
        done = {(row.week, row.recipient_ref) for row in conn.execute(
            select(weekly_summaries.c.week, weekly_summaries.c.recipient_ref).where(
                weekly_summaries.c.kind == kind,
                weekly_summaries.c.week.in_(sorted({week.name for _, week, _ in weeks.values()}))))}
    wanted = []
    for recipient, week, zone in weeks.values():
        if not recipient.subscribed:
            tally.unsubscribed += 1
            why = "unsubscribed"
        elif week.window(zone).until > now:
            tally.not_over += 1
            why = f"{week.name} is not over yet in {zone.key}"
        elif (week.name, recipient.ref) in done:
            tally.already += 1
            why = f"summary of {week.name} queued already"
        else:
            wanted.append(recipient)
            continue
        log.debug("%s %s: %s", kind, recipient.ref, why)
        progress.skipped()
    return wanted


def _queue_all(transactions: Transactions, tally: Tally, summaries: Iterable[Summary], progress: Progress,
               mail_templates: MailTemplates | None) -> None:
    """Queue each summary with its ``weekly_summaries`` row, one transaction each; a bad address, or a template of
    TEMPLATES_DIR that fails on its values, fails that one (it is queued by a later run)."""
    for summary in summaries:
        if progress.should_stop():
            return
        try:
            with transactions() as conn:
                new = queue_summary(conn, summary, mail_templates)
        except ItemError as error:
            progress.failed(f"{summary.kind} {summary.ref}", error)
            continue
        log.debug("%s %s: summary of %s %s", summary.kind, summary.ref, summary.week.name,
                  "queued" if new else "queued already")
        if new:
            tally.queued[summary.kind] += 1
            tally.weeks.add(summary.week.name)
            progress.ok()
        else:
            tally.already += 1
            progress.skipped()


def queue_summary(conn: Connection, summary: Summary, mail_templates: MailTemplates | None = None) -> bool:
    """Record ``summary`` in ``weekly_summaries`` and queue its e-mail, in the caller's transaction; return False
    (queueing nothing) if that week's summary of that kind was queued for that recipient before."""
    row = {"week": summary.week.name, "kind": summary.kind, "recipient_ref": summary.ref,
           "recipient": summary.address, "dedupe_key": summary.dedupe_key, "queued_at": utcnow()}
    if insert_ignore(conn, weekly_summaries, [row], ["week", "kind", "recipient_ref"]) == 0:
        return False
    queue_email(conn, dedupe_key=summary.dedupe_key, recipient=summary.address, template=TEMPLATES[summary.kind],
                context=summary.context, mail_templates=mail_templates)
    return True


def _days(week: IsoWeek) -> dict[str, Any]:
    return {"week": week.name, "first_day": week.monday, "last_day": week.sunday}


def artist_summaries(conn: Connection, people: Sequence[Recipient], week: IsoWeek, zone: ZoneInfo) -> list[Summary]:
    """Given artists, return their summaries of ``week`` in ``zone``."""
    window = week.window(zone)
    dim = DIMENSIONS[ARTIST]
    by_day = plays_by_bucket(conn, dim, window)
    by_station = top_items(conn, dim, window, "station", STATIONS_SHOWN)
    top_song = top_items(conn, dim, window, "recording", 1)
    waiting = not_in_a_cycle(conn, window.until)
    summaries = []
    for person in people:
        plays = sum(count for count, _ in by_day.get(person.id, {}).values())
        stations = by_station.get(person.id, [])
        shown: list[dict[str, object]] = [{"station": s["name"] or s["ref"], "plays": s["plays"]} for s in stations]
        rest = plays - sum(s["plays"] for s in stations)
        if rest:
            shown.append({"station": "other stations", "plays": rest})
        song = top_song.get(person.id)
        context = {"artist": person.name, "plays": plays, **_days(week), "stations": shown,
                   "top_song": {"title": song[0]["title"] or "?", "plays": song[0]["plays"]} if song else None,
                   "earnings": [{"amount_units": units, "currency": currency}
                                for currency, units in sorted(waiting.get(person.id, {}).items()) if units]}
        summaries.append(Summary(ARTIST, person.ref, person.address, week, context))
    return summaries


def not_in_a_cycle(conn: Connection, until: datetime) -> dict[int, dict[str, int]]:
    """Given an instant, return artist id → currency → the units of her ledger lines that no cycle has paid yet,
    of plays aired before it."""
    found: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for artist_id, earnings in artist_earnings(conn, aired=Aired(EPOCH, until)).items():
        for earning in earnings:
            if earning.cycle is None:
                found[artist_id][earning.currency] += earning.units
    return found


def station_summary(conn: Connection, station: Recipient, week: IsoWeek) -> Summary:
    """Given a station, return its summary of ``week`` in the station's zone."""
    zone = ZoneInfo(station.timezone or "UTC")
    window = week.window(zone)
    dim = DIMENSIONS[STATION]
    plays = sum(count for count, _ in plays_by_bucket(conn, dim, window, station.id).get(station.id, {}).values())
    tracks = top_items(conn, dim, window, "recording", TOP_TRACKS_SHOWN, station.id).get(station.id, [])
    gaps = coverage_gaps(conn, window, station.id).get(station.id, [])
    outcomes = capture_outcomes(conn, window, station.id).get(station.id, {})
    streamed = conn.execute(select(stream_links.c.id).where(stream_links.c.station_id == station.id).limit(1)).first()
    block = coverage(outcomes, gaps, window)
    context = {"station": station.name, "plays": plays, **_days(week), "timezone": station.timezone,
               "coverage": block["monitored_share"] if streamed else 0.0, "stream": streamed is not None,
               "captures": block["captures"], "gap_count": len(gaps), "gap_seconds": block["gap_seconds"],
               "gaps": _longest(gaps, zone),
               "top_tracks": [{"title": t["title"], "artist": t["artist"], "plays": t["plays"]} for t in tracks]}
    return Summary(STATION, station.ref, station.address, week, context)


def _longest(gaps: Sequence[Gap], zone: ZoneInfo) -> list[dict[str, Any]]:
    """The longest outages, longest first, their times as the station reads them (``2026-11-27 14:00``)."""
    def local(moment: datetime) -> str:
        return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")

    ranked = sorted(gaps, key=lambda g: (-g["seconds"], g["from"]))[:GAPS_SHOWN]
    return [{"from": local(g["from"]), "to": local(g["to"]), "seconds": g["seconds"], "reason": g["reason"]}
            for g in ranked]
