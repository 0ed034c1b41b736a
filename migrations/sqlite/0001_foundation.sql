-- Accounts, subscriptions with their resolved location, revoked tokens, settings.
-- Times are unix seconds (INTEGER): cheap to compare and index.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    -- One account per Telegram chat: the bot recognises a REST-made account.
    chat_id       INTEGER NOT NULL UNIQUE,
    created_at    INTEGER NOT NULL
);

CREATE TABLE subscriptions (
    id         INTEGER PRIMARY KEY,
    -- Subscriptions belong to a chat (that is where alerts go); an account
    -- sees the subscriptions of its chat.
    chat_id    INTEGER NOT NULL,
    city       TEXT    NOT NULL,
    country    TEXT    NOT NULL DEFAULT '',
    latitude   REAL    NOT NULL CHECK (latitude BETWEEN -90 AND 90),
    longitude  REAL    NOT NULL CHECK (longitude BETWEEN -180 AND 180),
    t_min      REAL,
    t_max      REAL,
    rain       INTEGER NOT NULL CHECK (rain IN (0, 1)),
    snow       INTEGER NOT NULL CHECK (snow IN (0, 1)),
    active     INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at INTEGER NOT NULL,
    CHECK (t_min IS NULL OR t_max IS NULL OR t_min < t_max)
);
CREATE INDEX subscriptions_by_chat ON subscriptions (chat_id);
CREATE INDEX subscriptions_by_place ON subscriptions (latitude, longitude) WHERE active = 1;

-- JWT ids revoked by /logout, kept until the token would have expired anyway.
CREATE TABLE revoked_tokens (
    jti        TEXT    PRIMARY KEY,
    expires_at INTEGER NOT NULL
);

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
