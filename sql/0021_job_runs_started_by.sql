-- Who started a run: the schedule (cron or a systemd timer, which set ZAMIO_STARTED_BY=schedule)
-- or a person.  zamio-status --check and the operator's alerts judge only the schedule's runs,
-- so a mistyped manual report neither marks its nightly job failing nor hides a failed night.
-- Runs recorded before this column existed were the schedule's as far as anyone judged them.

ALTER TABLE job_runs ADD COLUMN started_by TEXT NOT NULL DEFAULT 'schedule';
CREATE INDEX ix_job_runs_job_started_by ON job_runs (job, started_by, started_at);
