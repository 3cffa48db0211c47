-- Payouts: the domestic administration commission, withholding tax, the minimum payout
-- carried forward, and the payments prepared, sent and settled.
--
-- Percentages keep six places on both databases (NUMERIC(9,6) on PostgreSQL, as sql/0016 set
-- the other percentages).
--
-- * domestic_commission_rates: the percentage the local society keeps from what it
--   distributes to domestic payees (contributors, artists, publishers), effective-dated
--   per territory like a rate card: a cycle applies the row in force on its last day.
--   A change is a new row; a row a locked cycle applied is never edited.
--
-- * withholding_tax_rates: the tax withheld from a payee's payable amount, per
--   territory, recipient type (contributor, artist, publisher) and residency (resident,
--   non_resident), effective-dated the same way, with the authority it is paid to.
--
-- * payees: who is paid and how, keyed by the recipient as the ledger names it
--   (statements.csv's recipient_type and recipient): residency (resident unless said
--   otherwise) and payment details (bank: bank name, account number, branch or sort
--   code; mobile money: number and network).  Loaded by bin/import-catalog --payees.
--
-- * payout_balances: one row per cycle, recipient and currency, written when the cycle
--   is locked: gross, commission and tax deducted (booked in the ledger as their own
--   lines), brought forward from earlier cycles, net payable now, carried forward (below
--   the minimum payout).  Append-only.
--
-- * payments and payment_events: one payment per cycle, recipient and currency
--   (unique: a payment is never prepared twice), and its events prepared, sent,
--   settled or failed, each once (append-only).  A failed payment's amount is brought
--   forward by the next cycle locked.

CREATE TABLE domestic_commission_rates (
    id @ID@,
    territory TEXT NOT NULL,
    commission_percent @DECIMAL@ NOT NULL,
    effective_from @DATE@ NOT NULL,
    created_at @TIMESTAMP@ NOT NULL,
    UNIQUE (territory, effective_from)
);

CREATE TABLE withholding_tax_rates (
    id @ID@,
    territory TEXT NOT NULL,
    recipient_type TEXT NOT NULL,
    residency TEXT NOT NULL,
    tax_percent @DECIMAL@ NOT NULL,
    authority TEXT NOT NULL,
    effective_from @DATE@ NOT NULL,
    created_at @TIMESTAMP@ NOT NULL,
    UNIQUE (territory, recipient_type, residency, effective_from)
);

CREATE TABLE payees (
    id @ID@,
    recipient_type TEXT NOT NULL,
    recipient_ref TEXT NOT NULL,
    name TEXT,
    residency TEXT NOT NULL DEFAULT 'resident',
    payment_method TEXT,
    bank_name TEXT,
    account_number TEXT,
    branch_code TEXT,
    mobile_money_number TEXT,
    mobile_money_network TEXT,
    created_at @TIMESTAMP@ NOT NULL,
    updated_at @TIMESTAMP@ NOT NULL,
    UNIQUE (recipient_type, recipient_ref)
);

CREATE TABLE payout_balances (
    id @ID@,
    cycle_id BIGINT NOT NULL REFERENCES royalty_cycles (id),
    recipient_type TEXT NOT NULL,
    recipient_ref TEXT NOT NULL,
    recipient_name TEXT,
    currency TEXT NOT NULL,
    residency TEXT NOT NULL,
    gross BIGINT NOT NULL,
    commission BIGINT NOT NULL,
    withholding_tax BIGINT NOT NULL,
    brought_forward BIGINT NOT NULL,
    net_payable BIGINT NOT NULL,
    carried_forward BIGINT NOT NULL,
    minimum BIGINT NOT NULL,
    created_at @TIMESTAMP@ NOT NULL,
    UNIQUE (cycle_id, recipient_type, recipient_ref, currency)
);
CREATE INDEX ix_payout_balances_recipient ON payout_balances (recipient_type, recipient_ref);

CREATE TABLE payments (
    id @ID@,
    reference TEXT NOT NULL UNIQUE,
    cycle_id BIGINT NOT NULL REFERENCES royalty_cycles (id),
    recipient_type TEXT NOT NULL,
    recipient_ref TEXT NOT NULL,
    recipient_name TEXT,
    currency TEXT NOT NULL,
    amount BIGINT NOT NULL,
    method TEXT NOT NULL,
    details TEXT NOT NULL,
    created_at @TIMESTAMP@ NOT NULL,
    UNIQUE (cycle_id, recipient_type, recipient_ref, currency)
);
CREATE INDEX ix_payments_recipient ON payments (recipient_type, recipient_ref);

CREATE TABLE payment_events (
    id @ID@,
    payment_id BIGINT NOT NULL REFERENCES payments (id),
    status TEXT NOT NULL,
    reason TEXT,
    source TEXT,
    run_id TEXT,
    created_at @TIMESTAMP@ NOT NULL,
    UNIQUE (payment_id, status),
    CONSTRAINT ck_payment_events_status CHECK (status IN ('prepared', 'sent', 'settled', 'failed'))
);

-- sqlite:begin
CREATE TRIGGER payout_balances_no_update BEFORE UPDATE ON payout_balances
BEGIN
    SELECT RAISE(ABORT, 'payout_balances is append-only: a balance recorded is never changed');
END;
CREATE TRIGGER payout_balances_no_delete BEFORE DELETE ON payout_balances
BEGIN
    SELECT RAISE(ABORT, 'payout_balances is append-only: a balance recorded is never changed');
END;
CREATE TRIGGER payments_no_update BEFORE UPDATE ON payments
BEGIN
    SELECT RAISE(ABORT, 'payments is append-only: a payment prepared is never changed; record an event');
END;
CREATE TRIGGER payments_no_delete BEFORE DELETE ON payments
BEGIN
    SELECT RAISE(ABORT, 'payments is append-only: a payment prepared is never changed; record an event');
END;
CREATE TRIGGER payment_events_no_update BEFORE UPDATE ON payment_events
BEGIN
    SELECT RAISE(ABORT, 'payment_events is append-only: an event is never changed');
END;
CREATE TRIGGER payment_events_no_delete BEFORE DELETE ON payment_events
BEGIN
    SELECT RAISE(ABORT, 'payment_events is append-only: an event is never changed');
END;
-- sqlite:end
-- postgresql:begin
ALTER TABLE domestic_commission_rates ALTER COLUMN commission_percent TYPE NUMERIC(9,6);
ALTER TABLE withholding_tax_rates ALTER COLUMN tax_percent TYPE NUMERIC(9,6);
CREATE TRIGGER payout_balances_append_only BEFORE UPDATE OR DELETE ON payout_balances
    FOR EACH ROW EXECUTE FUNCTION zamio_append_only();
CREATE TRIGGER payments_append_only BEFORE UPDATE OR DELETE ON payments
    FOR EACH ROW EXECUTE FUNCTION zamio_append_only();
CREATE TRIGGER payment_events_append_only BEFORE UPDATE OR DELETE ON payment_events
    FOR EACH ROW EXECUTE FUNCTION zamio_append_only();
-- postgresql:end
