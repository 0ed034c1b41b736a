-- Telegram's limits across replicas (issue 11); SQLite's 0012.

-- The next free start slot of a send (unix ms), shared by every replica: a
-- sender reserves its slots here, so all of them together keep to 30/s.
CREATE TABLE send_slots (
    id      BIGINT PRIMARY KEY CHECK (id = 1),
    next_ms BIGINT NOT NULL
);
INSERT INTO send_slots (id, next_ms) VALUES (1, 0);

-- A chat cools down from its last delivered message, whichever replica sent
-- it: the notifier looks up the last `sent_at_ms` of a chat.
CREATE INDEX outbox_sent_by_chat ON outbox (chat_id, sent_at_ms) WHERE status = 'sent';

-- When each of the last sends started (unix ms), any replica's: no send
-- starts while the last second already holds the limit's worth. The slots
-- above space the starts; this is what a late timer cannot break.
CREATE TABLE send_starts (
    at_ms BIGINT NOT NULL
);
CREATE INDEX send_starts_by_time ON send_starts (at_ms);
