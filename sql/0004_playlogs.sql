-- Play logs, version 4: what convert-matches and import-playlogs record beyond version 1.
--
-- * first_captured_at: when the capture of a detected play's first detection began.
--   The latest one per station is the converter's watermark (no separate state to
--   keep in step), and a late detection is folded in by rebuilding from the play
--   stored before it.  NULL for imported plays.
-- * speed: the measured playback speed of a detected play (1.02 = 2 % fast), the
--   factor between recording seconds and seconds on air.
-- * duplicate_of: an imported play that reports an airing already detected (or
--   detected later) points at the detected play; it is never priced.
-- * superseded_at: when a final row stopped being current (a new version replaced
--   it, or it turned out to duplicate a detected play).  The royalty engine
--   reverses the ledger lines of such a row.
-- * ux_play_logs_current: at most one final version of a play at any time, the
--   database's own guard against a doubly billed airing.

ALTER TABLE play_logs ADD COLUMN first_captured_at @TIMESTAMP@;
ALTER TABLE play_logs ADD COLUMN speed DOUBLE PRECISION;
ALTER TABLE play_logs ADD COLUMN duplicate_of BIGINT REFERENCES play_logs (id);
ALTER TABLE play_logs ADD COLUMN superseded_at @TIMESTAMP@;

CREATE INDEX ix_play_logs_station_first_capture ON play_logs (station_id, first_captured_at);
CREATE UNIQUE INDEX ux_play_logs_current ON play_logs (play_key) WHERE status = 'final';
CREATE INDEX ix_play_detections_detection ON play_detections (detection_id);
