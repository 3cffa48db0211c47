-- Fingerprint lookup in one statement.
--
-- A lookup joins the excerpt's few thousand hashes with the hash index; the
-- right plan is one index probe per hash (a nested loop), from ten tracks to a
-- million.  Left alone, the planner may pick a hash join that reads the whole
-- table, and large cost estimates would start JIT compilation, which only adds
-- latency here.  Setting the planner for the lookup used two extra statements
-- around it (SET LOCAL, then back to the defaults): round trips that cost more
-- than the lookup itself on a busy server.  A function carries those settings
-- itself, for its own query only, so the lookup is one statement, which the
-- client reads as binary COPY (zamio.recognition).
--
-- Held-note triplets are never looked up: the condition repeats the partial hash
-- index's (sql/0011) so that the index is used.  SQLite needs none of this.

-- postgresql:begin
CREATE FUNCTION zamio_fingerprint_rows(hashes int4[], wanted_version int2)
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
        JOIN fingerprints f ON f.hash = q.wanted
        WHERE f.version = wanted_version AND (f.version <> 2 OR (f.hash >> 11) & 4095 <> 2015);
END
$$;
-- postgresql:end
