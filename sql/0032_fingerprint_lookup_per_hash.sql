-- Fingerprint lookup: one index probe per hash, whatever the statistics say.
--
-- The lookup (sql/0014) joined the excerpt's hashes with the hash index and left the
-- join order to the planner.  On a table never analysed (a catalog just fingerprinted,
-- before autovacuum gets to it: minutes on a busy server), the planner guessed that few
-- rows have the wanted version and put the whole index on the outside of the nested
-- loop, comparing every stored row with every wanted hash: 48 s for 4,000 hashes over
-- 114,000 rows, where the probes take 30 ms.  The first scan after a catalog import
-- then took minutes per capture (bench/results/unknown_week.md).
--
-- Here each wanted hash is probed by a subquery that refers to it (LATERAL), kept a
-- subquery (OFFSET 0: the planner may not merge it into a join it could reorder), so
-- the only plan is the probe per hash.

-- postgresql:begin
CREATE OR REPLACE FUNCTION zamio_fingerprint_rows(hashes int4[], wanted_version int2)
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
        FROM unnest(hashes) AS q (wanted)
        CROSS JOIN LATERAL (
            SELECT s.hash, s.track_id, s.frame
            FROM fingerprints s
            WHERE s.hash = q.wanted AND s.version = wanted_version
              AND (s.version <> 2 OR (s.hash >> 11) & 4095 <> 2015)
            OFFSET 0
        ) AS f;
END
$$;
-- postgresql:end
