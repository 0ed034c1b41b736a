//! The notifier against a fake Bot API on loopback and a temp-file store:
//! every failure rule of DESIGN.md, driven step by step.
//! Times are shortened through `Limits`; assertions on time are lower bounds.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use meteobot::domain::{ChatId, Temperature, TemperatureBand};
use meteobot::metrics::Metrics;
use meteobot::notifier::{Limits, Notifier, StepOutcome, StepReport};
use meteobot::shutdown;
use meteobot::store::{NewMessage, NewSubscription, OutboxRow, Store, now_ms};
use support::drain::drain;
use support::fake_telegram::{FakeTelegram, Reply, TOKEN};
use tempfile::TempDir;
use tokio::sync::Notify;
use tokio::time::Instant;

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

const CHAT_SPACING: Duration = Duration::from_millis(200);

fn limits() -> Limits {
    Limits {
        spacing: Duration::from_millis(5),
        chat_spacing: CHAT_SPACING,
        max_in_flight: 4,
        batch: 16,
        backoff_base: Duration::from_millis(100),
        backoff_max: Duration::from_secs(1),
        idle_poll: Duration::from_millis(100),
    }
}

impl Setup {
    fn notifier(&self) -> Notifier {
        self.notifier_with(self.fake.bot(), Arc::new(Notify::new()))
    }

    fn notifier_with(&self, bot: teloxide::Bot, wake: Arc<Notify>) -> Notifier {
        Notifier::new(self.store.clone(), bot, self.metrics.clone(), wake).with_limits(limits())
    }

    async fn enqueue(&self, chat: i64, text: &str) {
        let msg = NewMessage {
            chat_id: chat,
            subscription_id: None,
            kind: "alert",
            text: text.to_owned(),
            dedup_key: format!("{chat}:{text}"),
            ..NewMessage::default()
        };
        assert!(self.store.enqueue_message(&msg, now_ms()).await.unwrap());
    }

    async fn rows_of(&self, chat: i64) -> Vec<OutboxRow> {
        let rows = self.store.outbox_rows().await.unwrap();
        rows.into_iter().filter(|r| r.chat_id == chat).collect()
    }

    async fn row(&self, text: &str) -> OutboxRow {
        let rows = self.store.outbox_rows().await.unwrap();
        rows.into_iter().find(|r| r.text == text).expect("row")
    }
}

fn worked(outcome: StepOutcome) -> StepReport {
    match outcome {
        StepOutcome::Worked(report) => report,
        other => panic!("expected work, got {other:?}"),
    }
}

#[tokio::test]
async fn rows_pending_at_start_are_delivered_once_in_chat_order() {
    let s = setup().await;
    for text in ["a1", "a2", "a3"] {
        s.enqueue(1001, text).await;
    }
    for text in ["b1", "b2"] {
        s.enqueue(1002, text).await;
    }
    let mut notifier = s.notifier();

    let report = drain(&mut notifier, Duration::from_millis(1000)).await;

    assert_eq!(report.sent, 5);
    assert_eq!(s.fake.texts_to(1001), ["a1", "a2", "a3"]);
    assert_eq!(s.fake.texts_to(1002), ["b1", "b2"]);
    assert_eq!(s.fake.received().len(), 5, "each message exactly once");
    for got in s.fake.received() {
        let row = s.row(&got.text).await;
        assert_eq!(row.status, "sent");
        assert_eq!(row.telegram_message_id, Some(got.message_id));
        assert_eq!(row.attempts, 1);
        assert!(row.sent_at_ms.is_some());
        assert_eq!(row.last_error, None);
    }
    // One chat is paced (lower bound only, with room for network jitter).
    let times: Vec<_> = s.fake.received_by(1001).iter().map(|m| m.at).collect();
    for pair in times.windows(2) {
        assert!(
            pair[1] - pair[0] >= CHAT_SPACING / 2,
            "{:?}",
            pair[1] - pair[0]
        );
    }
    assert_eq!(s.metrics.messages_sent.get(), 5);
    assert_eq!(s.metrics.outbox_depth.get(), 0);
}

#[tokio::test]
async fn a_flood_wait_holds_every_send_until_retry_after() {
    let s = setup().await;
    s.enqueue(1, "first").await;
    s.fake.reply_next(1, Reply::RetryAfter(1));
    let mut notifier = s.notifier();
    let before = now_ms();

    let report = worked(notifier.step().await.unwrap());

    assert_eq!(report.retried, 1);
    let row = s.row("first").await;
    assert_eq!(row.status, "pending");
    assert_eq!(row.attempts, 0, "a flood wait is not the message's fault");
    assert!(row.next_attempt_at_ms >= before + 1000);
    assert!(row.last_error.unwrap().contains("retry after 1"));
    assert_eq!(s.metrics.telegram_429.get(), 1);

    // Another chat's message waits too: the flood wait is bot-wide.
    s.enqueue(2, "second").await;
    assert!(matches!(
        notifier.step().await.unwrap(),
        StepOutcome::Idle {
            next_due_ms: Some(_)
        }
    ));
    assert!(s.fake.received().is_empty());

    let report = drain(&mut notifier, Duration::from_millis(1000)).await;

    assert_eq!(report.sent, 2);
    let refused_at = s.fake.requests()[0].at;
    assert_eq!(s.fake.requests()[0].status, 429);
    for got in s.fake.received() {
        assert!(got.at - refused_at >= Duration::from_secs(1), "{got:?}");
    }
    assert_eq!(s.fake.texts_to(1), ["first"]);
    assert_eq!(s.fake.texts_to(2), ["second"]);
    assert_eq!(s.row("first").await.status, "sent");
    assert_eq!(s.metrics.telegram_429.get(), 1);
    assert_eq!(s.metrics.messages_retried.get(), 1);
    assert_eq!(s.metrics.messages_sent.get(), 2);
}

#[tokio::test]
async fn an_unreachable_chat_is_stopped_and_its_subscriptions_paused() {
    for (reply, says) in [
        (Reply::blocked(), "blocked"),
        (Reply::user_deactivated(), "deactivated"),
        (Reply::chat_not_found(), "chat not found"),
    ] {
        let s = setup().await;
        let sub = NewSubscription {
            chat_id: ChatId::new(2001).unwrap(),
            city: "Rome",
            country: "IT",
            latitude: 41.89,
            longitude: 12.51,
            band: TemperatureBand::new(None, Some(Temperature::new(30.0).unwrap())).unwrap(),
            rain: true,
            snow: false,
            ahead: None,
        };
        s.store.insert_subscription(sub, 10).await.unwrap().unwrap();
        s.enqueue(2001, "x1").await;
        s.enqueue(2001, "x2").await;
        s.enqueue(2002, "y1").await;
        s.fake.reply_next_to(2001, 1, reply);
        let mut notifier = s.notifier();

        let report = drain(&mut notifier, Duration::from_millis(1000)).await;

        assert_eq!((report.stopped, report.sent), (1, 1), "{says}");
        assert_eq!(s.fake.requests_to(2001).len(), 1, "nothing more sent to it");
        assert!(s.fake.received_by(2001).is_empty());
        assert_eq!(s.fake.texts_to(2002), ["y1"], "other chats go on");
        for row in s.rows_of(2001).await {
            assert_eq!(row.status, "stopped", "{says}");
            assert!(row.last_error.as_deref().unwrap().contains(says), "{row:?}");
            assert_eq!(row.telegram_message_id, None);
        }
        let chat = s.store.chat(2001).await.unwrap().expect("chat row");
        assert!(!chat.active);
        assert!(chat.inactive_reason.unwrap().contains(says));
        let subs = s
            .store
            .subscriptions_of_chat(ChatId::new(2001).unwrap())
            .await
            .unwrap();
        assert_eq!(subs.len(), 1);
        assert!(subs.iter().all(|sub| !sub.active), "subscriptions paused");
        assert_eq!(s.metrics.messages_failed.get(), 1);
        assert_eq!(s.metrics.outbox_depth.get(), 0);
    }
}

// teloxide itself waits 10 s before reading a 5xx answer: this test is slow.
#[tokio::test]
async fn a_server_error_is_retried_then_delivered_in_order() {
    let s = setup().await;
    s.enqueue(3001, "c1").await;
    s.enqueue(3001, "c2").await;
    s.fake.reply_next_to(3001, 1, Reply::server_error());
    let mut notifier = s.notifier();

    let report = worked(notifier.step().await.unwrap());

    assert_eq!(report.retried, 1);
    let row = s.row("c1").await;
    assert_eq!(row.status, "pending", "never sent after a failed send");
    assert_eq!(row.attempts, 1);
    assert_eq!(row.sent_at_ms, None);
    assert_eq!(row.telegram_message_id, None);
    assert!(
        row.last_error
            .as_deref()
            .unwrap()
            .contains("Internal Server Error"),
        "{row:?}"
    );
    assert!(s.fake.received().is_empty());

    let report = drain(&mut notifier, Duration::from_millis(1000)).await;

    assert_eq!(report.sent, 2);
    assert_eq!(s.fake.texts_to(3001), ["c1", "c2"], "c2 never overtakes c1");
    let row = s.row("c1").await;
    assert_eq!((row.status.as_str(), row.attempts), ("sent", 2));
    assert_eq!(s.metrics.messages_retried.get(), 1);
    assert_eq!(s.metrics.messages_sent.get(), 2);
}

#[tokio::test]
async fn a_refused_message_fails_and_the_chat_goes_on() {
    let s = setup().await;
    s.enqueue(4001, "too long").await;
    s.enqueue(4001, "fine").await;
    s.fake.reply_next_to(4001, 1, Reply::too_long());
    let mut notifier = s.notifier();

    let report = drain(&mut notifier, Duration::from_millis(1000)).await;

    assert_eq!((report.failed, report.sent), (1, 1));
    let row = s.row("too long").await;
    assert_eq!(row.status, "failed");
    assert!(row.last_error.unwrap().contains("message is too long"));
    assert_eq!(row.telegram_message_id, None);
    assert_eq!(s.fake.texts_to(4001), ["fine"]);
    assert!(s.store.chat(4001).await.unwrap().is_none_or(|c| c.active));
    assert_eq!(s.metrics.messages_failed.get(), 1);
}

/// Logs written while a test runs, to look for secrets in them.
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
async fn a_network_failure_is_retried_and_never_leaks_the_token() {
    let logs = LogBuffer::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let s = setup().await;
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let url = reqwest::Url::parse(&format!("http://{closed}/")).unwrap();
    let bot = teloxide::Bot::new(TOKEN).set_api_url(url);
    s.enqueue(5001, "storm warning").await;
    let mut notifier = s.notifier_with(bot, Arc::new(Notify::new()));

    let report = worked(notifier.step().await.unwrap());

    assert_eq!(report.retried, 1);
    let row = s.row("storm warning").await;
    assert_eq!(row.status, "pending");
    assert_eq!(row.attempts, 1);
    assert_eq!(row.telegram_message_id, None);
    assert!(row.next_attempt_at_ms > now_ms(), "backing off");
    let error = row.last_error.expect("the error is kept");
    let secret = TOKEN.split(':').nth(1).unwrap();
    assert!(!error.contains(secret), "token leaked: {error}");
    // teloxide drops the URL from network errors; `redact_url` is the
    // second guard. Either way the cause is kept.
    assert!(error.contains("error sending request"), "{error}");
    assert_eq!(s.metrics.messages_retried.get(), 1);
    assert_eq!(s.metrics.messages_sent.get(), 0);
    assert!(matches!(
        notifier.step().await.unwrap(),
        StepOutcome::Idle {
            next_due_ms: Some(_)
        }
    ));

    let logged = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(logged.contains("will retry"), "{logged}");
    assert!(
        !logged.contains(secret),
        "token leaked to the log: {logged}"
    );
    assert!(!logged.contains("storm warning"), "message text in the log");
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn run_sends_on_a_wake_up_and_returns_on_shutdown() {
    let s = setup().await;
    let wake = Arc::new(Notify::new());
    let notifier = s
        .notifier_with(s.fake.bot(), Arc::clone(&wake))
        .with_limits(Limits {
            idle_poll: Duration::from_secs(3600),
            ..limits()
        });
    let status = notifier.status();
    let (trigger, listener) = shutdown::channel();
    let task = tokio::spawn(notifier.run(listener));
    // An empty step done: it now idles for an hour unless woken.
    wait_until("an idle step", || status.last_progress_ms().is_some()).await;

    s.enqueue(6001, "hello").await;
    wake.notify_one();
    wait_until("the message", || s.fake.received().len() == 1).await;
    trigger.trigger();

    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("run returns after shutdown")
        .unwrap();
    assert_eq!(s.row("hello").await.status, "sent");
}

#[tokio::test]
async fn shutdown_finishes_sends_in_flight_and_starts_no_more() {
    let s = setup().await;
    s.fake
        .set_latency(Duration::from_millis(300), Duration::from_millis(300));
    for chat in 1..=5 {
        s.enqueue(7000 + chat, &format!("m{chat}")).await;
    }
    let notifier = s.notifier().with_limits(Limits {
        spacing: Duration::from_millis(400),
        ..limits()
    });
    let (trigger, listener) = shutdown::channel();
    let task = tokio::spawn(notifier.run(listener));

    wait_until("a first request", || !s.fake.requests().is_empty()).await;
    trigger.trigger();
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("run returns after shutdown")
        .unwrap();

    let received = s.fake.received();
    assert!(!received.is_empty() && received.len() < 5, "{received:?}");
    for row in s.store.outbox_rows().await.unwrap() {
        let got = received.iter().find(|m| m.text == row.text);
        match got {
            // The answer arrived after shutdown began and was still recorded.
            Some(m) => assert_eq!(
                (row.status.as_str(), row.telegram_message_id),
                ("sent", Some(m.message_id))
            ),
            None => assert_eq!((row.status.as_str(), row.attempts), ("pending", 0)),
        }
    }
}
