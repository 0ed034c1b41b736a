-- Forecast-driven weather (issue 8): a stored forecast series per grid cell,
-- the weighted upstream calls spent (the daily budget survives restarts), a
-- heads-up lead time per subscription, one alert episode per condition, and
-- the outbox kinds for heads-ups and operator notices.

-- One series per grid cell, named by its centre in 1e-4 degrees. The series
-- is JSON (weather::Series): read whole, never queried inside.
CREATE TABLE forecast_series (
    lat_e4        INTEGER NOT NULL,
    lon_e4        INTEGER NOT NULL,
    fetched_at_ms INTEGER NOT NULL,
    series        TEXT    NOT NULL,
    PRIMARY KEY (lat_e4, lon_e4)
) WITHOUT ROWID;

-- Every upstream forecast request, weighted as the provider counts it; sums
-- over the current UTC minute / hour / day are the budget spent.
CREATE TABLE weather_calls (
    at_ms  INTEGER NOT NULL,
    weight REAL    NOT NULL CHECK (weight >= 0)
);
CREATE INDEX weather_calls_by_time ON weather_calls (at_ms);

-- Heads-up lead time in seconds; NULL: off. At most 48 h.
ALTER TABLE subscriptions ADD COLUMN ahead_s INTEGER
    CHECK (ahead_s IS NULL OR ahead_s BETWEEN 60 AND 172800);

-- Each condition (too hot, too cold, rain, snow) is its own episode. A row
-- exists only while something is going on: an observed episode (`since`)
-- and/or an announced one (`heads_up_start`, the predicted start a heads-up
-- named). The old one-state-per-subscription table cannot say which
-- condition it was about, so it is dropped: an episode in progress during
-- the upgrade is announced once more.
DROP TABLE alert_states;
CREATE TABLE alert_episodes (
    subscription_id  INTEGER NOT NULL REFERENCES subscriptions (id) ON DELETE CASCADE,
    condition        TEXT    NOT NULL CHECK (condition IN ('hot', 'cold', 'rain', 'snow')),
    since            INTEGER,
    last_notified_at INTEGER,
    heads_up_start   INTEGER,
    updated_at       INTEGER NOT NULL,
    PRIMARY KEY (subscription_id, condition),
    CHECK (since IS NOT NULL OR heads_up_start IS NOT NULL)
) WITHOUT ROWID;

-- SQLite cannot widen a CHECK in place: the outbox is rebuilt with the new
-- kinds. Nothing references it, so dropping the old table is safe.
CREATE TABLE outbox_new (
    id                  INTEGER PRIMARY KEY,
    chat_id             INTEGER NOT NULL,
    subscription_id     INTEGER REFERENCES subscriptions (id) ON DELETE SET NULL,
    kind                TEXT    NOT NULL CHECK (kind IN ('alert', 'reminder', 'all_clear',
                                'heads_up', 'heads_up_cancelled', 'notice')),
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
INSERT INTO outbox_new SELECT id, chat_id, subscription_id, kind, text, dedup_key, status,
    attempts, next_attempt_at_ms, created_at_ms, sent_at_ms, telegram_message_id, last_error
    FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_pending_by_chat ON outbox (chat_id, id) WHERE status = 'pending';
CREATE INDEX outbox_pending_due ON outbox (next_attempt_at_ms) WHERE status = 'pending';

-- A counter bumped by every change to what the poller reads (subscriptions,
-- and chats for reachability, language and units), so the poller can keep
-- its copy in memory and re-read only after a change.
CREATE TABLE watch_generation (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    value INTEGER NOT NULL
);
INSERT INTO watch_generation (id, value) VALUES (1, 0);
CREATE TRIGGER watch_subscriptions_insert AFTER INSERT ON subscriptions
    BEGIN UPDATE watch_generation SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER watch_subscriptions_update AFTER UPDATE ON subscriptions
    BEGIN UPDATE watch_generation SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER watch_subscriptions_delete AFTER DELETE ON subscriptions
    BEGIN UPDATE watch_generation SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER watch_chats_insert AFTER INSERT ON chats
    BEGIN UPDATE watch_generation SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER watch_chats_update AFTER UPDATE ON chats
    BEGIN UPDATE watch_generation SET value = value + 1 WHERE id = 1; END;
CREATE TRIGGER watch_chats_delete AFTER DELETE ON chats
    BEGIN UPDATE watch_generation SET value = value + 1 WHERE id = 1; END;
