-- Several replicas on one database behave as one bot (issue 11).

-- Leader leases: one row per lease name (`leader`); the holder keeps it by
-- renewing `until_ms` (unix ms) before it passes; anyone takes it after.
CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    until_ms INTEGER NOT NULL
);

-- Notifier claims: a replica sends only the rows it claimed; a claim that
-- passes `claimed_until_ms` (its replica died) may be taken by another.
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
ALTER TABLE outbox ADD COLUMN claimed_until_ms INTEGER;
