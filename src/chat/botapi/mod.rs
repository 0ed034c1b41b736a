//! A Telegram Bot API served in-process, on `127.0.0.1:0`, for one person at
//! a terminal. The app's own teloxide `Bot` talks to it exactly as to
//! Telegram (`set_api_url`), so `meteobot chat` runs the very dispatcher,
//! handlers, notifier and pacing the server runs.
//!
//! Answers have the real Bot API's shapes: `{"ok":true,"result":…}`, Message
//! objects (`message_id`, `date`, `chat`, `from`, `text`, `reply_markup`),
//! and `{"ok":false,"error_code":400,"description":"Bad Request: …"}` for
//! what Telegram refuses (empty or over-long text, an unknown message to
//! edit or delete, an edit that changes nothing). Methods: `getMe`,
//! `getUpdates` (long poll; `offset` confirms, `limit`), `sendMessage`,
//! `sendPhoto`, `sendChatAction`, `editMessageText`,
//! `editMessageReplyMarkup`, `deleteMessage`, `answerCallbackQuery`,
//! `setMyCommands` and the other set-and-forget ones; anything else is a 404
//! and a warning. Bodies may be JSON (teloxide), urlencoded or multipart.
//!
//! Every message the bot sends or edits is printed on the [`Screen`] from
//! the request handler, as it arrives, so alerts interleave with replies.
//!
//! Bounded: at most [`MAX_QUEUED_UPDATES`] updates wait (typing waits for
//! room), and only the last [`KEPT_MESSAGES`] messages are kept (to press
//! their buttons, edit or delete them).
//!
//! The parts: `state` (the update queue and the kept messages), `person`
//! (what the person at the terminal does), `requests` (serving the HTTP
//! methods), `messages` (the bot's sends, edits and deletes), `params`
//! (reading a request's parameters) and `shapes` (Telegram's JSON shapes
//! and the screen's labels).

mod messages;
mod params;
mod person;
mod requests;
mod shapes;
mod state;
#[cfg(test)]
mod tests;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::routing::any;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::screen::Screen;
use requests::handle;

pub use state::Chat;

/// Updates typed and not yet confirmed by the bot's `getUpdates` offset.
pub const MAX_QUEUED_UPDATES: usize = 256;
/// Messages kept for button presses, edits and deletes (the newest).
pub const KEPT_MESSAGES: usize = 100;
/// The longest a long poll is held, whatever its `timeout`: below the 17 s
/// request timeout of teloxide's default HTTP client (an answer before the
/// `timeout` is always allowed: Telegram's is "up to").
pub const MAX_LONG_POLL: Duration = Duration::from_secs(10);
/// Telegram's limit on a message's text, in UTF-16 code units.
pub const MAX_TEXT: usize = 4096;
/// Request bodies larger than this are refused (a photo upload fits).
const MAX_BODY: usize = 20 * 1024 * 1024;

/// The person at the terminal (in a private chat, the user id is the chat id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    pub first_name: String,
    /// IETF tag as Telegram sends it (`en`, `it`); `None`: not sent.
    pub language_code: Option<String>,
}

/// The bot itself, as `getMe` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The whole token; requests with another one get 401.
    pub token: String,
    pub username: String,
}

impl Identity {
    /// Telegram's bot id is the token's number before the colon.
    fn id(&self) -> i64 {
        self.token
            .split_once(':')
            .and_then(|(id, _)| id.parse().ok())
            .unwrap_or(1)
    }
}

/// What typing button number N did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Press {
    /// A callback query went to the bot.
    Pressed { label: String },
    /// No button N: the message showing has `count` of them.
    OutOfRange { count: usize },
    /// No message with buttons is showing.
    NoButtons,
    /// A link or another button the bot never hears about.
    NotForTheBot { label: String, url: Option<String> },
}

/// The in-process Bot API; clones share it.
#[derive(Clone)]
pub struct BotApi {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

/// Serves the API while alive.
pub struct Server(JoinHandle<()>);

impl Drop for Server {
    fn drop(&mut self) {
        self.0.abort();
    }
}

struct Shared {
    chat: i64,
    person: Person,
    bot: Identity,
    screen: Screen,
    state: Mutex<Chat>,
    /// Rung on every queued update (long polls wait on it).
    new_update: Notify,
    /// Rung when confirmed updates leave the queue (room, drained).
    confirmed: Notify,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Chat> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl BotApi {
    /// Serves on `127.0.0.1:0` for the person in private chat `chat`,
    /// printing the bot's messages on `screen`.
    pub async fn start(
        chat: i64,
        person: Person,
        bot: Identity,
        screen: Screen,
    ) -> anyhow::Result<(Self, Server)> {
        let shared = Arc::new(Shared {
            chat,
            person,
            bot,
            screen,
            state: Mutex::default(),
            new_update: Notify::new(),
            confirmed: Notify::new(),
        });
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .context("binding the in-process Bot API")?;
        let addr = listener.local_addr().context("reading its address")?;
        #[allow(clippy::disallowed_methods, reason = "not the admin port")]
        let router = Router::new()
            .route("/{bot}/{method}", any(handle))
            .with_state(Arc::clone(&shared));
        let server = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router).await {
                tracing::error!(error = %e, "the in-process Bot API stopped");
            }
        });
        Ok((Self { addr, shared }, Server(server)))
    }

    /// The base URL for `Bot::set_api_url` / `TELOXIDE_API_URL`.
    pub fn url(&self) -> reqwest::Url {
        reqwest::Url::parse(&format!("http://{}/", self.addr)).expect("a loopback URL parses")
    }
}
