//! Telegram's JSON shapes of chats and users, and how the bot's messages
//! are labelled and printed on the screen.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use super::super::screen::{inline_buttons, message_block};
use super::Shared;
use super::state::{Chat, message_key};

impl Shared {
    pub(super) fn chat_json(&self, chat: i64) -> Value {
        if chat > 0 {
            json!({ "id": chat, "type": "private", "first_name": self.first_name_of(chat) })
        } else {
            json!({ "id": chat, "type": "group", "title": format!("Group {chat}") })
        }
    }

    fn first_name_of(&self, chat: i64) -> String {
        if chat == self.chat {
            self.person.first_name.clone()
        } else {
            format!("User {chat}")
        }
    }

    pub(super) fn bot_user(&self) -> Value {
        json!({
            "id": self.bot.id(),
            "is_bot": true,
            "first_name": "meteobot",
            "username": self.bot.username,
        })
    }

    pub(super) fn me(&self) -> Value {
        let mut me = self.bot_user();
        for (key, value) in [
            ("can_join_groups", true),
            ("can_read_all_group_messages", false),
            ("supports_inline_queries", false),
            ("can_connect_to_business", false),
            ("has_main_web_app", false),
        ] {
            me[key] = json!(value);
        }
        me
    }

    /// How a message in `chat` is labelled on the screen.
    pub(super) fn label(&self, chat: i64, what: &str) -> String {
        match (chat == self.chat, what) {
            (true, "") => "bot".to_owned(),
            (true, what) => format!("bot ({what})"),
            (false, "") => format!("bot (to chat {chat})"),
            (false, what) => format!("bot (to chat {chat}, {what})"),
        }
    }

    /// Prints a bot message; numbers press its buttons from now on.
    pub(super) fn print(&self, state: &mut Chat, message: &Value, what: &str) {
        let Some((chat, message_id)) = message_key(message) else {
            return;
        };
        let text = message
            .get("text")
            .or_else(|| message.get("caption"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        let buttons = if chat == self.chat {
            inline_buttons(message.get("reply_markup"))
        } else {
            Vec::new()
        };
        if chat == self.chat {
            if !buttons.is_empty() {
                state.showing = Some(message_id);
            } else if state.showing == Some(message_id) {
                state.showing = None;
            }
        }
        self.screen
            .show(&message_block(&self.label(chat, what), text, &buttons));
    }
}

pub(super) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
