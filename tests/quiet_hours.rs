//! Issue 10, the poller's side of living with alerts, with explicit poll
//! instants (no sleeping): quiet hours send silently or hold everything for
//! one summary when they end; a snoozed subscription says nothing until the
//! snooze ends and then reminds once; a chat takes the zone of its first
//! place; alerts carry the snooze and unsubscribe buttons.

mod support;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use meteobot::alerts::{Poller, PollerSettings};
use meteobot::domain::{ChatZone, QuietHours};
use meteobot::store::SnoozeTarget;
use support::fake_weather::SeriesScript;
use support::poller_rig::*;
use tokio::sync::Notify;

fn utc() -> ChatZone {
    ChatZone::parse("UTC").unwrap()
}

/// Quiet hours from `from` to `to` (UTC instants, minute precision).
fn window(from: DateTime<Utc>, to: DateTime<Utc>, hold: bool) -> QuietHours {
    let spec = format!(
        "{}-{}{}",
        from.format("%H:%M"),
        to.format("%H:%M"),
        if hold { " hold" } else { "" }
    );
    QuietHours::parse(&spec).unwrap()
}

/// A poller reminding every 30 minutes (the rig's reminds every 6 h).
fn quick_reminders(rig: &Rig) -> Poller {
    Poller::new(
        rig.store.clone(),
        rig.forecasts(defaults()),
        rig.metrics.clone(),
        PollerSettings {
            remind_every: minutes(30),
            heads_up_probability: 50,
            admin_chats: Vec::new(),
        },
        Arc::new(Notify::new()),
    )
}

#[tokio::test]
async fn an_alert_inside_quiet_hours_is_silent_and_carries_buttons() {
    let rig = rig().await;
    rig.fake.set_series(SeriesScript::dry(35.0));
    let clock = Clock::start();
    let (quiet_chat, loud_chat) = (101, 102);
    let quiet_sub = rig.subscribe(quiet_chat, ROME, max(30.0)).await;
    rig.subscribe(loud_chat, ROME, max(30.0)).await;
    rig.store
        .set_chat_timezone(quiet_chat, utc())
        .await
        .unwrap();
    let now = clock.at(Duration::ZERO);
    let quiet = window(now - TimeDelta::hours(1), now + TimeDelta::hours(2), false);
    rig.store
        .set_quiet_hours(quiet_chat, Some(quiet))
        .await
        .unwrap();

    rig.poller().poll_once(now).await.unwrap();
    let alerts = rig.rows_of("alert").await;
    assert_eq!(alerts.len(), 2, "{alerts:?}");
    let of = |chat| alerts.iter().find(|r| r.chat_id == chat).unwrap();
    assert!(of(quiet_chat).silent);
    assert!(!of(loud_chat).silent);
    let markup = of(quiet_chat).reply_markup.clone().unwrap();
    for data in [
        format!("snz:{quiet_sub}:180"),
        format!("snz:{quiet_sub}:am"),
        format!("del:{quiet_sub}"),
    ] {
        assert!(markup.contains(&data), "{markup}");
    }
}

#[tokio::test]
async fn held_alerts_become_one_summary_when_the_quiet_hours_end() {
    let rig = rig().await;
    // Hot now, back to 20 °C in half an hour.
    rig.fake
        .set_series(SeriesScript::dry(35.0).with_temperature_from(minutes(30), 20.0));
    let clock = Clock::start();
    let chat = 201;
    rig.subscribe(chat, ROME, max(30.0)).await;
    rig.store.set_chat_timezone(chat, utc()).await.unwrap();
    let start = clock.at(Duration::ZERO);
    let end = start + TimeDelta::hours(1);
    let quiet = window(start - TimeDelta::minutes(30), end, true);
    rig.store.set_quiet_hours(chat, Some(quiet)).await.unwrap();
    let poller = rig.poller();

    // The episode starts and ends inside the window: nothing goes out.
    for at in [Duration::ZERO, minutes(40)] {
        let report = poller.poll_once(clock.at(at)).await.unwrap();
        assert_eq!(report.messages, 0, "{report:?}");
    }
    assert!(rig.rows().await.is_empty());

    // After the window: one summary, never an alert and an all-clear.
    let report = poller.poll_once(clock.at(minutes(70))).await.unwrap();
    assert_eq!(report.messages, 1, "{report:?}");
    let rows = rig.rows().await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].kind, "quiet_summary");
    assert_eq!(
        rows[0].text,
        format!(
            "🌙 While you were away:\nRome, IT went above 30 °C at {} and was back within limits at {}.",
            start.format("%H:%M"),
            clock.at(minutes(40)).format("%H:%M"),
        )
    );
    // Released once: a later poll adds nothing.
    let report = poller.poll_once(clock.at(minutes(80))).await.unwrap();
    assert_eq!(report.messages, 0, "{report:?}");
    assert_eq!(rig.rows().await.len(), 1);
}

#[tokio::test]
async fn an_episode_still_open_when_the_quiet_hours_end_is_said_so() {
    let rig = rig().await;
    rig.fake.set_series(SeriesScript::dry(35.0));
    let clock = Clock::start();
    let chat = 301;
    rig.subscribe(chat, ROME, max(30.0)).await;
    rig.store.set_chat_timezone(chat, utc()).await.unwrap();
    let start = clock.at(Duration::ZERO);
    let quiet = window(
        start - TimeDelta::minutes(10),
        start + TimeDelta::minutes(30),
        true,
    );
    rig.store.set_quiet_hours(chat, Some(quiet)).await.unwrap();
    let poller = rig.poller();
    poller.poll_once(start).await.unwrap();
    assert!(rig.rows().await.is_empty());
    poller.poll_once(clock.at(minutes(40))).await.unwrap();
    let texts = rig.texts().await;
    assert_eq!(
        texts,
        [format!(
            "🌙 While you were away:\nRome, IT went above 30 °C at {} and still is.",
            start.format("%H:%M")
        )]
    );
}

#[tokio::test]
async fn a_snoozed_subscription_says_nothing_then_reminds_once() {
    let rig = rig().await;
    rig.fake.set_series(SeriesScript::dry(35.0));
    let clock = Clock::start();
    let chat = 401;
    let sub = rig.subscribe(chat, ROME, max(30.0)).await;
    let poller = quick_reminders(&rig);
    poller.poll_once(clock.at(Duration::ZERO)).await.unwrap();
    assert_eq!(rig.kinds().await, ["alert"]);

    // Snoozed for two hours: reminders every 30 minutes would be due.
    let until = clock.at(minutes(120));
    let changed = rig
        .store
        .snooze(chat, SnoozeTarget::One(sub), Some(until.timestamp()))
        .await
        .unwrap();
    assert_eq!(changed, 1);
    for at in [40, 80, 110] {
        let report = poller.poll_once(clock.at(minutes(at))).await.unwrap();
        assert_eq!(report.messages, 0, "at +{at} min: {report:?}");
    }
    // The snooze is over and it is still hot: one reminder.
    let report = poller.poll_once(clock.at(minutes(125))).await.unwrap();
    assert_eq!(report.messages, 1, "{report:?}");
    assert_eq!(rig.kinds().await, ["alert", "reminder"]);
    // …counted from then, and the snooze is cleared.
    let report = poller.poll_once(clock.at(minutes(140))).await.unwrap();
    assert_eq!(report.messages, 0, "{report:?}");
    let subs = rig
        .store
        .subscriptions_of_chat(meteobot::domain::ChatId::new(chat).unwrap())
        .await
        .unwrap();
    assert_eq!(subs[0].id, sub);
    let watched = rig.store.watched_subscriptions().await.unwrap();
    assert_eq!(watched[0].snoozed_until, None);
}

#[tokio::test]
async fn an_episode_ending_during_a_snooze_gives_no_all_clear() {
    let rig = rig().await;
    rig.fake
        .set_series(SeriesScript::dry(35.0).with_temperature_from(minutes(30), 20.0));
    let clock = Clock::start();
    let chat = 501;
    let sub = rig.subscribe(chat, ROME, max(30.0)).await;
    let poller = rig.poller();
    poller.poll_once(clock.at(Duration::ZERO)).await.unwrap();
    rig.store
        .snooze(
            chat,
            SnoozeTarget::All,
            Some(clock.at(minutes(60)).timestamp()),
        )
        .await
        .unwrap();
    // It cools down during the snooze: the episode ends without a word…
    let report = poller.poll_once(clock.at(minutes(40))).await.unwrap();
    assert_eq!((report.changes, report.messages), (1, 0), "{report:?}");
    // …and waking up finds nothing to remind of.
    let report = poller.poll_once(clock.at(minutes(61))).await.unwrap();
    assert_eq!(report.messages, 0, "{report:?}");
    assert_eq!(rig.kinds().await, ["alert"]);
    assert!(
        rig.store.alert_episodes().await.unwrap().is_empty(),
        "{sub}"
    );
}

#[tokio::test]
async fn a_chat_takes_the_zone_of_its_first_place_unless_it_chose_one() {
    let rig = rig().await;
    rig.fake
        .set_series(SeriesScript::dry(20.0).with_zone("Europe/Rome", 3600));
    let clock = Clock::start();
    let (fresh, chosen) = (601, 602);
    rig.subscribe(fresh, ROME, max(30.0)).await;
    rig.subscribe(chosen, ROME, max(30.0)).await;
    let tokyo = ChatZone::parse("Asia/Tokyo").unwrap();
    rig.store.set_chat_timezone(chosen, tokyo).await.unwrap();
    rig.poller()
        .poll_once(clock.at(Duration::ZERO))
        .await
        .unwrap();
    let zone = |chat| {
        let store = rig.store.clone();
        async move { store.chat_settings(chat).await.unwrap().zone }
    };
    assert_eq!(zone(fresh).await, ChatZone::parse("Europe/Rome").ok());
    assert_eq!(zone(chosen).await, Some(tokyo));
}
