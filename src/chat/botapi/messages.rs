//! The methods that send, edit and delete the bot's messages, and answer
//! button presses; each prints what it did on the screen.

use serde_json::{Map, Value, json};

use super::super::screen::message_block;
use super::Shared;
use super::params::{as_i64, chat_id, inline_markup, text_param};
use super::requests::{Answer, bad_request};
use super::shapes::unix_now;
use super::state::Chat;

pub(super) fn send_message(
    shared: &Shared,
    state: &mut Chat,
    params: &Map<String, Value>,
) -> Answer {
    let chat = chat_id(params)?;
    let text = text_param(params, "text")?.ok_or_else(|| bad_request("message text is empty"))?;
    let mut message = bot_message(shared, state, chat, params);
    message["text"] = json!(text);
    Ok(deliver(shared, state, message, params))
}

pub(super) fn send_photo(shared: &Shared, state: &mut Chat, params: &Map<String, Value>) -> Answer {
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

pub(super) fn edit_message(
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

pub(super) fn delete_message(
    shared: &Shared,
    state: &mut Chat,
    params: &Map<String, Value>,
) -> Answer {
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

pub(super) fn answer_callback_query(shared: &Shared, params: &Map<String, Value>) -> Answer {
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
