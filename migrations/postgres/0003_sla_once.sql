-- SLA samples and violations once per evaluation, whichever replica runs it
-- (issue 11; SQLite's 0013): an evaluation is keyed by its interval's start,
-- and a second write of the same key is ignored.
DELETE FROM sla_violations
WHERE id NOT IN (SELECT MIN(id) FROM sla_violations GROUP BY sla_id, at_ms);
DROP INDEX sla_violations_by_sla_time;
CREATE UNIQUE INDEX sla_violations_by_sla_time ON sla_violations (sla_id, at_ms);
