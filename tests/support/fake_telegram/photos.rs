//! `sendPhoto` with an uploaded file, as the Bot API takes it: a multipart
//! body whose `photo` is a file part (or `attach://<name>` naming one); the
//! answer is a `Message` with a `photo` array of `PhotoSize`s (a thumbnail
//! and the original) and the caption. The uploaded bytes are kept for the
//! test to decode.

use axum::http::{HeaderMap, header};
use axum::response::Response;
use serde_json::{Map, Value, json};
use tokio::time::Instant;

use super::{
    FakeTelegram, Inner, Reply, as_i64, error, message_json, migrated, next_reply, ok,
    too_many_requests,
};

/// A photo the fake accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct Photo {
    pub message_id: i64,
    pub chat_id: i64,
    pub caption: Option<String>,
    pub file_name: Option<String>,
    /// The uploaded file, byte for byte.
    pub bytes: Vec<u8>,
    pub at: Instant,
}

/// One file part of a multipart body.
pub(super) struct FilePart {
    name: String,
    file_name: Option<String>,
    bytes: Vec<u8>,
}

impl FakeTelegram {
    /// The photos accepted for `chat`, oldest first.
    pub fn photos_to(&self, chat: i64) -> Vec<Photo> {
        self.lock()
            .photos
            .iter()
            .filter(|p| p.chat_id == chat)
            .cloned()
            .collect()
    }
}

/// The file parts of a `multipart/form-data` body (none for other bodies),
/// read as bytes: an image is not text.
pub(super) fn file_parts(headers: &HeaderMap, body: &[u8]) -> Vec<FilePart> {
    let Some(boundary) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.starts_with("multipart/form-data"))
        .and_then(|v| v.split_once("boundary="))
        .map(|(_, b)| format!("--{}", b.trim_matches('"')))
    else {
        return Vec::new();
    };
    split(body, boundary.as_bytes())
        .into_iter()
        .filter_map(|part| {
            let head_end = find(part, b"\r\n\r\n")?;
            let head = String::from_utf8_lossy(&part[..head_end]);
            let name = head.split("name=\"").nth(1)?.split('"').next()?.to_owned();
            let file_name = head
                .split("filename=\"")
                .nth(1)
                .and_then(|s| s.split('"').next())
                .map(str::to_owned);
            // Only parts sent as files; text fields are in `params`.
            let is_file = file_name.is_some() || head.contains("application/octet-stream");
            let content = &part[head_end + 4..];
            let content = content.strip_suffix(b"\r\n").unwrap_or(content);
            is_file.then(|| FilePart {
                name,
                file_name,
                bytes: content.to_vec(),
            })
        })
        .collect()
}

pub(super) fn send_photo(
    inner: &mut Inner,
    params: &Map<String, Value>,
    files: Vec<FilePart>,
    at: Instant,
) -> Response {
    let chat_id = params.get("chat_id").and_then(as_i64);
    // The file by its field name, or by the name `attach://` gives.
    let wanted = match params.get("photo").and_then(Value::as_str) {
        Some(v) if v.starts_with("attach://") => v.trim_start_matches("attach://").to_owned(),
        _ => "photo".to_owned(),
    };
    let file = files.into_iter().find(|f| f.name == wanted);
    // The log keeps the text fields, not the image.
    let mut logged = params.clone();
    logged.remove(&wanted);
    let reply = match (chat_id, &file) {
        (Some(chat), Some(_)) => next_reply(inner, chat, at),
        (None, _) => Reply::chat_not_found(),
        (_, None) => Reply::error(400, "Bad Request: there is no photo in the request"),
    };
    match reply {
        Reply::RetryAfter(seconds) => {
            inner.log("sendPhoto", chat_id, 429, &logged, at);
            too_many_requests(seconds)
        }
        Reply::Error { code, description } => {
            inner.log("sendPhoto", chat_id, code, &logged, at);
            error(code, &description)
        }
        Reply::MigrateTo(to) => {
            inner.log("sendPhoto", chat_id, 400, &logged, at);
            migrated(to)
        }
        Reply::Accept => {
            let (chat, file) = (chat_id.unwrap_or_default(), file.expect("checked above"));
            let message_id = inner.new_message_id();
            inner.log("sendPhoto", chat_id, 200, &logged, at);
            inner.window.push_back(at);
            inner.last_to_chat.insert(chat, at);
            let caption = params
                .get("caption")
                .and_then(Value::as_str)
                .map(str::to_owned);
            let mut message = message_json(message_id, chat, "");
            if let Some(object) = message.as_object_mut() {
                object.remove("text");
            }
            message["photo"] = photo_sizes(message_id, &file.bytes);
            if let Some(caption) = &caption {
                message["caption"] = json!(caption);
            }
            inner.photos.push(Photo {
                message_id,
                chat_id: chat,
                caption,
                file_name: file.file_name,
                bytes: file.bytes,
                at,
            });
            ok(message)
        }
    }
}

/// A 90-pixel-wide thumbnail and the original, its size read from a PNG
/// header (Telegram re-encodes as JPEG; the sizes are what matters here).
fn photo_sizes(message_id: i64, bytes: &[u8]) -> Value {
    let (width, height) = png_size(bytes).unwrap_or((0, 0));
    let thumb_height = (height * 90).checked_div(width).unwrap_or(0);
    json!([
        { "file_id": format!("photo-{message_id}-s"), "file_unique_id": format!("u{message_id}s"),
          "width": 90, "height": thumb_height, "file_size": bytes.len() / 20 },
        { "file_id": format!("photo-{message_id}"), "file_unique_id": format!("u{message_id}"),
          "width": width, "height": height, "file_size": bytes.len() },
    ])
}

fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
    if bytes.len() < 24 || &bytes[..8] != b"\x89PNG\r\n\x1a\n" || &bytes[12..16] != b"IHDR" {
        return None;
    }
    let be =
        |at: usize| u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    Some((be(16), be(20)))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The parts between `boundary` lines.
fn split<'a>(body: &'a [u8], boundary: &[u8]) -> Vec<&'a [u8]> {
    let mut parts = Vec::new();
    let mut rest = body;
    while let Some(at) = find(rest, boundary) {
        if !parts.is_empty() || at > 0 {
            parts.push(&rest[..at]);
        }
        rest = &rest[at + boundary.len()..];
    }
    parts
}
