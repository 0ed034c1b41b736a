//! End to end, heads-ups (issue 8): the whole app over the fake Bot API and
//! a fake Open-Meteo serving scripted forecast series. A user subscribes with
//! a lead time (in chat: `/subscribe Rome 5 30 yes no 1h`; over REST: the
//! `ahead` field); rain forecast within the lead time gives ONE heads-up, rain
//! beyond it none, and a later forecast that drops the rain a "no longer
//! forecast" message.
//!
//! Time is driven, not waited for: the app's own poller runs its first
//! (empty) cycle at start and then not for a day; the test polls with a
//! `Poller` built as `startup` builds it (same store, a `Forecasts` over the
//! same fake upstream) at explicit instants, and the running app's notifier
//! delivers what those polls write. "No message" is proven on the outbox
//! right after an explicit poll, never by waiting.

mod support;

use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset, TimeDelta, Utc};
use meteobot::alerts::Poller;
use meteobot::domain::ChatId;
use meteobot::store::OutboxRow;
use serde_json::Value;
use support::TestApp;
use support::e2e::{BotApp, HOUR, WAIT, bot_app, own_poller};
use support::fake_telegram::FakeTelegram;
use support::fake_weather::{FakeForecast, SeriesScript};

const ROME: (&str, &str, f64, f64, u64) = ("Rome", "IT", 41.89193, 12.51133, 2_318_895);
/// Rome in winter: the local times in the texts are an hour ahead of UTC.
const ROME_OFFSET_S: i32 = 3600;

fn minutes(m: u64) -> Duration {
    Duration::from_secs(m * 60)
}

fn later(at: DateTime<Utc>, by: Duration) -> DateTime<Utc> {
    at + TimeDelta::from_std(by).unwrap()
}

/// Rain from `from` on, 70 % likely, in Rome's time zone.
fn rain_from(from: Duration) -> SeriesScript {
    SeriesScript::dry(18.0)
        .with_rain(from, None)
        .with_probability(70)
        .with_zone("Europe/Rome", ROME_OFFSET_S)
}

fn dry() -> SeriesScript {
    SeriesScript::dry(18.0)
        .with_probability(10)
        .with_zone("Europe/Rome", ROME_OFFSET_S)
}

struct Rig {
    telegram: FakeTelegram,
    app: TestApp,
    fake: FakeForecast,
    poller: Poller,
}

/// The app with the bot, and a poller of our own refreshing every
/// `refresh` (the budget out of the way).
async fn rig(refresh: Duration) -> Rig {
    let BotApp {
        telegram,
        app,
        fake,
    } = bot_app(|_| {}).await;
    app.geocoding("Rome", &[ROME]).await;
    let poller = own_poller(&app, refresh, 6 * HOUR);
    Rig {
        telegram,
        app,
        fake,
        poller,
    }
}

impl Rig {
    /// The bot's messages to `chat`, waiting (bounded) until there are `n`.
    async fn messages(&self, chat: i64, n: usize) -> Vec<String> {
        let deadline = Instant::now() + WAIT;
        loop {
            let texts = self.telegram.texts_to(chat);
            if texts.len() >= n {
                return texts;
            }
            assert!(
                Instant::now() < deadline,
                "chat {chat}: no message #{n} within {WAIT:?}; so far: {texts:#?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// `/subscribe Rome 5 30 yes no 1h` in `chat`, as a user types it.
    async fn subscribe_in_chat(&self, chat: i64) {
        self.telegram
            .user_says(chat, "/subscribe Rome 5 30 yes no 1h");
        let answer = self.messages(chat, 1).await.remove(0);
        assert!(answer.starts_with("✅ Subscribed #1: Rome"), "{answer}");
        let subs = self
            .app
            .store
            .subscriptions_of_chat(ChatId::new(chat).unwrap())
            .await
            .unwrap();
        assert_eq!(subs.len(), 1);
        assert_eq!(subs[0].ahead_s, Some(3600), "{subs:?}");
    }

    async fn rows(&self, kind: &str) -> Vec<OutboxRow> {
        self.app
            .store
            .outbox_rows()
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.kind == kind)
            .collect()
    }

    /// The predicted start the stored heads-up announced.
    async fn announced_start(&self) -> DateTime<Utc> {
        let episodes = self.app.store.alert_episodes().await.unwrap();
        let start = episodes
            .iter()
            .find(|e| e.condition == "rain")
            .and_then(|e| e.heads_up_start)
            .unwrap_or_else(|| panic!("no heads-up pending: {episodes:?}"));
        DateTime::from_timestamp(start, 0).unwrap()
    }
}

/// `HH:MM` in Rome.
fn local(at: DateTime<Utc>) -> String {
    at.with_timezone(&FixedOffset::east_opt(ROME_OFFSET_S).unwrap())
        .format("%H:%M")
        .to_string()
}

/// Lets the wall clock pass `at` (a poll at `at` then writes messages that
/// are due at once). The running app's notifier and the fake upstream's
/// scripted series follow the wall clock, so this end-to-end test waits the
/// few milliseconds for real; every "nothing" it asserts is read from the
/// outbox after an explicit `poll_once`, never inferred from a pause.
async fn until_past(at: DateTime<Utc>) {
    if let Ok(wait) = (at - Utc::now()).to_std() {
        tokio::time::sleep(wait + Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn rain_in_40_minutes_gives_one_heads_up_within_one_poll() {
    let rig = rig(HOUR).await;
    let chat = 880_001;
    rig.fake.set_series(rain_from(minutes(40)));
    rig.subscribe_in_chat(chat).await;

    let now = Utc::now();
    let report = rig.poller.poll_once(now).await.unwrap();
    assert_eq!(
        (report.subscriptions, report.messages),
        (1, 1),
        "{report:?}"
    );

    // The forecast's first rainy quarter hour at or after +40 min.
    let start = rig.announced_start().await;
    let ahead = (start - now).num_seconds() as f64 / 60.0;
    assert!(
        (39.0..56.0).contains(&ahead),
        "rain announced {ahead} min ahead"
    );
    let expected = format!(
        "🌧 Rain expected in Rome, IT from about {} (in {} min, 70 %).",
        local(start),
        ahead.round()
    );
    let texts = rig.messages(chat, 2).await;
    assert_eq!(texts[1], expected);
    assert_eq!(rig.rows("heads_up").await.len(), 1);

    // Polled again (ten minutes on, the stored series): not repeated.
    let report = rig.poller.poll_once(later(now, minutes(10))).await.unwrap();
    assert_eq!(report.messages, 0, "{report:?}");
    assert_eq!(rig.rows("heads_up").await.len(), 1);
    assert_eq!(rig.announced_start().await, start);

    // When the rain is there, the ordinary alert follows.
    let report = rig.poller.poll_once(later(now, minutes(59))).await.unwrap();
    assert_eq!(report.messages, 1, "{report:?}");
    let alerts = rig.rows("alert").await;
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].text, "☔ It is raining in Rome, IT.");
    assert_eq!(rig.rows("heads_up").await.len(), 1);
}

#[tokio::test]
async fn rain_in_three_hours_is_beyond_a_one_hour_lead() {
    let rig = rig(HOUR).await;
    let chat = 880_002;
    rig.fake.set_series(rain_from(3 * HOUR));
    // Over REST this time, with the `ahead` field.
    let token = rig.app.register("ada", chat).await;
    let (status, body) = rig
        .app
        .post_form(
            &format!("/cityevents/{token}"),
            &[
                ("city_name", "Rome"),
                ("min_temp", "5"),
                ("max_temp", "30"),
                ("rain", "yes"),
                ("ahead", "1h"),
            ],
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let listed = rig.app.subscriptions(&token).await;
    assert_eq!(listed[0]["ahead_minutes"], Value::from(60), "{listed:?}");

    let now = Utc::now();
    for after in [Duration::ZERO, minutes(10)] {
        let report = rig.poller.poll_once(later(now, after)).await.unwrap();
        assert_eq!((report.stale, report.messages), (0, 0), "{report:?}");
    }
    assert!(rig.rows("heads_up").await.is_empty());
    assert!(rig.telegram.texts_to(chat).is_empty());

    // The same forecast, once the rain is less than an hour away, does.
    let report = rig
        .poller
        .poll_once(later(now, 2 * HOUR + minutes(20)))
        .await
        .unwrap();
    assert_eq!(report.messages, 1, "{report:?}");
    let told = rig.rows("heads_up").await;
    assert_eq!(told.len(), 1);
    assert!(
        told[0]
            .text
            .starts_with("🌧 Rain expected in Rome, IT from about "),
        "{}",
        told[0].text
    );
}

#[tokio::test]
async fn a_forecast_that_drops_the_rain_takes_the_heads_up_back() {
    // Refreshed every 2 s, so the next refresh is a real-time poll away and
    // its message is due at once.
    let refresh = Duration::from_secs(2);
    let rig = rig(refresh).await;
    let chat = 880_003;
    rig.fake.set_series(rain_from(minutes(40)));
    rig.subscribe_in_chat(chat).await;

    let first = Utc::now();
    assert_eq!(rig.poller.poll_once(first).await.unwrap().messages, 1);
    let start = rig.announced_start().await;
    let texts = rig.messages(chat, 2).await;
    assert!(texts[1].starts_with("🌧 Rain expected"), "{}", texts[1]);

    // The next refresh no longer shows the rain.
    rig.fake.set_series(dry());
    let next = later(first, refresh);
    until_past(next).await;
    let report = rig.poller.poll_once(next).await.unwrap();
    assert_eq!((report.refreshed, report.messages), (1, 1), "{report:?}");
    let texts = rig.messages(chat, 3).await;
    assert_eq!(
        texts[2],
        format!(
            "✅ The rain expected in Rome, IT at {} is no longer forecast.",
            local(start)
        )
    );

    // Said once: the dry forecast stays dry, nothing more.
    let report = rig.poller.poll_once(later(next, refresh)).await.unwrap();
    assert_eq!(report.messages, 0, "{report:?}");
    assert_eq!(rig.rows("heads_up_cancelled").await.len(), 1);
    assert_eq!(rig.rows("heads_up").await.len(), 1);
    assert!(rig.app.store.alert_episodes().await.unwrap().is_empty());
    assert_eq!(rig.telegram.texts_to(chat).len(), 3);
}
