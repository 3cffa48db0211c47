-- Exact decimals keep the same digits on both databases, by kind (zamio.decimals):
--   rates per second, exchange rates         NUMERIC(24,10)  (10 places, 14 whole digits: unchanged)
--   multipliers                              NUMERIC(12,6)
--   percentages (shares, admin fees)         NUMERIC(9,6)
--   confidence thresholds (0..1)             NUMERIC(7,6)
-- PostgreSQL used NUMERIC(24,10) for every one of them and rounded silently past ten places;
-- SQLite keeps decimal text, which kept every digit it was given.  The column type
-- (zamio.dbtypes.ExactDecimal) now refuses on both a value with more digits than its kind keeps.
--
-- A value stored before that does not fit its kind stops this migration with the column named,
-- instead of being rounded: correct it (re-import the file with bin/import-catalog) and run
-- bin/migrate again.

-- sqlite:begin
CREATE TEMP VIEW zamio_0016_unfit AS
SELECT name FROM (
    SELECT 'rate_cards.rate_per_second' AS name, rate_per_second AS value, 10 AS places, 14 AS whole FROM rate_cards
    UNION ALL SELECT 'rate_cards.multiplier', multiplier, 6, 6 FROM rate_cards
    UNION ALL SELECT 'royalty_pricings.multiplier', multiplier, 6, 6 FROM royalty_pricings
    UNION ALL SELECT 'exchange_rates.rate', rate, 10, 14 FROM exchange_rates
    UNION ALL SELECT 'partner_remittances.exchange_rate', exchange_rate, 10, 14 FROM partner_remittances
    UNION ALL SELECT 'contributors.share_percent', share_percent, 6, 3 FROM contributors
    UNION ALL SELECT 'partner_repertoire.share_percent', share_percent, 6, 3 FROM partner_repertoire
    UNION ALL SELECT 'partner_societies.default_admin_fee_percent', default_admin_fee_percent, 6, 3 FROM partner_societies
    UNION ALL SELECT 'reciprocal_agreements.admin_fee_percent', admin_fee_percent, 6, 3 FROM reciprocal_agreements
    UNION ALL SELECT 'eligibility_rules.min_confidence', min_confidence, 6, 1 FROM eligibility_rules
)
WHERE (instr(value, '.') > 0 AND length(rtrim(value, '0')) - instr(value, '.') > places)
   OR length(ltrim(CASE WHEN instr(value, '.') > 0 THEN substr(value, 1, instr(value, '.') - 1) ELSE value END,
                   '+-0')) > whole;
CREATE TEMP TABLE zamio_0016_check (go INTEGER);
CREATE TEMP TRIGGER zamio_0016_refuse BEFORE INSERT ON zamio_0016_check BEGIN
    SELECT CASE
        WHEN EXISTS (SELECT 1 FROM zamio_0016_unfit WHERE name = 'rate_cards.rate_per_second')
        THEN RAISE(ABORT, 'rate_cards.rate_per_second holds values with more than 10 decimal places or 14 whole digits; correct them and run bin/migrate again')
        WHEN EXISTS (SELECT 1 FROM zamio_0016_unfit WHERE name = 'rate_cards.multiplier')
        THEN RAISE(ABORT, 'rate_cards.multiplier holds values with more than 6 decimal places or 6 whole digits; correct them and run bin/migrate again')
        WHEN EXISTS (SELECT 1 FROM zamio_0016_unfit WHERE name = 'royalty_pricings.multiplier')
        THEN RAISE(ABORT, 'royalty_pricings.multiplier holds values with more than 6 decimal places or 6 whole digits; correct them and run bin/migrate again')
        WHEN EXISTS (SELECT 1 FROM zamio_0016_unfit WHERE name = 'exchange_rates.rate')
        THEN RAISE(ABORT, 'exchange_rates.rate holds values with more than 10 decimal places or 14 whole digits; correct them and run bin/migrate again')
        WHEN EXISTS (SELECT 1 FROM zamio_0016_unfit WHERE name = 'partner_remittances.exchange_rate')
        THEN RAISE(ABORT, 'partner_remittances.exchange_rate holds values with more than 10 decimal places or 14 whole digits; correct them and run bin/migrate again')
        WHEN EXISTS (SELECT 1 FROM zamio_0016_unfit WHERE name = 'contributors.share_percent')
        THEN RAISE(ABORT, 'contributors.share_percent holds values with more than 6 decimal places or 3 whole digits; correct them and run bin/migrate again')
        WHEN EXISTS (SELECT 1 FROM zamio_0016_unfit WHERE name = 'partner_repertoire.share_percent')
        THEN RAISE(ABORT, 'partner_repertoire.share_percent holds values with more than 6 decimal places or 3 whole digits; correct them and run bin/migrate again')
        WHEN EXISTS (SELECT 1 FROM zamio_0016_unfit WHERE name = 'partner_societies.default_admin_fee_percent')
        THEN RAISE(ABORT, 'partner_societies.default_admin_fee_percent holds values with more than 6 decimal places or 3 whole digits; correct them and run bin/migrate again')
        WHEN EXISTS (SELECT 1 FROM zamio_0016_unfit WHERE name = 'reciprocal_agreements.admin_fee_percent')
        THEN RAISE(ABORT, 'reciprocal_agreements.admin_fee_percent holds values with more than 6 decimal places or 3 whole digits; correct them and run bin/migrate again')
        WHEN EXISTS (SELECT 1 FROM zamio_0016_unfit WHERE name = 'eligibility_rules.min_confidence')
        THEN RAISE(ABORT, 'eligibility_rules.min_confidence holds values with more than 6 decimal places or 1 whole digit; correct them and run bin/migrate again')
    END;
END;
INSERT INTO zamio_0016_check VALUES (1);
DROP TABLE zamio_0016_check;
DROP VIEW zamio_0016_unfit;
-- sqlite:end

-- postgresql:begin
DO $$
DECLARE
    kept CONSTANT text[][] := ARRAY[
        ['rate_cards', 'multiplier', '6', '6'],
        ['royalty_pricings', 'multiplier', '6', '6'],
        ['contributors', 'share_percent', '6', '3'],
        ['partner_repertoire', 'share_percent', '6', '3'],
        ['partner_societies', 'default_admin_fee_percent', '6', '3'],
        ['reciprocal_agreements', 'admin_fee_percent', '6', '3'],
        ['eligibility_rules', 'min_confidence', '6', '1']];
    places int;
    whole int;
    found boolean;
BEGIN
    FOR i IN 1 .. array_length(kept, 1) LOOP
        places := kept[i][3]::int;
        whole := kept[i][4]::int;
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE %I <> round(%I, %s) OR abs(%I) >= 10 ^ %s)',
                       kept[i][1], kept[i][2], kept[i][2], places, kept[i][2], whole) INTO found;
        IF found THEN
            RAISE EXCEPTION '%.% holds values with more than % decimal places or % whole digits; correct them and run bin/migrate again',
                kept[i][1], kept[i][2], places, whole;
        END IF;
    END LOOP;
END $$;
ALTER TABLE rate_cards ALTER COLUMN multiplier TYPE NUMERIC(12,6);
ALTER TABLE royalty_pricings ALTER COLUMN multiplier TYPE NUMERIC(12,6);
ALTER TABLE contributors ALTER COLUMN share_percent TYPE NUMERIC(9,6);
ALTER TABLE partner_repertoire ALTER COLUMN share_percent TYPE NUMERIC(9,6);
ALTER TABLE partner_societies ALTER COLUMN default_admin_fee_percent TYPE NUMERIC(9,6);
ALTER TABLE reciprocal_agreements ALTER COLUMN admin_fee_percent TYPE NUMERIC(9,6);
ALTER TABLE eligibility_rules ALTER COLUMN min_confidence TYPE NUMERIC(7,6);
-- postgresql:end
