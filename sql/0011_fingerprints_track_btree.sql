-- Fingerprint indexes for two-stage recognition (fingerprint version 2).
--
-- * The (track_id, version) index is a b-tree again on PostgreSQL.  Recognition
--   now reads the whole fingerprint set of a few candidate tracks for every
--   excerpt (zamio.match.recognise), not only when a set is replaced.  A BRIN
--   index answers that by reading every block-range summary of the table, so
--   its cost grows with the catalog (about 30 ms a query at 10,000 tracks); a
--   b-tree finds a track's rows in a few page reads at any size.  Its keys
--   repeat for every row of a set, so b-tree deduplication keeps it at about
--   7 bytes a row.  SQLite's index was a b-tree all along.
-- * The hash index leaves out the version 2 triplets of held notes (both
--   frequency differences zero: bits 11..22 of the hash equal 2015).  About an
--   eighth of the rows, they are stored for the peak pairs they hold but never
--   looked up (zamio.fingerprint.triplets_to_hashes), so indexing them only
--   cost space.  Lookups repeat this condition so that the planner can use the
--   partial index (zamio.recognition.LOOKUP_CONDITION).

-- postgresql:begin
DROP INDEX ix_fingerprints_track_version;
CREATE INDEX ix_fingerprints_track_version ON fingerprints (track_id, version);
DROP INDEX ix_fingerprints_hash;
CREATE INDEX ix_fingerprints_hash ON fingerprints (hash) WHERE version <> 2 OR (hash >> 11) & 4095 <> 2015;
-- postgresql:end
