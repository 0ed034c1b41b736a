-- Issue 10, living with alerts: a chat's time zone, quiet hours and daily
-- digest; snoozed subscriptions; happenings held during quiet hours; and the
-- outbox's new kinds (digest, quiet_summary), silent sends and buttons.

-- IANA name (Europe/Rome); NULL until the first subscribed place or
-- /timezone gives one (UTC meanwhile).
ALTER TABLE chats ADD COLUMN timezone TEXT;
-- Quiet hours: minutes after local midnight, start inclusive, end exclusive
-- (across midnight when start > end); both NULL when off.
ALTER TABLE chats ADD COLUMN quiet_start INTEGER CHECK (quiet_start BETWEEN 0 AND 1439);
ALTER TABLE chats ADD COLUMN quiet_end INTEGER CHECK (quiet_end BETWEEN 0 AND 1439);
-- 1: alerts in the window are held and summed up when it ends; 0: sent silently.
ALTER TABLE chats ADD COLUMN quiet_hold INTEGER NOT NULL DEFAULT 0 CHECK (quiet_hold IN (0, 1));
-- Daily digest at this local time (minutes after midnight); NULL when off.
ALTER TABLE chats ADD COLUMN digest_at INTEGER CHECK (digest_at BETWEEN 0 AND 1439);
-- The local day (YYYY-MM-DD) of the last digest: one per chat per day.
ALTER TABLE chats ADD COLUMN digest_last_day TEXT;

-- Nothing is sent for a subscription before this (unix s); NULL: not snoozed.
ALTER TABLE subscriptions ADD COLUMN snoozed_until INTEGER;

-- The poller re-reads chats only when what it uses changes: not for the
-- digest's daily bookkeeping.
DROP TRIGGER watch_chats_update;
CREATE TRIGGER watch_chats_update
    AFTER UPDATE OF language, units, active, timezone, quiet_start, quiet_end, quiet_hold
    ON chats
    BEGIN UPDATE watch_generation SET value = value + 1 WHERE id = 1; END;

-- What happened while a chat's quiet hours held its alerts; summed up in one
-- message when they end, then deleted with it.
CREATE TABLE held_events (
    id              INTEGER PRIMARY KEY,
    chat_id         INTEGER NOT NULL,
    subscription_id INTEGER REFERENCES subscriptions (id) ON DELETE CASCADE,
    place           TEXT    NOT NULL,
    condition       TEXT    NOT NULL CHECK (condition IN ('hot', 'cold', 'rain', 'snow')),
    event           TEXT    NOT NULL CHECK (event IN ('start', 'end', 'heads_up', 'heads_up_cancelled')),
    -- When it happened, or for a heads-up when it is forecast to start (unix s).
    at              INTEGER NOT NULL,
    -- The limit crossed, as the chat reads it ("30 °C"); empty for rain and snow.
    detail          TEXT    NOT NULL DEFAULT '',
    -- When the quiet hours holding it end (unix s): the summary is due then.
    release_at      INTEGER NOT NULL
);
CREATE INDEX held_events_by_chat ON held_events (chat_id, id);
CREATE INDEX held_events_by_release ON held_events (release_at);

-- The outbox gains the digest and the quiet-hours summary, a silent flag
-- (disable_notification) and inline buttons (reply_markup as JSON).
CREATE TABLE outbox_new (
    id                  INTEGER PRIMARY KEY,
    chat_id             INTEGER NOT NULL,
    subscription_id     INTEGER REFERENCES subscriptions (id) ON DELETE SET NULL,
    kind                TEXT    NOT NULL CHECK (kind IN ('alert', 'reminder', 'all_clear',
                                'heads_up', 'heads_up_cancelled', 'notice', 'digest',
                                'quiet_summary')),
    text                TEXT    NOT NULL,
    dedup_key           TEXT    NOT NULL UNIQUE,
    status              TEXT    NOT NULL DEFAULT 'pending'
                                CHECK (status IN ('pending', 'sent', 'failed', 'stopped')),
    attempts            INTEGER NOT NULL DEFAULT 0,
    next_attempt_at_ms  INTEGER NOT NULL,
    created_at_ms       INTEGER NOT NULL,
    sent_at_ms          INTEGER,
    telegram_message_id INTEGER,
    last_error          TEXT,
    silent              INTEGER NOT NULL DEFAULT 0 CHECK (silent IN (0, 1)),
    reply_markup        TEXT
);
INSERT INTO outbox_new (id, chat_id, subscription_id, kind, text, dedup_key, status, attempts,
    next_attempt_at_ms, created_at_ms, sent_at_ms, telegram_message_id, last_error)
    SELECT id, chat_id, subscription_id, kind, text, dedup_key, status, attempts,
    next_attempt_at_ms, created_at_ms, sent_at_ms, telegram_message_id, last_error
    FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_pending_by_chat ON outbox (chat_id, id) WHERE status = 'pending';
CREATE INDEX outbox_pending_due ON outbox (next_attempt_at_ms) WHERE status = 'pending';
CREATE INDEX outbox_sent_by_time ON outbox (sent_at_ms) WHERE status = 'sent';
CREATE INDEX outbox_by_subscription ON outbox (subscription_id, id);
