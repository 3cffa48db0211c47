-- The (track_id, version) index of fingerprints becomes a BRIN index on PostgreSQL.
--
-- It serves only whole-set operations (replacing one track's set, deleting old
-- versions), never recognition.  A track's rows are written by one COPY, so they
-- lie on neighbouring pages and a block-range summary finds them about as fast
-- as a b-tree; the b-tree cost about 150 bytes per second of catalog audio
-- (a tenth of the storage budget), the BRIN index a few kilobytes in all.
-- SQLite has no BRIN: its b-tree stays.

-- postgresql:begin
DROP INDEX ix_fingerprints_track_version;
CREATE INDEX ix_fingerprints_track_version ON fingerprints USING brin (track_id, version)
    WITH (pages_per_range = 16);
-- postgresql:end
