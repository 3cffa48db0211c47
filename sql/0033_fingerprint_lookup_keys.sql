-- Fingerprint version 3: a triplet is looked up by its hash and two finer frequency bits.
--
-- A lookup returned rows of other recordings in proportion to the catalog (556 rows per
-- 10 s clip at 1,000 tracks, 47,000 at 100,000).  Version 3 keeps the 31-bit hash of
-- version 2 and adds, per triplet, its two frequency differences on a half-cell grid
-- (zamio.recognition.hashes.fine_bits): on real music a lookup then returns about 3.4 times
-- fewer rows of other recordings.  The bits do not fit the int4 hash; they go into the
-- spare high bits of frame (bits 29 and 30: a frame needs 22), so every row and index entry
-- keeps its size, and the hash index is keyed on (hash, frame): the rows of one key are one
-- range of frames under one hash, and a lookup reads only those.
--
-- * ix_fingerprints_hash: key (hash, frame), covering track_id and version, built full, as
--   sql/0031 made it; version 2 lookups (any frame) use it alike.  Held notes of version 3
--   are left out as those of version 2 are (their hash bits are the same).
-- * zamio_fingerprint_rows(hashes, lows, highs, version): one probe per wanted hash and
--   range of frames (sql/0032's plan).  The function of sql/0032 goes: its condition does
--   not imply the index's new one.
--
-- The index is rebuilt inside this migration's transaction (about 11 minutes at 100,000
-- tracks, lookups wait meanwhile).  Tracks are re-fingerprinted to version 3 by
-- auto-fingerprint-new-tracks, which queues every track lacking the current version.
-- SQLite keeps its index on the hash and filters the frames' bits when it reads.

-- postgresql:begin
DROP FUNCTION zamio_fingerprint_rows(int4[], int2);
DROP INDEX ix_fingerprints_hash;
CREATE INDEX ix_fingerprints_hash ON fingerprints (hash, frame) INCLUDE (track_id, version)
    WITH (fillfactor = 100) WHERE version < 2 OR (hash >> 11) & 4095 <> 2015;

CREATE FUNCTION zamio_fingerprint_rows(hashes int4[], lows int4[], highs int4[], wanted_version int2)
    RETURNS TABLE (hash int4, track_id int4, frame int4)
    LANGUAGE plpgsql STABLE
    SET enable_hashjoin = off
    SET enable_mergejoin = off
    SET jit = off
AS $$
BEGIN
    -- PL/pgSQL keeps the query's plan for the session; a SQL function plans it every call.
    RETURN QUERY
        SELECT f.hash, f.track_id, f.frame
        FROM unnest(hashes, lows, highs) AS q (wanted, low, high)
        CROSS JOIN LATERAL (
            SELECT s.hash, s.track_id, s.frame
            FROM fingerprints s
            WHERE s.hash = q.wanted AND s.frame BETWEEN q.low AND q.high AND s.version = wanted_version
              AND (s.version < 2 OR (s.hash >> 11) & 4095 <> 2015)
            OFFSET 0
        ) AS f;
END
$$;
-- postgresql:end
