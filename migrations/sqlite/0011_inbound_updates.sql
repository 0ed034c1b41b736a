-- Issue 11, webhook mode: every update Telegram POSTs is recorded here before
-- it is answered 200, then handled by a consumer (any replica) from here.
-- update_id is Telegram's: a second delivery of the same update is ignored.
CREATE TABLE inbound_updates (
    update_id INTEGER PRIMARY KEY,
    -- The chat it belongs to (the user for an update without a chat, 0 for
    -- neither): a chat's updates are handled in order, one at a time.
    chat_id INTEGER NOT NULL,
    -- The update as Telegram sent it (JSON).
    body TEXT NOT NULL,
    received_at_ms INTEGER NOT NULL,
    -- Claimed by a consumer until then (unix ms); NULL: never claimed. An
    -- expired claim (its replica died mid-update) may be taken again.
    claimed_until_ms INTEGER,
    -- When it was handled (unix ms); NULL: still to handle.
    handled_at_ms INTEGER
);
-- The consumer's search: unhandled updates by chat, oldest first.
CREATE INDEX inbound_updates_pending ON inbound_updates (chat_id, handled_at_ms, update_id);
-- Pruning of handled updates after the retention.
CREATE INDEX inbound_updates_handled ON inbound_updates (handled_at_ms);
