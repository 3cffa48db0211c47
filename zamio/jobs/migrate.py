"""Apply the schema migrations in sql/ that the database has not seen yet.

Run it after installing or upgrading zamio.  Each migration runs in one
transaction; running the command again does nothing.

Examples:
    bin/migrate
    bin/migrate --dry-run          # list the migrations that would be applied
    bin/migrate --database-url postgresql://zamio@localhost/zamio
"""

from __future__ import annotations

from zamio.runtime.runner import Job, JobContext


def main(ctx: JobContext) -> None:
    """Apply the pending migrations, or list them in a dry run."""
    from zamio.runtime.migrate import migrate

    assert ctx.engine is not None  # the job needs the database: the runner opened it
    applied = migrate(ctx.engine, dry_run=ctx.dry_run)
    for migration in applied:
        verb = "would apply" if ctx.dry_run else "applied"
        print(f"{verb} {migration.path.name}")
    ctx.ok(len(applied))
    if not applied:
        ctx.note("schema up to date")


# No job_runs row: the first run happens before that table exists.
JOB = Job("migrate", __doc__, main, record_runs=False, migrates=True)
