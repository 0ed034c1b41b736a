-- Objectives on SLAs and their firing burn-rate rules (issue 12); SQLite's 0015.
ALTER TABLE slas ADD COLUMN objective DOUBLE PRECISION CHECK (objective IS NULL OR (objective > 0 AND objective < 100));
ALTER TABLE slas ADD COLUMN slo_window_ms BIGINT CHECK ((objective IS NULL) = (slo_window_ms IS NULL));

CREATE TABLE sla_burn_alerts (
    sla_id   BIGINT NOT NULL REFERENCES slas (id) ON DELETE CASCADE,
    rule     TEXT   NOT NULL,
    since_ms BIGINT NOT NULL,
    PRIMARY KEY (sla_id, rule)
);
