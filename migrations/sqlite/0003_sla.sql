-- The SLA manager: SLAs on metrics, the sampled values, and the violations
-- judged from them. Times are unix milliseconds: evaluations may run every
-- second, and a sample per SLA per instant is the series' identity.

CREATE TABLE slas (
    id            INTEGER PRIMARY KEY,
    -- A Prometheus metric name, or a PromQL expression when PROMETHEUS_URL is set.
    metric_name   TEXT    NOT NULL,
    job_name      TEXT    NOT NULL,
    max_value     REAL    NOT NULL,
    min_value     REAL,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    UNIQUE (metric_name, job_name),
    CHECK (min_value IS NULL OR min_value < max_value)
);

-- One value per SLA per evaluation; the forecast fits on these.
CREATE TABLE sla_samples (
    sla_id INTEGER NOT NULL REFERENCES slas (id) ON DELETE CASCADE,
    at_ms  INTEGER NOT NULL,
    value  REAL    NOT NULL,
    PRIMARY KEY (sla_id, at_ms)
) WITHOUT ROWID;
-- Retention pruning deletes by time across every SLA.
CREATE INDEX sla_samples_by_time ON sla_samples (at_ms);

-- The bound crossed and its value at the time: an SLA updated later keeps an
-- honest history.
CREATE TABLE sla_violations (
    id          INTEGER PRIMARY KEY,
    sla_id      INTEGER NOT NULL REFERENCES slas (id) ON DELETE CASCADE,
    at_ms       INTEGER NOT NULL,
    value       REAL    NOT NULL,
    bound       TEXT    NOT NULL CHECK (bound IN ('max', 'min')),
    bound_value REAL    NOT NULL
);
-- Window counts (last 1/3/6 h of one SLA) and retention pruning.
CREATE INDEX sla_violations_by_sla_time ON sla_violations (sla_id, at_ms);
CREATE INDEX sla_violations_by_time ON sla_violations (at_ms);
