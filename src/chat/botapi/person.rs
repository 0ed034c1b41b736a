//! What the person at the terminal does: type a message, press a button,
//! wait for the bot to take it all in.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;

use super::super::screen::Action;
use super::shapes::unix_now;
use super::{BotApi, Press};

impl BotApi {
    /// The person sends `text`: a message update; a leading `/command`
    /// carries its `bot_command` entity, as Telegram sends it. Waits while
    /// the queue is full. Returns the message's id.
    pub async fn say(&self, text: &str) -> i64 {
        let message = {
            let mut chat = self.shared.lock();
            let message_id = chat.new_message_id();
            let message = self.person_message(message_id, text);
            chat.remember(message.clone());
            message
        };
        let id = message["message_id"].as_i64().unwrap_or_default();
        self.enqueue(json!({ "message": message })).await;
        id
    }

    /// The person presses button `n` (from 1) of the message showing.
    pub async fn press(&self, n: usize) -> Press {
        let (update, label) = {
            let mut chat = self.shared.lock();
            let Some((message, buttons)) = chat.showing(self.shared.chat) else {
                return Press::NoButtons;
            };
            let Some(button) = n.checked_sub(1).and_then(|i| buttons.get(i)) else {
                return Press::OutOfRange {
                    count: buttons.len(),
                };
            };
            let data = match &button.action {
                Action::Callback(data) => data.clone(),
                Action::Url(url) => {
                    return Press::NotForTheBot {
                        label: button.label.clone(),
                        url: Some(url.clone()),
                    };
                }
                Action::Other => {
                    return Press::NotForTheBot {
                        label: button.label.clone(),
                        url: None,
                    };
                }
            };
            let (message, label) = (message.clone(), button.label.clone());
            chat.last_callback += 1;
            let update = json!({ "callback_query": {
                "id": format!("chat-{}", chat.last_callback),
                "from": self.person_json(),
                "chat_instance": format!("chat-{}", self.shared.chat),
                "data": data,
                "message": message,
            }});
            (update, label)
        };
        self.enqueue(update).await;
        Press::Pressed { label }
    }

    /// Waits (at most `limit`) until the bot confirmed every update queued:
    /// what was typed has reached the dispatcher. False on timeout.
    pub async fn drained(&self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        loop {
            let confirmed = self.shared.confirmed.notified();
            tokio::pin!(confirmed);
            confirmed.as_mut().enable();
            if self.shared.lock().queued() == 0 {
                return true;
            }
            if tokio::time::timeout_at(deadline, confirmed).await.is_err() {
                return false;
            }
        }
    }

    /// Queues `update`, waiting for room (the bot confirms as it goes).
    async fn enqueue(&self, update: Value) {
        loop {
            let room = self.shared.confirmed.notified();
            tokio::pin!(room);
            room.as_mut().enable();
            if self.shared.lock().enqueue(&update).is_some() {
                self.shared.new_update.notify_waiters();
                return;
            }
            room.await;
        }
    }

    fn person_json(&self) -> Value {
        let person = &self.shared.person;
        let mut user = json!({
            "id": self.shared.chat,
            "is_bot": false,
            "first_name": person.first_name,
        });
        if let Some(code) = &person.language_code {
            user["language_code"] = json!(code);
        }
        user
    }

    fn person_message(&self, message_id: i64, text: &str) -> Value {
        let mut message = json!({
            "message_id": message_id,
            "date": unix_now(),
            "chat": self.shared.chat_json(self.shared.chat),
            "from": self.person_json(),
            "text": text,
        });
        if let Some(entity) = command_entity(text) {
            message["entities"] = json!([entity]);
        }
        message
    }
}

/// The `bot_command` entity of a text starting with `/command` (offsets in
/// UTF-16 code units, as Telegram counts).
fn command_entity(text: &str) -> Option<Value> {
    let command = text.strip_prefix('/')?.split_whitespace().next()?;
    (!command.is_empty()).then(|| {
        json!({ "type": "bot_command", "offset": 0, "length": 1 + command.encode_utf16().count() })
    })
}
