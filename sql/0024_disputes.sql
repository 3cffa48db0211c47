-- Disputes: a claim that plays, or a recording's shares or identity, are wrong, and the money held
-- while it is decided (bin/disputes; zamio.playlogs.disputes writes both tables).
--
-- * disputes: one row per dispute, D-000001 being the row with id 1.  Who claims (claimant_type:
--   artist, publisher, society or station; claimant_ref), what it covers (kind):
--     plays     the plays of a station in a period (station_id; period_from and period_to, the
--               station-local days as given; starts_at and ends_at, the same period as UTC instants,
--               [starts_at, ends_at)), or named plays (dispute_plays);
--     shares    the plays of a recording: those of its catalog track (track_id) and those naming its
--               ISRC (isrc, normalised);
--     identity  the same, when the recording heard is disputed.
--   While status is 'open' every pricing of a covered play books its money to the suspense account
--   dispute:D-000001 (zamio.royalties.pricing.holds), and cleanup-old-data keeps the capture audio of
--   covered plays whatever their age.  resolve sets status 'resolved' once (the UPDATE names the
--   status it expects, so two resolutions at once apply one) with the decision (upheld, rejected,
--   partly), who, when and why; the next pricing run releases the money.  Each change has its
--   audit_log entry (entity 'dispute', entity_id D-000001), written in the same transaction.
-- * dispute_plays: the plays a dispute names, by play_key, so that every version of the play (a
--   correction's, a rebuild's) stays covered; play_id is the play as named when the dispute was opened.

CREATE TABLE disputes (
    id @ID@,
    event_key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    claimant_type TEXT NOT NULL,
    claimant_ref TEXT NOT NULL,
    station_id BIGINT REFERENCES stations (id),
    period_from @DATE@,
    period_to @DATE@,
    starts_at @TIMESTAMP@,
    ends_at @TIMESTAMP@,
    track_id BIGINT REFERENCES tracks (id),
    isrc TEXT,
    recording TEXT,
    status TEXT NOT NULL,
    opened_at @TIMESTAMP@ NOT NULL,
    opened_by TEXT NOT NULL,
    reason TEXT NOT NULL,
    decision TEXT,
    resolved_at @TIMESTAMP@,
    resolved_by TEXT,
    resolution TEXT,
    CONSTRAINT ck_disputes_kind CHECK (kind IN ('plays', 'shares', 'identity')),
    CONSTRAINT ck_disputes_claimant CHECK (claimant_type IN ('artist', 'publisher', 'society', 'station')),
    CONSTRAINT ck_disputes_status CHECK (status IN ('open', 'resolved')),
    CONSTRAINT ck_disputes_decision CHECK ((status = 'resolved') = (decision IS NOT NULL)
                                           AND (decision IS NULL OR decision IN ('upheld', 'rejected', 'partly')))
);
CREATE INDEX ix_disputes_open ON disputes (status, station_id);

CREATE TABLE dispute_plays (
    dispute_id BIGINT NOT NULL REFERENCES disputes (id),
    play_key TEXT NOT NULL,
    play_id BIGINT NOT NULL REFERENCES play_logs (id),
    CONSTRAINT uq_dispute_plays UNIQUE (dispute_id, play_key)
);
CREATE INDEX ix_dispute_plays_key ON dispute_plays (play_key);
