-- The shared window of sends counts arrivals (issue 11); SQLite's 0014.
DROP TABLE send_starts;
CREATE TABLE send_starts (
    id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at_ms    BIGINT NOT NULL,
    until_ms BIGINT NOT NULL
);
CREATE INDEX send_starts_by_start ON send_starts (at_ms);
CREATE INDEX send_starts_by_until ON send_starts (until_ms);
