-- Unknown recordings named or merged by hand (bin/identify-unknown).
--
-- track_id: the catalog track the recording turned out to be; track_offset_seconds: where the
-- recording's own time 0 lies in the track (seconds), measured by aligning the recording's prints
-- with the track's audio, so that a capture still filed into the recording is placed in the track.
-- merged_into_id: the unknown recording it was found to be the same song as; its captures (and so
-- their prints) moved there.  resolved_at, resolved_by and resolved_audit_id: when, by whom and
-- under which audit_log entry it was named or merged.  A recording with either set is resolved:
-- it is never named or merged again, and no play is priced under its U- reference any more.

ALTER TABLE unknown_recordings ADD COLUMN track_id BIGINT REFERENCES tracks (id);
ALTER TABLE unknown_recordings ADD COLUMN track_offset_seconds DOUBLE PRECISION;
ALTER TABLE unknown_recordings ADD COLUMN merged_into_id BIGINT REFERENCES unknown_recordings (id);
ALTER TABLE unknown_recordings ADD COLUMN resolved_at @TIMESTAMP@;
ALTER TABLE unknown_recordings ADD COLUMN resolved_by TEXT;
ALTER TABLE unknown_recordings ADD COLUMN resolved_audit_id BIGINT REFERENCES audit_log (id);
