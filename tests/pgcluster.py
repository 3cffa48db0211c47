"""A PostgreSQL primary with streaming hot standbys, started for a test in a folder of its own.

The primary is made with ``initdb`` (``wal_level=replica``, WAL senders, replication
allowed from 127.0.0.1) and each standby with ``pg_basebackup -R`` from it, as
docs/operations.md sets them up.  Every server logs every statement with its
application name and virtual transaction id (``log_statement=all``), so that a test can
tell which server ran what, for whom, and in how many transactions.  The servers run as
the ``postgres`` user when the tests run as root (initdb refuses root), as CI does.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

BIN = Path(os.environ.get("ZAMIO_TEST_POSTGRES_BIN", "/usr/lib/postgresql/15/bin"))
#: Application name and virtual transaction id before each logged statement.
LOG_PREFIX = "[%a|%v] "
LOGGED = re.compile(r"\[(?P<app>[^|\]]*)\|(?P<vxid>[^\]]*)\] LOG:  statement: (?P<sql>.*)")
CATCH_UP_SECONDS = 60.0
STANDBY_OPTIONS = "-c hot_standby=on -c hot_standby_feedback=on"


def missing_binaries() -> str | None:
    """None when the PostgreSQL server programs are installed, else what is missing."""
    for name in ("initdb", "pg_ctl", "pg_basebackup", "postgres"):
        if not (BIN / name).is_file():
            return f"{BIN / name} is not installed (set ZAMIO_TEST_POSTGRES_BIN to the folder of initdb)"
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Server:
    name: str
    folder: Path
    port: int
    log: Path
    read_from: int = 0  # where the log's next statement_lines() starts

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def statements(self) -> list[tuple[str, str, str]]:
        """(application name, virtual transaction id, SQL) of each statement logged since ``mark``."""
        with open(self.log, encoding="utf-8", errors="replace") as text:
            text.seek(self.read_from)
            return [(m["app"], m["vxid"], m["sql"]) for m in map(LOGGED.search, text) if m]

    def mark(self) -> None:
        """Look only at the statements logged from now on."""
        self.read_from = self.log.stat().st_size


@dataclass
class StandbyCluster:
    root: Path
    primary: Server
    standbys: list[Server] = field(default_factory=list)
    as_user: str | None = None

    @classmethod
    def start(cls, standbys: int) -> StandbyCluster:
        as_user = "postgres" if os.geteuid() == 0 else None
        root = Path(tempfile.mkdtemp(prefix="zamio-replicas-"))
        if as_user is not None:
            os.chown(root, pwd.getpwnam(as_user).pw_uid, -1)
        cluster = cls(root, Server("primary", root / "primary", free_port(), root / "primary.log"), as_user=as_user)
        cluster._run("initdb", "-D", str(cluster.primary.folder), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        with open(cluster.primary.folder / "pg_hba.conf", "a") as hba:
            hba.write("host replication postgres 127.0.0.1/32 trust\n")
        cluster._start(cluster.primary, "-c wal_level=replica -c max_wal_senders=10 -c wal_keep_size=256MB")
        for number in range(1, standbys + 1):
            standby = Server(f"standby{number}", root / f"standby{number}", free_port(), root / f"standby{number}.log")
            cluster._run(
                "pg_basebackup",
                "-h",
                "127.0.0.1",
                "-p",
                str(cluster.primary.port),
                "-U",
                "postgres",
                "-D",
                str(standby.folder),
                "-R",
                "-X",
                "stream",
            )
            cluster._start(standby, STANDBY_OPTIONS)
            cluster.standbys.append(standby)
        return cluster

    def _run(self, program: str, *args: str) -> None:
        command = [str(BIN / program), *args]
        if self.as_user is not None:
            command = ["runuser", "-u", self.as_user, "--", *command]
        done = subprocess.run(command, cwd=self.root, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{program} failed:\n{done.stdout}\n{done.stderr}"

    def _start(self, server: Server, options: str) -> None:
        common = (
            f"-p {server.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            f"-c log_statement=all -c log_line_prefix='{LOG_PREFIX}' "
        )
        self._run("pg_ctl", "-D", str(server.folder), "-o", common + options, "-l", str(server.log), "-w", "start")

    @contextmanager
    def stopped(self, standby: Server) -> Iterator[None]:
        """``standby`` shut down for the length of a ``with`` block, then started again."""
        self._run("pg_ctl", "-D", str(standby.folder), "-m", "fast", "-w", "stop")
        try:
            yield
        finally:
            self._start(standby, STANDBY_OPTIONS)

    def stop(self) -> None:
        for server in [*self.standbys, self.primary]:
            if server.folder.is_dir():
                self._run("pg_ctl", "-D", str(server.folder), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def psql(self, server: Server, sql: str, database: str = "postgres") -> str:
        """Run ``sql`` on ``server`` as the superuser; return its unaligned output."""
        import psycopg2

        conn = psycopg2.connect(server.url(database))
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
                return "\n".join("|".join(map(str, row)) for row in cur.fetchall()) if cur.description else ""
        finally:
            conn.close()

    def caught_up(self, standby: Server) -> None:
        """Return once ``standby`` has replayed everything the primary had written when called."""
        target = self.psql(self.primary, "SELECT pg_current_wal_lsn()")
        deadline = time.monotonic() + CATCH_UP_SECONDS
        while self.psql(standby, f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn") != "True":
            assert time.monotonic() < deadline, f"{standby.name} did not catch up with the primary"
            time.sleep(0.05)
