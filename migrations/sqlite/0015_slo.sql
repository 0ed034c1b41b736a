-- Objectives on SLAs (issue 12): `objective` is the percentage of
-- evaluations that must be inside the range over `slo_window_ms`; both NULL
-- on an SLA without one.
ALTER TABLE slas ADD COLUMN objective REAL CHECK (objective IS NULL OR (objective > 0 AND objective < 100));
ALTER TABLE slas ADD COLUMN slo_window_ms INTEGER CHECK ((objective IS NULL) = (slo_window_ms IS NULL));

-- The burn-rate rules firing now, per SLA: a row is written when a rule
-- starts firing and deleted when it resolves, with the message of each in
-- the same transaction, so every start and end is told once.
CREATE TABLE sla_burn_alerts (
    sla_id   INTEGER NOT NULL REFERENCES slas (id) ON DELETE CASCADE,
    rule     TEXT    NOT NULL,
    since_ms INTEGER NOT NULL,
    PRIMARY KEY (sla_id, rule)
);
