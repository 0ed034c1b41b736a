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

use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use axum::Router;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde_json::{Map, Value, json};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::screen::{Action, Button, Screen, inline_buttons, message_block, plain_html};

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

/// The chat's state: the update queue and the recent messages.
#[derive(Debug, Default)]
pub struct Chat {
    last_update_id: i64,
    /// Queued and not yet confirmed, in `update_id` order.
    queue: VecDeque<(i64, Value)>,
    /// Shared by the person's and the bot's messages (one counter, as in a
    /// private chat at Telegram).
    last_message_id: i64,
    /// The newest [`KEPT_MESSAGES`] messages, as Message JSON.
    messages: VecDeque<Value>,
    /// The message (in the person's chat) whose buttons numbers press: the
    /// last one printed with buttons, while it keeps them.
    showing: Option<i64>,
    last_callback: u64,
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

    fn new_message_id(&mut self) -> i64 {
        self.last_message_id += 1;
        self.last_message_id
    }

    /// Keeps `message` (replacing the stored one with its id), forgetting
    /// the oldest beyond [`KEPT_MESSAGES`].
    fn remember(&mut self, message: Value) {
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

    fn message(&self, chat: i64, message_id: i64) -> Option<&Value> {
        self.messages
            .iter()
            .find(|m| message_key(m) == Some((chat, message_id)))
    }

    fn forget(&mut self, chat: i64, message_id: i64) -> Option<Value> {
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
fn message_key(message: &Value) -> Option<(i64, i64)> {
    Some((
        message.get("chat")?.get("id")?.as_i64()?,
        message.get("message_id")?.as_i64()?,
    ))
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

impl Shared {
    fn chat_json(&self, chat: i64) -> Value {
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

    fn bot_user(&self) -> Value {
        json!({
            "id": self.bot.id(),
            "is_bot": true,
            "first_name": "meteobot",
            "username": self.bot.username,
        })
    }

    fn me(&self) -> Value {
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
    fn label(&self, chat: i64, what: &str) -> String {
        match (chat == self.chat, what) {
            (true, "") => "bot".to_owned(),
            (true, what) => format!("bot ({what})"),
            (false, "") => format!("bot (to chat {chat})"),
            (false, what) => format!("bot (to chat {chat}, {what})"),
        }
    }

    /// Prints a bot message; numbers press its buttons from now on.
    fn print(&self, state: &mut Chat, message: &Value, what: &str) {
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

// ---- HTTP ------------------------------------------------------------------

/// What Telegram answers instead of a result:
/// `{"ok":false,"error_code":code,"description":…}` with HTTP `code`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Refusal {
    code: u16,
    description: String,
}

fn refuse(code: u16, description: impl Into<String>) -> Refusal {
    Refusal {
        code,
        description: description.into(),
    }
}

/// 400 "Bad Request: …", Telegram's answer to most bad parameters.
fn bad_request(what: impl std::fmt::Display) -> Refusal {
    refuse(400, format!("Bad Request: {what}"))
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.code).unwrap_or(StatusCode::BAD_REQUEST);
        let body = json!({ "ok": false, "error_code": self.code, "description": self.description });
        (status, axum::Json(body)).into_response()
    }
}

type Answer = Result<Value, Refusal>;

fn ok(result: Value) -> Response {
    (
        StatusCode::OK,
        axum::Json(json!({ "ok": true, "result": result })),
    )
        .into_response()
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    Path((bot, method)): Path<(String, String)>,
    request: Request,
) -> Response {
    if bot.strip_prefix("bot") != Some(shared.bot.token.as_str()) {
        return refuse(401, "Unauthorized").into_response();
    }
    let params = match params(request).await {
        Ok(params) => params,
        Err(refusal) => return refusal.into_response(),
    };
    // Method names are case-insensitive (teloxide sends `SendMessage`).
    let method = method.to_ascii_lowercase();
    let answer = if method == "getupdates" {
        Ok(get_updates(&shared, &params).await)
    } else {
        let mut state = shared.lock();
        dispatch(&shared, &mut state, &method, &params)
    };
    match answer {
        Ok(result) => ok(result),
        Err(refusal) => refusal.into_response(),
    }
}

/// The request's parameters: JSON (teloxide), urlencoded or multipart
/// fields (uploaded files are read and dropped), and the query string.
async fn params(request: Request) -> Result<Map<String, Value>, Refusal> {
    let mut params: Map<String, Value> = request
        .uri()
        .query()
        .map(|q| serde_urlencoded::from_str::<Vec<(String, String)>>(q).unwrap_or_default())
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if content_type.starts_with("multipart/form-data") {
        let mut form = Multipart::from_request(request, &())
            .await
            .map_err(bad_request)?;
        while let Some(field) = form.next_field().await.map_err(bad_request)? {
            let name = field.name().unwrap_or_default().to_owned();
            let is_file = field.file_name().is_some();
            let bytes = field.bytes().await.map_err(bad_request)?;
            let value = if is_file {
                json!({ "uploaded_bytes": bytes.len() })
            } else {
                Value::String(String::from_utf8_lossy(&bytes).into_owned())
            };
            params.insert(name, value);
        }
        return Ok(params);
    }
    let body = axum::body::to_bytes(request.into_body(), MAX_BODY)
        .await
        .map_err(|_| refuse(413, "Request Entity Too Large"))?;
    if body.is_empty() {
        return Ok(params);
    }
    if content_type.starts_with("application/x-www-form-urlencoded") {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body)
            .map_err(|_| bad_request("can't parse the request body"))?;
        params.extend(pairs.into_iter().map(|(k, v)| (k, Value::String(v))));
    } else {
        match serde_json::from_slice(&body) {
            Ok(Value::Object(fields)) => params.extend(fields),
            _ => return Err(bad_request("can't parse JSON object")),
        }
    }
    Ok(params)
}

/// Long polling: answers at once when updates at or after `offset` wait,
/// else when one is queued or the `timeout` (at most [`MAX_LONG_POLL`])
/// ends. The lock is never held while waiting.
async fn get_updates(shared: &Shared, params: &Map<String, Value>) -> Value {
    let arrived = Instant::now();
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
    let deadline = arrived + timeout.min(MAX_LONG_POLL);
    if shared.lock().confirm(offset) > 0 {
        shared.confirmed.notify_waiters();
    }
    loop {
        // Registered before looking, so an update queued in between wakes it.
        let queued = shared.new_update.notified();
        tokio::pin!(queued);
        queued.as_mut().enable();
        let batch = shared.lock().batch(limit);
        if !batch.is_empty() || Instant::now() >= deadline {
            return Value::Array(batch);
        }
        let _ = tokio::time::timeout_at(deadline, queued).await;
    }
}

/// Every method but `getUpdates`, under the state lock (so messages are
/// numbered and printed in one order).
fn dispatch(
    shared: &Shared,
    state: &mut Chat,
    method: &str,
    params: &Map<String, Value>,
) -> Answer {
    match method {
        "getme" => Ok(shared.me()),
        "sendmessage" => send_message(shared, state, params),
        "sendphoto" => send_photo(shared, state, params),
        "editmessagetext" | "editmessagereplymarkup" | "editmessagecaption" => {
            edit_message(shared, state, method, params)
        }
        "deletemessage" => delete_message(shared, state, params),
        "answercallbackquery" => answer_callback_query(shared, params),
        "sendchataction" => chat_id(params).map(|_| json!(true)),
        "setmycommands"
        | "deletemycommands"
        | "deletewebhook"
        | "setmydescription"
        | "setmyshortdescription"
        | "setmyname"
        | "close"
        | "logout" => Ok(json!(true)),
        "getmycommands" => Ok(json!([])),
        "getwebhookinfo" => Ok(json!({
            "url": "",
            "has_custom_certificate": false,
            "pending_update_count": state.queued(),
        })),
        other => {
            tracing::warn!(
                method = other,
                "chat mode: the in-process Bot API does not serve this method"
            );
            Err(refuse(404, "Not Found"))
        }
    }
}

fn send_message(shared: &Shared, state: &mut Chat, params: &Map<String, Value>) -> Answer {
    let chat = chat_id(params)?;
    let text = text_param(params, "text")?.ok_or_else(|| bad_request("message text is empty"))?;
    let mut message = bot_message(shared, state, chat, params);
    message["text"] = json!(text);
    Ok(deliver(shared, state, message, params))
}

fn send_photo(shared: &Shared, state: &mut Chat, params: &Map<String, Value>) -> Answer {
    let chat = chat_id(params)?;
    if !params.contains_key("photo") {
        return Err(bad_request("there is no photo in the request"));
    }
    let caption = text_param(params, "caption")?;
    let mut message = bot_message(shared, state, chat, params);
    let id = message["message_id"].clone();
    message["photo"] = json!([{
        "file_id": format!("photo-{id}"),
        "file_unique_id": format!("p{id}"),
        "width": 320,
        "height": 240,
    }]);
    if let Some(caption) = caption {
        message["caption"] = json!(caption);
    }
    Ok(deliver(shared, state, message, params))
}

/// A new message from the bot in `chat`, with the inline keyboard asked for.
fn bot_message(shared: &Shared, state: &mut Chat, chat: i64, params: &Map<String, Value>) -> Value {
    let mut message = json!({
        "message_id": state.new_message_id(),
        "date": unix_now(),
        "chat": shared.chat_json(chat),
        "from": shared.bot_user(),
    });
    if let Some(markup) = inline_markup(params) {
        message["reply_markup"] = markup;
    }
    message
}

/// Prints, keeps and returns a message the bot sent.
fn deliver(
    shared: &Shared,
    state: &mut Chat,
    message: Value,
    params: &Map<String, Value>,
) -> Value {
    let silent = params
        .get("disable_notification")
        .is_some_and(|v| v.as_bool() == Some(true) || v.as_str() == Some("true"));
    let what = match (message.get("photo").is_some(), silent) {
        (true, true) => "photo, silent",
        (true, false) => "photo",
        (false, true) => "silent",
        (false, false) => "",
    };
    shared.print(state, &message, what);
    state.remember(message.clone());
    message
}

fn is_from_bot(message: &Value) -> bool {
    message.get("from").and_then(|f| f.get("is_bot")) == Some(&json!(true))
}

fn edit_message(
    shared: &Shared,
    state: &mut Chat,
    method: &str,
    params: &Map<String, Value>,
) -> Answer {
    if params.contains_key("inline_message_id") {
        return Ok(json!(true));
    }
    let chat = chat_id(params)?;
    let message_id = params
        .get("message_id")
        .and_then(as_i64)
        .ok_or_else(|| bad_request("message identifier is not specified"))?;
    let field = if method == "editmessagecaption" {
        "caption"
    } else {
        "text"
    };
    let new_text = text_param(params, field)?;
    if method == "editmessagetext" && new_text.is_none() {
        return Err(bad_request("text must be non-empty"));
    }
    let mut message = match state.message(chat, message_id) {
        Some(stored) if !is_from_bot(stored) => {
            return Err(bad_request("message can't be edited"));
        }
        Some(stored) => stored.clone(),
        // Older than the ones kept: Telegram still has it.
        None if (1..=state.last_message_id).contains(&message_id) => json!({
            "message_id": message_id,
            "date": unix_now(),
            "chat": shared.chat_json(chat),
            "from": shared.bot_user(),
            field: "…",
        }),
        None => return Err(bad_request("message to edit not found")),
    };
    let before = message.clone();
    if let Some(text) = new_text {
        message[field] = json!(text);
    }
    // An edit without a keyboard removes the message's keyboard.
    match inline_markup(params) {
        Some(markup) => message["reply_markup"] = markup,
        None => {
            if let Some(fields) = message.as_object_mut() {
                fields.remove("reply_markup");
            }
        }
    }
    if message == before {
        return Err(bad_request(
            "message is not modified: specified new message content and reply markup \
             are exactly the same as a current content and reply markup of the message",
        ));
    }
    message["edit_date"] = json!(unix_now());
    shared.print(state, &message, "edited");
    state.remember(message.clone());
    Ok(message)
}

fn delete_message(shared: &Shared, state: &mut Chat, params: &Map<String, Value>) -> Answer {
    let chat = chat_id(params)?;
    let message_id = params
        .get("message_id")
        .and_then(as_i64)
        .ok_or_else(|| bad_request("message identifier is not specified"))?;
    let whose = match state.forget(chat, message_id) {
        Some(message) if is_from_bot(&message) => "deleted its message",
        Some(_) => "deleted your message",
        None if (1..=state.last_message_id).contains(&message_id) => "deleted a message",
        None => return Err(bad_request("message to delete not found")),
    };
    if state.showing == Some(message_id) && chat == shared.chat {
        state.showing = None;
    }
    shared
        .screen
        .show(&format!("{}\n", shared.label(chat, whose)));
    Ok(json!(true))
}

fn answer_callback_query(shared: &Shared, params: &Map<String, Value>) -> Answer {
    if params
        .get("callback_query_id")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return Err(bad_request(
            "query is too old and response timeout expired or query ID is invalid",
        ));
    }
    if let Some(text) = params
        .get("text")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
    {
        shared.screen.show(&message_block(
            &shared.label(shared.chat, "notice"),
            text,
            &[],
        ));
    }
    Ok(json!(true))
}

/// `chat_id`: a number (or a numeric string).
fn chat_id(params: &Map<String, Value>) -> Result<i64, Refusal> {
    match params.get("chat_id") {
        None | Some(Value::Null) => Err(bad_request("chat_id is empty")),
        Some(value) => as_i64(value)
            .filter(|id| *id != 0)
            .ok_or_else(|| bad_request("chat not found")),
    }
}

/// A text parameter as shown (HTML `parse_mode` read as plain text); `None`
/// when absent or blank; over [`MAX_TEXT`] is refused.
fn text_param(params: &Map<String, Value>, name: &str) -> Result<Option<String>, Refusal> {
    let Some(text) = params.get(name).and_then(Value::as_str) else {
        return Ok(None);
    };
    let html = params
        .get("parse_mode")
        .and_then(Value::as_str)
        .is_some_and(|m| m.eq_ignore_ascii_case("html"));
    let text = if html {
        plain_html(text)
    } else {
        text.to_owned()
    };
    if text.trim().is_empty() {
        return Ok(None);
    }
    if text.encode_utf16().count() > MAX_TEXT {
        return Err(bad_request(if name == "caption" {
            "message caption is too long"
        } else {
            "message is too long"
        }));
    }
    Ok(Some(text))
}

/// `reply_markup` when it is an inline keyboard (an object, or JSON text in
/// a form); other keyboards are not part of the Message Telegram returns.
fn inline_markup(params: &Map<String, Value>) -> Option<Value> {
    let markup = match params.get("reply_markup")? {
        Value::String(text) => serde_json::from_str(text).ok()?,
        other => other.clone(),
    };
    markup.get("inline_keyboard")?.as_array()?;
    Some(markup)
}

fn as_i64(value: &Value) -> Option<i64> {
    value
        .as_i64()
        .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()))
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use teloxide::prelude::*;
    use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup, UpdateKind};

    use super::*;

    const TOKEN: &str = "4242:unit-test";

    /// A started API for chat 7 and what it printed.
    async fn api() -> (BotApi, Server, Arc<Mutex<Vec<String>>>) {
        let printed = Arc::new(Mutex::new(Vec::new()));
        let screen = {
            let printed = Arc::clone(&printed);
            Screen::new(move |block| printed.lock().unwrap().push(block.to_owned()))
        };
        let person = Person {
            first_name: "Ada".into(),
            language_code: Some("en".into()),
        };
        let bot = Identity {
            token: TOKEN.into(),
            username: "meteobot".into(),
        };
        let (api, server) = BotApi::start(7, person, bot, screen).await.unwrap();
        (api, server, printed)
    }

    fn bot(api: &BotApi) -> Bot {
        Bot::new(TOKEN).set_api_url(api.url())
    }

    fn update(text: &str) -> Value {
        json!({ "message": { "text": text } })
    }

    #[test]
    fn offset_confirms_what_came_before_and_a_negative_one_keeps_the_last() {
        let mut chat = Chat::default();
        let ids: Vec<i64> = (0..5)
            .map(|i| chat.enqueue(&update(&i.to_string())).unwrap())
            .collect();
        assert_eq!(ids, [1, 2, 3, 4, 5]);
        // Served again until confirmed, `limit` at a time.
        assert_eq!(chat.batch(2).len(), 2);
        assert_eq!(chat.batch(2)[0]["update_id"], 1);
        assert_eq!(chat.confirm(0), 0, "offset 0 confirms nothing");
        assert_eq!(chat.confirm(3), 2);
        assert_eq!(chat.batch(100)[0]["update_id"], 3);
        assert_eq!(chat.confirm(-1), 2, "-1 keeps the newest");
        assert_eq!(chat.batch(100)[0]["update_id"], 5);
        assert_eq!(chat.confirm(6), 1);
        assert_eq!(chat.queued(), 0);
        // Ids go on increasing after a drained queue.
        assert_eq!(chat.enqueue(&update("x")), Some(6));
    }

    #[test]
    fn the_queue_and_the_kept_messages_are_bounded() {
        let mut chat = Chat::default();
        for _ in 0..MAX_QUEUED_UPDATES {
            assert!(chat.enqueue(&update("x")).is_some());
        }
        assert_eq!(chat.enqueue(&update("one too many")), None);
        chat.confirm(2);
        assert!(chat.enqueue(&update("room again")).is_some());

        for id in 1..=(KEPT_MESSAGES as i64 + 10) {
            chat.remember(json!({ "message_id": id, "chat": { "id": 7 } }));
        }
        assert_eq!(chat.messages.len(), KEPT_MESSAGES);
        assert!(chat.message(7, 10).is_none());
        assert!(chat.message(7, 11).is_some());
    }

    #[tokio::test]
    async fn a_long_poll_waits_for_an_update_and_answers_it_at_once() {
        let (api, _server, _) = api().await;
        let bot = bot(&api);
        // Nothing queued: an empty answer once the timeout ends.
        let started = Instant::now();
        let none = bot.get_updates().timeout(1).await.unwrap();
        assert!(none.is_empty());
        assert!(started.elapsed() >= Duration::from_millis(900));
        // A long poll in flight answers as soon as the person types.
        let poll = tokio::spawn({
            let bot = bot.clone();
            async move { bot.get_updates().timeout(30).await }
        });
        tokio::task::yield_now().await;
        let typed = api.say("/start now").await;
        let updates = tokio::time::timeout(Duration::from_secs(5), poll)
            .await
            .expect("answered well before the timeout")
            .unwrap()
            .unwrap();
        assert_eq!(updates.len(), 1);
        let UpdateKind::Message(message) = &updates[0].kind else {
            panic!("{:?}", updates[0].kind);
        };
        assert_eq!(message.id.0, typed as i32);
        assert_eq!(message.chat.id, ChatId(7));
        assert!(message.chat.is_private());
        assert_eq!(message.text(), Some("/start now"));
        let entities = message.entities().unwrap();
        assert_eq!((entities[0].offset, entities[0].length), (0, 6));
        // Not confirmed: served again; an offset past it confirms it.
        let again = bot.get_updates().await.unwrap();
        assert_eq!(again[0].id, updates[0].id);
        assert!(!api.drained(Duration::ZERO).await);
        let after = bot
            .get_updates()
            .offset(updates[0].id.as_offset())
            .await
            .unwrap();
        assert!(after.is_empty());
        assert!(api.drained(Duration::ZERO).await);
    }

    #[tokio::test]
    async fn the_timeout_is_capped_and_updates_arriving_during_it_are_served() {
        let (api, _server, _) = api().await;
        let bot = bot(&api);
        // A long poll longer than the cap still answers within it.
        let started = Instant::now();
        assert!(bot.get_updates().timeout(3600).await.unwrap().is_empty());
        assert!(started.elapsed() < MAX_LONG_POLL + Duration::from_secs(3));
        // `limit` is honoured.
        for text in ["a", "b", "c"] {
            api.say(text).await;
        }
        let two = bot.get_updates().limit(2).await.unwrap();
        assert_eq!(two.len(), 2);
        let rest = bot
            .get_updates()
            .offset(two[1].id.as_offset())
            .await
            .unwrap();
        assert_eq!(rest.len(), 1);
    }

    #[tokio::test]
    async fn sent_messages_print_and_their_buttons_are_pressed_by_number() {
        let (api, _server, printed) = api().await;
        let bot = bot(&api);
        // Before any button: numbers are not presses.
        assert_eq!(api.press(1).await, Press::NoButtons);
        let keyboard = InlineKeyboardMarkup::new([
            vec![
                InlineKeyboardButton::callback("Yes", "rain:1"),
                InlineKeyboardButton::callback("No", "rain:0"),
            ],
            vec![InlineKeyboardButton::url(
                "Docs",
                "https://example.org/".parse().unwrap(),
            )],
        ]);
        let asked = bot
            .send_message(ChatId(7), "Alert me when it rains?")
            .reply_markup(keyboard)
            .await
            .unwrap();
        assert!(asked.reply_markup().is_some());
        // A message without buttons leaves the last buttons pressable.
        bot.send_message(ChatId(7), "🌡 Rome, IT: 35 °C")
            .disable_notification(true)
            .await
            .unwrap();
        assert_eq!(
            printed.lock().unwrap().clone(),
            [
                "bot> Alert me when it rains?\n  [1] Yes\n  [2] No\n  [3] Docs\n",
                "bot (silent)> 🌡 Rome, IT: 35 °C\n"
            ]
        );
        assert_eq!(api.press(0).await, Press::OutOfRange { count: 3 });
        assert_eq!(api.press(4).await, Press::OutOfRange { count: 3 });
        assert_eq!(
            api.press(3).await,
            Press::NotForTheBot {
                label: "Docs".into(),
                url: Some("https://example.org/".into())
            }
        );
        assert!(api.drained(Duration::ZERO).await, "nothing was sent");
        assert_eq!(api.press(2).await, Press::Pressed { label: "No".into() });
        let updates = bot.get_updates().await.unwrap();
        let UpdateKind::CallbackQuery(query) = &updates[0].kind else {
            panic!("{:?}", updates[0].kind);
        };
        assert_eq!(query.data.as_deref(), Some("rain:0"));
        assert_eq!(query.from.id.0, 7);
        let message = query.regular_message().expect("the message it belongs to");
        assert_eq!(message.id, asked.id);
        assert_eq!(message.text(), Some("Alert me when it rains?"));
        bot.answer_callback_query(query.id.clone()).await.unwrap();

        // An edit without a keyboard takes the buttons away.
        let edited = bot
            .edit_message_text(ChatId(7), asked.id, "Rain: no")
            .await
            .unwrap();
        assert_eq!(edited.text(), Some("Rain: no"));
        assert_eq!(
            printed.lock().unwrap().last().unwrap(),
            "bot (edited)> Rain: no\n"
        );
        assert_eq!(api.press(1).await, Press::NoButtons);
    }

    #[tokio::test]
    async fn refusals_have_telegrams_shape() {
        let (api, _server, printed) = api().await;
        let bot = bot(&api);
        let client = reqwest::Client::new();
        let call = |method: &str, body: Value| {
            let url = format!("{}bot{TOKEN}/{method}", api.url());
            let request = client.post(url).json(&body);
            async move {
                let response = request.send().await.unwrap();
                (
                    response.status().as_u16(),
                    response.json::<Value>().await.unwrap(),
                )
            }
        };
        let (status, body) = call("sendMessage", json!({ "chat_id": 7, "text": " " })).await;
        assert_eq!(status, 400);
        assert_eq!(
            body,
            json!({ "ok": false, "error_code": 400, "description": "Bad Request: message text is empty" })
        );
        let long = "x".repeat(MAX_TEXT + 1);
        let (status, body) = call("sendMessage", json!({ "chat_id": 7, "text": long })).await;
        assert_eq!(
            (status, body["description"].as_str()),
            (400, Some("Bad Request: message is too long"))
        );
        let (status, _) = call(
            "editMessageText",
            json!({ "chat_id": 7, "message_id": 99, "text": "x" }),
        )
        .await;
        assert_eq!(status, 400);
        let (status, _) = call("deleteMessage", json!({ "chat_id": 7, "message_id": 99 })).await;
        assert_eq!(status, 400);
        let (status, body) = call("sendSticker", json!({ "chat_id": 7 })).await;
        assert_eq!((status, body["ok"].as_bool()), (404, Some(false)));
        // Another token is not this bot.
        let url = format!("{}bot1:other/getMe", api.url());
        assert_eq!(client.post(url).send().await.unwrap().status(), 401);
        // teloxide reads the same refusals as Telegram's.
        let sent = bot.send_message(ChatId(7), "same").await.unwrap();
        let unchanged = bot.edit_message_text(ChatId(7), sent.id, "same").await;
        assert!(
            matches!(
                unchanged,
                Err(teloxide::RequestError::Api(
                    teloxide::ApiError::MessageNotModified
                ))
            ),
            "{unchanged:?}"
        );
        bot.delete_message(ChatId(7), sent.id).await.unwrap();
        assert_eq!(
            printed.lock().unwrap().last().unwrap(),
            "bot (deleted its message)\n"
        );
        let me = bot.get_me().await.unwrap();
        assert_eq!((me.id.0, me.username()), (4242, "meteobot"));
    }
}
