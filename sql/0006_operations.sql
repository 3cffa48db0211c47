-- Indexes that let bin/cleanup-old-data find expired rows without scanning whole tables,
-- ("is this detection part of a play?" uses ix_play_detections_detection from 0004).
CREATE INDEX ix_detections_detected ON detections (detected_at);
CREATE INDEX ix_captures_started ON captures (started_at);
CREATE INDEX ix_job_runs_started ON job_runs (started_at);
CREATE INDEX ix_email_outbox_sent ON email_outbox (sent_at);
