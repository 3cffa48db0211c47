-- What a royalty cycle was computed from, recorded when it is locked.
--
-- input_hash used to digest a few sums of the pricings a cycle pays.  A cycle now
-- records its input snapshot (zamio.royalties.snapshot), so that regenerating its
-- files can say exactly what changed since it was locked:
--
-- * plays_digest: SHA-256 of the (play_id, version, gross) of every pricing it pays,
--   in key order, one "play:version:gross" line each;
-- * rates_digest: SHA-256 of the rate cards, day periods and eligibility rules in
--   force up to its last day (every row starting on or before it);
-- * shares_digest: SHA-256 of the share tables (contributor rows) and partner
--   registration of the works it pays;
-- * input_snapshot: the whole snapshot as JSON: period, method, territory, the
--   counts behind each digest, and the reference rows themselves (rates, agreements,
--   exchange rates, licence fees), small enough to list a change row by row;
-- * input_hash: now the digest of the snapshot as a whole.
--
-- Cycles locked before this migration have none of these: their files are
-- regenerated without the check (the output says so).

ALTER TABLE royalty_cycles ADD COLUMN input_snapshot TEXT;
ALTER TABLE royalty_cycles ADD COLUMN plays_digest TEXT;
ALTER TABLE royalty_cycles ADD COLUMN rates_digest TEXT;
ALTER TABLE royalty_cycles ADD COLUMN shares_digest TEXT;
