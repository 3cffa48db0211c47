-- The host that keeps a capture's audio file.  Files live in each host's own var/ folder, so
-- only that host can delete them: cleanup-old-data deletes a capture's file, and the rows that
-- name a file, on the host named here; the database part of retention runs on one host.
-- Captures recorded before this column existed (NULL) are handled as before, by the host that
-- runs the database part.

ALTER TABLE captures ADD COLUMN audio_host TEXT;
CREATE INDEX ix_captures_audio_host ON captures (audio_host, started_at);
