"""Retention for operational data: what goes after how long; never money or its evidence.

What goes, each after its own retention (:class:`Retention`, defaults in :data:`zamio.runtime.retention.DEFAULT_DAYS`):

* expired cache entries;
* sent e-mails (failed and unknown ones stay for review);
* job runs (the newest run and the newest success of every job stay, so
  ``zamio-status`` still knows when each job last succeeded);
* detections that are not part of any play;
* music with no match heard once and never again: its prints in the unknown index and its
  candidate row (``zamio.recognition.unknown``), after ``UNKNOWN_RETENTION_DAYS``;
* the prints of an unknown recording (``U-000001``) not heard for as long, once its suspense
  account holds no money (named and released, or declared non-distributable): the recording,
  its plays and its captures stay;
* captures that have no detection left (so no play can lead to them), with their audio file;
* the audio FILE of every older capture whose money is settled (:data:`MONEY_HOLDS`):
  the row and its ``audio_sha256`` stay, so the trace play → detection → capture →
  audio hash survives as long as the play; the excerpt of an unknown recording whose
  suspense account holds money stays whatever its age (:data:`HELD_EXCERPT`): it is what
  a person listens to before naming the recording;
* files in the snippet inbox's ``rejected/`` folder.

Several hosts.  A capture's audio file lives in the ``var/`` of the host that recorded it
(``captures.audio_host``), and only that host can delete it.  So the job runs on every host,
one run at a time per host (``cleanup-old-data@HOST``): each host deletes its own files and
the rows that name them (the steps of scope ``host``), and its own inbox's rejected files.
The rest, database rows only (scope ``global``, with the captures that name no host), is done
by one host at a time under the lock ``cleanup-old-data``: a host that finds it held skips it.

A host taken out of service runs this job no more, and its files went with it: the captures
naming it would keep their audio references for good.  :func:`release_retired_host` (the
job's ``--retired-host NAME``, under the same lock) forgets them, except those whose money
still holds evidence (:data:`MONEY_HOLDS`), with an audit entry naming each reference
released; the rows go on as any capture without a file.

What goes only once no money depends on it: the audio of a capture behind a play
whose money is not settled.  Cycles are ``open`` or ``locked``; nothing records a
payment after the lock, so a play's money is settled when every pricing of the play
was paid by a cycle locked more than ``Retention.dispute_window_days`` ago (the
window in which a paid amount may still be disputed).  Until then the audio stays:
a play not priced yet, a pricing waiting for its cycle (priced, unpriced or in
suspense, or the reversal of a superseded version), and a version paid by a cycle
locked within the window, even when a later version replaced it; and, whatever its
age, the audio of a play an open dispute covers (``bin/disputes``).  The detections
and capture rows behind any play already stay for good.

What never goes: every table in :data:`PROTECTED_TABLES` (plays, their
detections links, the ledger, pricings, cycles, line items, remittances, licence
fees, the audit log).  Deletes run in batches (``Retention.batch_size`` rows per
transaction) so no table is locked for long; then PostgreSQL gets
``VACUUM (ANALYZE)`` on the tables that shrank and SQLite ``PRAGMA optimize``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Connection, Engine, select, text

from zamio.db import audit
from zamio.db.dialect import bind_time
from zamio.db.engine import utcnow
from zamio.db.tables import job_runs
from zamio.runtime.errors import UsageError
from zamio.runtime.progress import Progress, Transactions
from zamio.runtime.retention import BATCH_SIZE

log = logging.getLogger(__name__)

#: Tables this job must never delete from: money, and the evidence money is traced to.
PROTECTED_TABLES = frozenset({
    "play_logs", "play_detections", "royalty_ledger", "royalty_pricings", "royalty_cycles", "cycle_pricings",
    "cycle_line_items", "partner_remittances", "station_licence_fees", "licence_fee_parts", "society_admin_fees",
    "audit_log", "statements",
})

DISPUTE_WINDOW_DAYS = 365

#: The play that bills the airing play ``p`` reports: a duplicate report is evidence of the play it names.
BILLED = "CASE WHEN p.status = 'duplicate' THEN p.duplicate_of ELSE p.id END"

#: A play ``p`` an open dispute covers (``zamio.playlogs.disputes.covered_ids``, sql/0024): its station over the
#: dispute's period, its recording, or its key named.
OPEN_DISPUTE = ("EXISTS (SELECT 1 FROM disputes d WHERE d.status = 'open' AND ("
                "(d.station_id = p.station_id AND p.started_at >= d.starts_at AND p.started_at < d.ends_at) "
                "OR d.track_id = p.track_id OR d.isrc = p.isrc "
                "OR EXISTS (SELECT 1 FROM dispute_plays dp WHERE dp.dispute_id = d.id AND dp.play_key = p.play_key)))")

#: Why a play ``p`` still needs its evidence, each an SQL condition (``:disputable`` is the instant before
#: which a cycle's lock is past the dispute window).  Another reason to hold evidence is one more condition here.
MONEY_HOLDS = (
    # a current report of an airing whose billed play is not priced yet
    f"(p.status IN ('final', 'duplicate') AND NOT EXISTS (SELECT 1 FROM royalty_pricings rp "
    f"WHERE rp.play_id = {BILLED}))",
    # a pricing (of any version) that no cycle locked before the window paid: waiting, or still disputable
    f"EXISTS (SELECT 1 FROM royalty_pricings rp WHERE rp.play_id = {BILLED} AND NOT EXISTS ("
    "SELECT 1 FROM cycle_pricings cp JOIN royalty_cycles rc ON rc.id = cp.cycle_id "
    "WHERE cp.play_id = rp.play_id AND cp.version = rp.version "
    "AND rc.status = 'locked' AND rc.locked_at < :disputable))",
    # an open dispute covers the play, whatever its age: its claimant is owed the evidence
    OPEN_DISPUTE,
)

#: The condition that capture ``c`` is evidence of a play whose money is not settled.
MONEY_DEPENDS = ("EXISTS (SELECT 1 FROM detections hd JOIN play_detections hp ON hp.detection_id = hd.id "
                 "JOIN play_logs p ON p.id = hp.play_id WHERE hd.capture_id = c.id AND ("
                 + " OR ".join(MONEY_HOLDS) + "))")
#: The suspense account of unknown recording ``ur`` holds money: the lines booked to ``unidentified:<ref>`` that
#: are money (a pool cycle's pricing lines were its weights: ``zamio.royalties.pricing.paid``) do not sum to zero
#: in some currency.  Naming the recording, or declaring its money non-distributable, books the lines that
#: release it.
UNKNOWN_HOLDS_MONEY = (
    "EXISTS (SELECT 1 FROM royalty_ledger l "
    "LEFT JOIN cycle_pricings lp ON l.cycle_id IS NULL AND lp.play_id = l.play_id AND lp.version = l.version "
    "LEFT JOIN royalty_cycles lc ON lc.id = lp.cycle_id "
    "WHERE l.recipient_type = 'suspense' AND l.recipient_ref = 'unidentified:' || ur.unknown_ref "
    "AND (l.cycle_id IS NOT NULL OR lp.cycle_id IS NULL OR lc.method <> 'pool') "
    "GROUP BY l.currency HAVING sum(l.amount) <> 0)")
#: Capture ``c`` is the excerpt of an unknown recording whose suspense account holds money: the one piece of its
#: audio a person listens to before naming it (``bin/unidentified-report``).
HELD_EXCERPT = ("EXISTS (SELECT 1 FROM unknown_captures uc JOIN unknown_recordings ur ON ur.id = uc.unknown_id "
                f"WHERE uc.capture_id = c.id AND ur.excerpt_path = c.audio_path AND {UNKNOWN_HOLDS_MONEY})")
#: The condition that capture ``c``'s audio file may go: no money depends on it and it is no held recording's
#: excerpt.  Written as two NOT EXISTS side by side, never as NOT (… OR …): PostgreSQL turns the first into two
#: anti-joins and runs the second once per capture (1.5 s against 8 s over 30,000 old captures).
AUDIO_FREE = f"NOT {MONEY_DEPENDS} AND NOT {HELD_EXCERPT}"
#: Music with no match heard once and never again (an unknown-recording candidate, sql/0029).
HEARD_ONCE = "FROM unknown_captures u WHERE u.status = 'single' AND u.started_at < :cutoff"
#: The captures of unknown recordings not heard since the cutoff whose money is released, that still have prints.
RELEASED_RECORDING = (
    "FROM unknown_captures u JOIN unknown_recordings ur ON ur.id = u.unknown_id "
    f"WHERE u.status = 'joined' AND ur.last_heard_at < :cutoff AND NOT {UNKNOWN_HOLDS_MONEY} "
    "AND EXISTS (SELECT 1 FROM unknown_prints up WHERE up.capture_id = u.capture_id)")
#: A capture the unknown index still holds: it goes once its candidate row has gone.
IN_UNKNOWN_INDEX = "EXISTS (SELECT 1 FROM unknown_captures u WHERE u.capture_id = c.id)"
OLD_AUDIO = "FROM captures c WHERE c.started_at < :cutoff AND c.audio_path IS NOT NULL"
#: The captures whose audio files a host (``:host``) keeps, whatever their age.
HOST_AUDIO = "FROM captures c WHERE c.audio_host = :host AND c.audio_path IS NOT NULL"
#: How long a host must have run no job before its captures' audio may be released as a retired host's.
RETIRED_AFTER = timedelta(days=1)


@dataclass(frozen=True)
class Step:
    """One retention rule: which rows of ``table`` go (SQL selecting their keys), after which option's days."""

    name: str
    table: str
    key: str
    select: str  # SELECT <key>[, <file column> AS path] FROM ... WHERE ... (cutoff bound as :cutoff)
    days_option: str | None  # None: the rule has its own clock (cache expiry)
    action: str = "delete"  # delete | forget_file (clear audio_path, keep the row)
    scope: str = "global"  # global: one host at a time; host: every host, for the files it keeps (:host)
    cursor: str | None = None  # the key as ``select`` names it: batches walk it upwards, never re-reading kept rows


STEPS = (
    Step("expired cache entries", "cache_entries", "key",
         "SELECT key FROM cache_entries WHERE expires_at < :now", None),
    Step("sent e-mails", "email_outbox", "id",
         "SELECT id FROM email_outbox WHERE status = 'sent' AND sent_at < :cutoff", "emails"),
    Step("job runs", "job_runs", "id",
         "SELECT id FROM job_runs WHERE started_at < :cutoff AND status <> 'running' "
         "AND id NOT IN (SELECT max(id) FROM job_runs GROUP BY job) "
         "AND id NOT IN (SELECT max(id) FROM job_runs WHERE status = 'ok' GROUP BY job)", "job_runs"),
    Step("detections not in any play", "detections", "id",
         "SELECT d.id FROM detections d WHERE d.detected_at < :cutoff "
         "AND NOT EXISTS (SELECT 1 FROM play_detections pd WHERE pd.detection_id = d.id)", "detections",
         cursor="d.id"),
    Step("unknown-index prints of music heard once", "unknown_prints", "capture_id",
         f"SELECT u.capture_id {HEARD_ONCE}", "unknown", cursor="u.capture_id"),
    Step("music heard once", "unknown_captures", "capture_id",
         f"SELECT u.capture_id {HEARD_ONCE}", "unknown", cursor="u.capture_id"),
    Step("unknown-index prints of released unknown recordings", "unknown_prints", "capture_id",
         f"SELECT u.capture_id {RELEASED_RECORDING}", "unknown", cursor="u.capture_id"),
    Step("captures without detections", "captures", "id",
         "SELECT c.id, c.audio_path AS path FROM captures c WHERE c.started_at < :cutoff "
         "AND (c.audio_host IS NULL OR c.audio_path IS NULL) "
         f"AND NOT EXISTS (SELECT 1 FROM detections d WHERE d.capture_id = c.id) AND NOT {IN_UNKNOWN_INDEX}",
         "captures", cursor="c.id"),
    Step("capture audio files", "captures", "id",
         f"SELECT c.id, c.audio_path AS path {OLD_AUDIO} AND c.audio_host IS NULL AND {AUDIO_FREE}",
         "audio", action="forget_file", cursor="c.id"),
    Step("this host's captures without detections", "captures", "id",
         "SELECT c.id, c.audio_path AS path FROM captures c WHERE c.started_at < :cutoff "
         "AND c.audio_host = :host AND c.audio_path IS NOT NULL "
         f"AND NOT EXISTS (SELECT 1 FROM detections d WHERE d.capture_id = c.id) AND NOT {IN_UNKNOWN_INDEX}",
         "captures", scope="host", cursor="c.id"),
    Step("this host's capture audio files", "captures", "id",
         f"SELECT c.id, c.audio_path AS path {OLD_AUDIO} AND c.audio_host = :host AND {AUDIO_FREE}",
         "audio", action="forget_file", scope="host", cursor="c.id"),
)
assert not {s.table for s in STEPS} & PROTECTED_TABLES, "a retention step names a protected table"


@dataclass(frozen=True)
class Retention:
    """How long each kind of operational data is kept and how many rows go per transaction."""

    days: Mapping[str, int]  # DEFAULT_DAYS's keys → days kept
    batch_size: int = BATCH_SIZE
    dispute_window_days: int = DISPUTE_WINDOW_DAYS  # evidence stays this long after the cycle that paid it


@dataclass(frozen=True)
class Folders:
    """Where this host's capture audio (relative paths are under ``var_dir``) and snippet inbox live."""

    var_dir: Path
    inbox_dir: Path
    host: str = ""  # this host's name, as the scan records it in captures.audio_host

    def roots(self) -> list[Path]:
        """The folders a file may be deleted from."""
        return [self.var_dir.resolve(), self.inbox_dir.resolve()]


def cleanup_old_data(transactions: Transactions, progress: Progress, engine: Engine, retention: Retention,
                     folders: Folders, *, dry_run: bool, maintenance: bool,
                     database_part: AbstractContextManager[bool] | None = None) -> None:
    """Every step in order (detections before the captures they point to), then maintenance.

    The steps of scope ``global`` run only while ``database_part`` yields True (the lock that lets
    one host at a time do them); those of scope ``host`` always, for this host's files.
    In a dry run nothing is deleted: each step counts what would go.  The summary also says how many
    older capture audio files stay because money depends on them.
    """
    with database_part or nullcontext(True) as ours:
        if not ours:
            progress.note("database part: another host is doing it")
        _steps(transactions, progress, engine, retention, folders, dry_run=dry_run,
               maintenance=maintenance and ours, scopes={"global", "host"} if ours else {"host"})


def _steps(transactions: Transactions, progress: Progress, engine: Engine, retention: Retention,
           folders: Folders, *, dry_run: bool, maintenance: bool, scopes: set[str]) -> None:
    now = utcnow()
    clock = Clock(now, now - timedelta(days=retention.dispute_window_days))
    shrunk = set()
    for step in STEPS:
        if progress.should_stop():
            break
        if step.scope not in scopes:
            continue
        cutoff = now - timedelta(days=retention.days[step.days_option]) if step.days_option else now
        if dry_run:
            count = count_rows(transactions, step, clock, cutoff, folders.host)
        else:
            count = apply(transactions, progress, step, clock, cutoff, retention.batch_size, folders)
        progress.note(f"{step.name}: {count}" + (" would go" if dry_run else ""))
        if count and step.action == "delete":
            shrunk.add(step.table)
    if not progress.should_stop():
        held = held_evidence(transactions, clock, now - timedelta(days=retention.days["audio"]))
        progress.note(f"capture audio files kept for unsettled money: {held}")
    removed = rejected_snippets(folders.inbox_dir, now - timedelta(days=retention.days["snippets"]), dry_run=dry_run)
    progress.note(f"rejected snippets: {removed}" + (" would go" if dry_run else ""))
    if not dry_run and maintenance and not progress.should_stop():
        maintain(engine, transactions, progress, sorted(shrunk))


@dataclass(frozen=True)
class Clock:
    """The run's instant, and the instant before which a cycle's lock is past the dispute window."""

    now: datetime
    disputable: datetime


def _params(conn: Connection, clock: Clock, cutoff: datetime, host: str = "") -> dict[str, str | datetime]:
    return {"now": bind_time(conn, clock.now), "cutoff": bind_time(conn, cutoff),
            "disputable": bind_time(conn, clock.disputable), "host": host}


def count_rows(transactions: Transactions, step: Step, clock: Clock, cutoff: datetime,
               host: str = "") -> int:
    with transactions(read_only=True) as conn:
        counted = conn.execute(text(f"SELECT count(*) FROM ({step.select}) doomed"),
                               _params(conn, clock, cutoff, host))
        return int(counted.scalar_one())


def held_evidence(transactions: Transactions, clock: Clock, cutoff: datetime) -> int:
    """Count the capture audio files older than ``cutoff`` that stay because money depends on them (or they are
    the excerpt of an unknown recording whose suspense holds money)."""
    with transactions(read_only=True) as conn:
        return held_files(conn, OLD_AUDIO, _params(conn, clock, cutoff))


def held_files(conn: Connection, captures_from: str, params: dict[str, str | datetime]) -> int:
    """Count the captures of ``captures_from`` (``FROM captures c WHERE …``) whose audio file stays: those money
    depends on, plus the held excerpts among the rest (two counts, each a semi- or anti-join, see AUDIO_FREE)."""
    money = conn.execute(text(f"SELECT count(*) {captures_from} AND {MONEY_DEPENDS}"), params).scalar_one()
    excerpts = conn.execute(text(f"SELECT count(*) {captures_from} AND NOT {MONEY_DEPENDS} AND {HELD_EXCERPT}"),
                            params).scalar_one()
    return int(money) + int(excerpts)


def apply(transactions: Transactions, progress: Progress, step: Step, clock: Clock, cutoff: datetime,
          batch_size: int, folders: Folders) -> int:
    """Run one step in batches until nothing matches (or the run must stop); return rows affected.

    A step with a ``cursor`` takes its rows in key order from where the last batch ended, so rows a
    step keeps (evidence money depends on) are read once per run, not once per batch.
    """
    total = 0
    after: int | str | None = None
    while not progress.should_stop():
        with transactions() as conn:
            params = {**_params(conn, clock, cutoff, folders.host), "batch": batch_size}
            if step.cursor is None:
                statement = f"{step.select} LIMIT :batch"
            elif after is None:
                statement = f"{step.select} ORDER BY {step.cursor} LIMIT :batch"
            else:
                statement = f"{step.select} AND {step.cursor} > :after ORDER BY {step.cursor} LIMIT :batch"
                params["after"] = after
            rows = conn.execute(text(statement), params).all()
            keys = [row[0] for row in rows]
            if keys:
                _act(conn, step, keys)
                after = keys[-1]
        for row in rows:  # only after the commit: a file never goes while its row could still roll back
            if len(row) > 1 and row[1]:
                remove_file(folders, row[1])
        total += len(keys)
        progress.ok(len(keys))
        if len(keys) < batch_size:
            break
    return total


def _act(conn: Connection, step: Step, keys: list[int | str]) -> None:
    marks = ", ".join(f":k{n}" for n in range(len(keys)))
    params = {f"k{n}": key for n, key in enumerate(keys)}
    if step.action == "forget_file":
        conn.execute(text(f"UPDATE {step.table} SET audio_path = NULL WHERE {step.key} IN ({marks})"), params)
    else:
        conn.execute(text(f"DELETE FROM {step.table} WHERE {step.key} IN ({marks})"), params)


def remove_file(folders: Folders, stored: str) -> bool:
    """Delete a capture's audio file (relative paths are under var/); refuse paths outside var/ and the inbox."""
    path = Path(stored)
    path = (path if path.is_absolute() else folders.var_dir / path).resolve()
    if not any(path.is_relative_to(root) for root in folders.roots()):
        log.warning("not deleting %s: outside %s", path, " and ".join(map(str, folders.roots())))
        return False
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True


def rejected_snippets(inbox_dir: Path, cutoff: datetime, *, dry_run: bool) -> int:
    """Delete (or count, in a dry run) files in ``<inbox>/rejected`` last modified before ``cutoff``."""
    folder = inbox_dir / "rejected"
    if not folder.is_dir():
        return 0
    old = [p for p in folder.rglob("*") if p.is_file() and p.stat().st_mtime < cutoff.timestamp()]
    if not dry_run:
        for path in old:
            path.unlink(missing_ok=True)
    return len(old)


def maintain(engine: Engine, transactions: Transactions, progress: Progress, shrunk: list[str]) -> None:
    """Refresh planner statistics and give space back: VACUUM (ANALYZE) on PostgreSQL, optimize on SQLite."""
    started = time.monotonic()
    if engine.dialect.name == "postgresql":
        # VACUUM cannot run inside a transaction block.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in shrunk:
                conn.exec_driver_sql(f"VACUUM (ANALYZE) {table}")
            conn.exec_driver_sql("ANALYZE")
    else:
        with transactions() as conn:
            conn.exec_driver_sql("PRAGMA optimize")
            conn.exec_driver_sql("PRAGMA incremental_vacuum")
    progress.note(f"maintenance {time.monotonic() - started:.1f}s")


@dataclass(frozen=True)
class Released:
    """What releasing a retired host's audio references did: references released, and those kept for money."""

    released: int
    held: int


def release_retired_host(transactions: Transactions, progress: Progress, host: str, this_host: str,
                         who: audit.Who, *, dry_run: bool, batch_size: int = BATCH_SIZE,
                         dispute_window_days: int = DISPUTE_WINDOW_DAYS) -> Released:
    """Forget the audio files of the captures ``host`` kept, now that it is out of service and its files with it.

    Each capture naming ``host`` whose money does not depend on its audio (:data:`AUDIO_FREE`, with the
    dispute window of ``dispute_window_days``) loses its ``audio_path``; the row, its ``audio_sha256`` and its
    ``audio_host`` stay, and the captures without detections then go with the database part's retention.  No
    file is deleted: this host does not keep them.  Each batch is one transaction with one audit entry
    (``capture.audio_released``, entity ``host``) listing the captures and the paths it released.  The
    captures money depends on keep their reference and are counted; a later run releases them once the money
    is settled.  In a dry run nothing changes: the references that would go are counted.

    Raise UsageError if ``host`` is this host or ran a job within :data:`RETIRED_AFTER` (it is not retired).
    """
    if host == this_host:
        raise UsageError(f"--retired-host {host} is this host: a host releases only another host's captures")
    now = utcnow()
    clock = Clock(now, now - timedelta(days=dispute_window_days))
    with transactions(read_only=True) as conn:
        last = conn.execute(select(job_runs.c.job, job_runs.c.started_at).where(job_runs.c.host == host)
                            .order_by(job_runs.c.started_at.desc()).limit(1)).first()
        if last is not None and last.started_at > now - RETIRED_AFTER:
            raise UsageError(f"host {host} ran {last.job} at {last.started_at:%Y-%m-%d %H:%M} UTC: it is not retired; "
                             "stop its schedule, and release its captures a day after its last run")
        params = _params(conn, clock, now, host)
        free = f"SELECT count(*) {HOST_AUDIO} AND {AUDIO_FREE}"
        held = held_files(conn, HOST_AUDIO, params)
        if dry_run:
            return Released(int(conn.execute(text(free), params).scalar_one()), held)
    released, after = 0, 0
    while not progress.should_stop():
        with transactions() as conn:
            rows = conn.execute(text(f"SELECT c.id, c.audio_path {HOST_AUDIO} AND c.id > :after "
                                     f"AND {AUDIO_FREE} ORDER BY c.id LIMIT :batch"),
                                {**_params(conn, clock, now, host), "after": after, "batch": batch_size}).all()
            if rows:
                _forget(conn, [row.id for row in rows])
                audit.record(conn, who, audit.Change(
                    "capture.audio_released", "host", host,
                    before={"captures": [{"id": row.id, "audio_path": row.audio_path} for row in rows]},
                    after={"captures": [{"id": row.id, "audio_path": None} for row in rows]}))
                after = rows[-1].id
        released += len(rows)
        progress.ok(len(rows))
        if len(rows) < batch_size:
            break
    return Released(released, held)


def _forget(conn: Connection, keys: list[int]) -> None:
    marks = ", ".join(f":k{n}" for n in range(len(keys)))
    conn.execute(text(f"UPDATE captures SET audio_path = NULL WHERE id IN ({marks})"),
                 {f"k{n}": key for n, key in enumerate(keys)})
