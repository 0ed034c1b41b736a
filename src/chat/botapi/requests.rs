//! Serving the HTTP methods: the token check, Telegram's answer shapes,
//! long polling and the method table.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use tokio::time::Instant;

use super::messages::{
    answer_callback_query, delete_message, edit_message, send_message, send_photo,
};
use super::params::{as_i64, chat_id, params};
use super::state::Chat;
use super::{MAX_LONG_POLL, Shared};

/// What Telegram answers instead of a result:
/// `{"ok":false,"error_code":code,"description":…}` with HTTP `code`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Refusal {
    code: u16,
    description: String,
}

pub(super) fn refuse(code: u16, description: impl Into<String>) -> Refusal {
    Refusal {
        code,
        description: description.into(),
    }
}

/// 400 "Bad Request: …", Telegram's answer to most bad parameters.
pub(super) fn bad_request(what: impl std::fmt::Display) -> Refusal {
    refuse(400, format!("Bad Request: {what}"))
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.code).unwrap_or(StatusCode::BAD_REQUEST);
        let body = json!({ "ok": false, "error_code": self.code, "description": self.description });
        (status, axum::Json(body)).into_response()
    }
}

pub(super) type Answer = Result<Value, Refusal>;

fn ok(result: Value) -> Response {
    (
        StatusCode::OK,
        axum::Json(json!({ "ok": true, "result": result })),
    )
        .into_response()
}

pub(super) async fn handle(
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
