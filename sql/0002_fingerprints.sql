-- Fingerprints, version 2 of the schema: a leaner row for the largest table.
--
-- About twenty rows are stored per second of catalog audio, so every byte of a
-- row counts (the budget is 1,500 bytes per audio second on PostgreSQL,
-- indexes included; see bench/results/).
--
-- * track_id becomes a 4-byte integer: with hash, frame (int4) and version
--   (int2) the PostgreSQL row data is 14 bytes, so the tuple is 40 bytes
--   instead of 48 with a bigint (alignment); the catalog will never hold
--   2^31 tracks.
-- * The foreign key to tracks goes: it fires one trigger per inserted row
--   (thousands per track) and fingerprint_sets, written in the same
--   transaction as a track's rows, already references the track.
-- * The (track_id, version) index stays: its keys repeat for every row of a
--   set, so PostgreSQL's b-tree deduplication stores it in a few bytes a row,
--   and it makes replacing or cleaning one track's set an index scan.
--
-- SQLite cannot alter a column or drop a constraint, so the table is rebuilt
-- there (it holds no rows yet on any installation before this migration; the
-- copy keeps whatever it holds).

-- postgresql:begin
ALTER TABLE fingerprints DROP CONSTRAINT IF EXISTS fingerprints_track_id_fkey;
ALTER TABLE fingerprints ALTER COLUMN track_id TYPE INTEGER;
-- postgresql:end

-- sqlite:begin
CREATE TABLE fingerprints_v2 (
    hash INTEGER NOT NULL,
    track_id INTEGER NOT NULL,
    frame INTEGER NOT NULL,
    version SMALLINT NOT NULL
);
INSERT INTO fingerprints_v2 (hash, track_id, frame, version)
    SELECT hash, track_id, frame, version FROM fingerprints;
DROP TABLE fingerprints;
ALTER TABLE fingerprints_v2 RENAME TO fingerprints;
CREATE INDEX ix_fingerprints_hash ON fingerprints (hash);
CREATE INDEX ix_fingerprints_track_version ON fingerprints (track_id, version);
-- sqlite:end
