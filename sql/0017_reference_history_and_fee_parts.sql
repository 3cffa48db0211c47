-- Royalties: reference rows kept as history, licence fees spread by days, cycles closed in two steps.
--
-- * society_admin_fees: a partner society's default admin fee (the fee a play pays when
--   its agreement names none), effective-dated like a rate card: the row in force on a
--   play's station-local date is the latest effective_from on or before it.  A change
--   of fee is a new row; a row already used by a pricing is never edited
--   (zamio.reference).  Each society starts with its current default, in force since
--   1900-01-01 (that is, always); partner_societies.default_admin_fee_percent stays as
--   the latest fee, for listings.
--
-- * licence_fee_parts: the days of a station licence fee that a pool cycle spread, and
--   the units it spread for them.  A fee whose period crosses cycle boundaries (an
--   annual fee under monthly cycles) is spread pro rata by days, one part per cycle,
--   by cumulative rounding (zamio.royalties.pool), so the parts of a fee always sum
--   to the fee.  Days no part covers yet are still to be spread; a part is written
--   once (unique fee and first day) and never changed (append-only, like the ledger).
--   Pool cycles locked before this migration spread every fee lying inside their
--   period, whole: those become one part each, so their days are not spread again.
--
-- * royalty_cycles.files_written_at: when the cycle's files were written and its
--   statement_ready e-mails queued (one transaction).  A cycle locked but without it
--   was interrupted before its files were complete; running the close again finishes
--   it.  Cycles locked before this migration queued their e-mails when they were
--   locked: they count as finished.

CREATE TABLE society_admin_fees (
    id @ID@,
    society_id BIGINT NOT NULL REFERENCES partner_societies (id),
    admin_fee_percent @DECIMAL@ NOT NULL,
    effective_from @DATE@ NOT NULL,
    created_at @TIMESTAMP@ NOT NULL,
    UNIQUE (society_id, effective_from)
);

INSERT INTO society_admin_fees (society_id, admin_fee_percent, effective_from, created_at)
SELECT id, default_admin_fee_percent, '1900-01-01', CURRENT_TIMESTAMP FROM partner_societies ORDER BY id;

CREATE TABLE licence_fee_parts (
    id @ID@,
    fee_id BIGINT NOT NULL REFERENCES station_licence_fees (id),
    cycle_id BIGINT NOT NULL REFERENCES royalty_cycles (id),
    day_from @DATE@ NOT NULL,
    day_to @DATE@ NOT NULL,
    amount BIGINT NOT NULL,
    currency TEXT NOT NULL,
    created_at @TIMESTAMP@ NOT NULL,
    UNIQUE (fee_id, day_from)
);
CREATE INDEX ix_licence_fee_parts_cycle ON licence_fee_parts (cycle_id);

INSERT INTO licence_fee_parts (fee_id, cycle_id, day_from, day_to, amount, currency, created_at)
SELECT f.id, c.id, f.period_from, f.period_to, f.amount, f.currency, CURRENT_TIMESTAMP
FROM station_licence_fees f
JOIN royalty_cycles c ON c.id = (
    SELECT min(o.id) FROM royalty_cycles o
    WHERE o.method = 'pool' AND o.status = 'locked'
      AND o.period_from <= f.period_from AND f.period_to <= o.period_to)
ORDER BY f.id;

-- sqlite:begin
CREATE TRIGGER licence_fee_parts_no_update BEFORE UPDATE ON licence_fee_parts
BEGIN
    SELECT RAISE(ABORT, 'licence_fee_parts is append-only: a part spread is never changed');
END;
CREATE TRIGGER licence_fee_parts_no_delete BEFORE DELETE ON licence_fee_parts
BEGIN
    SELECT RAISE(ABORT, 'licence_fee_parts is append-only: a part spread is never changed');
END;
-- sqlite:end
-- postgresql:begin
CREATE TRIGGER licence_fee_parts_append_only BEFORE UPDATE OR DELETE ON licence_fee_parts
    FOR EACH ROW EXECUTE FUNCTION zamio_append_only();
-- postgresql:end

ALTER TABLE royalty_cycles ADD COLUMN files_written_at @TIMESTAMP@;
UPDATE royalty_cycles SET files_written_at = locked_at WHERE status = 'locked';
