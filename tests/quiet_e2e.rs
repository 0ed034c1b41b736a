//! End to end, living with alerts (issue 10): the whole app over the fake Bot
//! API and a fake Open-Meteo at 35 °C. Users subscribe, set their time zone
//! and quiet hours by typing in chat; an alert inside the quiet hours goes
//! out with `disable_notification` and the snooze/unsubscribe buttons, one
//! outside them with sound; pressing "🔕 3 h" under an alert is answered on
//! the press and keeps reminders away until the snooze ends.
//!
//! Time is driven, not waited for: the app's own poller runs its first
//! (empty) cycle at start and then not for a day; the test polls with a
//! `Poller` of its own (same store, a `Forecasts` over the same fake
//! upstream) at explicit instants, and the running app's notifier delivers
//! what those polls write. "No reminder" is read from the outbox right after
//! an explicit `poll_once`, never inferred from a pause.

mod support;

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use meteobot::alerts::Poller;
use meteobot::domain::{ChatId, ChatZone, QuietHours};
use meteobot::store::OutboxRow;
use serde_json::Value;
use support::TestApp;
use support::e2e::{BotApp, HOUR, bot_app, eventually, own_poller};
use support::fake_telegram::{FakeTelegram, Request};
use support::fake_weather::{FakeForecast, SeriesScript};

const ROME: (&str, &str, f64, f64, u64) = ("Rome", "IT", 41.89193, 12.51133, 2_318_895);
const HOT: &str = "🌡 Rome, IT: 35 °C — above your maximum of 30 °C.";

fn minutes(m: u64) -> Duration {
    Duration::from_secs(m * 60)
}

fn later(at: DateTime<Utc>, by: Duration) -> DateTime<Utc> {
    at + TimeDelta::from_std(by).unwrap()
}

struct Rig {
    telegram: FakeTelegram,
    app: TestApp,
    _fake: FakeForecast,
    poller: Poller,
}

/// The app with the bot, the upstream at 35 °C, and a poller of our own
/// reminding every `remind_every`.
async fn rig(remind_every: Duration) -> Rig {
    let BotApp {
        telegram,
        app,
        fake,
    } = bot_app(|_| {}).await;
    fake.set_series(SeriesScript::dry(35.0));
    app.geocoding("Rome", &[ROME]).await;
    let poller = own_poller(&app, HOUR, remind_every);
    Rig {
        telegram,
        app,
        _fake: fake,
        poller,
    }
}

/// Quiet hours from `from` to `to` (UTC instants, minute precision).
fn window(from: DateTime<Utc>, to: DateTime<Utc>) -> String {
    format!("{}-{}", from.format("%H:%M"), to.format("%H:%M"))
}

/// The rows of the inline keyboard as `(label, callback data)`.
fn keyboard(markup: &Value) -> Vec<Vec<(String, String)>> {
    // teloxide sends JSON; a form client would send the markup as a string.
    let markup = match markup {
        Value::String(s) => serde_json::from_str(s).unwrap(),
        other => other.clone(),
    };
    markup["inline_keyboard"]
        .as_array()
        .unwrap_or_else(|| panic!("no inline keyboard: {markup}"))
        .iter()
        .map(|row| {
            row.as_array()
                .unwrap()
                .iter()
                .map(|b| {
                    (
                        b["text"].as_str().unwrap_or_default().to_owned(),
                        b["callback_data"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
        .collect()
}

/// The three buttons under an alert of subscription `id`.
fn alert_buttons(id: i64) -> Vec<Vec<(String, String)>> {
    let b = |label: &str, data: String| (label.to_owned(), data);
    vec![
        vec![
            b("🔕 3 h", format!("snz:{id}:180")),
            b("🔕 until tomorrow", format!("snz:{id}:am")),
        ],
        vec![b("🗑 Unsubscribe", format!("del:{id}"))],
    ]
}

impl Rig {
    /// The user of `chat` types `text`; returns the bot's answer (waiting,
    /// bounded, for the one message it sends back).
    async fn say(&self, chat: i64, text: &str) -> String {
        let before = self.telegram.texts_to(chat).len();
        self.telegram.user_says(chat, text);
        let what = format!("chat {chat}: an answer to {text:?}");
        eventually(&what, async || {
            self.telegram.texts_to(chat).get(before).cloned()
        })
        .await
    }

    /// `/subscribe Rome 5 30 no no` in `chat`; the new subscription's id.
    async fn subscribe(&self, chat: i64) -> i64 {
        let answer = self.say(chat, "/subscribe Rome 5 30 no no").await;
        assert!(answer.starts_with("✅ Subscribed #"), "{answer}");
        let subs = self
            .app
            .store
            .subscriptions_of_chat(ChatId::new(chat).unwrap())
            .await
            .unwrap();
        assert_eq!(subs.len(), 1, "{subs:?}");
        assert!(answer.starts_with(&format!("✅ Subscribed #{}: Rome", subs[0].id)));
        subs[0].id
    }

    /// `/timezone UTC` in `chat`, answered and stored.
    async fn utc(&self, chat: i64) {
        let answer = self.say(chat, "/timezone UTC").await;
        assert!(
            answer.starts_with("✅ Time zone set to UTC (local time now "),
            "{answer}"
        );
        let zone = self.app.store.chat_settings(chat).await.unwrap().zone;
        assert_eq!(zone, ChatZone::parse("UTC").ok());
    }

    /// The accepted `sendMessage` request that delivered `text` to `chat`,
    /// waiting (bounded) for the notifier to send it.
    async fn delivery(&self, chat: i64, text: &str) -> Request {
        let what = format!("chat {chat}: {text:?} sent");
        eventually(&what, async || {
            self.telegram.requests_to(chat).into_iter().find(|r| {
                r.method.eq_ignore_ascii_case("sendMessage")
                    && r.status == 200
                    && r.params.get("text").and_then(Value::as_str) == Some(text)
            })
        })
        .await
    }

    /// The id Telegram gave the message `text` in `chat`.
    fn message_id(&self, chat: i64, text: &str) -> i64 {
        self.telegram
            .received_by(chat)
            .into_iter()
            .find(|m| m.text == text)
            .unwrap_or_else(|| panic!("no {text:?} in chat {chat}"))
            .message_id
    }

    async fn rows(&self, chat: i64, kind: &str) -> Vec<OutboxRow> {
        let mut rows = self.app.store.outbox_rows().await.unwrap();
        rows.retain(|r| r.chat_id == chat && r.kind == kind);
        rows
    }

    async fn snoozed_until(&self, id: i64) -> Option<i64> {
        self.app
            .store
            .watched_subscriptions()
            .await
            .unwrap()
            .into_iter()
            .find(|w| w.id == id)
            .unwrap_or_else(|| panic!("subscription #{id} is not watched"))
            .snoozed_until
    }

    /// Waits (bounded) for the answer to callback query `id`; its params.
    async fn callback_answer(&self, id: &str) -> serde_json::Map<String, Value> {
        let what = format!("the answer to the press {id}");
        let answer = eventually(&what, async || {
            self.telegram
                .calls("answerCallbackQuery")
                .into_iter()
                .find(|r| r.params.get("callback_query_id").and_then(Value::as_str) == Some(id))
        })
        .await;
        assert_eq!(answer.status, 200, "{answer:?}");
        answer.params
    }
}

#[tokio::test]
async fn an_alert_in_quiet_hours_is_sent_silently_with_its_buttons() {
    let rig = rig(6 * HOUR).await;
    let (quiet_chat, loud_chat) = (890_001, 890_002);
    let quiet_sub = rig.subscribe(quiet_chat).await;
    let loud_sub = rig.subscribe(loud_chat).await;

    // Quiet hours around now, in UTC, typed in chat.
    rig.utc(quiet_chat).await;
    let now = Utc::now();
    let span = window(now - TimeDelta::hours(1), now + TimeDelta::hours(2));
    let answer = rig.say(quiet_chat, &format!("/quiet {span}")).await;
    assert_eq!(
        answer,
        format!("🌙 Quiet hours {span} (UTC): alerts in them come without sound.")
    );
    let stored = rig.app.store.chat_settings(quiet_chat).await.unwrap().quiet;
    assert_eq!(stored, QuietHours::parse(&span).ok());
    assert!(stored.unwrap().contains(ChatZone::UTC, now));

    let report = rig.poller.poll_once(now).await.unwrap();
    assert_eq!(report.messages, 2, "{report:?}");

    // Inside the quiet hours: no sound, and the three buttons.
    let quiet = rig.delivery(quiet_chat, HOT).await;
    assert_eq!(
        quiet.params.get("disable_notification"),
        Some(&Value::Bool(true)),
        "{:?}",
        quiet.params
    );
    let markup = quiet.params.get("reply_markup").expect("buttons");
    assert_eq!(keyboard(markup), alert_buttons(quiet_sub));
    // As the user's client shows them.
    let id = rig.message_id(quiet_chat, HOT);
    let shown: Vec<(String, String)> = rig
        .telegram
        .buttons(id)
        .into_iter()
        .map(|b| (b.text, b.data))
        .collect();
    assert_eq!(shown, alert_buttons(quiet_sub).concat());

    // A chat without quiet hours: with sound, the same buttons for its own.
    let loud = rig.delivery(loud_chat, HOT).await;
    assert!(
        matches!(
            loud.params.get("disable_notification"),
            None | Some(Value::Bool(false))
        ),
        "{:?}",
        loud.params
    );
    let markup = loud.params.get("reply_markup").expect("buttons");
    assert_eq!(keyboard(markup), alert_buttons(loud_sub));
}

#[tokio::test]
async fn the_3h_button_is_answered_and_keeps_reminders_away_until_it_ends() {
    // Reminders every 30 minutes, so +40 and +80 would each bring one.
    let rig = rig(minutes(30)).await;
    let (snoozing, control) = (890_011, 890_012);
    let sub = rig.subscribe(snoozing).await;
    rig.subscribe(control).await;
    rig.utc(snoozing).await;

    let start = Utc::now();
    let report = rig.poller.poll_once(start).await.unwrap();
    assert_eq!(report.messages, 2, "{report:?}");
    let alert = rig.delivery(snoozing, HOT).await;
    assert_eq!(
        keyboard(alert.params.get("reply_markup").expect("buttons")),
        alert_buttons(sub)
    );
    let message_id = rig.message_id(snoozing, HOT);

    // "🔕 3 h" under the alert.
    let data = format!("snz:{sub}:180");
    let before = Utc::now().timestamp();
    let query = rig.telegram.user_presses(snoozing, message_id, &data);
    let answer = rig.callback_answer(&query).await;
    let after = Utc::now().timestamp();
    let until = rig.snoozed_until(sub).await.expect("snoozed by the press");
    assert!(
        (before + 3 * 3600..=after + 3 * 3600).contains(&until),
        "snoozed until {until}, pressed between {before} and {after}"
    );
    let until_at = DateTime::from_timestamp(until, 0).unwrap();
    assert_eq!(
        answer.get("text").and_then(Value::as_str),
        Some(
            format!(
                "🔕 #{sub} snoozed until {}. If it is still going on then, I'll remind you once.",
                until_at.format("%d/%m %H:%M")
            )
            .as_str()
        ),
        "{answer:?}"
    );

    // Reminders would be due; the snoozed subscription writes none, the
    // control chat's does.
    for (at, control_reminders) in [(40, 1), (80, 2)] {
        let report = rig
            .poller
            .poll_once(later(start, minutes(at)))
            .await
            .unwrap();
        assert_eq!(report.messages, 1, "at +{at} min: {report:?}");
        assert!(
            rig.rows(snoozing, "reminder").await.is_empty(),
            "at +{at} min"
        );
        assert_eq!(
            rig.rows(control, "reminder").await.len(),
            control_reminders,
            "at +{at} min"
        );
        assert_eq!(rig.snoozed_until(sub).await, Some(until), "at +{at} min");
    }

    // The snooze is over and it is still hot: one reminder, with its buttons.
    let woken = later(start, minutes(190));
    assert!(woken.timestamp() > until);
    rig.poller.poll_once(woken).await.unwrap();
    let reminders = rig.rows(snoozing, "reminder").await;
    assert_eq!(reminders.len(), 1, "{reminders:?}");
    assert_eq!(reminders[0].subscription_id, Some(sub));
    assert!(!reminders[0].silent);
    let markup = reminders[0].reply_markup.as_deref().expect("buttons");
    assert_eq!(
        keyboard(&Value::String(markup.to_owned())),
        alert_buttons(sub)
    );
    assert_eq!(rig.snoozed_until(sub).await, None, "the snooze is cleared");
    assert_eq!(rig.rows(snoozing, "alert").await.len(), 1);
}
