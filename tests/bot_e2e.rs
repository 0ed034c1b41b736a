//! End to end over the Bot API: the whole app (real teloxide `Dispatcher`
//! with long polling, poller, notifier, SQLite) against a fake Bot API on
//! loopback and a fake weather upstream, driven the way a user drives it —
//! updates served by `getUpdates`, answers read from `sendMessage`.
//! Every wait is bounded; nothing asserts on timing.

mod support;

use std::time::{Duration, Instant};

use meteobot::domain::ChatId;
use meteobot::secret::Secret;
use meteobot::store::Store;
use serde_json::json;
use support::fake_telegram::{Deleted, FakeTelegram, TOKEN};
use support::fake_weather::FakeForecast;
use support::{AppHome, spawn_app_with};

/// The longest any single expected event may take on a loaded machine.
const WAIT: Duration = Duration::from_secs(20);

const ROME: (&str, &str, f64, f64, u64) = ("Rome", "IT", 41.89193, 12.51133, 2_318_895);

fn bot_config(telegram: &FakeTelegram) -> impl FnOnce(&mut meteobot::config::Config) + use<> {
    let api = telegram.url();
    move |c| {
        c.telegram_token = Some(Secret::new(TOKEN));
        c.telegram_api_url = Some(api);
        c.poll_interval = Duration::from_millis(200);
    }
}

/// One user's private chat with the bot: what they say goes out as updates,
/// the bot's answers are read strictly in order.
struct Conversation<'a> {
    telegram: &'a FakeTelegram,
    chat: i64,
    /// How many of the bot's messages were read.
    seen: usize,
}

impl<'a> Conversation<'a> {
    fn new(telegram: &'a FakeTelegram, chat: i64) -> Self {
        Self {
            telegram,
            chat,
            seen: 0,
        }
    }

    /// Sends `text`; returns the message's id.
    fn says(&self, text: &str) -> i64 {
        self.telegram.user_says(self.chat, text)
    }

    /// Presses the newest button carrying `data`.
    fn presses(&self, data: &str) {
        self.telegram.press(self.chat, data);
    }

    /// The bot's next message (bounded wait).
    async fn next(&mut self) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let texts = self.telegram.texts_to(self.chat);
            if let Some(text) = texts.get(self.seen) {
                self.seen += 1;
                return text.clone();
            }
            assert!(
                Instant::now() < deadline,
                "chat {}: no message #{} from the bot within {WAIT:?}; so far: {texts:#?}",
                self.chat,
                self.seen + 1,
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The bot's next message, which must contain `needle`.
    async fn expect(&mut self, needle: &str) -> String {
        let text = self.next().await;
        assert!(
            text.contains(needle),
            "chat {}: expected a message containing {needle:?}, got {text:?}; all: {:#?}",
            self.chat,
            self.telegram.texts_to(self.chat),
        );
        text
    }
}

/// Waits (bounded) until `cond` holds; `what` names it in the panic.
async fn wait_until(what: &str, mut cond: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !cond().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The `active` flag of each of the chat's subscriptions.
async fn activity(store: &Store, chat: i64) -> Vec<bool> {
    store
        .subscriptions_of_chat(ChatId::new(chat).unwrap())
        .await
        .unwrap()
        .iter()
        .map(|s| s.active)
        .collect()
}

#[tokio::test]
async fn start_register_subscribe_and_the_alert_arrives_in_that_chat() {
    let telegram = FakeTelegram::start().await;
    let bot = bot_config(&telegram);
    let app = spawn_app_with(move |c| {
        bot(c);
        // The subscription is stored before its (paced) reply goes out, so
        // the first fetch of Rome may come before the heat: refresh often,
        // and the alert follows the next refresh.
        c.weather_refresh = Duration::from_millis(200);
        c.weather_daily_budget = Some(1_000_000.0);
    })
    .await;
    let forecast = FakeForecast::mount(&app.weather).await;
    forecast.temperature(20.0);
    app.geocoding("Rome", &[ROME]).await;

    let chat = 777_001;
    let mut ada = Conversation::new(&telegram, chat);

    ada.says("/start");
    let hello = ada.expect("Hello Ada!").await;
    assert!(
        hello.contains("/subscribe") && hello.contains("/register"),
        "{hello}"
    );

    ada.says("/register");
    ada.expect("Choose a username").await;
    ada.says("ada");
    ada.expect("Now a password").await;
    let password = ada.says("s3cret-pw");
    ada.expect("✅ Account ada created.").await;
    // The bot deletes the password before it answers.
    assert_eq!(
        telegram.deleted(),
        [Deleted {
            chat_id: chat,
            message_id: password
        }]
    );
    // The account is real: the REST API takes that password.
    let (status, body) = app
        .post_json(
            "/login",
            json!({ "username": "ada", "password": "s3cret-pw" }),
        )
        .await;
    assert_eq!((status, body["state"].as_i64()), (200, Some(0)), "{body}");

    ada.says("/subscribe Rome 5 30 no no");
    let subscribed = ada.expect("✅ Subscribed #1: Rome").await;
    assert!(subscribed.contains("IT"), "{subscribed}");

    forecast.temperature(35.0);
    let alert = ada.next().await;
    assert_eq!(alert, "🌡 Rome, IT: 35 °C — above your maximum of 30 °C.");

    // On start the bot set its menu in English and Italian.
    for lang in [None, Some("it")] {
        let menu = telegram
            .my_commands(lang)
            .unwrap_or_else(|| panic!("no command menu for {lang:?}"));
        assert!(
            menu.iter().any(|(c, _)| c == "subscribe"),
            "{lang:?}: {menu:?}"
        );
    }
    // The fake knew every method the app called, and refused none.
    let refused: Vec<_> = telegram
        .requests()
        .into_iter()
        .filter(|r| r.status != 200)
        .map(|r| (r.method, r.status))
        .collect();
    assert!(refused.is_empty(), "{refused:?}");
    // Every update was taken and confirmed by a later offset.
    wait_until("every update confirmed", async || {
        telegram.unconfirmed() == 0
    })
    .await;
}

#[tokio::test]
async fn a_restart_mid_dialogue_continues_the_dialogue_from_sqlite() {
    let telegram = FakeTelegram::start().await;
    let home = AppHome::new(bot_config(&telegram)).await;
    home.geocoding("Rome", &[ROME]).await;
    FakeForecast::mount(&home.weather).await;

    let chat = 777_002;
    let mut ada = Conversation::new(&telegram, chat);

    let first = home.start().await;
    ada.says("/subscribe");
    ada.expect("Which city?").await;
    ada.says("Rome");
    ada.expect("Minimum temperature").await;
    first.stop().await;
    // The stopping dispatcher confirmed what it had handled: nothing is
    // served twice to the next instance.
    assert_eq!(telegram.unconfirmed(), 0);

    let second = home.start().await;
    ada.says("5");
    ada.expect("Maximum temperature").await;
    ada.says("30");
    ada.expect("Alert me when it rains?").await;
    ada.presses("rain:0");
    ada.expect("Alert me when it snows?").await;
    ada.presses("snow:0");
    ada.expect("Shall I warn you ahead").await;
    ada.presses("ahead:off");
    ada.expect("Please confirm:").await;
    ada.presses("confirm");
    ada.expect("✅ Subscribed #1: Rome").await;

    let subs = second
        .store
        .subscriptions_of_chat(ChatId::new(chat).unwrap())
        .await
        .unwrap();
    assert_eq!(subs.len(), 1, "{subs:?}");
    let sub = &subs[0];
    assert_eq!(
        (sub.city.as_str(), sub.t_min, sub.t_max, sub.rain, sub.snow),
        ("Rome", Some(5.0), Some(30.0), false, false)
    );
    // Each button press was answered (no spinner left on the user's client).
    assert_eq!(telegram.answered_callbacks().len(), 4);
    second.stop().await;
}

#[tokio::test]
async fn blocking_the_bot_pauses_the_chats_subscriptions_and_unblocking_resumes_them() {
    let telegram = FakeTelegram::start().await;
    let app = spawn_app_with(bot_config(&telegram)).await;
    FakeForecast::mount(&app.weather).await;
    app.geocoding("Rome", &[ROME]).await;

    let (chat, neighbour) = (777_003, 777_004);
    let mut ada = Conversation::new(&telegram, chat);
    let mut bob = Conversation::new(&telegram, neighbour);
    ada.says("/subscribe Rome 5 30 no no");
    ada.expect("✅ Subscribed #").await;
    ada.says("/subscribe Rome - 35 yes no");
    ada.expect("✅ Subscribed #").await;
    bob.says("/subscribe Rome 0 28 no no");
    bob.expect("✅ Subscribed #").await;
    assert_eq!(activity(&app.store, chat).await, [true, true]);

    telegram.bot_blocked(chat);
    // Telegram delivers only the kinds the bot asked for in `allowed_updates`.
    wait_until("the update served", async || telegram.undelivered() == 0).await;
    assert!(
        telegram.not_allowed().is_empty(),
        "the bot's allowed_updates {:?} leave out {:?}",
        telegram.allowed_updates(),
        telegram.not_allowed()
    );
    wait_until("the blocked chat's subscriptions paused", async || {
        activity(&app.store, chat).await == [false, false]
    })
    .await;
    assert_eq!(activity(&app.store, neighbour).await, [true]);

    telegram.bot_unblocked(chat);
    wait_until("the unblocked chat's subscriptions resumed", async || {
        activity(&app.store, chat).await == [true, true]
    })
    .await;
    assert_eq!(activity(&app.store, neighbour).await, [true]);
}
