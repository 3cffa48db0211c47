"""The one runner every ``bin/`` script uses.

A script declares a :class:`Job` (its name, docstring, schedule period,
extra arguments and one library function) and calls :func:`run`.  The runner
owns the whole lifecycle, in this order:

1. parse the command line (``--help`` needs no configuration or database);
2. sleep ``--jitter-seconds`` when not on a terminal;
3. load and validate the configuration (exit 78 before touching anything);
4. check that the SQLite file is there (only ``bin/migrate`` creates a database: exit 78)
   and, for a job that writes, writable (exit 73);
5. take the job's lock (exit 75 with the holder named if another run has it); a job that
   only reads takes none;
6. check the schema is migrated (one query), record the run in ``job_runs`` and send the
   monitoring start ping;
7. call the job function with a :class:`JobContext`;
8. map the outcome to an exit code (only here), record it, ping, log one line.

SIGTERM (or SIGINT, Ctrl-C on a terminal) asks the job to stop after the current item
(``ctx.should_stop()``, which a job also looks at while it waits); a second one interrupts
at once: :class:`StopRequested` is raised in the main thread, and any further signal is
ignored while the run ends.  Either way the current transaction is rolled back or
committed whole, the lock is released and the run recorded (exit 75, status
``interrupted``).
When the reader of standard output goes away (``bin/zamio-status | head -1``), the job
stops quietly: the rest of its output is thrown away and it exits as it would have
(0 for a report), without a traceback.

The runner imports no domain module.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import select
import signal
import sys
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import FrameType
from typing import TYPE_CHECKING, TypeVar

from zamio.runtime import errors
from zamio.runtime.config import Config, load_config
from zamio.runtime.install import version
from zamio.runtime.logs import SUMMARY, set_run_id, setup_logging
from zamio.runtime.pings import send_ping

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

    from zamio.runtime.locks import JobLock
    from zamio.runtime.runs import RunRecord

T = TypeVar("T")
log = logging.getLogger("zamio.runtime.runner")

#: A scheduled job stops taking new work after this share of its period.
MAX_SECONDS_SHARE_OF_PERIOD = 0.8


#: The signals that ask a run to stop: the service manager's, and Ctrl-C on a terminal.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class StopRequested(BaseException):
    """Raised inside the job after a second SIGTERM or SIGINT: stop now, roll back the current item.

    A BaseException, as KeyboardInterrupt is, so that a job's ``except Exception`` around
    one item never takes it for that item's failure."""


@dataclass(frozen=True)
class Job:
    """What a ``bin/`` script declares about itself."""

    name: str
    doc: str
    main: Callable[[JobContext], int | None]
    period_seconds: int | None = None  # None: a manual job
    add_arguments: Callable[[argparse.ArgumentParser], None] | None = None
    lock_scope: str = "global"  # "host": one run per host, hosts share work through leases
    dry_run_supported: bool = True
    needs_database: bool = True
    record_runs: bool = True  # False only for jobs that run before job_runs exists (migrate) or only read it
    read_only: bool = False  # True: writes nothing, takes no lock, and reads a database it may not write
    migrates: bool = False  # True only for migrate: may create the database, and runs before the schema exists


@dataclass
class JobContext:
    """What a job function receives: configuration, database, arguments, counters and the clock."""

    job: Job
    config: Config
    args: argparse.Namespace
    run_id: str
    dry_run: bool
    deadline: float | None  # time.monotonic() value after which no new work is taken
    engine: Engine | None = None
    items_ok: int = 0
    items_failed: int = 0
    items_skipped: int = 0
    stop_requested: bool = False
    summary: list[str] = field(default_factory=list)
    first_failure: str | None = None  # the first failed item and why: the run's recorded error when nothing else failed

    @property
    def owner(self) -> str:
        """The lease owner name of this run: host, pid and run id."""
        return f"{self.config.host_name}:{os.getpid()}:{self.run_id[:8]}"

    def time_left(self) -> float:
        return float("inf") if self.deadline is None else self.deadline - time.monotonic()

    def should_stop(self) -> bool:
        """True when SIGTERM (or SIGINT) arrived or ``--max-seconds`` is used up: take no new item.

        Thread-safe and cheap: a job's waits (a socket, a child process) look at it every
        fraction of a second, so that a stop does not wait for their time limits."""
        return self.stop_requested or self.time_left() <= 0

    @contextmanager
    def transaction(self, *, read_only: bool = False) -> Iterator[Connection]:
        """One database transaction; rolled back instead of committed in a dry run."""
        from zamio.db.engine import transaction

        assert self.engine is not None  # only jobs that need the database open transactions: the runner opened it
        with transaction(self.engine, read_only=read_only, dry_run=self.dry_run) as conn:
            yield conn

    def ok(self, n: int = 1) -> None:
        self.items_ok += n

    def failed(self, what: str, error: BaseException | str, n: int = 1) -> None:
        """Count a failed item and log why (the job records the reason on the item itself)."""
        self.items_failed += n
        if self.first_failure is None:
            self.first_failure = f"{what}: {error}"
        log.warning("%s: %s", what, error)

    def skipped(self, n: int = 1) -> None:
        self.items_skipped += n

    def note(self, text: str) -> None:
        """Add a phrase to the run's one-line summary."""
        self.summary.append(text)

    def progress(self, items: Iterable[T], total: int | None = None, label: str = "") -> Iterator[T]:
        """Yield ``items``, drawing a progress line on a terminal (nothing under cron)."""
        shown = total if sys.stderr.isatty() and total else 0  # the total drawn against, 0 for no line
        for index, item in enumerate(items, 1):
            yield item
            if shown:
                width = 30
                filled = int(width * index / shown)
                sys.stderr.write(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {index}/{shown}")
                sys.stderr.flush()
        if shown:
            sys.stderr.write("\n")


def build_parser(job: Job) -> argparse.ArgumentParser:
    """The command line of ``job``: its own arguments plus the common flags."""
    parser = argparse.ArgumentParser(
        prog=job.name, description=job.doc.strip(), formatter_class=argparse.RawDescriptionHelpFormatter
    )
    if job.add_arguments is not None:
        job.add_arguments(parser)
    common = parser.add_argument_group("common options")
    if job.dry_run_supported:
        common.add_argument("--dry-run", action="store_true", help="read and compute, write nothing, send nothing")
    common.add_argument("-v", "--verbose", action="count", default=0, help="more detail (-vv: every item)")
    common.add_argument("-q", "--quiet", action="store_true", help="errors only (for cron)")
    common.add_argument("--database-url", metavar="URL", help="override DATABASE_URL")
    common.add_argument("--version", action=_ShowVersion, nargs=0, help="print the job's name and zamio's version")
    default_max = int(job.period_seconds * MAX_SECONDS_SHARE_OF_PERIOD) if job.period_seconds else None
    common.add_argument(
        "--max-seconds",
        type=float,
        default=default_max,
        metavar="N",
        help=f"stop taking new work after N seconds (default: {default_max or 'no limit'})",
    )
    common.add_argument(
        "--jitter-seconds", type=float, default=0.0, metavar="N", help="sleep up to N seconds first (not on a terminal)"
    )
    return parser


class _ShowVersion(argparse.Action):
    """``--version``: the installed version is looked up only when asked for (it costs a scan of the
    installed packages, which every run would otherwise pay at start-up)."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: object,
                 option_string: str | None = None) -> None:
        print(f"{parser.prog} (zamio {version()})")
        parser.exit()


def run(job: Job, argv: list[str] | None = None) -> int:
    """Run ``job`` with ``argv`` (default: the process's arguments) and return its exit code."""
    args = build_parser(job).parse_args(argv)
    setup_logging(job.name, verbose=args.verbose, quiet=args.quiet)
    _sleep_jitter(args.jitter_seconds)
    try:
        config = load_config(database_url=args.database_url)
    except errors.ConfigError as error:
        log.error("configuration error: %s", error)
        return errors.EXIT_CONFIG
    return _Runner(job, config, args).execute()


def _sleep_jitter(seconds: float) -> None:
    # On a terminal a person is waiting; under cron the sleep spreads load.
    if seconds > 0 and not sys.stdin.isatty():
        time.sleep(random.uniform(0, seconds))


class _Runner:
    """The lifecycle of one run (kept in one object so the signal handler can reach the context)."""

    def __init__(self, job: Job, config: Config, args: argparse.Namespace) -> None:
        self.job = job
        self.config = config
        self.args = args
        self.run_id = str(uuid.uuid4())
        set_run_id(self.run_id)
        self.started = time.monotonic()
        deadline = self.started + args.max_seconds if args.max_seconds else None
        self.ctx = JobContext(
            job=job,
            config=config,
            args=args,
            run_id=self.run_id,
            dry_run=bool(getattr(args, "dry_run", False)),
            deadline=deadline,
        )
        self.record: RunRecord | None = None
        self.pinged = False
        self.locked_out = False
        self.stop_signal = "SIGTERM"  # the name of the signal that asked the run to stop
        self.stopping_at_once = False  # a second stop signal came
        self.interruptible = False  # whether that second signal raises StopRequested (not while recording)

    def execute(self) -> int:
        previous = {signum: signal.signal(signum, self._on_stop_signal) for signum in STOP_SIGNALS}
        try:
            try:
                self.interruptible = True
                try:
                    code, error = self._checked_run()
                finally:
                    self.interruptible = False
            except StopRequested:  # met before the job started or after it returned (taking the lock, say)
                code, error = self._stopped_at_once()
            self._finish(code, error)
            return code
        finally:
            if self.ctx.stop_requested:
                # Asked to stop, the process is on its way out with its exit code decided. A further
                # Ctrl-C or SIGTERM must not change it: the interpreter resets the handlers it installed
                # to the default (die by the signal) while it exits, but leaves an ignored signal
                # ignored, so ignore them from here.
                self.stopping_at_once = True
                for signum in STOP_SIGNALS:
                    signal.signal(signum, signal.SIG_IGN)
            else:
                for signum, handler in previous.items():
                    signal.signal(signum, handler)

    def _checked_run(self) -> tuple[int, str | None]:
        from zamio.runtime.database import check_sqlite_file

        try:
            if self.job.needs_database:
                check_sqlite_file(self.config.database, writes=not self.job.read_only, creates=self.job.migrates)
        except errors.ZamioError as error:
            log.error("%s", error)
            return error.exit_code, str(error)
        if self.job.read_only:  # two reports at once harm nothing, and the lock's folder may be unwritable
            return self._run_job()
        return self._locked_run(self._lock())

    def _lock(self) -> JobLock:
        from zamio.runtime.locks import holder_label, job_lock

        lock_name = self.job.name if self.job.lock_scope == "global" else f"{self.job.name}@{self.config.host_name}"
        label = holder_label(os.getpid(), self.config.host_name, self.run_id)
        return job_lock(self.config.database, self.config.var_dir, lock_name, label)

    def _locked_run(self, lock: JobLock) -> tuple[int, str | None]:
        try:
            lock.acquire()
        except errors.LockHeld as held:
            log.log(SUMMARY, "%s; exiting", held)
            self.locked_out = True
            self._record_locked(str(held))
            return errors.EXIT_TEMPFAIL, str(held)
        except errors.ZamioError as error:
            log.error("%s", error)
            return error.exit_code, str(error)
        try:
            return self._run_job()
        finally:
            lock.release()

    def _run_job(self) -> tuple[int, str | None]:
        code: int | None = None
        try:
            self._open()
            self.pinged = send_ping(
                self.config.ping_url, self.job.name, "start", self.run_id, self.config.ping_timeout_seconds
            )
            code = self._exit_code(self.job.main(self.ctx))
            sys.stdout.flush()  # here, so that a reader gone away is met while the error can still be handled
            return code, None
        except StopRequested:
            return self._stopped_at_once()
        except errors.ZamioError as error:
            log.error("%s", error)
            return error.exit_code, str(error)
        except BrokenPipeError as error:
            if not _stdout_closed():  # a pipe of the job's own (a socket, a child process) broke
                return self._unexpected(error)
            _discard_stdout()
            log.info("standard output was closed by its reader; stopped writing to it")
            return (code if code is not None else self._exit_code(None)), None
        except Exception as error:  # the one place an unexpected error is caught: log it whole
            return self._unexpected(error)

    def _stopped_at_once(self) -> tuple[int, str]:
        log.warning("stopped by %s; the current item was rolled back", self.stop_signal)
        return errors.EXIT_TEMPFAIL, f"stopped by {self.stop_signal}"

    def _unexpected(self, error: Exception) -> tuple[int, str]:
        log.error("unexpected error:\n%s", traceback.format_exc())
        return errors.EXIT_SOFTWARE, f"{type(error).__name__}: {error}"

    def _exit_code(self, returned: int | None) -> int:
        if returned is not None:
            return returned
        if self.ctx.stop_requested:
            return errors.EXIT_TEMPFAIL
        return errors.EXIT_ITEMS_FAILED if self.ctx.items_failed else errors.EXIT_OK

    def _on_stop_signal(self, signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if self.stopping_at_once:  # the run is already ending: let it finish its clean-up
            return
        if not self.ctx.stop_requested:
            self.ctx.stop_requested = True
            self.stop_signal = name
            log.warning("%s received: finishing the current item, then stopping", name)
            return
        self.stopping_at_once = True
        log.warning("%s received again: stopping at once", name)
        if self.interruptible:  # not while the run is being recorded: its row is written whole
            raise StopRequested()

    def _open(self) -> None:
        from zamio.db.engine import open_engine
        from zamio.runtime.database import check_migrated
        from zamio.runtime.runs import RunRecord

        if not self.job.needs_database:
            return
        self.ctx.engine = open_engine(
            self.config.database,
            busy_timeout_ms=self.config.sqlite_busy_timeout_ms,
            application_name=f"zamio {self.job.name}",
            read_only=self.job.read_only,
        )
        if not self.job.migrates:
            check_migrated(self.ctx.engine, self.config.database)
        if self.job.record_runs and not self.ctx.dry_run:
            self.record = RunRecord.start(self.ctx.engine, self.job.name, self.run_id, self.config.host_name)

    def _record_locked(self, message: str) -> None:
        from zamio.db.engine import open_engine
        from zamio.runtime.runs import RunRecord

        if self.ctx.dry_run or not (self.job.needs_database and self.job.record_runs):
            return
        try:
            engine = open_engine(self.config.database, busy_timeout_ms=self.config.sqlite_busy_timeout_ms)
            RunRecord.locked(engine, self.job.name, self.run_id, self.config.host_name, message)
            engine.dispose()
        except Exception as error:  # recording a skipped run must never turn 75 into a failure
            log.warning("could not record the skipped run: %s", error)

    def _finish(self, code: int, error: str | None) -> None:
        ctx = self.ctx
        if ctx.stop_requested and error is None:
            error = f"stopped by {self.stop_signal}"
        if error is None and ctx.items_failed:
            more = ctx.items_failed - 1
            error = ctx.first_failure + (f" (and {more} other item{'s' if more > 1 else ''})" if more else "") \
                if ctx.first_failure else None
        if self.record is not None:
            try:
                self.record.finish(code, ctx.items_ok, ctx.items_failed, ctx.items_skipped, error)
            except Exception as record_error:
                log.error("could not record the run in job_runs: %s", record_error)
        if (self.pinged or (self.config.ping_url and not self.locked_out)) and not self.stopping_at_once:
            self._send_end_ping(code)
        if ctx.engine is not None:
            ctx.engine.dispose()
        if not self.locked_out:
            log.log(SUMMARY if code == errors.EXIT_OK else logging.ERROR, "%s", self._summary_line(code))

    def _send_end_ping(self, code: int) -> None:
        """Ping the end of the run; a second stop signal meanwhile gives it up (it may wait for its timeout)."""
        try:
            self.interruptible = True
            try:
                send_ping(self.config.ping_url, self.job.name, str(code), self.run_id,
                          self.config.ping_timeout_seconds)
            finally:
                self.interruptible = False
        except StopRequested:
            log.warning("the end ping was not sent: stopped by %s", self.stop_signal)

    def _summary_line(self, code: int) -> str:
        ctx = self.ctx
        parts = [f"exit {code}", f"{ctx.items_ok} ok", f"{ctx.items_failed} failed", f"{ctx.items_skipped} skipped"]
        parts += ctx.summary
        parts.append(f"{time.monotonic() - self.started:.2f}s")
        prefix = "dry run: " if ctx.dry_run else ""
        return prefix + ", ".join(parts)


def _stdout_closed() -> bool:
    """True when standard output is a pipe whose reader has gone (the kernel reports an error on it)."""
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & select.POLLERR for _fd, events in poller.poll(0))
    except (OSError, ValueError):  # no file descriptor behind sys.stdout
        return False


def _discard_stdout() -> None:
    """Point standard output at /dev/null, so that the interpreter's last flush meets no closed pipe
    (the practice the Python documentation gives for SIGPIPE)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
