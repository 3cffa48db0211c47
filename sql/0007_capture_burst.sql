-- How much earlier than its first byte's arrival a stream capture's audio was on air
-- (the server's connect burst, measured at the live edge); NULL for HLS, snippets and
-- captures recorded before it was measured.  captures.started_at holds the corrected time.
ALTER TABLE captures ADD COLUMN burst_seconds DOUBLE PRECISION;
