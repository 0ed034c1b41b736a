use std::sync::Mutex;

use serde_json::{Value, json};
use teloxide::prelude::*;
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup, UpdateKind};
use tokio::time::Instant;

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
