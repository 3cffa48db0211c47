-- The audit trail, and plays corrected by hand.
--
-- * audit_log: one row per manual change to money or plays (bin/correct-plays, a
--   declaration of suspense non-distributable, a recalculation, files regenerated
--   despite changed inputs, a reference row loaded or corrected by an import),
--   written by zamio.db.audit in the change's own transaction.  A reviewer finds in
--   one row who (actor: --by, by default the OS user), what (action, entity,
--   entity_id), why (reason: zamio.db.audit refuses an entry without one; empty
--   only on rows written before this migration) and the state before and after
--   (before_json, after_json: JSON text).  The table is append-only, as the royalty
--   ledger is: triggers refuse every UPDATE and DELETE on both databases (and
--   TRUNCATE on PostgreSQL).  bin/cleanup-old-data never deletes from it.
--
-- * play_logs.correction_id: set on a version written by a correction (the audit
--   entry of that correction): a play corrected, merged, split or added by hand.
--   play_logs.corrected_by_id: set, with status 'superseded', on a version a
--   correction replaced or voided.  bin/convert-matches leaves both kinds alone,
--   and the detections they hold (zamio.playlogs.store.pinned): a rebuild never
--   undoes a correction.  A statement line of such a play shows the correction's
--   reason.  Plays added by hand have source 'manual'.

ALTER TABLE audit_log ADD COLUMN reason TEXT;
ALTER TABLE audit_log ADD COLUMN before_json TEXT;
ALTER TABLE audit_log ADD COLUMN after_json TEXT;
CREATE INDEX ix_audit_log_at ON audit_log (at);

-- sqlite:begin
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: an entry is never changed or removed; record a new entry instead');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only: an entry is never changed or removed; record a new entry instead');
END;
-- sqlite:end
-- postgresql:begin
CREATE FUNCTION zamio_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: an entry is never changed or removed; record a new entry instead',
        TG_TABLE_NAME;
END
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION zamio_audit_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION zamio_audit_append_only();
-- postgresql:end

ALTER TABLE play_logs ADD COLUMN correction_id BIGINT REFERENCES audit_log (id);
ALTER TABLE play_logs ADD COLUMN corrected_by_id BIGINT REFERENCES audit_log (id);
CREATE INDEX ix_play_logs_corrected ON play_logs (station_id, started_at)
    WHERE correction_id IS NOT NULL OR corrected_by_id IS NOT NULL;
