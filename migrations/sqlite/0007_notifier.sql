-- The notifier finishes what it starts (issue 9): it prunes sent rows and
-- idle dialogues by age, and drops news superseded before delivery by
-- looking at a subscription's rows. Indexes only; no table changes.

-- Pruning: sent rows by the time they were sent.
CREATE INDEX outbox_sent_by_time ON outbox (sent_at_ms) WHERE status = 'sent';
-- A subscription's rows (superseded news; also what ON DELETE SET NULL
-- searches when a subscription is deleted).
CREATE INDEX outbox_by_subscription ON outbox (subscription_id, id);
-- Pruning: dialogues by the time they were last saved.
CREATE INDEX dialogues_by_age ON dialogues (updated_at);
