-- Airings heard once, found when their song is registered (zamio.playlogs.heard_once).
--
-- A capture of music the catalog lacks that no other capture shared audio with stays a candidate of the unknown
-- index (status 'single') and becomes no play.  Once a track is registered and fingerprinted, its prints are
-- looked up among those candidates heard before; each the catalog's matcher then recognises as the track from its
-- kept prints gets a local detection, and so a play.  One row per fingerprint set looked up this way:
--
-- track_id, set_created_at: the track and the created_at of its fingerprint set that was looked up;
-- checked_at: when; candidates: the captures heard once that shared its audio; found: those recognised as it.

CREATE TABLE unknown_track_checks (
    track_id BIGINT NOT NULL REFERENCES tracks (id),
    set_created_at @TIMESTAMP@ NOT NULL,
    checked_at @TIMESTAMP@ NOT NULL,
    candidates INTEGER NOT NULL,
    found INTEGER NOT NULL,
    PRIMARY KEY (track_id, set_created_at)
);
