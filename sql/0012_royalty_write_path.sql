-- Royalties: what writing a pricing row and its ledger lines costs PostgreSQL.
--
-- The pricing job writes two to three rows a play.  Every foreign key on them is
-- a trigger per row that looks up and share-locks the row it references: for a
-- play, a write to the play's page; for a rate card or a station, the same few
-- rows share-locked by every pricing worker (multixacts).  Those checks were
-- more than half of the database's time per play (bench/results/royalties.md),
-- and each repeats a fact the job has just read in the same transaction.  So:
--
-- * A ledger line is written in the same transaction as its pricing row (same
--   play, same version; zamio.royalties.ledger.book): its keys to the play and
--   to the rate card go, the pricing row holds both.
-- * A pricing row's keys to the play, its station and its rate card go; what
--   they also did, keeping a play or a rate card that was priced from being
--   deleted, a trigger on each of those two tables does (a station has plays,
--   whose own key keeps it).  No job deletes plays or rate cards: a play is
--   superseded by a new version, a tariff is closed with effective_to.
-- * The cycle, society and reversed-line keys stay: they are empty on nearly
--   every row the pricing job writes, which costs little.
--
-- The unique keys stay as they are: (play_id, version) per pricing and
-- entry_key per ledger line are what keep a run from booking anything twice.
-- Only pool distribution writes ledger lines with a cycle, so the cycle index
-- leaves out the empty ones (a cycle's lines are looked up by cycle_id =,
-- which it still answers).  Every pricing run re-examines the plays in suspense
-- or unpriced (zamio.royalties.calculate.RECHECKED_STATUSES): a partial index
-- finds those few among a million pricings.
--
-- SQLite keeps its foreign keys: it has one writer at a time and no row locks.

-- postgresql:begin
ALTER TABLE royalty_ledger
    DROP CONSTRAINT royalty_ledger_play_id_fkey,
    DROP CONSTRAINT royalty_ledger_rate_card_id_fkey;
ALTER TABLE royalty_pricings
    DROP CONSTRAINT royalty_pricings_play_id_fkey,
    DROP CONSTRAINT royalty_pricings_station_id_fkey,
    DROP CONSTRAINT royalty_pricings_rate_card_id_fkey;

-- BEFORE DELETE on a table royalty_pricings points to; the argument names the pricing column.
CREATE FUNCTION zamio_keep_priced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    priced BOOLEAN;
BEGIN
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM royalty_pricings WHERE %I = $1)', TG_ARGV[0])
        INTO priced USING OLD.id;
    IF priced THEN
        RAISE EXCEPTION '% row % was priced (royalty_pricings.%): it cannot be deleted',
            TG_TABLE_NAME, OLD.id, TG_ARGV[0];
    END IF;
    RETURN OLD;
END
$$;
CREATE TRIGGER play_logs_keep_priced BEFORE DELETE ON play_logs
    FOR EACH ROW EXECUTE FUNCTION zamio_keep_priced('play_id');
CREATE TRIGGER rate_cards_keep_priced BEFORE DELETE ON rate_cards
    FOR EACH ROW EXECUTE FUNCTION zamio_keep_priced('rate_card_id');
-- postgresql:end

DROP INDEX ix_royalty_ledger_cycle;
CREATE INDEX ix_royalty_ledger_cycle ON royalty_ledger (cycle_id) WHERE cycle_id IS NOT NULL;
CREATE INDEX ix_royalty_pricings_rechecked ON royalty_pricings (play_id) WHERE status IN ('suspense', 'unpriced');
