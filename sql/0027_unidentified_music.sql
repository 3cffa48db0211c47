-- Unidentified music: what a capture that matched nothing in the catalog contains.
--
-- captures.content is the verdict of zamio.recognition.content on a no_match capture: music,
-- speech (talk, news, an advertisement over a music bed) or noise; NULL for a capture that
-- matched, was silent or failed, and for one too short to judge or recorded before this column.
-- captures.music_probability is the model's probability of music behind that verdict.

ALTER TABLE captures ADD COLUMN content TEXT;
ALTER TABLE captures ADD COLUMN music_probability DOUBLE PRECISION;
CREATE INDEX ix_captures_content ON captures (content, started_at);
