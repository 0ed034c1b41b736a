-- The bot's dialogue states (teloxide Storage), one per chat, as JSON, so a
-- restart mid-dialogue resumes it.
CREATE TABLE dialogues (
    chat_id    INTEGER PRIMARY KEY,
    state      TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
);
