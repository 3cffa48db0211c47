-- Disputes over a recording (bin/disputes --recording) and their holds find its plays by
-- catalog track or by ISRC: index both (bench/dispute_bench.py measures it).
CREATE INDEX ix_play_logs_track ON play_logs (track_id);
CREATE INDEX ix_play_logs_isrc ON play_logs (isrc);
