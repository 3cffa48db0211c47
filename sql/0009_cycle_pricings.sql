-- Which cycle pays each pricing, recorded beside the pricings instead of in them.
--
-- Locking a cycle used to set royalty_pricings.cycle_id on every pricing it pays: an
-- UPDATE rewriting a month of wide pricing rows (for a million plays, most of the
-- close).  A cycle now inserts one narrow row per pricing it pays into cycle_pricings,
-- keyed like the pricing (play_id, version), so a pricing is paid by one cycle at most.
-- The row also copies the pricing's play date: the cycle's line items, totals and
-- statements then join the ledger to this table alone, never to the wide pricings.
-- royalty_pricings.cycle_id is no longer written: the assignments it holds are copied
-- here, and its index goes.
--
-- royalty_cycles.open_pricings_from is the lowest pricing id still unassigned when the
-- cycle was locked (or one past the highest): no pricing is written while a cycle is
-- being locked, so the next cycle need not look at older ones.  NULL (cycles locked
-- before this migration): it looks at them all.
--
-- cycle_id has no foreign key: its value is the cycle inserted in the same transaction,
-- and checking a key per row costs more than the rest of the INSERT for a million rows.
-- A cycle's rows are written by one INSERT, so they lie on neighbouring pages and a
-- BRIN index finds them on PostgreSQL for a few kilobytes; SQLite has its b-tree.

CREATE TABLE cycle_pricings (
    play_id BIGINT NOT NULL,
    version INTEGER NOT NULL,
    cycle_id BIGINT NOT NULL,
    play_date @DATE@ NOT NULL,
    PRIMARY KEY (play_id, version)
);
-- sqlite:begin
CREATE INDEX ix_cycle_pricings_cycle ON cycle_pricings (cycle_id);
-- sqlite:end
-- postgresql:begin
CREATE INDEX ix_cycle_pricings_cycle ON cycle_pricings USING brin (cycle_id) WITH (pages_per_range = 16);
-- postgresql:end

INSERT INTO cycle_pricings (play_id, version, cycle_id, play_date)
SELECT play_id, version, cycle_id, play_date FROM royalty_pricings WHERE cycle_id IS NOT NULL ORDER BY cycle_id, id;

ALTER TABLE royalty_cycles ADD COLUMN open_pricings_from BIGINT;

DROP INDEX ix_royalty_pricings_cycle;
