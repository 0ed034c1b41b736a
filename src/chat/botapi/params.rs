//! Reading a request's parameters, whatever the body's encoding, and the
//! checks Telegram makes on them.

use axum::extract::{FromRequest, Multipart, Request};
use axum::http::header;
use serde_json::{Map, Value, json};

use super::super::screen::plain_html;
use super::requests::{Refusal, bad_request, refuse};
use super::{MAX_BODY, MAX_TEXT};

/// The request's parameters: JSON (teloxide), urlencoded or multipart
/// fields (uploaded files are read and dropped), and the query string.
pub(super) async fn params(request: Request) -> Result<Map<String, Value>, Refusal> {
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

/// `chat_id`: a number (or a numeric string).
pub(super) fn chat_id(params: &Map<String, Value>) -> Result<i64, Refusal> {
    match params.get("chat_id") {
        None | Some(Value::Null) => Err(bad_request("chat_id is empty")),
        Some(value) => as_i64(value)
            .filter(|id| *id != 0)
            .ok_or_else(|| bad_request("chat not found")),
    }
}

/// A text parameter as shown (HTML `parse_mode` read as plain text); `None`
/// when absent or blank; over [`MAX_TEXT`] is refused.
pub(super) fn text_param(
    params: &Map<String, Value>,
    name: &str,
) -> Result<Option<String>, Refusal> {
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
pub(super) fn inline_markup(params: &Map<String, Value>) -> Option<Value> {
    let markup = match params.get("reply_markup")? {
        Value::String(text) => serde_json::from_str(text).ok()?,
        other => other.clone(),
    };
    markup.get("inline_keyboard")?.as_array()?;
    Some(markup)
}

pub(super) fn as_i64(value: &Value) -> Option<i64> {
    value
        .as_i64()
        .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()))
}
