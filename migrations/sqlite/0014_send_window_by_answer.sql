-- Telegram's window counts arrivals, and a send arrives somewhere between
-- its start and its answer (issue 11): a request delayed on its way (a
-- process just started, a busy host) arrives late and bunched with the next
-- ones. Each start now also keeps `until_ms`, the latest moment it may still
-- arrive: its answer once answered, a bound while in flight. The window
-- counts every send that may arrive inside it. The rows are a minute of
-- pacing state, so the table is rebuilt, not migrated.
DROP TABLE send_starts;
CREATE TABLE send_starts (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms    INTEGER NOT NULL,
    until_ms INTEGER NOT NULL
);
CREATE INDEX send_starts_by_start ON send_starts (at_ms);
CREATE INDEX send_starts_by_until ON send_starts (until_ms);
