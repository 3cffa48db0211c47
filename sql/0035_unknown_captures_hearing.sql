-- The pieces of one long capture of a station playing music the catalog lacks (zamio.scanning.listening) are
-- filed together, as one hearing (zamio.recognition.hearings).
--
-- hearing_key: the long capture's capture_key, the same on each of its pieces; NULL for a capture heard alone.

ALTER TABLE unknown_captures ADD COLUMN hearing_key TEXT;
CREATE INDEX ix_unknown_captures_hearing ON unknown_captures (hearing_key);
