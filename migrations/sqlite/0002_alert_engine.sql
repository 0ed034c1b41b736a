-- The alert engine: per-chat preferences and reachability, per-subscription
-- alert state, and the transactional outbox the notifier drains.

CREATE TABLE chats (
    chat_id         INTEGER PRIMARY KEY,
    language        TEXT    NOT NULL DEFAULT 'en' CHECK (language IN ('en', 'it')),
    units           TEXT    NOT NULL DEFAULT 'c' CHECK (units IN ('c', 'f')),
    -- 0 once Telegram said the chat is unreachable (blocked, deactivated, …).
    active          INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    inactive_reason TEXT,
    updated_at      INTEGER NOT NULL
);

CREATE TABLE alert_states (
    subscription_id  INTEGER PRIMARY KEY REFERENCES subscriptions (id) ON DELETE CASCADE,
    violated         INTEGER NOT NULL CHECK (violated IN (0, 1)),
    -- Unix seconds: when the current state began, and the last alert/reminder.
    since            INTEGER NOT NULL,
    last_notified_at INTEGER,
    updated_at       INTEGER NOT NULL
);

-- Written in the same transaction as the alert state it reports. Times in
-- unix milliseconds: the notifier paces at 1 message/s per chat.
CREATE TABLE outbox (
    id                  INTEGER PRIMARY KEY,
    chat_id             INTEGER NOT NULL,
    subscription_id     INTEGER REFERENCES subscriptions (id) ON DELETE SET NULL,
    kind                TEXT    NOT NULL CHECK (kind IN ('alert', 'reminder', 'all_clear')),
    text                TEXT    NOT NULL,
    dedup_key           TEXT    NOT NULL UNIQUE,
    status              TEXT    NOT NULL DEFAULT 'pending'
                                CHECK (status IN ('pending', 'sent', 'failed', 'stopped')),
    attempts            INTEGER NOT NULL DEFAULT 0,
    next_attempt_at_ms  INTEGER NOT NULL,
    created_at_ms       INTEGER NOT NULL,
    sent_at_ms          INTEGER,
    telegram_message_id INTEGER,
    last_error          TEXT
);
CREATE INDEX outbox_pending_by_chat ON outbox (chat_id, id) WHERE status = 'pending';
CREATE INDEX outbox_pending_due ON outbox (next_attempt_at_ms) WHERE status = 'pending';
