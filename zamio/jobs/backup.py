"""Back up the database and the var folder (captured audio, inbox, statements, reports) into one folder.

Writes --out DIR/zamio-backup-<UTC time>/ with the database (SQLite's online
backup, or pg_dump's custom format: both a consistent snapshot while the jobs go
on), files.tar of the var folder and manifest.json (version, migrations, SHA-256
of each file).  bin/restore puts it back.  The catalog's own audio files are not
included: back them up where they are kept.  The backup's own run is not
recorded in job_runs, which the copy would hold half-done; its exit code and
pings tell monitoring how it went.

Examples:
    bin/backup --out /srv/backups/zamio
    bin/backup --out /srv/backups/zamio -q \\
        && find /srv/backups/zamio -maxdepth 1 -mtime +30 -name 'zamio-backup-*' -exec rm -r {} +
"""

from __future__ import annotations

import argparse
from pathlib import Path

from zamio.runtime.runner import Job, JobContext


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, type=Path, metavar="DIR", help="folder to write the backup folder in")


def main(ctx: JobContext) -> int:
    """Write the backup folder and print its path."""
    from zamio.runtime.backup import make_backup

    assert ctx.engine is not None  # the job needs the database: the runner opened it
    result = make_backup(ctx.engine, ctx.config.database, ctx.config.var_dir, ctx.args.out)
    print(result.folder)
    ctx.ok()
    ctx.note(f"{result.folder.name}: database {result.database_bytes} bytes, {result.files} file(s) of the var folder")
    return 0


JOB = Job("backup", __doc__, main, add_arguments=add_arguments, dry_run_supported=False, record_runs=False)
