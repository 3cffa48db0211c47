-- Fingerprints for catalogs of 100,000 tracks and more (PostgreSQL).
--
-- Recognition reads fingerprints two ways: the excerpt's triplet hashes are looked up
-- (rows of every track that shares one), then the whole sets of a few candidate
-- tracks are read.  At 100,000 tracks the table no longer fits in memory, and both
-- reads went to the table's pages: one random page per row a lookup returned, and
-- a hundred pages per candidate read through the (track_id, version) index.
--
-- * Each set is packed whole into fingerprint_sets.packed (every hash as a big-endian
--   int4, then every frame alike, in (frame, hash) order:
--   zamio.recognition.index.pack_set), so a candidate is one row and a few TOAST
--   chunks.  It is stored out of line uncompressed (STORAGE EXTERNAL): random hashes
--   do not compress (lz4 saved 1 % at 100,000 tracks), and reading skips a decompression.
-- * fingerprints then only serves lookups: the triplets of held notes, stored so far
--   for the pairs they hold but never looked up, leave it (they are in the packed
--   set), and the (track_id, version) index goes (about 140 bytes per audio second);
--   a set is deleted by its own hashes through the hash index.
-- * The hash index covers track, frame and version, so a lookup reads the index alone.
--   Its pages are built full (fillfactor 100, not 90): a catalog grows by a small part
--   of itself a day, and cleanup-old-fingerprints rebuilds the index (keeping this
--   setting) once inserts have left it under 80 % full.
--
-- The converted sets are built from the rows as they stand, inside this migration's
-- transaction: recognition sees the old layout or the new one.  cleanup-old-fingerprints
-- compacts the hash index afterwards if it is sparse.  SQLite keeps every row in
-- fingerprints and reads candidates' sets from there; its packed column stays NULL.

-- postgresql:begin
ALTER TABLE fingerprint_sets ADD COLUMN packed BYTEA;
ALTER TABLE fingerprint_sets ALTER COLUMN packed SET STORAGE EXTERNAL;
UPDATE fingerprint_sets s
SET packed = p.packed
FROM (
    SELECT track_id, version,
           string_agg(int4send(hash), ''::bytea ORDER BY frame, hash)
               || string_agg(int4send(frame), ''::bytea ORDER BY frame, hash) AS packed
    FROM fingerprints
    GROUP BY track_id, version
) p
WHERE s.track_id = p.track_id AND s.version = p.version;
-- Rows no set records (none are ever written so) could no longer be found to be deleted.
DELETE FROM fingerprints f
WHERE NOT EXISTS (SELECT 1 FROM fingerprint_sets s WHERE s.track_id = f.track_id AND s.version = f.version);
DELETE FROM fingerprints WHERE version = 2 AND (hash >> 11) & 4095 = 2015;
DROP INDEX ix_fingerprints_track_version;
DROP INDEX ix_fingerprints_hash;
CREATE INDEX ix_fingerprints_hash ON fingerprints (hash) INCLUDE (track_id, frame, version)
    WITH (fillfactor = 100) WHERE version <> 2 OR (hash >> 11) & 4095 <> 2015;
-- postgresql:end

-- sqlite:begin
ALTER TABLE fingerprint_sets ADD COLUMN packed BLOB;
-- sqlite:end
