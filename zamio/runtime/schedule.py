"""The schedule: ``crontab.txt`` parsed, its periods computed, and systemd units rendered from it.

``crontab.txt`` is the single source of the schedule.  ``zamio-status`` reads
it to know how often each job should succeed, and the systemd timer units in
``systemd/`` are generated from it (``python -m zamio.runtime.schedule --write
systemd``); a test checks that the committed units equal the generated ones.

A checkout's units start ``/opt/zamio/bin/<job>``.  An installed package writes its own:
``python -m zamio.runtime.schedule --write DIR`` run with the environment's Python names
the commands pip installed beside it (``.venv/bin/<job>``) and the installation's home
(``$ZAMIO_HOME``, else the current folder), so the units start the package's commands.
"""

from __future__ import annotations

import argparse
import re
import shlex
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from zamio.runtime.errors import DataError
from zamio.runtime.install import data_path, is_checkout
from zamio.runtime.install import home as installation_home

MINUTES_PER_WEEK = 7 * 24 * 60
FIELD_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 6))
DAY_NAMES = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")
DEFAULT_HOME = "/opt/zamio"
DEFAULT_USER = "zamio"
#: Set by the schedule (crontab.txt, the systemd units) so that a run knows it is the schedule's, not a person's.
STARTED_BY_VARIABLE = "ZAMIO_STARTED_BY"


@dataclass(frozen=True)
class ScheduledJob:
    """One crontab line: when, as whom, which script, with which priority and arguments."""

    fields: tuple[str, str, str, str, str]
    user: str
    script: str  # the name of the file in bin/
    arguments: tuple[str, ...]
    nice: int | None
    idle_io: bool
    line: str

    @property
    def period_seconds(self) -> int:
        """The longest gap between two consecutive runs, in seconds (a daily job: 86400)."""
        return longest_gap_minutes(self.fields) * 60

    @property
    def expression(self) -> str:
        return " ".join(self.fields)


def parse_field(text: str, low: int, high: int) -> set[int]:
    """The values a cron field matches (``*``, ``*/n``, ``a-b``, ``a-b/n``, lists); raise DataError if malformed."""
    values: set[int] = set()
    for part in text.split(","):
        match = re.fullmatch(r"(\*|\d+(?:-\d+)?)(?:/(\d+))?", part)
        if not match:
            raise DataError(f"crontab field {text!r} is not understood; use *, */n, a-b or lists")
        span, step = match.group(1), int(match.group(2) or 1)
        start, end = (low, high) if span == "*" else _span(span)
        if start < low or end > high or start > end or step < 1:
            raise DataError(f"crontab field {text!r} is out of range {low}-{high}")
        values.update(range(start, end + 1, step))
    return values


def _span(text: str) -> tuple[int, int]:
    if "-" in text:
        a, b = text.split("-")
        return int(a), int(b)
    return int(text), int(text)


def longest_gap_minutes(fields: tuple[str, ...]) -> int:
    """Minutes of the longest gap between two firings over a week (weekly cycle; day-of-month ignored)."""
    minute, hour, _dom, _month, dow = (parse_field(f, *r) for f, r in zip(fields, FIELD_RANGES))
    dow = {d % 7 for d in dow}
    fire = [
        d * 1440 + h * 60 + m
        for d in range(7) if d in dow for h in range(24) if h in hour for m in range(60) if m in minute
    ]
    if not fire:
        raise DataError(f"crontab schedule {' '.join(fields)!r} never fires")
    gaps = [b - a for a, b in zip(fire, fire[1:])] + [fire[0] + MINUTES_PER_WEEK - fire[-1]]
    return max(gaps)


def parse_line(line: str) -> ScheduledJob | None:
    """Parse one system-crontab line; None for comments, blanks and variable assignments."""
    stripped = line.strip()
    if not stripped or stripped.startswith("#") or re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", stripped):
        return None
    parts = stripped.split(None, 6)
    if len(parts) < 7:
        raise DataError(f"crontab line has too few fields (m h dom mon dow user command): {stripped}")
    minute, hour, day, month, weekday = parts[:5]
    fields, user, command = (minute, hour, day, month, weekday), parts[5], shlex.split(parts[6])
    for text, bounds in zip(fields, FIELD_RANGES):
        parse_field(text, *bounds)
    nice, idle_io, rest = _priority(command)
    script_index = next((i for i, word in enumerate(rest) if "/bin/" in word), None)
    if script_index is None:
        raise DataError(f"crontab line names no script in bin/: {stripped}")
    script = rest[script_index].rsplit("/", 1)[1]
    return ScheduledJob(fields, user, script, tuple(rest[script_index + 1 :]), nice, idle_io, stripped)


def _priority(command: list[str]) -> tuple[int | None, bool, list[str]]:
    """Strip leading ``nice -n N`` and ``ionice -c 3`` wrappers, returning what they asked for."""
    nice, idle_io, words = None, False, list(command)
    while words and words[0] in ("nice", "ionice"):
        if words[0] == "nice" and len(words) > 2 and words[1] == "-n":
            nice, words = int(words[2]), words[3:]
        elif words[0] == "ionice" and len(words) > 2 and words[1] == "-c":
            idle_io, words = words[2] == "3", words[3:]
        else:
            raise DataError(f"crontab priority wrapper not understood: {' '.join(command)}")
    return nice, idle_io, words


def read_crontab(path: Path | None = None) -> list[ScheduledJob]:
    """Every job line of ``crontab.txt`` (default: the installation's), in file order."""
    jobs = [parse_line(line) for line in (path or data_path("crontab.txt")).read_text().splitlines()]
    return [job for job in jobs if job is not None]


def read_variables(path: Path | None = None) -> dict[str, str]:
    """The variable assignments of ``crontab.txt`` (``NAME=value`` lines), in file order."""
    variables: dict[str, str] = {}
    for line in (path or data_path("crontab.txt")).read_text().splitlines():
        match = re.fullmatch(r"\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)", line)
        if match:
            variables[match.group(1)] = match.group(2).strip()
    return variables


def schedule_time_zone(path: Path | None = None) -> str | None:
    """The zone the schedule's hours are in (``CRON_TZ``), or None for the host's; DataError if unknown."""
    zone = read_variables(path).get("CRON_TZ") or None
    if zone is not None:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise DataError(f"CRON_TZ={zone} in crontab.txt is not a time zone; use a name such as "
                            "Africa/Accra (see /usr/share/zoneinfo)") from None
    return zone


def on_calendar(fields: tuple[str, ...], zone: str | None = None) -> str:
    """The systemd ``OnCalendar=`` expression equivalent to the cron fields, in ``zone`` when one is given."""
    minute, hour, dom, month, dow = fields
    days = "" if dow == "*" else ",".join(DAY_NAMES[d % 7] for d in sorted(parse_field(dow, 0, 6))) + " "
    calendar = f"{days}*-{_calendar(month)}-{_calendar(dom)} {_calendar(hour)}:{_calendar(minute)}:00"
    return f"{calendar} {zone}" if zone else calendar


def _calendar(text: str) -> str:
    """One cron field in systemd's words: ``*/n`` → ``00/n``, ``a-b`` → ``a..b``, ``a-b/n`` → ``a..b/n``, lists kept."""
    if text == "*":
        return "*"
    parts = []
    for part in text.split(","):
        span, _, step = part.partition("/")
        if span == "*":
            span = "00"
        elif "-" in span:
            low, high = span.split("-")
            span = f"{int(low):02d}..{int(high):02d}"
        else:
            span = f"{int(span):02d}"
        parts.append(f"{span}/{int(step)}" if step else span)
    return ",".join(parts)


def render_service(job: ScheduledJob, home: str = DEFAULT_HOME, scripts: str | None = None) -> str:
    """The ``.service`` unit for one scheduled job of the installation in ``home`` whose commands are in
    ``scripts`` (default ``home``/bin, a checkout's)."""
    timeout = max(60, min(int(job.period_seconds * 0.9), 6 * 3600))
    command = " ".join([f"{scripts or home + '/bin'}/{job.script}", *job.arguments])
    lines = [
        "[Unit]",
        f"Description=zamio {job.script}",
        "Wants=network-online.target",
        "After=network-online.target postgresql.service",
        "",
        "[Service]",
        "Type=oneshot",
        f"User={job.user}",
        f"WorkingDirectory={home}",
        # No EnvironmentFile=: the job reads .env itself, with the parser cron's runs use (systemd's would
        # keep an inline comment in the value), from its home, as crontab.txt names it.  The other variable
        # marks the run as the schedule's in job_runs.
        f"Environment=ZAMIO_HOME={home}",
        f"Environment={STARTED_BY_VARIABLE}=schedule",
        f"ExecStart={command}",
        "# 75: another run holds the lock, or a temporary fault; not a failure.",
        "SuccessExitStatus=75",
        f"TimeoutStartSec={timeout}",
        "# SIGTERM to the job alone, which stops its own children (ffmpeg) and finishes what it has;",
        "# whatever is left when it exits, or after TimeoutStopSec, gets SIGKILL.",
        "KillMode=mixed",
    ]
    if job.nice is not None:
        lines.append(f"Nice={job.nice}")
    if job.idle_io:
        lines.append("IOSchedulingClass=idle")
    lines += ["NoNewPrivileges=yes", "PrivateTmp=yes", "ProtectSystem=full", ""]
    return "\n".join(lines)


def render_timer(job: ScheduledJob, zone: str | None = None) -> str:
    """The ``.timer`` unit for one scheduled job, its hours in ``zone`` (None: the host's)."""
    lines = ["[Unit]", f"Description=zamio {job.script} ({job.expression})", "", "[Timer]"]
    lines.append(f"OnCalendar={on_calendar(job.fields, zone)}")
    if job.period_seconds <= 300:
        lines += ["AccuracySec=1s", "RandomizedDelaySec=10s"]
    else:
        lines += ["AccuracySec=1min", f"RandomizedDelaySec={min(300, job.period_seconds // 20)}s"]
    if job.period_seconds >= 86400:
        lines.append("Persistent=true")
    lines += ["", "[Install]", "WantedBy=timers.target", ""]
    return "\n".join(lines)


def render_units(jobs: list[ScheduledJob], home: str = DEFAULT_HOME, zone: str | None = None,
                 scripts: str | None = None) -> dict[str, str]:
    """File name → content of every unit for ``jobs`` (``scripts``: where the commands are, default ``home``/bin)."""
    units: dict[str, str] = {}
    for job in jobs:
        units[f"zamio-{job.script}.service"] = render_service(job, home, scripts)
        units[f"zamio-{job.script}.timer"] = render_timer(job, zone)
    return units


def main(argv: list[str] | None = None) -> int:
    checkout = is_checkout()
    parser = argparse.ArgumentParser(description="Render the systemd units of crontab.txt.")
    parser.add_argument("--write", metavar="DIR", help="write the units into DIR (default: print them)")
    parser.add_argument("--home", help=f"installation folder (default: a checkout's {DEFAULT_HOME}; an installed "
                                       "package's $ZAMIO_HOME, else the current folder)")
    parser.add_argument("--scripts", metavar="DIR",
                        help="folder of the job commands (default: a checkout's HOME/bin; an installed package's, "
                             "where pip put them beside this Python)")
    args = parser.parse_args(argv)
    install_home = args.home or (DEFAULT_HOME if checkout else str(installation_home()))
    scripts = args.scripts or (None if checkout else sysconfig.get_path("scripts"))
    units = render_units(read_crontab(), install_home, schedule_time_zone(), scripts)
    if args.write:
        folder = Path(args.write)
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("zamio-*.*"):
            if stale.name not in units:
                stale.unlink()
        for name, text in units.items():
            (folder / name).write_text(text)
    else:
        for name, text in units.items():
            print(f"# {name}\n{text}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
