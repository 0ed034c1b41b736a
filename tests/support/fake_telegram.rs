//! A fake Telegram Bot API on loopback: real HTTP on a random port, so the
//! code under test runs its real teloxide `Bot` (`Bot::new(token).set_api_url(fake.url())`).
//!
//! It answers `sendMessage` (JSON or form bodies) with a `Message` teloxide
//! deserializes, and `getMe`; it records every request and every accepted
//! message; it can be scripted (the next replies, per chat or for any chat),
//! made to enforce Telegram's rate limits with 429s, and made slow.
//!
//! To add a method, add an arm to [`dispatch`] and a handler next to
//! [`send_message`]; shared state lives in [`Inner`].
#![allow(dead_code)] // each test crate uses a different part of this module

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
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// A token shaped like a real one (`<id>:<secret>`), so redaction is tested
/// against the real shape.
pub const TOKEN: &str = "123456789:AAE-fake-telegram-SECRET-token-xyz";
pub const BOT_ID: i64 = 123_456_789;
pub const BOT_USERNAME: &str = "meteobot_test_bot";

/// A scripted answer to one `sendMessage`.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// Accept the message (the default when nothing is scripted).
    Accept,
    /// 429 Too Many Requests with `parameters.retry_after`.
    RetryAfter(u32),
    /// `{"ok":false,"error_code":code,"description":description}` with HTTP `code`.
    Error { code: u16, description: String },
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
    /// Note: teloxide waits 10 s before reading any 5xx answer.
    pub fn server_error() -> Self {
        Self::error(500, "Internal Server Error")
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

#[derive(Default)]
struct Inner {
    next_message_id: i64,
    received: Vec<Received>,
    requests: Vec<Request>,
    /// Replies for any chat. A chat's own script wins over these; both win
    /// over enforcement; with nothing scripted or enforced: `Accept`.
    script: VecDeque<Reply>,
    chat_scripts: HashMap<i64, VecDeque<Reply>>,
    enforce: Option<Enforce>,
    /// Arrival times of accepted messages within the last second.
    window: VecDeque<Instant>,
    last_to_chat: HashMap<i64, Instant>,
    latency: Option<(Duration, Duration)>,
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
}

type Shared = Arc<Mutex<Inner>>;

pub struct FakeTelegram {
    addr: SocketAddr,
    inner: Shared,
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
        let inner: Shared = Arc::default();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fake Telegram");
        let addr = listener.local_addr().expect("fake Telegram address");
        let app = Router::new()
            .route("/{bot}/{method}", any(handle))
            .with_state(Arc::clone(&inner));
        let server = tokio::spawn(async move {
            axum::serve(listener, app)
                .await
                .expect("fake Telegram serves");
        });
        Self {
            addr,
            inner,
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
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
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

    /// Answer 429 like Telegram when sends come too fast.
    pub fn enforce_limits(&self, enforce: Enforce) {
        self.lock().enforce = Some(enforce);
    }

    /// Delay each answer by a random time in `min..=max` (the request is
    /// counted on arrival, like at Telegram).
    pub fn set_latency(&self, min: Duration, max: Duration) {
        self.lock().latency = Some((min, max.max(min)));
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

    /// How many 429s it answered.
    pub fn count_429(&self) -> usize {
        self.lock()
            .requests
            .iter()
            .filter(|r| r.status == 429)
            .count()
    }
}

// ---- the server ----------------------------------------------------------

async fn handle(
    State(inner): State<Shared>,
    Path((bot, method)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let arrived = Instant::now();
    if bot.strip_prefix("bot") != Some(TOKEN) {
        return error(401, "Unauthorized");
    }
    let params = parse_params(&headers, &body);
    // A method that must wait (getUpdates' long polling) belongs here,
    // before the lock, awaiting a notification from the state.
    let (response, delay) = {
        let mut inner = inner.lock().unwrap_or_else(PoisonError::into_inner);
        let response = dispatch(&mut inner, &method, &params, arrived);
        (response, inner.latency.map(random_between))
    };
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    response
}

/// Routes a method. Bot API method names are case-insensitive (teloxide
/// sends `SendMessage`). Runs under the state lock, so a handler sees and
/// updates the state atomically (rate windows, scripts).
fn dispatch(inner: &mut Inner, method: &str, params: &Map<String, Value>, at: Instant) -> Response {
    match method.to_ascii_lowercase().as_str() {
        "sendmessage" => send_message(inner, params, at),
        "getme" => {
            inner.log(method, None, 200, params, at);
            ok(me())
        }
        _ => {
            inner.log(method, None, 404, params, at);
            error(404, "Not Found: method not found")
        }
    }
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
    let status = match &reply {
        Reply::Accept => 200,
        Reply::RetryAfter(_) => 429,
        Reply::Error { code, .. } => *code,
    };
    inner.log("sendMessage", chat_id, status, params, at);
    match reply {
        Reply::RetryAfter(seconds) => too_many_requests(seconds),
        Reply::Error { code, description } => error(code, &description),
        Reply::Accept => {
            let (chat, text) = (chat_id.unwrap_or_default(), text.unwrap_or_default());
            inner.next_message_id += 1;
            let message_id = inner.next_message_id;
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
    if is_form {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).unwrap_or_default();
        return pairs
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect();
    }
    serde_json::from_slice(body).unwrap_or_default()
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

fn bot_user() -> Value {
    json!({ "id": BOT_ID, "is_bot": true, "first_name": "Meteobot", "username": BOT_USERNAME })
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

fn too_many_requests(retry_after: u32) -> Response {
    let body = json!({
        "ok": false,
        "error_code": 429,
        "description": format!("Too Many Requests: retry after {retry_after}"),
        "parameters": { "retry_after": retry_after }
    });
    (StatusCode::TOO_MANY_REQUESTS, axum::Json(body)).into_response()
}
