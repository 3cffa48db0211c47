-- Royalties, version 5: what the pricing job records per play, and the default reference data.
--
-- royalty_pricings holds one row per priced version of a play: its gross value,
-- the rate row used, the station-local date that decides which cycle it falls
-- in, and a hash of the outcome, so a recalculation can tell whether anything
-- changed.  Its rows are never edited except cycle_id, set once when the cycle
-- that pays them is locked.  The ledger itself stays append-only.
--
-- The seed rows are the upstream system's defaults (GHS per second of play, by
-- station class and time of day in the station's own time zone).  They are
-- data: load new rate cards with bin/import-catalog --rate-cards, which adds
-- rows with a later effective_from instead of editing these.

CREATE TABLE royalty_pricings (
    id @ID@,
    play_id BIGINT NOT NULL REFERENCES play_logs (id),
    version INTEGER NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    station_id BIGINT NOT NULL REFERENCES stations (id),
    play_date @DATE@ NOT NULL,
    seconds DOUBLE PRECISION NOT NULL,
    multiplier @DECIMAL@,
    gross BIGINT NOT NULL,
    previous_gross BIGINT NOT NULL DEFAULT 0,
    currency TEXT NOT NULL,
    rate_card_id BIGINT REFERENCES rate_cards (id),
    outcome_hash TEXT NOT NULL,
    details TEXT,
    run_id TEXT,
    cycle_id BIGINT REFERENCES royalty_cycles (id),
    created_at @TIMESTAMP@ NOT NULL,
    UNIQUE (play_id, version)
);
CREATE INDEX ix_royalty_pricings_cycle ON royalty_pricings (cycle_id, play_date);

ALTER TABLE royalty_cycles ADD COLUMN totals TEXT;
CREATE INDEX ix_royalty_ledger_cycle ON royalty_ledger (cycle_id);

INSERT INTO rate_cards (territory, station_class, period, rate_per_second, multiplier, currency,
                        effective_from, effective_to, created_at) VALUES
    ('GH', 'class_a', 'prime', '0.015', '1.5', 'GHS', '2024-01-01', NULL, CURRENT_TIMESTAMP),
    ('GH', 'class_a', 'regular', '0.015', '1.0', 'GHS', '2024-01-01', NULL, CURRENT_TIMESTAMP),
    ('GH', 'class_a', 'off_peak', '0.015', '0.7', 'GHS', '2024-01-01', NULL, CURRENT_TIMESTAMP),
    ('GH', 'class_b', 'prime', '0.012', '1.3', 'GHS', '2024-01-01', NULL, CURRENT_TIMESTAMP),
    ('GH', 'class_b', 'regular', '0.012', '1.0', 'GHS', '2024-01-01', NULL, CURRENT_TIMESTAMP),
    ('GH', 'class_b', 'off_peak', '0.012', '0.8', 'GHS', '2024-01-01', NULL, CURRENT_TIMESTAMP),
    ('GH', 'class_c', 'prime', '0.008', '1.2', 'GHS', '2024-01-01', NULL, CURRENT_TIMESTAMP),
    ('GH', 'class_c', 'regular', '0.008', '1.0', 'GHS', '2024-01-01', NULL, CURRENT_TIMESTAMP),
    ('GH', 'class_c', 'off_peak', '0.008', '0.9', 'GHS', '2024-01-01', NULL, CURRENT_TIMESTAMP),
    ('GH', 'online', 'prime', '0.010', '1.1', 'GHS', '2024-01-01', NULL, CURRENT_TIMESTAMP),
    ('GH', 'online', 'regular', '0.010', '1.0', 'GHS', '2024-01-01', NULL, CURRENT_TIMESTAMP),
    ('GH', 'online', 'off_peak', '0.010', '0.9', 'GHS', '2024-01-01', NULL, CURRENT_TIMESTAMP),
    ('GH', 'community', 'prime', '0.005', '1.0', 'GHS', '2024-01-01', NULL, CURRENT_TIMESTAMP),
    ('GH', 'community', 'regular', '0.005', '1.0', 'GHS', '2024-01-01', NULL, CURRENT_TIMESTAMP),
    ('GH', 'community', 'off_peak', '0.005', '1.0', 'GHS', '2024-01-01', NULL, CURRENT_TIMESTAMP);

-- Station-local minutes of the day: off-peak 00-06 h, prime 06-10 h and 16-20 h, regular otherwise.
INSERT INTO day_periods (territory, period, start_minute, end_minute, effective_from) VALUES
    ('GH', 'off_peak', 0, 360, '2024-01-01'),
    ('GH', 'prime', 360, 600, '2024-01-01'),
    ('GH', 'regular', 600, 960, '2024-01-01'),
    ('GH', 'prime', 960, 1200, '2024-01-01'),
    ('GH', 'regular', 1200, 1440, '2024-01-01');

-- Confidence is on the 0..1 scale; plays without a confidence (imported logs) are not gated.
INSERT INTO eligibility_rules (territory, min_seconds, min_confidence, categories_paid, effective_from) VALUES
    ('GH', 10, '0.5', 'music', '2024-01-01');

-- Illustrative rates carried over from the upstream seed; load real ones with --exchange-rates.
INSERT INTO exchange_rates (from_currency, to_currency, rate, effective_from, source) VALUES
    ('GHS', 'USD', '0.16', '2024-01-01', 'upstream default'),
    ('GHS', 'EUR', '0.15', '2024-01-01', 'upstream default'),
    ('GHS', 'GBP', '0.13', '2024-01-01', 'upstream default'),
    ('USD', 'GHS', '6.25', '2024-01-01', 'upstream default'),
    ('EUR', 'GHS', '6.67', '2024-01-01', 'upstream default'),
    ('GBP', 'GHS', '7.69', '2024-01-01', 'upstream default');

-- The societies of zamio.identifiers.SOCIETIES; GHAMRO (285) is the local society.
INSERT INTO partner_societies (code, name, short_name, country, currency, default_admin_fee_percent,
                               is_local, created_at) VALUES
    ('008', 'Australasian Performing Right Association', 'APRA', 'AU', 'AUD', '15', FALSE, CURRENT_TIMESTAMP),
    ('010', 'American Society of Composers, Authors and Publishers', 'ASCAP', 'US', 'USD', '15', FALSE, CURRENT_TIMESTAMP),
    ('021', 'Broadcast Music, Inc.', 'BMI', 'US', 'USD', '15', FALSE, CURRENT_TIMESTAMP),
    ('022', 'Musical Copyright Society Nigeria', 'MCSN', 'NG', 'NGN', '15', FALSE, CURRENT_TIMESTAMP),
    ('035', 'Gesellschaft für musikalische Aufführungs- und mechanische Vervielfältigungsrechte', 'GEMA', 'DE', 'EUR', '15', FALSE, CURRENT_TIMESTAMP),
    ('038', 'Japanese Society for Rights of Authors, Composers and Publishers', 'JASRAC', 'JP', 'JPY', '15', FALSE, CURRENT_TIMESTAMP),
    ('043', 'Music Copyright Society of Kenya', 'MCSK', 'KE', 'KES', '15', FALSE, CURRENT_TIMESTAMP),
    ('044', 'Mechanical-Copyright Protection Society', 'MCPS', 'GB', 'GBP', '15', FALSE, CURRENT_TIMESTAMP),
    ('052', 'Performing Right Society (PRS for Music)', 'PRS', 'GB', 'GBP', '15', FALSE, CURRENT_TIMESTAMP),
    ('058', 'Société des auteurs, compositeurs et éditeurs de musique', 'SACEM', 'FR', 'EUR', '15', FALSE, CURRENT_TIMESTAMP),
    ('063', 'Southern African Music Rights Organisation', 'SAMRO', 'ZA', 'ZAR', '15', FALSE, CURRENT_TIMESTAMP),
    ('071', 'SESAC Inc.', 'SESAC', 'US', 'USD', '15', FALSE, CURRENT_TIMESTAMP),
    ('080', 'SUISA, Swiss cooperative society for music authors and publishers', 'SUISA', 'CH', 'CHF', '15', FALSE, CURRENT_TIMESTAMP),
    ('101', 'Society of Composers, Authors and Music Publishers of Canada', 'SOCAN', 'CA', 'CAD', '15', FALSE, CURRENT_TIMESTAMP),
    ('268', 'Copyright Society of Nigeria', 'COSON', 'NG', 'NGN', '15', FALSE, CURRENT_TIMESTAMP),
    ('283', 'Composers, Authors and Publishers Association', 'CAPASSO', 'ZA', 'ZAR', '15', FALSE, CURRENT_TIMESTAMP),
    ('285', 'Ghana Music Rights Organisation', 'GHAMRO', 'GH', 'GHS', '15', TRUE, CURRENT_TIMESTAMP);
