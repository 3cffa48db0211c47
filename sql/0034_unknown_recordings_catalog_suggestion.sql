-- What the catalog suggests for an unknown recording the catalog check left open (zamio.playlogs.catalog_naming):
-- its captures recognised as two tracks, or as a track the catalog held before.
--
-- catalog_suggestion: JSON, a list of the tracks its captures named, most captures first:
--   [{"track_ref": "T-A", "title": "Side A", "captures": 2, "evidence": 41.5}, ...]
-- (evidence: the best of those captures' evidence against the other candidates).  Written by each check of the
-- recording, which overwrites the last one's (NULL when no capture was recognised); cleared when the recording
-- is named or merged.  Read by bin/unidentified-report.

ALTER TABLE unknown_recordings ADD COLUMN catalog_suggestion TEXT;
