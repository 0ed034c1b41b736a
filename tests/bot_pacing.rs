//! The bot's replies are paced with the notifier's sends (one `SendPace`),
//! over the fake Bot API: a 429 on a reply holds the notifier and the reply
//! is sent once more after the wait; end to end, a user firing commands in a
//! private chat and in a group gets every answer while the fake, enforcing
//! Telegram's limits, never has to answer 429. The pacing arithmetic (1 s per
//! private chat, 3 s per group, one global slot) is proven on tokio's paused
//! clock by `notifier::pacing`'s unit tests.

mod support;

use std::sync::Arc;
use std::time::Duration;

use meteobot::bot::Replier;
use meteobot::metrics::Metrics;
use meteobot::notifier::{Notifier, SendPace, StepOutcome, StepReport};
use meteobot::secret::Secret;
use meteobot::store::{NewMessage, Store, now_ms};
use meteobot::text::{Language, Units};
use support::fake_telegram::{Enforce, FakeTelegram, Reply, TOKEN};
use support::spawn_app_with;
use teloxide::types::ChatId;
use tokio::sync::Notify;

/// The longest any single expected event may take on a loaded machine.
const WAIT: Duration = Duration::from_secs(20);

/// Waits (bounded) until `cond` holds; `what` names it in the panic.
async fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !cond() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_429_on_a_reply_holds_the_notifier_and_the_reply_is_sent_after_the_wait() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&meteobot::store::scratch::database_url(dir.path(), "x").await)
        .await
        .unwrap();
    let fake = FakeTelegram::start().await;
    let pace = SendPace::telegram();
    let (user, other) = (5001, 5002);
    let replier = Replier {
        bot: fake.bot(),
        chat: ChatId(user),
        lang: Language::En,
        units: Units::Celsius,
        pace: pace.clone(),
    };
    fake.reply_next_to(user, 1, Reply::RetryAfter(1));
    let reply = tokio::spawn(async move { replier.say("hello").await });
    wait_until("the reply's 429 to hold the pace", || {
        pace.held_until().is_some()
    })
    .await;

    // An alert for another chat is due: the notifier holds back too.
    let alert = NewMessage {
        chat_id: other,
        subscription_id: None,
        kind: "alert",
        text: "🔥 hot".to_owned(),
        dedup_key: "hot".to_owned(),
        ..NewMessage::default()
    };
    assert!(store.enqueue_message(&alert, now_ms()).await.unwrap());
    let mut notifier = Notifier::new(
        store.clone(),
        fake.bot(),
        Metrics::new(),
        Arc::new(Notify::new()),
    )
    .with_pace(pace.clone());
    let asked_ms = now_ms();
    match notifier.step().await.unwrap() {
        StepOutcome::Idle {
            next_due_ms: Some(due),
        } => assert!(due > asked_ms, "due {due}, asked {asked_ms}"),
        other => panic!("the notifier should wait out the hold, got {other:?}"),
    }
    assert!(fake.received_by(other).is_empty());

    // The reply goes once more after the wait, and gets through.
    let sent = reply
        .await
        .unwrap()
        .expect("the reply is sent after the wait");
    assert_eq!(sent.text(), Some("hello"));
    let attempts = fake.requests_to(user);
    let statuses: Vec<u16> = attempts.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [429, 200]);
    assert!(attempts[1].at - attempts[0].at >= Duration::from_secs(1));

    // The hold is over: the notifier sends.
    wait_until("the hold to end", || pace.held_until().is_none()).await;
    let outcome = notifier.step().await.unwrap();
    assert_eq!(
        outcome,
        StepOutcome::Worked(StepReport {
            sent: 1,
            ..StepReport::default()
        })
    );
    assert_eq!(fake.texts_to(other), ["🔥 hot"]);
}

#[tokio::test]
async fn commands_fired_in_a_private_chat_and_a_group_all_get_answers_without_a_429() {
    let telegram = FakeTelegram::start().await;
    telegram.enforce_limits(Enforce::default());
    let api = telegram.url();
    let _app = spawn_app_with(move |c| {
        c.telegram_token = Some(Secret::new(TOKEN));
        c.telegram_api_url = Some(api);
    })
    .await;
    let (private, group) = (4242, -4242);
    for command in ["/start", "/help", "/subscriptions", "/help"] {
        telegram.user_says(private, command);
    }
    for command in ["/help", "/subscriptions", "/help"] {
        telegram.user_says(group, command);
    }
    wait_until("every answer", || {
        telegram.texts_to(private).len() == 4 && telegram.texts_to(group).len() == 3
    })
    .await;
    assert_eq!(telegram.count_429(), 0, "{:#?}", telegram.requests());
    // 20 a minute in a group: its answers start 3 s apart (arrival times,
    // with a little room for the loopback's jitter).
    let at: Vec<_> = telegram.received_by(group).iter().map(|m| m.at).collect();
    for pair in at.windows(2) {
        assert!(
            pair[1] - pair[0] >= Duration::from_millis(2900),
            "{:?}",
            pair[1] - pair[0]
        );
    }
}
