-- ISRC → partner society mappings get a table of their own, written by bin/update-pro-mappings only.
--
-- The job used to write its outcome into detections and play_logs (society_id,
-- society_status), editing final plays, whose facts are never edited otherwise.
-- Now it keeps one row per normalised ISRC (zamio.catalog.identifiers.normalise_isrc)
-- with its outcome, decided by the exact ISRC against partner_repertoire:
--
-- * mapped: exactly one partner society claims it (society_id set);
-- * ambiguous: several do (left for a person);
-- * unknown: none does yet (re-checked by every run);
-- * invalid_isrc: the ISRC is malformed.
--
-- decided_at is when the row took its status, checked_at when the job last looked
-- at it.  Pricing takes a play's society from the row of its ISRC when mapped,
-- else from the play's own society_id (set at import or conversion from the
-- catalog track).
--
-- The decisions detections and plays hold are carried over, one row per
-- normalised ISRC, decided and checked now.  A society that is the row's own
-- catalog track's comes from the catalog, not from a mapping, and is not carried.
-- ISRCs whose rows disagree become ambiguous when a row says ambiguous or two
-- societies are named (each play keeps its own society_id, so no price moves),
-- else mapped when one society is named, else invalid_isrc, else unknown.  Here
-- the ISRC is normalised in SQL: upper-cased without spaces, hyphens, dots, ASCII
-- whitespace and a leading ISRC label.  Anything the job normalises otherwise
-- (non-ASCII spaces) it decides again under its own key.

CREATE TABLE isrc_mappings (
    id @ID@,
    isrc TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL,
    society_id BIGINT REFERENCES partner_societies (id),
    decided_at @TIMESTAMP@ NOT NULL,
    checked_at @TIMESTAMP@ NOT NULL,
    CONSTRAINT ck_isrc_mappings_status CHECK (status IN ('mapped', 'ambiguous', 'unknown', 'invalid_isrc')),
    CONSTRAINT ck_isrc_mappings_society CHECK ((status = 'mapped') = (society_id IS NOT NULL))
);

-- sqlite:begin
CREATE TEMP VIEW zamio_0019_stripped AS
SELECT upper(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(
           seen.isrc, ' ', ''), '-', ''), '.', ''), char(9), ''), char(10), ''), char(11), ''), char(12), ''),
           char(13), ''), char(28), ''), char(29), ''), char(30), ''), char(31), '')) AS stripped,
       seen.society_status, seen.society_id
FROM (SELECT isrc, society_status, society_id, track_id FROM detections
      UNION ALL SELECT isrc, society_status, society_id, track_id FROM play_logs) AS seen
WHERE seen.isrc IS NOT NULL
  AND seen.society_status IN ('mapped', 'ambiguous', 'unknown', 'invalid_isrc')
  AND NOT (seen.society_status = 'mapped' AND EXISTS (
      SELECT 1 FROM tracks t WHERE t.id = seen.track_id AND t.society_id = seen.society_id));
-- sqlite:end

-- postgresql:begin
CREATE TEMP VIEW zamio_0019_stripped AS
SELECT upper(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(replace(
           seen.isrc, ' ', ''), '-', ''), '.', ''), chr(9), ''), chr(10), ''), chr(11), ''), chr(12), ''),
           chr(13), ''), chr(28), ''), chr(29), ''), chr(30), ''), chr(31), '')) AS stripped,
       seen.society_status, seen.society_id
FROM (SELECT isrc, society_status, society_id, track_id FROM detections
      UNION ALL SELECT isrc, society_status, society_id, track_id FROM play_logs) AS seen
WHERE seen.isrc IS NOT NULL
  AND seen.society_status IN ('mapped', 'ambiguous', 'unknown', 'invalid_isrc')
  AND NOT (seen.society_status = 'mapped' AND EXISTS (
      SELECT 1 FROM tracks t WHERE t.id = seen.track_id AND t.society_id = seen.society_id));
-- postgresql:end

INSERT INTO isrc_mappings (isrc, status, society_id, decided_at, checked_at)
SELECT isrc,
       CASE WHEN sum(ambiguous) > 0 OR count(DISTINCT mapped_to) > 1 THEN 'ambiguous'
            WHEN count(DISTINCT mapped_to) = 1 THEN 'mapped'
            WHEN sum(invalid) > 0 THEN 'invalid_isrc'
            ELSE 'unknown' END,
       CASE WHEN sum(ambiguous) = 0 AND count(DISTINCT mapped_to) = 1 THEN max(mapped_to) END,
       CURRENT_TIMESTAMP, CURRENT_TIMESTAMP
FROM (
    SELECT CASE WHEN substr(stripped, 1, 4) = 'ISRC' AND length(stripped) > 12
                THEN ltrim(substr(stripped, 5), ':') ELSE stripped END AS isrc,
           CASE WHEN society_status = 'mapped' THEN society_id END AS mapped_to,
           CASE WHEN society_status = 'ambiguous' THEN 1 ELSE 0 END AS ambiguous,
           CASE WHEN society_status = 'invalid_isrc' THEN 1 ELSE 0 END AS invalid
    FROM zamio_0019_stripped
) AS decided
WHERE isrc <> ''
GROUP BY isrc
ORDER BY isrc;

DROP VIEW zamio_0019_stripped;
