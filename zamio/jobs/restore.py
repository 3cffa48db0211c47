"""Restore a backup made by bin/backup into an empty database and var folder.

The database named by DATABASE_URL (or --database-url) must be empty: a SQLite
file not there yet, or a PostgreSQL database with no table (create it owned by
zamio's role first, as in the README).  Files of the var folder are written only
where none exists: a restore never overwrites.  Every file is checked against
the backup's manifest first.  Run bin/migrate afterwards when the code is newer
than the backup.

Examples:
    bin/restore /srv/backups/zamio/zamio-backup-20260301T020000Z
    bin/restore /srv/backups/zamio/zamio-backup-20260301T020000Z --database-url sqlite:////srv/zamio/var/zamio.db
"""

from __future__ import annotations

import argparse
from pathlib import Path

from zamio.runtime.errors import DataError
from zamio.runtime.runner import Job, JobContext


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("backup", type=Path, help="the backup folder (zamio-backup-<time>) to restore")


def main(ctx: JobContext) -> int:
    """Check the backup, then restore the database and the var folder's files."""
    from zamio.runtime.backup import postgres_is_empty, read_manifest, restore_backup

    folder: Path = ctx.args.backup
    database = ctx.config.database
    if not database.is_sqlite:
        from zamio.db.engine import open_engine

        engine = open_engine(database)
        try:
            if not postgres_is_empty(engine):
                raise DataError(f"{database.display} has tables already: a restore goes only into an empty "
                                "database; create a new one (see the README) and name it with --database-url")
        finally:
            engine.dispose()
    manifest = read_manifest(folder)
    files = restore_backup(folder, database, ctx.config.var_dir)
    ctx.ok()
    ctx.note(f"restored {folder.name} ({len(manifest['migrations'])} migrations, {files} file(s) into "
             f"{ctx.config.var_dir})")
    return 0


# Runs before the database exists, so it opens nothing itself and records no run.
JOB = Job("restore", __doc__, main, add_arguments=add_arguments, dry_run_supported=False, needs_database=False,
          record_runs=False)
