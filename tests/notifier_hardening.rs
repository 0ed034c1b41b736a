//! Issue 9, "the notifier finishes what it starts", against the fake Bot API
//! and a temp-file store. Time is injected: each step runs at a wall-clock
//! instant the test chooses (`Notifier::step_at`), so backoffs, ages and
//! retention are crossed without sleeping.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use meteobot::domain::{ChatId, Temperature, TemperatureBand};
use meteobot::metrics::Metrics;
use meteobot::notifier::{Limits, Notifier, Policy, StepOutcome, StepReport};
use meteobot::shutdown;
use meteobot::store::{NewMessage, NewSubscription, OutboxRow, Store, now_ms};
use meteobot::text::Language;
use support::fake_telegram::{FakeTelegram, Reply, TOKEN};
use tempfile::TempDir;
use tokio::sync::Notify;
use tokio::time::Instant;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

struct Setup {
    store: Store,
    fake: FakeTelegram,
    metrics: Metrics,
    _dir: TempDir,
}

async fn setup() -> Setup {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = meteobot::store::scratch::database_url(dir.path(), "x").await;
    Setup {
        store: Store::connect(&url).await.expect("store"),
        fake: FakeTelegram::start().await,
        metrics: Metrics::new(),
        _dir: dir,
    }
}

/// No pacing to wait for: steps at injected times follow each other at once.
fn limits() -> Limits {
    Limits {
        spacing: Duration::ZERO,
        chat_spacing: Duration::ZERO,
        max_in_flight: 4,
        batch: 16,
        backoff_base: Duration::from_secs(1),
        backoff_max: Duration::from_secs(60),
        idle_poll: Duration::from_millis(100),
    }
}

impl Setup {
    fn notifier(&self) -> Notifier {
        self.notifier_with(self.fake.bot())
    }

    fn notifier_with(&self, bot: teloxide::Bot) -> Notifier {
        Notifier::new(
            self.store.clone(),
            bot,
            self.metrics.clone(),
            Arc::new(Notify::new()),
        )
        .with_limits(limits())
    }

    /// A subscription of `chat` with maximum `t_max` (°C); subscriptions
    /// of one chat must differ (the same one twice is the same one).
    async fn subscription(&self, chat: i64, t_max: f64) -> i64 {
        let sub = NewSubscription {
            chat_id: ChatId::new(chat).unwrap(),
            city: "Rome",
            country: "IT",
            latitude: 41.89,
            longitude: 12.51,
            band: TemperatureBand::new(None, Some(Temperature::new(t_max).unwrap())).unwrap(),
            rain: true,
            snow: false,
            ahead: None,
        };
        self.store
            .insert_subscription(sub, 20)
            .await
            .unwrap()
            .unwrap()
            .id
    }

    /// Enqueues `text` at `at_ms`; returns its row id.
    async fn enqueue_at(
        &self,
        chat: i64,
        subscription: Option<i64>,
        kind: &'static str,
        text: &str,
        at_ms: i64,
    ) -> i64 {
        let msg = NewMessage {
            chat_id: chat,
            subscription_id: subscription,
            kind,
            text: text.to_owned(),
            dedup_key: format!("{chat}:{text}"),
            ..NewMessage::default()
        };
        assert!(self.store.enqueue_message(&msg, at_ms).await.unwrap());
        self.row(text).await.id
    }

    async fn enqueue(&self, chat: i64, sub: Option<i64>, kind: &'static str, text: &str) -> i64 {
        self.enqueue_at(chat, sub, kind, text, now_ms()).await
    }

    async fn row(&self, text: &str) -> OutboxRow {
        let rows = self.store.outbox_rows().await.unwrap();
        rows.into_iter().find(|r| r.text == text).expect("row")
    }

    async fn texts(&self) -> Vec<String> {
        let rows = self.store.outbox_rows().await.unwrap();
        rows.into_iter().map(|r| r.text).collect()
    }
}

/// A bot whose every request fails at once with a network error.
fn unreachable_bot() -> teloxide::Bot {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let url = reqwest::Url::parse(&format!("http://{closed}/")).unwrap();
    teloxide::Bot::new(TOKEN).set_api_url(url)
}

fn worked(outcome: StepOutcome) -> StepReport {
    match outcome {
        StepOutcome::Worked(report) => report,
        other => panic!("expected work, got {other:?}"),
    }
}

/// Steps at `now` (moving on one hour per idle step, past any backoff)
/// until nothing is pending.
async fn drain_from(notifier: &mut Notifier, mut now: i64) -> StepReport {
    let mut total = StepReport::default();
    for _ in 0..50 {
        match notifier.step_at(now).await.expect("step") {
            StepOutcome::Worked(r) => {
                total.sent += r.sent;
                total.retried += r.retried;
                total.failed += r.failed;
                total.stopped += r.stopped;
            }
            StepOutcome::Idle { next_due_ms: None } => return total,
            StepOutcome::Idle { .. } => now += HOUR_MS,
            StepOutcome::TokenRejected => panic!("token rejected"),
        }
    }
    panic!("the outbox did not drain");
}

#[tokio::test]
async fn a_row_that_keeps_failing_is_given_up_after_max_attempts_with_its_reason() {
    let s = setup().await;
    s.enqueue(1001, None, "alert", "storm").await;
    let mut notifier = s.notifier_with(unreachable_bot()).with_policy(Policy {
        max_attempts: 3,
        ..Policy::default()
    });
    let t0 = now_ms();

    for (i, at) in [t0, t0 + HOUR_MS].into_iter().enumerate() {
        assert_eq!(worked(notifier.step_at(at).await.unwrap()).retried, 1);
        let row = s.row("storm").await;
        assert_eq!(
            (row.status.as_str(), row.attempts),
            ("pending", i as i64 + 1)
        );
    }
    let report = worked(notifier.step_at(t0 + 2 * HOUR_MS).await.unwrap());

    assert_eq!((report.failed, report.retried), (1, 0));
    let row = s.row("storm").await;
    assert_eq!((row.status.as_str(), row.attempts), ("failed", 3));
    let reason = row.last_error.unwrap();
    assert!(reason.contains("gave up after 3 attempts"), "{reason}");
    assert!(reason.contains("error sending request"), "{reason}");
    assert_eq!(s.metrics.messages_failed.get(), 1);
    assert_eq!(s.metrics.messages_retried.get(), 2);
    assert_eq!(s.metrics.outbox_depth.get(), 0);
    assert_eq!(
        notifier.step_at(t0 + 3 * HOUR_MS).await.unwrap(),
        StepOutcome::Idle { next_due_ms: None },
        "nothing left to try"
    );
}

#[tokio::test]
async fn a_row_that_fails_when_too_old_is_given_up_at_once() {
    let s = setup().await;
    let t0 = now_ms();
    s.enqueue_at(1002, None, "alert", "old news", t0 - 2 * HOUR_MS)
        .await;
    s.enqueue_at(1003, None, "alert", "fresh news", t0).await;
    let mut notifier = s.notifier_with(unreachable_bot()).with_policy(Policy {
        max_age: Duration::from_secs(3600),
        ..Policy::default()
    });

    let report = worked(notifier.step_at(t0).await.unwrap());

    assert_eq!((report.failed, report.retried), (1, 1));
    let old = s.row("old news").await;
    assert_eq!((old.status.as_str(), old.attempts), ("failed", 1));
    assert!(
        old.last_error.as_deref().unwrap().contains("old"),
        "{old:?}"
    );
    assert_eq!(s.row("fresh news").await.status, "pending");
}

/// Logs written while a test runs.
#[derive(Clone, Default)]
struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

// Single-threaded runtime: the send tasks log on this thread, where the
// capturing subscriber is the default.
#[tokio::test]
async fn an_invalid_token_stops_sending_keeps_the_rows_and_fails_the_status() {
    let logs = LogBuffer::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let s = setup().await;
    for chat in [2001, 2002, 2003] {
        s.enqueue(chat, None, "alert", &format!("to {chat}")).await;
    }
    s.fake.reply_next(100, Reply::unauthorized());
    let mut notifier = s.notifier();
    let status = notifier.status();
    assert!(status.healthy());
    let t0 = now_ms();

    assert_eq!(
        notifier.step_at(t0).await.unwrap(),
        StepOutcome::TokenRejected
    );

    assert!(!status.healthy());
    let problem = status.problem().unwrap();
    assert!(problem.contains("401"), "{problem}");
    assert!(status.last_progress_ms().is_none(), "no step completed");
    assert!(s.fake.received().is_empty());
    let asked = s.fake.requests().len();
    assert!(asked >= 1);
    for row in s.store.outbox_rows().await.unwrap() {
        assert_eq!(
            (row.status.as_str(), row.attempts, row.last_error),
            ("pending", 0, None)
        );
    }
    assert_eq!(s.metrics.messages_failed.get(), 0);
    // Later steps send nothing at all.
    assert_eq!(
        notifier.step_at(t0 + HOUR_MS).await.unwrap(),
        StepOutcome::TokenRejected
    );
    assert_eq!(s.fake.requests().len(), asked);
    // `run` stops stepping and returns on shutdown.
    let (trigger, listener) = shutdown::channel();
    let task = tokio::spawn(notifier.run(listener));
    trigger.trigger();
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("run returns after shutdown")
        .unwrap();
    assert_eq!(s.fake.requests().len(), asked);

    let logged = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<_> = logged
        .lines()
        .filter(|l| l.contains("rejected the bot token"))
        .collect();
    assert_eq!(lines.len(), 1, "one clear line:\n{logged}");
    assert!(lines[0].contains("ERROR"), "{}", lines[0]);
    let secret = TOKEN.split(':').nth(1).unwrap();
    assert!(!logged.contains(secret), "token leaked: {logged}");
}

#[tokio::test]
async fn news_that_ended_before_delivery_is_dropped_with_its_ending() {
    let s = setup().await;
    let chat = 3001;
    let (heat, rain, told, later) = (
        s.subscription(chat, 30.0).await,
        s.subscription(chat, 31.0).await,
        s.subscription(chat, 32.0).await,
        s.subscription(chat, 33.0).await,
    );
    assert_eq!(
        std::collections::HashSet::from([heat, rain, told, later]).len(),
        4
    );
    // `told`: its alert went out before; its all-clear must follow.
    let alert_told = s.enqueue(chat, Some(told), "alert", "told: hot").await;
    s.store.mark_sent(alert_told, 1, now_ms()).await.unwrap();
    s.enqueue(chat, Some(heat), "alert", "heat: hot").await;
    s.enqueue(chat, Some(rain), "heads_up", "rain: expected")
        .await;
    s.enqueue(chat, None, "notice", "notice").await;
    s.enqueue(chat, Some(heat), "reminder", "heat: still hot")
        .await;
    s.enqueue(chat, Some(told), "all_clear", "told: back to normal")
        .await;
    s.enqueue(chat, Some(heat), "all_clear", "heat: back to normal")
        .await;
    s.enqueue(chat, Some(rain), "heads_up_cancelled", "rain: no longer")
        .await;
    // After its ending: news again, still true (not followed by an ending).
    s.enqueue(chat, Some(heat), "alert", "heat: hot again")
        .await;
    s.enqueue(chat, Some(later), "alert", "later: cold").await;
    let mut notifier = s.notifier();

    let report = drain_from(&mut notifier, now_ms()).await;

    assert_eq!(
        s.fake.texts_to(chat),
        [
            "notice",
            "told: back to normal",
            "heat: hot again",
            "later: cold"
        ]
    );
    assert_eq!(report.sent, 4);
    for text in [
        "heat: hot",
        "heat: still hot",
        "heat: back to normal",
        "rain: expected",
        "rain: no longer",
    ] {
        let row = s.row(text).await;
        assert_eq!(row.status, "stopped", "{text}");
        assert_eq!(
            row.last_error.as_deref(),
            Some("superseded before delivery"),
            "{text}"
        );
        assert_eq!(row.attempts, 0);
    }
    assert_eq!(s.metrics.messages_failed.get(), 0);
    assert_eq!(s.metrics.outbox_depth.get(), 0);
}

#[tokio::test]
async fn a_group_that_became_a_supergroup_moves_and_gets_its_message_there() {
    let s = setup().await;
    let (group, supergroup) = (-4001, -1_009_001);
    let sub = s.subscription(group, 30.0).await;
    s.store.ensure_chat(group, Language::It).await.unwrap();
    s.enqueue(group, Some(sub), "alert", "group: hot").await;
    s.enqueue(group, Some(sub), "reminder", "group: still hot")
        .await;
    s.enqueue(5001, None, "alert", "someone else").await;
    s.fake.reply_next_to(group, 1, Reply::MigrateTo(supergroup));
    let mut notifier = s.notifier();

    let report = drain_from(&mut notifier, now_ms()).await;

    assert_eq!(report.sent, 3);
    assert_eq!(
        s.fake.requests_to(group).len(),
        1,
        "asked once at the old id"
    );
    assert!(s.fake.received_by(group).is_empty());
    assert_eq!(
        s.fake.texts_to(supergroup),
        ["group: hot", "group: still hot"]
    );
    assert_eq!(s.fake.texts_to(5001), ["someone else"]);
    for text in ["group: hot", "group: still hot"] {
        let row = s.row(text).await;
        assert_eq!(
            (row.chat_id, row.status.as_str(), row.attempts),
            (supergroup, "sent", 1)
        );
    }
    let moved = s
        .store
        .subscriptions_of_chat(ChatId::new(supergroup).unwrap())
        .await
        .unwrap();
    assert_eq!(moved.iter().map(|m| m.id).collect::<Vec<_>>(), [sub]);
    assert!(moved[0].active);
    let left = s
        .store
        .subscriptions_of_chat(ChatId::new(group).unwrap())
        .await
        .unwrap();
    assert!(left.is_empty());
    let chat = s.store.chat(supergroup).await.unwrap().expect("moved chat");
    assert_eq!((chat.language.as_str(), chat.active), ("it", true));
    assert_eq!(s.store.chat(group).await.unwrap(), None);
    assert_eq!(s.metrics.messages_failed.get(), 0);
}

#[tokio::test]
async fn a_migration_twice_moves_once() {
    let s = setup().await;
    let sub = s.subscription(-4002, 30.0).await;
    assert!(s.store.migrate_chat(-4002, -1_004_002).await.unwrap());
    assert!(!s.store.migrate_chat(-4002, -1_004_002).await.unwrap());
    let moved = s
        .store
        .subscriptions_of_chat(ChatId::new(-1_004_002).unwrap())
        .await
        .unwrap();
    assert_eq!(moved.iter().map(|m| m.id).collect::<Vec<_>>(), [sub]);
}

#[tokio::test]
async fn a_subscription_the_supergroup_already_has_is_kept_once() {
    let s = setup().await;
    let (group, supergroup) = (-4003, -1_004_003);
    s.subscription(group, 30.0).await;
    let other = s.subscription(group, 25.0).await;
    let kept = s.subscription(supergroup, 30.0).await;
    s.enqueue(group, Some(other), "alert", "group: warm").await;

    assert!(s.store.migrate_chat(group, supergroup).await.unwrap());

    let mut ids: Vec<_> = s
        .store
        .subscriptions_of_chat(ChatId::new(supergroup).unwrap())
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.id)
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, [other.min(kept), other.max(kept)]);
    let left = s
        .store
        .subscriptions_of_chat(ChatId::new(group).unwrap())
        .await
        .unwrap();
    assert!(left.is_empty());
    assert_eq!(s.row("group: warm").await.chat_id, supergroup);
}

#[tokio::test]
async fn old_sent_rows_and_idle_dialogues_are_pruned_in_bounded_batches() {
    let s = setup().await;
    let t0 = now_ms();
    for (text, sent_at) in [
        ("old 1", t0 - 8 * DAY_MS),
        ("old 2", t0 - 9 * DAY_MS),
        ("old 3", t0 - 10 * DAY_MS),
        ("recent", t0 - DAY_MS),
    ] {
        let id = s.enqueue_at(6001, None, "alert", text, sent_at).await;
        s.store.mark_sent(id, 1, sent_at).await.unwrap();
    }
    let failed = s
        .enqueue_at(6001, None, "alert", "failed", t0 - 30 * DAY_MS)
        .await;
    s.store.mark_failed(failed, "refused").await.unwrap();
    s.store.save_dialogue(6001, "{}").await.unwrap();
    let mut notifier = s.notifier().with_policy(Policy {
        prune_batch: 2,
        ..Policy::default()
    });

    // Two of the three old rows (the batch), then the third at once.
    notifier.step_at(t0).await.unwrap();
    assert_eq!(s.texts().await, ["old 1", "recent", "failed"]);
    notifier.step_at(t0 + 1).await.unwrap();
    assert_eq!(s.texts().await, ["recent", "failed"]);
    assert!(
        s.store.dialogue(6001).await.unwrap().is_some(),
        "not idle yet"
    );

    // A day later the dialogue is idle; the recent row is kept for 7 days.
    notifier.step_at(t0 + DAY_MS + HOUR_MS).await.unwrap();
    assert_eq!(s.store.dialogue(6001).await.unwrap(), None);
    assert_eq!(s.texts().await, ["recent", "failed"]);
    notifier.step_at(t0 + 7 * DAY_MS).await.unwrap();
    assert_eq!(s.texts().await, ["failed"], "failed rows are kept");
    assert!(s.fake.requests().is_empty(), "nothing was pending");
}

#[tokio::test]
async fn status_reports_progress_of_each_step() {
    let s = setup().await;
    let mut notifier = s.notifier();
    let status = notifier.status();
    assert_eq!(status.last_progress_ms(), None);
    let t0 = now_ms();
    assert_eq!(
        notifier.step_at(t0).await.unwrap(),
        StepOutcome::Idle { next_due_ms: None }
    );
    assert_eq!(status.last_progress_ms(), Some(t0));
    assert!(status.healthy());
    assert_eq!(status.problem(), None);
}

#[tokio::test]
async fn run_keeps_delivering_with_a_policy() {
    let s = setup().await;
    let wake = Arc::new(Notify::new());
    let notifier = Notifier::new(
        s.store.clone(),
        s.fake.bot(),
        s.metrics.clone(),
        Arc::clone(&wake),
    )
    .with_limits(limits())
    .with_policy(Policy::default());
    let (trigger, listener) = shutdown::channel();
    let task = tokio::spawn(notifier.run(listener));
    s.enqueue(7001, None, "alert", "hello").await;
    wake.notify_one();
    let deadline = Instant::now() + Duration::from_secs(10);
    while s.fake.received().is_empty() {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for the message"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    trigger.trigger();
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("run returns after shutdown")
        .unwrap();
    assert_eq!(s.row("hello").await.status, "sent");
}

#[tokio::test]
async fn a_notifier_rebuilt_on_a_shared_status_stays_stopped_after_a_rejected_token() {
    let s = setup().await;
    s.enqueue(8001, None, "alert", "first").await;
    s.fake.reply_next(1, Reply::unauthorized());
    let status = meteobot::notifier::WorkerStatus::new();
    let mut first = s.notifier().with_status(status.clone());
    assert_eq!(
        first.step_at(now_ms()).await.unwrap(),
        StepOutcome::TokenRejected
    );
    drop(first);

    // A supervisor builds it again after a panic: same status, still stopped.
    let mut again = s.notifier().with_status(status.clone());
    assert_eq!(
        again.step_at(now_ms()).await.unwrap(),
        StepOutcome::TokenRejected
    );
    assert!(!status.healthy());
    assert_eq!(s.fake.requests().len(), 1);
    assert_eq!(s.row("first").await.status, "pending");
}
