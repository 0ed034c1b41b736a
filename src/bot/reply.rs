//! Small helpers shared by the handlers: the chat's language and units, replies with
//! optional inline keyboards, and logging a failure once with a polite answer.
//!
//! Every reply is paced with the notifier's sends (`BotContext::pace`): it
//! starts only at its turn (a global slot, and 1 s after the last message to
//! a private chat, 3 s to a group), and a 429 holds every sender, after which
//! the reply is sent once more.

use teloxide::prelude::*;
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup, User};

use super::BotContext;
use crate::notifier::SendPace;
use crate::text::{BotTexts, Language, Units, bot_texts};

/// Where and how to answer.
#[derive(Clone)]
pub struct Replier {
    pub bot: Bot,
    pub chat: ChatId,
    pub lang: Language,
    pub units: Units,
    pub pace: SendPace,
}

impl Replier {
    pub fn t(&self) -> &'static BotTexts {
        bot_texts(self.lang)
    }

    pub async fn say(&self, text: impl Into<String>) -> ResponseResult<Message> {
        let text = text.into();
        self.pace
            .send(self.chat.0, || {
                self.bot.send_message(self.chat, text.clone()).into_future()
            })
            .await
    }

    pub async fn ask(
        &self,
        text: impl Into<String>,
        buttons: Vec<Vec<(String, String)>>,
    ) -> ResponseResult<Message> {
        let (text, markup) = (text.into(), keyboard(buttons));
        self.pace
            .send(self.chat.0, || {
                self.bot
                    .send_message(self.chat, text.clone())
                    .reply_markup(markup.clone())
                    .into_future()
            })
            .await
    }

    /// Logs `err` (with the chat id) and tells the user it was our fault.
    pub async fn internal(&self, err: anyhow::Error) -> ResponseResult<()> {
        let answer = self.failure(&err, "bot handler failed");
        self.say(answer).await?;
        Ok(())
    }

    /// Logs `err` (`what` failed, with the chat id) and returns what to tell
    /// the user: "could not save, nothing changed" when the store could not
    /// serve, else our fault.
    pub fn failure(&self, err: &anyhow::Error, what: &str) -> &'static str {
        tracing::error!(chat_id = self.chat.0, error = format!("{err:#}"), "{what}");
        if crate::store::is_unavailable(err) {
            self.t().could_not_save
        } else {
            self.t().internal_error
        }
    }
}

/// Rows of `(label, callback data)`.
pub fn keyboard(rows: Vec<Vec<(String, String)>>) -> InlineKeyboardMarkup {
    InlineKeyboardMarkup::new(
        rows.into_iter()
            .map(|row| {
                row.into_iter()
                    .map(|(label, data)| InlineKeyboardButton::callback(label, data))
                    .collect::<Vec<_>>()
            })
            .collect::<Vec<_>>(),
    )
}

/// The chat's language and units, read once per update: the stored ones, else
/// the user's Telegram language (remembered from then on) and °C.
async fn chat_settings(ctx: &BotContext, chat: ChatId, user: Option<&User>) -> (Language, Units) {
    match ctx.store.chat(chat.0).await {
        Ok(Some(stored)) => (
            Language::from_code(&stored.language),
            Units::from_code(&stored.units),
        ),
        Ok(None) => {
            let lang = user
                .and_then(|u| u.language_code.as_deref())
                .map(Language::from_code)
                .unwrap_or_default();
            if let Err(e) = ctx.store.ensure_chat(chat.0, lang).await {
                tracing::warn!(
                    chat_id = chat.0,
                    error = format!("{e:#}"),
                    "could not remember a chat"
                );
            }
            (lang, Units::default())
        }
        Err(e) => {
            tracing::warn!(
                chat_id = chat.0,
                error = format!("{e:#}"),
                "could not read a chat's settings"
            );
            Default::default()
        }
    }
}

/// The replier of a message's chat (`schema` injects it for every handler
/// of a message).
pub async fn for_message(ctx: BotContext, bot: Bot, msg: Message) -> Replier {
    replier(&ctx, &bot, msg.chat.id, msg.from.as_ref()).await
}

pub async fn replier(ctx: &BotContext, bot: &Bot, chat: ChatId, user: Option<&User>) -> Replier {
    let (lang, units) = chat_settings(ctx, chat, user).await;
    Replier {
        bot: bot.clone(),
        chat,
        lang,
        units,
        pace: ctx.pace.clone(),
    }
}
