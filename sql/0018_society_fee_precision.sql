-- A society's dated default admin fee (sql/0017) is a percentage like the others: six places
-- and three whole digits on PostgreSQL too (zamio.decimals).  Every value it holds came
-- through the column type, which already keeps those digits, or from partner_societies,
-- narrowed by sql/0016; a value that did not fit would stop this migration, not be rounded.

-- postgresql:begin
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM society_admin_fees
               WHERE admin_fee_percent <> round(admin_fee_percent, 6) OR abs(admin_fee_percent) >= 1000) THEN
        RAISE EXCEPTION 'society_admin_fees.admin_fee_percent holds values with more than 6 decimal places or 3 whole digits; correct them and run bin/migrate again';
    END IF;
END
$$;
ALTER TABLE society_admin_fees ALTER COLUMN admin_fee_percent TYPE NUMERIC(9,6);
-- postgresql:end
