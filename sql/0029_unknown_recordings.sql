-- Unknown recordings: music heard on air that the catalog does not hold, heard more than once.
--
-- unknown_captures: one row per no_match capture judged music, written with the capture by the
-- scan; status pending until it is filed (in capture order) against the unknown index, then
-- single (no earlier capture holds the same audio: a candidate) or joined (it belongs to
-- unknown_id, and offset_seconds places the capture's start in that recording's time).
-- unknown_prints: the fingerprint hashes of those captures, the unknown index; a capture that
-- joins a recording without covering any part of it not heard before keeps none.  The catalog's
-- lookups read fingerprints only, never this table.
-- unknown_recordings: the songs heard at least twice, U-000001 onwards (unknown_ref), with the
-- span of the song heard so far (span_from, span_to: seconds in the recording's time), the first
-- stream title a station sent with it and the first capture that kept its audio (excerpt_path).
-- detections.unknown_id: a detection of source 'unknown' names the unknown recording heard; its
-- play has recording_key U-000001 and is priced into suspense unidentified:U-000001.

CREATE TABLE unknown_recordings (
    id @ID@,
    unknown_ref TEXT NOT NULL UNIQUE,
    first_heard_at @TIMESTAMP@ NOT NULL,
    last_heard_at @TIMESTAMP@ NOT NULL,
    span_from DOUBLE PRECISION NOT NULL,
    span_to DOUBLE PRECISION NOT NULL,
    icy_title TEXT,
    excerpt_path TEXT,
    excerpt_host TEXT,
    created_at @TIMESTAMP@ NOT NULL
);

CREATE TABLE unknown_captures (
    capture_id BIGINT PRIMARY KEY REFERENCES captures (id),
    station_id BIGINT NOT NULL REFERENCES stations (id),
    started_at @TIMESTAMP@ NOT NULL,
    seconds DOUBLE PRECISION NOT NULL,
    hash_count INTEGER NOT NULL,
    status TEXT NOT NULL,
    unknown_id BIGINT REFERENCES unknown_recordings (id),
    offset_seconds DOUBLE PRECISION,
    aligned INTEGER,
    created_at @TIMESTAMP@ NOT NULL,
    filed_at @TIMESTAMP@
);
CREATE INDEX ix_unknown_captures_status ON unknown_captures (status, started_at);
CREATE INDEX ix_unknown_captures_unknown ON unknown_captures (unknown_id);

CREATE TABLE unknown_prints (
    hash INTEGER NOT NULL,
    capture_id BIGINT NOT NULL,
    frame INTEGER NOT NULL
);
CREATE INDEX ix_unknown_prints_hash ON unknown_prints (hash);
CREATE INDEX ix_unknown_prints_capture ON unknown_prints (capture_id);

ALTER TABLE detections ADD COLUMN unknown_id BIGINT REFERENCES unknown_recordings (id);
