//! Webhook mode (issue 11): with `WEBHOOK_URL`, Telegram POSTs each update
//! to the admin port at that URL's path instead of the bot long-polling.
//!
//! - The route ([`WebhookMode::serve`]) checks `X-Telegram-Bot-Api-Secret-Token`
//!   (401 otherwise, compared in constant time, never logged), reads at most
//!   [`BODY_LIMIT`] (413), parses an `Update` (400 otherwise, nothing
//!   recorded), records it in `inbound_updates` keyed by `update_id` (a
//!   second delivery changes nothing) and answers 200 only after the commit:
//!   a crash after the answer loses nothing. A failed write is 503, which
//!   Telegram retries.
//! - The consumer ([`consumer::run`], the supervised `webhook` worker) calls
//!   `setWebhook` at start (the URL, the same fixed secret, the update kinds
//!   of [`allowed_updates`]) and never `deleteWebhook`; then it claims
//!   recorded updates — the oldest unhandled of each chat, under a lease —
//!   and runs each through the very handler tree of long polling
//!   ([`crate::bot::schema`]) with the dependencies teloxide's Dispatcher
//!   injects. See docs/ARCHITECTURE.md, "Webhook mode".

pub mod consumer;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use reqwest::Url;
use teloxide::types::{AllowedUpdate, Update};
use tokio::sync::Notify;

use crate::clock::SharedClock;
use crate::config::Config;
use crate::secret::Secret;
use crate::store::Store;

/// Webhook bodies above this are refused with 413 (Telegram's updates are a
/// few KiB).
pub const BODY_LIMIT: usize = 1024 * 1024;
/// The header Telegram carries the secret in.
pub const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

/// The update kinds the handler tree ([`crate::bot::schema`]) filters on:
/// what long polling asks for too (teloxide's Dispatcher derives its
/// `allowed_updates` from the tree; tests/webhook.rs holds the two equal).
/// A fixed list, so every replica sets the same.
pub fn allowed_updates() -> Vec<AllowedUpdate> {
    vec![
        AllowedUpdate::Message,
        AllowedUpdate::CallbackQuery,
        AllowedUpdate::MyChatMember,
    ]
}

/// Webhook mode's settings and the bell the route rings for the consumer.
#[derive(Clone)]
pub struct WebhookMode {
    pub url: Url,
    pub secret: Secret,
    /// Rung after each recorded update.
    pub wake: Arc<Notify>,
}

impl WebhookMode {
    /// `Some` when `WEBHOOK_URL` is set (the configuration guarantees a
    /// secret then).
    pub fn from_config(config: &Config) -> Option<Self> {
        Some(Self {
            url: config.webhook_url.clone()?,
            secret: config.webhook_secret.clone()?,
            wake: Arc::new(Notify::new()),
        })
    }

    /// `router` with POSTs to the webhook's path taken by the webhook, ahead
    /// of every admin route (so no admin path can shadow it, nor a clash
    /// panic); every other request goes on to `router`.
    pub fn serve(&self, router: Router, store: Store, clock: SharedClock) -> Router {
        let receiver = Receiver {
            path: Arc::from(self.url.path()),
            secret: self.secret.clone(),
            store,
            wake: Arc::clone(&self.wake),
            clock,
        };
        router.layer(middleware::from_fn_with_state(receiver, intercept))
    }
}

#[derive(Clone)]
struct Receiver {
    path: Arc<str>,
    secret: Secret,
    store: Store,
    wake: Arc<Notify>,
    clock: SharedClock,
}

async fn intercept(State(receiver): State<Receiver>, request: Request, next: Next) -> Response {
    if request.method() != Method::POST || request.uri().path() != &*receiver.path {
        return next.run(request).await;
    }
    receiver.receive(request).await
}

impl Receiver {
    async fn receive(&self, request: Request) -> Response {
        let given = request
            .headers()
            .get(SECRET_HEADER)
            .map(|v| v.as_bytes())
            .unwrap_or_default();
        if !constant_time_eq(given, self.secret.expose().as_bytes()) {
            tracing::debug!("webhook request without the right secret token: 401");
            return answer(StatusCode::UNAUTHORIZED, "wrong or missing secret token");
        }
        let Ok(body) = axum::body::to_bytes(request.into_body(), BODY_LIMIT).await else {
            return answer(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body too large or unreadable",
            );
        };
        let update: Update = match serde_json::from_slice(&body) {
            Ok(update) => update,
            Err(e) => {
                tracing::warn!(error = %e, "webhook body is not an update: 400");
                return answer(StatusCode::BAD_REQUEST, "not a Telegram update");
            }
        };
        // Valid JSON, hence UTF-8.
        let Ok(text) = std::str::from_utf8(&body) else {
            return answer(StatusCode::BAD_REQUEST, "not a Telegram update");
        };
        let update_id = i64::from(update.id.0);
        let now_ms = self.clock.now().timestamp_millis();
        match self
            .store
            .record_inbound(update_id, chat_key(&update), text, now_ms)
            .await
        {
            Ok(new) => {
                if new {
                    self.wake.notify_one();
                } else {
                    tracing::debug!(update_id, "update delivered again: already recorded");
                }
                answer(StatusCode::OK, "recorded")
            }
            Err(e) => {
                tracing::error!(
                    update_id,
                    error = format!("{e:#}"),
                    "cannot record an update: 503"
                );
                answer(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "cannot record the update now",
                )
            }
        }
    }
}

/// The key that orders an update among others: its chat, else its user,
/// else 0 (updates of neither are handled one at a time among themselves).
pub fn chat_key(update: &Update) -> i64 {
    update
        .chat()
        .map(|c| c.id.0)
        .or_else(|| update.from().and_then(|u| i64::try_from(u.id.0).ok()))
        .unwrap_or(0)
}

fn answer(status: StatusCode, what: &'static str) -> Response {
    let body = serde_json::json!({ "ok": status.is_success(), "description": what });
    (
        status,
        [("content-type", "application/json")],
        Body::from(body.to_string()),
    )
        .into_response()
}

/// Equal, in a time that depends on the lengths only.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_compare_exactly() {
        assert!(constant_time_eq(b"s3cret_-", b"s3cret_-"));
        assert!(!constant_time_eq(b"s3cret_-", b"s3cret_+"));
        assert!(!constant_time_eq(b"s3cret", b"s3cret-"));
        assert!(!constant_time_eq(b"", b"s"));
    }

    #[test]
    fn updates_are_keyed_by_chat_or_user() {
        // As the route reads them: from text.
        let parse =
            |v: serde_json::Value| -> Update { serde_json::from_str(&v.to_string()).unwrap() };
        let message = parse(serde_json::json!({
            "update_id": 5,
            "message": {
                "message_id": 1, "date": 0, "text": "hi",
                "chat": { "id": -100, "type": "supergroup", "title": "g" },
                "from": { "id": 7, "is_bot": false, "first_name": "A" }
            }
        }));
        assert_eq!(chat_key(&message), -100);
        let inline = parse(serde_json::json!({
            "update_id": 6,
            "callback_query": {
                "id": "q", "chat_instance": "c", "data": "x",
                "from": { "id": 7, "is_bot": false, "first_name": "A" }
            }
        }));
        assert_eq!(chat_key(&inline), 7);
    }
}
