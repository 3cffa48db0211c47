-- One airing, one billing.
--
-- An airing can be reported by several sources: the station's own detections,
-- any number of partners (a monitoring service, the station's log), and the same
-- partner again in a re-sent file.  Every report is kept as a play, but at most
-- one of them is billable (status 'final'); the others are 'duplicate' with
-- duplicate_of naming the billed play (zamio.playlogs.billing).
--
-- Two plays report the same airing when they are on the same station, name the
-- same recording (recording_ref: the ISRC where one is known, else the catalog
-- track, else the ACRCloud id, else the detection's recording key), start
-- within 60 seconds of each other, and their [start, end] intervals overlap.
--
-- The database refuses a second billable play of an airing, whatever the timing
-- of the writers: on PostgreSQL an exclusion constraint (two writers racing on
-- one airing: the second waits for the first and is refused once it commits);
-- on SQLite, which has one writer at a time, triggers on insert and update.
--
-- Airings billed more than once before this migration keep their earliest play
-- billable; the later ones become 'superseded' with duplicate_of set, so the
-- next pricing run reverses their money.

ALTER TABLE play_logs ADD COLUMN recording_ref TEXT;

UPDATE play_logs SET recording_ref = CASE
    WHEN isrc IS NOT NULL AND isrc <> '' THEN 'isrc:' || isrc
    WHEN track_id IS NOT NULL THEN 'track:' || CAST(track_id AS TEXT)
    WHEN acrcloud_id IS NOT NULL AND acrcloud_id <> '' THEN 'acr:' || acrcloud_id
    ELSE recording_key
END;

-- sqlite:begin
UPDATE play_logs SET status = 'superseded', superseded_at = strftime('%Y-%m-%d %H:%M:%f000', 'now'),
    duplicate_of = (
        SELECT MIN(earlier.id) FROM play_logs AS earlier
        WHERE earlier.status = 'final' AND earlier.id < play_logs.id
          AND earlier.station_id = play_logs.station_id AND earlier.recording_ref = play_logs.recording_ref
          AND abs(julianday(earlier.started_at) - julianday(play_logs.started_at)) * 86400.0 <= 60.0
          AND earlier.started_at <= play_logs.ended_at AND play_logs.started_at <= earlier.ended_at)
WHERE status = 'final' AND EXISTS (
    SELECT 1 FROM play_logs AS earlier
    WHERE earlier.status = 'final' AND earlier.id < play_logs.id
      AND earlier.station_id = play_logs.station_id AND earlier.recording_ref = play_logs.recording_ref
      AND abs(julianday(earlier.started_at) - julianday(play_logs.started_at)) * 86400.0 <= 60.0
      AND earlier.started_at <= play_logs.ended_at AND play_logs.started_at <= earlier.ended_at);

CREATE TRIGGER play_logs_one_billing_insert BEFORE INSERT ON play_logs
WHEN NEW.status = 'final'
BEGIN
    SELECT RAISE(ABORT, 'airing already billed: another final play of this recording on this station starts within 60 seconds and overlaps it')
    WHERE EXISTS (
        SELECT 1 FROM play_logs AS billed
        WHERE billed.status = 'final' AND billed.station_id = NEW.station_id
          AND billed.recording_ref = NEW.recording_ref
          AND abs(julianday(billed.started_at) - julianday(NEW.started_at)) * 86400.0 <= 60.0
          AND billed.started_at <= NEW.ended_at AND NEW.started_at <= billed.ended_at);
END;

CREATE TRIGGER play_logs_one_billing_update BEFORE UPDATE OF status ON play_logs
WHEN NEW.status = 'final' AND OLD.status <> 'final'
BEGIN
    SELECT RAISE(ABORT, 'airing already billed: another final play of this recording on this station starts within 60 seconds and overlaps it')
    WHERE EXISTS (
        SELECT 1 FROM play_logs AS billed
        WHERE billed.status = 'final' AND billed.id <> NEW.id AND billed.station_id = NEW.station_id
          AND billed.recording_ref = NEW.recording_ref
          AND abs(julianday(billed.started_at) - julianday(NEW.started_at)) * 86400.0 <= 60.0
          AND billed.started_at <= NEW.ended_at AND NEW.started_at <= billed.ended_at);
END;
-- sqlite:end

-- postgresql:begin
UPDATE play_logs SET status = 'superseded', superseded_at = now(),
    duplicate_of = (
        SELECT MIN(earlier.id) FROM play_logs AS earlier
        WHERE earlier.status = 'final' AND earlier.id < play_logs.id
          AND earlier.station_id = play_logs.station_id AND earlier.recording_ref = play_logs.recording_ref
          AND abs(extract(epoch FROM earlier.started_at - play_logs.started_at)) <= 60
          AND earlier.started_at <= play_logs.ended_at AND play_logs.started_at <= earlier.ended_at)
WHERE status = 'final' AND EXISTS (
    SELECT 1 FROM play_logs AS earlier
    WHERE earlier.status = 'final' AND earlier.id < play_logs.id
      AND earlier.station_id = play_logs.station_id AND earlier.recording_ref = play_logs.recording_ref
      AND abs(extract(epoch FROM earlier.started_at - play_logs.started_at)) <= 60
      AND earlier.started_at <= play_logs.ended_at AND play_logs.started_at <= earlier.ended_at);

CREATE EXTENSION IF NOT EXISTS btree_gist;

-- Half the start tolerance either side of the start: two windows overlap exactly when the
-- starts are at most 60 seconds apart.  A shift by whole seconds does not depend on the time
-- zone, so the function is truly immutable (timestamptz - interval in general is not).
CREATE FUNCTION zamio_airing_start_window(started TIMESTAMPTZ) RETURNS tstzrange
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT tstzrange(started - interval '30 seconds', started + interval '30 seconds', '[]') $$;

ALTER TABLE play_logs ADD CONSTRAINT ex_play_logs_one_billing_per_airing EXCLUDE USING gist (
    station_id WITH =,
    recording_ref WITH =,
    zamio_airing_start_window(started_at) WITH &&,
    tstzrange(started_at, ended_at, '[]') WITH &&
) WHERE (status = 'final');
-- postgresql:end

-- Detected plays already billed elsewhere are kept, current, as 'duplicate' evidence:
-- the converter finds its stored plays among both.
CREATE INDEX ix_play_logs_duplicate_of ON play_logs (duplicate_of) WHERE duplicate_of IS NOT NULL;
