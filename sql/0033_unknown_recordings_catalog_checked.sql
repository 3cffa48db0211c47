-- Unknown recordings checked against the catalog's new tracks (the fingerprinting jobs, UNKNOWN_AUTO_NAMING).
--
-- catalog_checked_at: the fingerprint sets created up to this moment were looked at for the recording (its
-- captures' kept prints recognised by the catalog's matcher); a set created after it makes the recording due
-- again.  NULL: never checked, so the sets created since the recording was first heard are its new tracks.
-- Set on a recording the check named too, once its kept captures were heard again.

ALTER TABLE unknown_recordings ADD COLUMN catalog_checked_at @TIMESTAMP@;
