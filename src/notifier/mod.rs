//! Delivers outbox messages to Telegram (being written).
