-- The weekly summaries (bin/send-weekly-summaries): who asked not to receive them, and which were queued.
--
-- artists.weekly_summary and stations.weekly_summary: FALSE when the artist or the station's
-- contact unsubscribed (the weekly_summary column of the artists and stations CSV files); such
-- a recipient gets no summary, and the run counts it.
--
-- weekly_summaries: one row per ISO week (2026-W48), kind (artist or station) and recipient
-- reference, written in the transaction that queues the e-mail.  Its unique key is what makes
-- a summary go once, whatever runs again; it outlives the sent e-mail, which cleanup-old-data
-- deletes after its retention, so a week queued again by hand (--week) still finds it sent.

ALTER TABLE artists ADD COLUMN weekly_summary BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE stations ADD COLUMN weekly_summary BOOLEAN NOT NULL DEFAULT TRUE;

CREATE TABLE weekly_summaries (
    id @ID@,
    week TEXT NOT NULL,
    kind TEXT NOT NULL,
    recipient_ref TEXT NOT NULL,
    recipient TEXT NOT NULL,
    dedupe_key TEXT NOT NULL,
    queued_at @TIMESTAMP@ NOT NULL,
    UNIQUE (week, kind, recipient_ref)
);
