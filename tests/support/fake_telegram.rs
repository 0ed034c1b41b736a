//! A fake Telegram Bot API on loopback: real HTTP on a random port, so the
//! code under test runs its real teloxide `Bot` (`Bot::new(token).set_api_url(fake.url())`).
//!
//! Outgoing: it answers `sendMessage` (JSON or form bodies) with a `Message`
//! teloxide deserializes, `getMe`, `setMyCommands`, `deleteMessage`,
//! `answerCallbackQuery`, `editMessageText` / `editMessageReplyMarkup`,
//! `sendPhoto` with an uploaded file (`photos`) and the webhook methods; it records every request and every accepted message;
//! `sendMessage` can be scripted (the next replies, per chat or for any chat),
//! made to enforce Telegram's rate limits with 429s, and made slow; any other
//! method can be scripted to fail with [`FakeTelegram::reply_next_call`].
//!
//! Incoming: `getUpdates` serves the updates a test pushes, as a real
//! teloxide `Dispatcher` with long polling expects: increasing `update_id`s,
//! `offset` confirms (drops) what came before it, `limit` and
//! `allowed_updates` are honoured, and a long poll waits for a new update for
//! its `timeout` (capped at [`MAX_LONG_POLL`], so shutdowns stay quick)
//! without holding the state lock. The helpers ([`FakeTelegram::user_says`],
//! [`FakeTelegram::user_presses`], [`FakeTelegram::bot_blocked`], …) build
//! updates shaped like Telegram's and check that teloxide parses them.
//!
//! To add a method, add an arm to [`dispatch`] and a handler next to
//! [`send_message`]; shared state lives in [`Inner`].
#![allow(dead_code)] // each test crate uses a different part of this module

// A `path`, so the module is found also where this file is included by
// `#[path]` (examples/), which reads it as a directory's `mod.rs`.
#[path = "fake_telegram/photos.rs"]
mod photos;

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde_json::{Map, Value, json};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// Token-shaped (`<id>:<secret>`), so redaction is tested on the real shape,
/// and plainly not a real token.
pub const TOKEN: &str = "42:test-only-not-a-real-token";
pub const BOT_ID: i64 = 123_456_789;
pub const BOT_USERNAME: &str = "meteobot_test_bot";

/// The longest a `getUpdates` long poll waits here, whatever its `timeout`
/// (Telegram's is up to 50 s): a stopping dispatcher is never kept waiting.
pub const MAX_LONG_POLL: Duration = Duration::from_secs(1);

/// What Telegram leaves out when a bot never set `allowed_updates`.
const NOT_DELIVERED_BY_DEFAULT: [&str; 3] =
    ["chat_member", "message_reaction", "message_reaction_count"];

/// A scripted answer to one `sendMessage` (or, with
/// [`FakeTelegram::reply_next_call`], to one call of any other method).
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// Accept the message (the default when nothing is scripted).
    Accept,
    /// 429 Too Many Requests with `parameters.retry_after`.
    RetryAfter(u32),
    /// `{"ok":false,"error_code":code,"description":description}` with HTTP `code`.
    Error { code: u16, description: String },
    /// 400 "group chat was upgraded to a supergroup chat" with
    /// `parameters.migrate_to_chat_id` (teloxide: `MigrateToChatId`).
    MigrateTo(i64),
}

impl Reply {
    pub fn error(code: u16, description: &str) -> Self {
        Self::Error {
            code,
            description: description.to_owned(),
        }
    }
    pub fn blocked() -> Self {
        Self::error(403, "Forbidden: bot was blocked by the user")
    }
    pub fn user_deactivated() -> Self {
        Self::error(403, "Forbidden: user is deactivated")
    }
    pub fn chat_not_found() -> Self {
        Self::error(400, "Bad Request: chat not found")
    }
    pub fn too_long() -> Self {
        Self::error(400, "Bad Request: message is too long")
    }
    /// `deleteMessage` of a message that is gone (or too old).
    pub fn message_to_delete_not_found() -> Self {
        Self::error(400, "Bad Request: message to delete not found")
    }
    /// `getUpdates` while another instance polls the same token.
    pub fn conflict() -> Self {
        Self::error(
            409,
            "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
        )
    }
    /// 401: the bot token is wrong or revoked (teloxide: `InvalidToken`).
    pub fn unauthorized() -> Self {
        Self::error(401, "Unauthorized")
    }
    /// Note: teloxide waits 10 s before reading any 5xx answer.
    pub fn server_error() -> Self {
        Self::error(500, "Internal Server Error")
    }

    fn status(&self) -> u16 {
        match self {
            Self::Accept => 200,
            Self::RetryAfter(_) => 429,
            Self::Error { code, .. } => *code,
            Self::MigrateTo(_) => 400,
        }
    }
}

/// Real Telegram's limits, enforced with 429s when set.
#[derive(Debug, Clone, PartialEq)]
pub struct Enforce {
    /// Accepted messages allowed in any sliding window of one second.
    pub per_second: usize,
    /// Least time between two accepted messages to one chat.
    pub per_chat: Duration,
    /// The `retry_after` of the 429s it sends.
    pub retry_after: u32,
}

impl Default for Enforce {
    fn default() -> Self {
        Self {
            per_second: 30,
            per_chat: Duration::from_secs(1),
            retry_after: 1,
        }
    }
}

/// A message the fake accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    pub message_id: i64,
    pub chat_id: i64,
    pub text: String,
    /// When the request arrived.
    pub at: Instant,
}

/// Any request the fake answered.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub method: String,
    pub chat_id: Option<i64>,
    /// The HTTP status answered (200 accepted).
    pub status: u16,
    pub at: Instant,
    /// The request's parameters (JSON body or form fields).
    pub params: Map<String, Value>,
}

/// A message the bot deleted (`deleteMessage` accepted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deleted {
    pub chat_id: i64,
    pub message_id: i64,
}

/// A message the bot edited (`editMessageText` accepted).
#[derive(Debug, Clone, PartialEq)]
pub struct Edited {
    pub chat_id: i64,
    pub message_id: i64,
    pub text: String,
}

/// An inline button of a message the bot sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Button {
    pub text: String,
    /// `callback_data`; empty for URL and other buttons.
    pub data: String,
}

/// Who writes in a private chat (the user's id is the chat id).
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub first_name: String,
    /// The Telegram @username, without the `@`.
    pub username: Option<String>,
    /// IETF tag as Telegram sends it (`"en"`, `"it"`); `None`: not sent.
    pub language_code: Option<String>,
}

impl Default for Profile {
    fn default() -> Self {
        Self {
            first_name: "Ada".to_owned(),
            username: None,
            language_code: Some("en".to_owned()),
        }
    }
}

/// An update waiting to be confirmed by an `offset`.
#[derive(Debug, Clone)]
struct Pending {
    id: i64,
    /// The update's field besides `update_id` (`message`, `callback_query`, …).
    kind: String,
    json: Value,
}

#[derive(Default)]
struct Inner {
    /// Shared by the bot's and the users' messages, so ids never collide
    /// (as in one private chat at Telegram).
    next_message_id: i64,
    received: Vec<Received>,
    requests: Vec<Request>,
    /// Replies for any chat. A chat's own script wins over these; both win
    /// over enforcement; with nothing scripted or enforced: `Accept`.
    script: VecDeque<Reply>,
    chat_scripts: HashMap<i64, VecDeque<Reply>>,
    /// Scripted answers for methods other than `sendMessage`, by lowercase name.
    method_scripts: HashMap<String, VecDeque<Reply>>,
    enforce: Option<Enforce>,
    /// Arrival times of accepted messages within the last second.
    window: VecDeque<Instant>,
    last_to_chat: HashMap<i64, Instant>,
    latency: Option<(Duration, Duration)>,
    // ---- updates ----
    last_update_id: i64,
    /// Pushed and not yet confirmed, in `update_id` order.
    updates: VecDeque<Pending>,
    /// The highest `update_id` a `getUpdates` answer carried.
    served_up_to: i64,
    /// The last `allowed_updates` a `getUpdates` call set (Telegram keeps it).
    allowed_updates: Option<Vec<String>>,
    /// Updates dropped because `allowed_updates` excluded their kind.
    not_allowed: Vec<Value>,
    profiles: HashMap<i64, Profile>,
    next_callback_id: u64,
    deleted: Vec<Deleted>,
    callback_answers: Vec<Map<String, Value>>,
    edited: Vec<Edited>,
    /// The inline keyboard of each bot message that has one, by (chat, message id).
    markups: HashMap<(i64, i64), Value>,
    photos: Vec<photos::Photo>,
}

impl Inner {
    fn log(
        &mut self,
        method: &str,
        chat_id: Option<i64>,
        status: u16,
        params: &Map<String, Value>,
        at: Instant,
    ) {
        self.requests.push(Request {
            method: method.to_owned(),
            chat_id,
            status,
            at,
            params: params.clone(),
        });
    }

    fn new_message_id(&mut self) -> i64 {
        self.next_message_id += 1;
        self.next_message_id
    }

    fn profile(&self, chat: i64) -> Profile {
        self.profiles.get(&chat).cloned().unwrap_or_default()
    }

    /// `offset` confirms every update before it; a negative one keeps only
    /// the last `-offset` updates (Telegram's semantics).
    fn confirm(&mut self, offset: i64) {
        if offset < 0 {
            let keep = usize::try_from(offset.unsigned_abs()).unwrap_or(usize::MAX);
            while self.updates.len() > keep {
                self.updates.pop_front();
            }
        } else {
            self.updates.retain(|u| u.id >= offset);
        }
    }

    /// Drops what `allowed_updates` excludes, then the first `limit` updates.
    fn deliverable(&mut self, limit: usize) -> Vec<Value> {
        let allowed = self.allowed_updates.clone();
        let is_allowed = |kind: &str| match &allowed {
            Some(list) if !list.is_empty() => list.iter().any(|k| k == kind),
            _ => !NOT_DELIVERED_BY_DEFAULT.contains(&kind),
        };
        let (keep, dropped): (VecDeque<Pending>, VecDeque<Pending>) =
            self.updates.drain(..).partition(|u| is_allowed(&u.kind));
        self.updates = keep;
        self.not_allowed.extend(dropped.into_iter().map(|u| u.json));
        let batch: Vec<Pending> = self.updates.iter().take(limit).cloned().collect();
        if let Some(last) = batch.last() {
            self.served_up_to = self.served_up_to.max(last.id);
        }
        batch.into_iter().map(|u| u.json).collect()
    }
}

struct Shared {
    inner: Mutex<Inner>,
    /// Woken on every pushed update (long polls wait on it).
    new_update: Notify,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

pub struct FakeTelegram {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: JoinHandle<()>,
}

impl Drop for FakeTelegram {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeTelegram {
    /// Starts on `127.0.0.1:0`, accepting everything, instantly.
    pub async fn start() -> Self {
        let shared = Arc::new(Shared {
            inner: Mutex::default(),
            new_update: Notify::new(),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake Telegram");
        let addr = listener.local_addr().expect("fake Telegram address");
        #[allow(
            clippy::disallowed_methods,
            reason = "a fake Bot API, not the admin port"
        )]
        let app = Router::new()
            .route("/{bot}/{method}", any(handle))
            .with_state(Arc::clone(&shared));
        let server = tokio::spawn(async move {
            axum::serve(listener, app)
                .await
                .expect("fake Telegram serves");
        });
        Self {
            addr,
            shared,
            server,
        }
    }

    /// The base URL for `Bot::set_api_url`.
    pub fn url(&self) -> reqwest::Url {
        reqwest::Url::parse(&format!("http://{}/", self.addr)).expect("valid URL")
    }

    /// A teloxide bot talking to this fake with [`TOKEN`].
    pub fn bot(&self) -> teloxide::Bot {
        teloxide::Bot::new(TOKEN).set_api_url(self.url())
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.shared.lock()
    }

    // ---- scripting -------------------------------------------------------

    /// The next `n` sends to any chat get `reply` (after per-chat scripts).
    pub fn reply_next(&self, n: usize, reply: Reply) {
        self.lock().script.extend(std::iter::repeat_n(reply, n));
    }

    /// The next `n` sends to `chat` get `reply`.
    pub fn reply_next_to(&self, chat: i64, n: usize, reply: Reply) {
        self.lock()
            .chat_scripts
            .entry(chat)
            .or_default()
            .extend(std::iter::repeat_n(reply, n));
    }

    /// Every send to `chat` gets `reply` from now on (e.g. a blocked user).
    pub fn always_reply_to(&self, chat: i64, reply: Reply) {
        self.reply_next_to(chat, 1_000_000, reply);
    }

    /// The next `n` calls of `method` (case-insensitive; for `sendMessage`
    /// prefer [`Self::reply_next`]) get `reply`, before anything else —
    /// e.g. `("deleteMessage", Reply::message_to_delete_not_found())` or
    /// `("getUpdates", Reply::conflict())`. `Reply::Accept` answers normally.
    pub fn reply_next_call(&self, method: &str, n: usize, reply: Reply) {
        self.lock()
            .method_scripts
            .entry(method.to_ascii_lowercase())
            .or_default()
            .extend(std::iter::repeat_n(reply, n));
    }

    /// Answer 429 like Telegram when sends come too fast.
    pub fn enforce_limits(&self, enforce: Enforce) {
        self.lock().enforce = Some(enforce);
    }

    /// Delay each answer by a random time in `min..=max` (the request is
    /// counted on arrival, like at Telegram). Long polls are not delayed.
    pub fn set_latency(&self, min: Duration, max: Duration) {
        self.lock().latency = Some((min, max.max(min)));
    }

    // ---- updates (what users do) ------------------------------------------

    /// Queues a raw update for `getUpdates`; its `update_id` is assigned
    /// here (increasing) and returned. Not checked: see the helpers below.
    pub fn push_update(&self, mut update: Value) -> i64 {
        let id = {
            let mut inner = self.lock();
            inner.last_update_id += 1;
            let id = inner.last_update_id;
            let object = update.as_object_mut().expect("an update is a JSON object");
            object.insert("update_id".to_owned(), json!(id));
            let kind = object
                .keys()
                .find(|k| *k != "update_id")
                .cloned()
                .unwrap_or_default();
            inner.updates.push_back(Pending {
                id,
                kind,
                json: update,
            });
            id
        };
        self.shared.new_update.notify_waiters();
        id
    }

    /// Who writes in `chat` from now on (default: Ada, English, no @username).
    pub fn set_profile(&self, chat: i64, profile: Profile) {
        self.lock().profiles.insert(chat, profile);
    }

    /// The user of private chat `chat` sends `text`; a leading `/command`
    /// gets its `bot_command` entity, as Telegram sends it. Returns the
    /// message's id (e.g. to check that the bot deleted it).
    pub fn user_says(&self, chat: i64, text: &str) -> i64 {
        let mut message = self.user_message(chat);
        message.insert("text".to_owned(), json!(text));
        if text.starts_with('/') {
            let command = text.split_whitespace().next().unwrap_or(text);
            let length = command.encode_utf16().count();
            message.insert(
                "entities".to_owned(),
                json!([{ "type": "bot_command", "offset": 0, "length": length }]),
            );
        }
        self.push_message(message)
    }

    /// The user of `chat` shares a location (📎 → Location).
    pub fn user_shares_location(&self, chat: i64, latitude: f64, longitude: f64) -> i64 {
        let mut message = self.user_message(chat);
        message.insert(
            "location".to_owned(),
            json!({ "latitude": latitude, "longitude": longitude }),
        );
        self.push_message(message)
    }

    /// The user of `chat` presses the inline button carrying `data` under
    /// the bot's message `message_id`. Returns the callback query's id.
    pub fn user_presses(&self, chat: i64, message_id: i64, data: &str) -> String {
        let (id, update) = {
            let mut inner = self.lock();
            inner.next_callback_id += 1;
            let id = format!("cbq-{}", inner.next_callback_id);
            let text = inner
                .received
                .iter()
                .find(|m| m.message_id == message_id && m.chat_id == chat)
                .map(|m| m.text.clone())
                .unwrap_or_default();
            let mut message = message_json(message_id, chat, &text);
            if let Some(markup) = inner.markups.get(&(chat, message_id)) {
                message["reply_markup"] = markup.clone();
            }
            let profile = inner.profile(chat);
            let update = json!({ "callback_query": {
                "id": id,
                "from": user_json(chat, &profile),
                "chat_instance": format!("ci-{chat}"),
                "data": data,
                "message": message,
            }});
            (id, update)
        };
        checked(&update);
        self.push_update(update);
        id
    }

    /// Presses the newest button in `chat` whose callback data is `data`.
    /// Panics (listing the buttons offered) when there is none.
    pub fn press(&self, chat: i64, data: &str) -> String {
        let offered: Vec<(i64, Vec<Button>)> = self
            .received_by(chat)
            .iter()
            .rev()
            .map(|m| (m.message_id, self.buttons(m.message_id)))
            .collect();
        let Some((message_id, _)) = offered
            .iter()
            .find(|(_, buttons)| buttons.iter().any(|b| b.data == data))
        else {
            panic!("no button {data:?} in chat {chat}; offered (newest first): {offered:?}");
        };
        self.user_presses(chat, *message_id, data)
    }

    /// A `my_chat_member` update in private chat `chat`: the bot's status
    /// went from `old` to `new` (`"member"`, `"kicked"`, `"left"`).
    pub fn my_chat_member(&self, chat: i64, old: &str, new: &str) -> i64 {
        let profile = self.lock().profile(chat);
        let update = json!({ "my_chat_member": {
            "chat": chat_json(chat, &profile),
            "from": user_json(chat, &profile),
            "date": unix_now(),
            "old_chat_member": bot_member(old),
            "new_chat_member": bot_member(new),
        }});
        checked(&update);
        self.push_update(update)
    }

    /// The user blocked the bot (Telegram: status `kicked`).
    pub fn bot_blocked(&self, chat: i64) -> i64 {
        self.my_chat_member(chat, "member", "kicked")
    }

    /// The user unblocked the bot (or restarted it).
    pub fn bot_unblocked(&self, chat: i64) -> i64 {
        self.my_chat_member(chat, "kicked", "member")
    }

    fn user_message(&self, chat: i64) -> Map<String, Value> {
        let mut inner = self.lock();
        let profile = inner.profile(chat);
        let message_id = inner.new_message_id();
        let Value::Object(message) = json!({
            "message_id": message_id,
            "date": unix_now(),
            "chat": chat_json(chat, &profile),
            "from": user_json(chat, &profile),
        }) else {
            unreachable!("a JSON object literal")
        };
        message
    }

    fn push_message(&self, message: Map<String, Value>) -> i64 {
        let id = message["message_id"].as_i64().unwrap_or_default();
        let update = json!({ "message": message });
        checked(&update);
        self.push_update(update);
        id
    }

    // ---- inspection ------------------------------------------------------

    /// Every accepted message, in arrival order.
    pub fn received(&self) -> Vec<Received> {
        self.lock().received.clone()
    }

    pub fn received_by(&self, chat: i64) -> Vec<Received> {
        self.lock()
            .received
            .iter()
            .filter(|m| m.chat_id == chat)
            .cloned()
            .collect()
    }

    pub fn texts_to(&self, chat: i64) -> Vec<String> {
        self.received_by(chat).into_iter().map(|m| m.text).collect()
    }

    /// Every request answered, accepted or not, in arrival order.
    pub fn requests(&self) -> Vec<Request> {
        self.lock().requests.clone()
    }

    pub fn requests_to(&self, chat: i64) -> Vec<Request> {
        self.lock()
            .requests
            .iter()
            .filter(|r| r.chat_id == Some(chat))
            .cloned()
            .collect()
    }

    /// The requests of one method (case-insensitive), in arrival order.
    pub fn calls(&self, method: &str) -> Vec<Request> {
        self.lock()
            .requests
            .iter()
            .filter(|r| r.method.eq_ignore_ascii_case(method))
            .cloned()
            .collect()
    }

    /// How many 429s it answered.
    pub fn count_429(&self) -> usize {
        self.lock()
            .requests
            .iter()
            .filter(|r| r.status == 429)
            .count()
    }

    /// Messages the bot deleted, in order.
    pub fn deleted(&self) -> Vec<Deleted> {
        self.lock().deleted.clone()
    }

    /// Messages the bot edited, in order.
    pub fn edited(&self) -> Vec<Edited> {
        self.lock().edited.clone()
    }

    /// The ids of the callback queries the bot answered, in order.
    pub fn answered_callbacks(&self) -> Vec<String> {
        self.lock()
            .callback_answers
            .iter()
            .filter_map(|p| p.get("callback_query_id").and_then(Value::as_str))
            .map(str::to_owned)
            .collect()
    }

    /// The inline buttons the bot attached to its message `message_id`.
    pub fn buttons(&self, message_id: i64) -> Vec<Button> {
        let inner = self.lock();
        let Some(chat) = inner
            .received
            .iter()
            .find(|m| m.message_id == message_id)
            .map(|m| m.chat_id)
        else {
            return Vec::new();
        };
        let Some(markup) = inner.markups.get(&(chat, message_id)) else {
            return Vec::new();
        };
        let rows = markup["inline_keyboard"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        rows.iter()
            .flat_map(|row| row.as_array().cloned().unwrap_or_default())
            .map(|b| Button {
                text: b["text"].as_str().unwrap_or_default().to_owned(),
                data: b["callback_data"].as_str().unwrap_or_default().to_owned(),
            })
            .collect()
    }

    /// The command menu the bot last set for `language_code` (`None`: the
    /// default menu), as `(command, description)`; `None` if never set.
    pub fn my_commands(&self, language_code: Option<&str>) -> Option<Vec<(String, String)>> {
        let inner = self.lock();
        let request = inner.requests.iter().rev().find(|r| {
            r.method == "setMyCommands"
                && r.status == 200
                && r.params.get("language_code").and_then(Value::as_str) == language_code
        })?;
        let commands = request.params.get("commands")?;
        // teloxide sends the list as JSON; a form client sends it as a string.
        let commands = match commands {
            Value::String(s) => serde_json::from_str(s).ok()?,
            other => other.clone(),
        };
        Some(
            commands
                .as_array()?
                .iter()
                .map(|c| {
                    (
                        c["command"].as_str().unwrap_or_default().to_owned(),
                        c["description"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect(),
        )
    }

    /// Pushed updates that no `getUpdates` answer has carried yet.
    pub fn undelivered(&self) -> usize {
        let inner = self.lock();
        let served = inner.served_up_to;
        inner.updates.iter().filter(|u| u.id > served).count()
    }

    /// Pushed updates not yet confirmed by a later `offset`.
    pub fn unconfirmed(&self) -> usize {
        self.lock().updates.len()
    }

    /// Updates dropped because the bot's `allowed_updates` left their kind out.
    pub fn not_allowed(&self) -> Vec<Value> {
        self.lock().not_allowed.clone()
    }

    /// Takes the pushed updates no `getUpdates` confirmed, oldest first:
    /// what a test POSTs to a webhook (the helpers above build them).
    pub fn take_updates(&self) -> Vec<Value> {
        self.lock().updates.drain(..).map(|u| u.json).collect()
    }

    /// The `allowed_updates` the bot last set, if it ever did.
    pub fn allowed_updates(&self) -> Option<Vec<String>> {
        self.lock().allowed_updates.clone()
    }
}

/// A `reply_markup` parameter as JSON (teloxide sends JSON; a form client a string).
fn markup_param(params: &Map<String, Value>) -> Option<Value> {
    let markup = match params.get("reply_markup")? {
        Value::String(s) => serde_json::from_str(s).ok()?,
        other => other.clone(),
    };
    markup.get("inline_keyboard").is_some().then_some(markup)
}

// ---- the server ----------------------------------------------------------

async fn handle(
    State(shared): State<Arc<Shared>>,
    Path((bot, method)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let arrived = Instant::now();
    if bot.strip_prefix("bot") != Some(TOKEN) {
        return error(401, "Unauthorized");
    }
    let params = parse_params(&headers, &body);
    let name = method.to_ascii_lowercase();
    // Scripted answers by method (`reply_next_call`) come before anything.
    let scripted = {
        let mut inner = shared.lock();
        let reply = inner
            .method_scripts
            .get_mut(&name)
            .and_then(VecDeque::pop_front)
            .filter(|r| *r != Reply::Accept);
        if let Some(reply) = &reply {
            let chat = params.get("chat_id").and_then(as_i64);
            inner.log(&method, chat, reply.status(), &params, arrived);
        }
        reply
    };
    match scripted {
        Some(Reply::RetryAfter(seconds)) => return too_many_requests(seconds),
        Some(Reply::Error { code, description }) => return error(code, &description),
        Some(Reply::MigrateTo(to)) => return migrated(to),
        Some(Reply::Accept) | None => {}
    }
    if name == "getupdates" {
        return get_updates(&shared, &params, arrived).await;
    }
    if name == "sendphoto" {
        let files = photos::file_parts(&headers, &body);
        return photos::send_photo(&mut shared.lock(), &params, files, arrived);
    }
    let (response, delay) = {
        let mut inner = shared.lock();
        let response = dispatch(&mut inner, &method, &params, arrived);
        (response, inner.latency.map(random_between))
    };
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    response
}

/// Long polling: answers at once when updates at or after `offset` are
/// waiting, else when one is pushed or the (capped) `timeout` ends. The lock
/// is never held while waiting.
async fn get_updates(shared: &Shared, params: &Map<String, Value>, at: Instant) -> Response {
    let offset = params.get("offset").and_then(as_i64).unwrap_or(0);
    let limit = params
        .get("limit")
        .and_then(as_i64)
        .filter(|n| (1..=100).contains(n))
        .map_or(100, |n| n as usize);
    let timeout = params
        .get("timeout")
        .and_then(as_i64)
        .map_or(Duration::ZERO, |s| {
            Duration::from_secs(s.max(0).unsigned_abs())
        });
    let deadline = at + timeout.min(MAX_LONG_POLL);
    let allowed = params.get("allowed_updates").map(|v| {
        let list = match v {
            Value::String(s) => serde_json::from_str(s).unwrap_or(Value::Null),
            other => other.clone(),
        };
        list.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    });
    {
        let mut inner = shared.lock();
        if let Some(allowed) = allowed {
            inner.allowed_updates = Some(allowed);
        }
        inner.confirm(offset);
    }
    loop {
        // Registered before looking, so a push in between is not missed.
        let notified = shared.new_update.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        {
            let mut inner = shared.lock();
            let batch = inner.deliverable(limit);
            if !batch.is_empty() || Instant::now() >= deadline {
                inner.log("getUpdates", None, 200, params, at);
                return ok(Value::Array(batch));
            }
        }
        // On timeout the next round answers (empty, or with a late arrival).
        let _ = tokio::time::timeout_at(deadline, notified).await;
    }
}

/// Routes a method. Bot API method names are case-insensitive (teloxide
/// sends `SendMessage`). Runs under the state lock, so a handler
/// sees and updates the state atomically (rate windows, scripts).
fn dispatch(inner: &mut Inner, method: &str, params: &Map<String, Value>, at: Instant) -> Response {
    let chat_id = params.get("chat_id").and_then(as_i64);
    match method.to_ascii_lowercase().as_str() {
        "sendmessage" => send_message(inner, params, at),
        "getme" => {
            inner.log("getMe", None, 200, params, at);
            ok(me())
        }
        "setmycommands" => {
            inner.log("setMyCommands", None, 200, params, at);
            ok(json!(true))
        }
        "deletemycommands" => {
            inner.log("deleteMyCommands", None, 200, params, at);
            ok(json!(true))
        }
        "setwebhook" => {
            inner.log("setWebhook", None, 200, params, at);
            ok(json!(true))
        }
        "deletewebhook" => {
            inner.log("deleteWebhook", None, 200, params, at);
            ok(json!(true))
        }
        "getwebhookinfo" => {
            inner.log("getWebhookInfo", None, 200, params, at);
            ok(json!({ "url": "", "has_custom_certificate": false, "pending_update_count": 0 }))
        }
        "deletemessage" => {
            let message_id = params.get("message_id").and_then(as_i64);
            let (Some(chat), Some(message_id)) = (chat_id, message_id) else {
                inner.log("deleteMessage", chat_id, 400, params, at);
                return error(400, "Bad Request: message identifier is not specified");
            };
            inner.log("deleteMessage", chat_id, 200, params, at);
            inner.deleted.push(Deleted {
                chat_id: chat,
                message_id,
            });
            ok(json!(true))
        }
        "answercallbackquery" => {
            if params
                .get("callback_query_id")
                .and_then(Value::as_str)
                .is_none()
            {
                inner.log("answerCallbackQuery", None, 400, params, at);
                return error(
                    400,
                    "Bad Request: query is too old and response timeout expired or query ID is invalid",
                );
            }
            inner.log("answerCallbackQuery", None, 200, params, at);
            inner.callback_answers.push(params.clone());
            ok(json!(true))
        }
        name @ ("editmessagetext" | "editmessagereplymarkup") => {
            edit_message(inner, name, params, at)
        }
        _ => {
            inner.log(method, chat_id, 404, params, at);
            error(404, "Not Found: method not found")
        }
    }
}

fn edit_message(
    inner: &mut Inner,
    method: &str,
    params: &Map<String, Value>,
    at: Instant,
) -> Response {
    let name = if method == "editmessagetext" {
        "editMessageText"
    } else {
        "editMessageReplyMarkup"
    };
    if params.contains_key("inline_message_id") {
        inner.log(name, None, 200, params, at);
        return ok(json!(true));
    }
    let chat_id = params.get("chat_id").and_then(as_i64);
    let message_id = params.get("message_id").and_then(as_i64);
    let (Some(chat), Some(message_id)) = (chat_id, message_id) else {
        inner.log(name, chat_id, 400, params, at);
        return error(400, "Bad Request: message to edit not found");
    };
    let old = inner
        .received
        .iter()
        .find(|m| m.chat_id == chat && m.message_id == message_id)
        .map(|m| m.text.clone());
    let Some(old) = old else {
        inner.log(name, chat_id, 400, params, at);
        return error(400, "Bad Request: message to edit not found");
    };
    inner.log(name, chat_id, 200, params, at);
    match markup_param(params) {
        Some(markup) => {
            inner.markups.insert((chat, message_id), markup);
        }
        // Editing without a keyboard removes it, as at Telegram.
        None => {
            inner.markups.remove(&(chat, message_id));
        }
    }
    let text = match params.get("text").and_then(Value::as_str) {
        Some(text) => {
            inner.edited.push(Edited {
                chat_id: chat,
                message_id,
                text: text.to_owned(),
            });
            text.to_owned()
        }
        None => old,
    };
    let mut message = message_json(message_id, chat, &text);
    message["edit_date"] = json!(unix_now());
    ok(message)
}

fn send_message(inner: &mut Inner, params: &Map<String, Value>, at: Instant) -> Response {
    let chat_id = params.get("chat_id").and_then(as_i64);
    let text = params
        .get("text")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let reply = match (chat_id, &text) {
        (Some(chat), Some(_)) => next_reply(inner, chat, at),
        (None, _) => Reply::chat_not_found(),
        (_, None) => Reply::error(400, "Bad Request: message text is empty"),
    };
    match reply {
        Reply::RetryAfter(seconds) => {
            inner.log("sendMessage", chat_id, 429, params, at);
            too_many_requests(seconds)
        }
        Reply::Error { code, description } => {
            inner.log("sendMessage", chat_id, code, params, at);
            error(code, &description)
        }
        Reply::MigrateTo(to) => {
            inner.log("sendMessage", chat_id, 400, params, at);
            migrated(to)
        }
        Reply::Accept => {
            let (chat, text) = (chat_id.unwrap_or_default(), text.unwrap_or_default());
            let message_id = inner.new_message_id();
            inner.log("sendMessage", chat_id, 200, params, at);
            if let Some(markup) = markup_param(params) {
                inner.markups.insert((chat, message_id), markup);
            }
            inner.window.push_back(at);
            inner.last_to_chat.insert(chat, at);
            let message = message_json(message_id, chat, &text);
            inner.received.push(Received {
                message_id,
                chat_id: chat,
                text,
                at,
            });
            ok(message)
        }
    }
}

/// Scripts first (this chat's, then anyone's), then the enforced limits.
fn next_reply(inner: &mut Inner, chat: i64, at: Instant) -> Reply {
    if let Some(reply) = inner
        .chat_scripts
        .get_mut(&chat)
        .and_then(VecDeque::pop_front)
    {
        return reply;
    }
    if let Some(reply) = inner.script.pop_front() {
        return reply;
    }
    let Some(enforce) = inner.enforce.clone() else {
        return Reply::Accept;
    };
    while inner
        .window
        .front()
        .is_some_and(|t| at.duration_since(*t) >= Duration::from_secs(1))
    {
        inner.window.pop_front();
    }
    let chat_too_soon = inner
        .last_to_chat
        .get(&chat)
        .is_some_and(|t| at.duration_since(*t) < enforce.per_chat);
    if inner.window.len() >= enforce.per_second || chat_too_soon {
        Reply::RetryAfter(enforce.retry_after)
    } else {
        Reply::Accept
    }
}

/// teloxide sends JSON; a form body is accepted too (curl, other clients).
fn parse_params(headers: &HeaderMap, body: &[u8]) -> Map<String, Value> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let boundary = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.starts_with("multipart/form-data"))
        .and_then(|v| v.split_once("boundary="))
        .map(|(_, b)| b.trim_matches('"').to_owned());
    if let Some(boundary) = boundary {
        // teloxide sends methods that may carry a file (setWebhook) so.
        return multipart_fields(&String::from_utf8_lossy(body), &boundary);
    }
    if is_form {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).unwrap_or_default();
        return pairs
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect();
    }
    serde_json::from_slice(body).unwrap_or_default()
}

/// The text fields of a multipart body, each a string (a JSON value such
/// as `allowed_updates` stays its JSON text).
fn multipart_fields(body: &str, boundary: &str) -> Map<String, Value> {
    body.split(&format!("--{boundary}"))
        .filter_map(|part| {
            let (head, value) = part.split_once("\r\n\r\n")?;
            let name = head.split("name=\"").nth(1)?.split('"').next()?;
            let value = value.strip_suffix("\r\n").unwrap_or(value);
            Some((name.to_owned(), Value::String(value.to_owned())))
        })
        .collect()
}

fn as_i64(value: &Value) -> Option<i64> {
    value
        .as_i64()
        .or_else(|| value.as_str().and_then(|s| s.parse().ok()))
}

fn random_between((min, max): (Duration, Duration)) -> Duration {
    if max <= min {
        return min;
    }
    min + (max - min).mul_f64(rand::random::<f64>())
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Panics unless teloxide parses `update` as what it is meant to be: an
/// update it cannot parse becomes `UpdateKind::Error`, which the dispatcher
/// only logs, and the test would merely time out.
fn checked(update: &Value) {
    use teloxide::types::{CallbackQuery, ChatMemberUpdated, Message, Update, UpdateKind};
    let mut with_id = update.clone();
    with_id["update_id"] = json!(1);
    // From text, as teloxide reads a response (its parser needs borrowed keys).
    let parsed: Update = serde_json::from_str(&with_id.to_string())
        .unwrap_or_else(|e| panic!("teloxide rejects the fake update {update}: {e}"));
    if !matches!(parsed.kind, UpdateKind::Error(_)) {
        return;
    }
    // teloxide swallows the reason: parse the payload alone to show it.
    let reason = match update.as_object().and_then(|o| o.iter().next()) {
        Some((kind, payload)) => match kind.as_str() {
            "message" => serde_json::from_value::<Message>(payload.clone()).err(),
            "callback_query" => serde_json::from_value::<CallbackQuery>(payload.clone()).err(),
            "my_chat_member" => serde_json::from_value::<ChatMemberUpdated>(payload.clone()).err(),
            _ => None,
        },
        None => None,
    };
    panic!("teloxide cannot parse the fake update {update}: {reason:?}");
}

fn bot_user() -> Value {
    json!({ "id": BOT_ID, "is_bot": true, "first_name": "Meteobot", "username": BOT_USERNAME })
}

/// The user writing in private chat `chat` (user id = chat id).
fn user_json(chat: i64, profile: &Profile) -> Value {
    let mut user = json!({ "id": chat.abs(), "is_bot": false, "first_name": profile.first_name });
    if let Some(username) = &profile.username {
        user["username"] = json!(username);
    }
    if let Some(code) = &profile.language_code {
        user["language_code"] = json!(code);
    }
    user
}

fn chat_json(chat: i64, profile: &Profile) -> Value {
    if chat > 0 {
        let mut value = json!({ "id": chat, "type": "private", "first_name": profile.first_name });
        if let Some(username) = &profile.username {
            value["username"] = json!(username);
        }
        value
    } else {
        json!({ "id": chat, "type": "group", "title": "Test group" })
    }
}

/// The bot as a chat member with `status` (`member`, `kicked`, `left`).
fn bot_member(status: &str) -> Value {
    let mut member = json!({ "user": bot_user(), "status": status });
    if status == "kicked" {
        member["until_date"] = json!(0);
    }
    member
}

fn me() -> Value {
    let mut me = bot_user();
    let extra = json!({
        "can_join_groups": true,
        "can_read_all_group_messages": false,
        "supports_inline_queries": false,
        "can_connect_to_business": false,
        "has_main_web_app": false
    });
    if let (Some(me), Value::Object(extra)) = (me.as_object_mut(), extra) {
        me.extend(extra);
    }
    me
}

/// A text message from the bot, as Telegram returns it from `sendMessage`.
pub fn message_json(message_id: i64, chat_id: i64, text: &str) -> Value {
    let chat = if chat_id > 0 {
        json!({ "id": chat_id, "type": "private", "first_name": "Test" })
    } else {
        json!({ "id": chat_id, "type": "group", "title": "Test group" })
    };
    json!({
        "message_id": message_id,
        "date": unix_now(),
        "chat": chat,
        "from": bot_user(),
        "text": text
    })
}

fn ok(result: Value) -> Response {
    (
        StatusCode::OK,
        axum::Json(json!({ "ok": true, "result": result })),
    )
        .into_response()
}

fn error(code: u16, description: &str) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST);
    let body = json!({ "ok": false, "error_code": code, "description": description });
    (status, axum::Json(body)).into_response()
}

/// Telegram's answer to a send to a group that became a supergroup.
fn migrated(to: i64) -> Response {
    let body = json!({
        "ok": false,
        "error_code": 400,
        "description": "Bad Request: group chat was upgraded to a supergroup chat",
        "parameters": { "migrate_to_chat_id": to }
    });
    (StatusCode::BAD_REQUEST, axum::Json(body)).into_response()
}

fn too_many_requests(retry_after: u32) -> Response {
    let body = json!({
        "ok": false,
        "error_code": 429,
        "description": format!("Too Many Requests: retry after {retry_after}"),
        "parameters": { "retry_after": retry_after }
    });
    (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response()
}
