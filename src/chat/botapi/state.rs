//! The chat's state behind the API: the queue of updates the bot has not
//! confirmed, and the newest messages (to press their buttons, edit or
//! delete them).

use std::collections::VecDeque;

use serde_json::{Value, json};

use super::super::screen::{Button, inline_buttons};
use super::{KEPT_MESSAGES, MAX_QUEUED_UPDATES};

/// The chat's state: the update queue and the recent messages.
#[derive(Debug, Default)]
pub struct Chat {
    pub(super) last_update_id: i64,
    /// Queued and not yet confirmed, in `update_id` order.
    pub(super) queue: VecDeque<(i64, Value)>,
    /// Shared by the person's and the bot's messages (one counter, as in a
    /// private chat at Telegram).
    pub(super) last_message_id: i64,
    /// The newest [`KEPT_MESSAGES`] messages, as Message JSON.
    pub(super) messages: VecDeque<Value>,
    /// The message (in the person's chat) whose buttons numbers press: the
    /// last one printed with buttons, while it keeps them.
    pub(super) showing: Option<i64>,
    pub(super) last_callback: u64,
}

impl Chat {
    /// Queues an update (`{"message": …}`, `{"callback_query": …}`), giving
    /// it the next `update_id`; `None` when the queue is full.
    pub fn enqueue(&mut self, update: &Value) -> Option<i64> {
        if self.queue.len() >= MAX_QUEUED_UPDATES {
            return None;
        }
        self.last_update_id += 1;
        let id = self.last_update_id;
        let mut update = update.clone();
        update["update_id"] = json!(id);
        self.queue.push_back((id, update));
        Some(id)
    }

    /// `getUpdates`' `offset`: every update before it is confirmed and
    /// forgotten; a negative one keeps only the last `-offset`. Returns how
    /// many were dropped.
    pub fn confirm(&mut self, offset: i64) -> usize {
        let before = self.queue.len();
        if offset < 0 {
            let keep = usize::try_from(offset.unsigned_abs()).unwrap_or(usize::MAX);
            while self.queue.len() > keep {
                self.queue.pop_front();
            }
        } else {
            self.queue.retain(|(id, _)| *id >= offset);
        }
        before - self.queue.len()
    }

    /// The first `limit` unconfirmed updates (served again until confirmed).
    pub fn batch(&self, limit: usize) -> Vec<Value> {
        self.queue
            .iter()
            .take(limit)
            .map(|(_, u)| u.clone())
            .collect()
    }

    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    pub(super) fn new_message_id(&mut self) -> i64 {
        self.last_message_id += 1;
        self.last_message_id
    }

    /// Keeps `message` (replacing the stored one with its id), forgetting
    /// the oldest beyond [`KEPT_MESSAGES`].
    pub(super) fn remember(&mut self, message: Value) {
        let key = message_key(&message);
        if let Some(stored) = self.messages.iter_mut().find(|m| message_key(m) == key) {
            *stored = message;
            return;
        }
        self.messages.push_back(message);
        while self.messages.len() > KEPT_MESSAGES {
            // Message ids are unique across chats (one counter).
            let forgotten = self.messages.pop_front().and_then(|m| message_key(&m));
            if forgotten.is_some_and(|(_, id)| self.showing == Some(id)) {
                self.showing = None;
            }
        }
    }

    pub(super) fn message(&self, chat: i64, message_id: i64) -> Option<&Value> {
        self.messages
            .iter()
            .find(|m| message_key(m) == Some((chat, message_id)))
    }

    pub(super) fn forget(&mut self, chat: i64, message_id: i64) -> Option<Value> {
        let at = self
            .messages
            .iter()
            .position(|m| message_key(m) == Some((chat, message_id)))?;
        self.messages.remove(at)
    }

    /// The buttons numbers press now, and the message they belong to.
    pub fn showing(&self, chat: i64) -> Option<(&Value, Vec<Button>)> {
        let message = self.message(chat, self.showing?)?;
        let buttons = inline_buttons(message.get("reply_markup"));
        (!buttons.is_empty()).then_some((message, buttons))
    }
}

/// `(chat id, message id)` of a Message JSON.
pub(super) fn message_key(message: &Value) -> Option<(i64, i64)> {
    Some((
        message.get("chat")?.get("id")?.as_i64()?,
        message.get("message_id")?.as_i64()?,
    ))
}
