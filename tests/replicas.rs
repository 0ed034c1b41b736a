//! Several replicas on one database behave as one bot (issue 11), on SQLite
//! (one file in WAL mode, a pool per replica): notifiers claim the rows they
//! send, a dead replica's claims are taken over after the claim lease, a
//! 429 on one replica holds the others, one leader at a time.

mod support;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use meteobot::clock::{Clock, ManualClock, SharedClock};
use meteobot::metrics::Metrics;
use meteobot::notifier::{Limits, Notifier, StepOutcome};
use meteobot::store::{LEADER, Leader, NewMessage, Store, now_ms};
use support::drain::drain;
use support::e2e::{eventually, wait_for};
use support::fake_telegram::{FakeTelegram, Reply};
use tempfile::TempDir;
use tokio::sync::Notify;

/// Two notifiers share the rows: look again soon when idle.
const PAUSE: Duration = Duration::from_millis(50);

struct Setup {
    url: String,
    store: Store,
    fake: FakeTelegram,
    _dir: TempDir,
}

async fn setup() -> Setup {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = meteobot::store::scratch::database_url(dir.path(), "x").await;
    Setup {
        store: Store::connect(&url).await.expect("store"),
        url,
        fake: FakeTelegram::start().await,
        _dir: dir,
    }
}

fn limits() -> Limits {
    Limits {
        spacing: Duration::from_millis(1),
        chat_spacing: Duration::from_millis(20),
        max_in_flight: 8,
        batch: 32,
        backoff_base: Duration::from_millis(100),
        backoff_max: Duration::from_secs(1),
        idle_poll: Duration::from_millis(50),
    }
}

impl Setup {
    /// A replica's notifier: its own connection pool on the same file.
    async fn notifier(&self, name: &str) -> Notifier {
        let store = Store::connect(&self.url).await.expect("second pool");
        Notifier::new(
            store,
            self.fake.bot(),
            Metrics::new(),
            Arc::new(Notify::new()),
        )
        .with_limits(limits())
        .with_holder(name)
    }

    async fn enqueue(&self, chat: i64, text: &str, at_ms: i64) -> i64 {
        let msg = NewMessage {
            chat_id: chat,
            subscription_id: None,
            kind: "alert",
            text: text.to_owned(),
            dedup_key: format!("{chat}:{text}"),
            ..NewMessage::default()
        };
        assert!(self.store.enqueue_message(&msg, at_ms).await.unwrap());
        let rows = self.store.outbox_rows().await.unwrap();
        rows.last().unwrap().id
    }
}

#[tokio::test]
async fn two_notifiers_send_200_messages_to_100_chats_exactly_once_in_order() {
    let s = setup().await;
    let at = now_ms();
    for chat in 1..=100 {
        s.enqueue(chat, &format!("{chat} first"), at).await;
        s.enqueue(chat, &format!("{chat} second"), at).await;
    }
    let mut a = s.notifier("replica-a").await;
    let mut b = s.notifier("replica-b").await;
    let (ra, rb) = tokio::join!(drain(&mut a, PAUSE), drain(&mut b, PAUSE));
    assert_eq!(ra.sent + rb.sent, 200, "a: {ra:?}, b: {rb:?}");
    assert_eq!(ra.retried + rb.retried + ra.failed + rb.failed, 0);

    let received = s.fake.received();
    assert_eq!(received.len(), 200, "0 lost, 0 duplicates");
    let mut per_chat: HashMap<i64, Vec<String>> = HashMap::new();
    for r in received {
        per_chat.entry(r.chat_id).or_default().push(r.text);
    }
    for chat in 1..=100 {
        assert_eq!(
            per_chat.get(&chat).cloned().unwrap_or_default(),
            [format!("{chat} first"), format!("{chat} second")],
            "chat {chat}: once each, in order"
        );
    }
    let rows = s.store.outbox_rows().await.unwrap();
    assert!(rows.iter().all(|r| r.status == "sent"));
}

#[tokio::test]
async fn a_dead_replicas_claims_are_sent_by_another_after_the_claim_lease() {
    let s = setup().await;
    let t0 = now_ms();
    let mut ids = Vec::new();
    for chat in 1..=10 {
        ids.push(s.enqueue(chat, &format!("to {chat}"), t0).await);
    }
    // A replica claims the first five rows, then dies before sending
    // (kill -9: no send, no record, no release).
    let dead = s
        .store
        .claim_messages(&ids[..5], "dead", t0, t0 + 60_000)
        .await
        .unwrap();
    assert_eq!(dead.len(), 5);
    // Claimed rows cannot be claimed again while the claim lasts.
    let again = (s.store)
        .claim_messages(&ids[..5], "other", t0 + 1, t0 + 60_001)
        .await
        .unwrap();
    assert!(again.is_empty());

    let mut b = s.notifier("replica-b").await;
    let report = match b.step_at(t0 + 1_000).await.unwrap() {
        StepOutcome::Worked(r) => r,
        other => panic!("expected work, got {other:?}"),
    };
    assert_eq!(report.sent, 5, "only the unclaimed rows");
    // The rest wait for the claim to end: the notifier says when.
    assert_eq!(
        b.step_at(t0 + 2_000).await.unwrap(),
        StepOutcome::Idle {
            next_due_ms: Some(t0 + 60_000)
        }
    );
    let mut got: Vec<i64> = s.fake.received().iter().map(|r| r.chat_id).collect();
    got.sort_unstable();
    assert_eq!(got, (6..=10).collect::<Vec<_>>());

    // After the claim lease another replica takes the rows over.
    let report = match b.step_at(t0 + 60_001).await.unwrap() {
        StepOutcome::Worked(r) => r,
        other => panic!("expected work, got {other:?}"),
    };
    assert_eq!(report.sent, 5);
    let mut got: Vec<i64> = s.fake.received().iter().map(|r| r.chat_id).collect();
    got.sort_unstable();
    assert_eq!(got, (1..=10).collect::<Vec<_>>(), "each once");
    assert_eq!(
        b.step_at(t0 + 60_002).await.unwrap(),
        StepOutcome::Idle { next_due_ms: None }
    );
}

#[tokio::test]
async fn a_429_on_one_replica_holds_the_other() {
    let s = setup().await;
    let t0 = now_ms();
    s.enqueue(1, "to 1", t0).await;
    s.fake.reply_next(1, Reply::RetryAfter(30));
    let mut a = s.notifier("replica-a").await;
    let mut b = s.notifier("replica-b").await;
    match a.step_at(t0).await.unwrap() {
        StepOutcome::Worked(r) => assert_eq!(r.retried, 1, "{r:?}"),
        other => panic!("expected work, got {other:?}"),
    }
    let until = s
        .store
        .telegram_hold_until_ms()
        .await
        .unwrap()
        .expect("stored");
    assert!(until >= t0 + 30_000, "held until {until}, from {t0}");

    // The other replica has a row of another chat due: it does not send.
    s.enqueue(2, "to 2", t0).await;
    match b.step_at(t0 + 10).await.unwrap() {
        StepOutcome::Idle {
            next_due_ms: Some(due),
        } => assert!(due >= t0 + 29_000, "held until {due}"),
        other => panic!("expected a hold, got {other:?}"),
    }
    assert_eq!(s.fake.received().len(), 0);
    assert_eq!(s.fake.count_429(), 1);
}

#[tokio::test]
async fn one_leader_among_replicas_and_failover_within_two_lease_periods() {
    let s = setup().await;
    let clock = ManualClock::default();
    let shared: SharedClock = Arc::new(clock.clone());
    // Three replicas, each with its own pool on the file.
    let mut replicas = Vec::new();
    for name in ["r0", "r1", "r2"] {
        let store = Store::connect(&s.url).await.unwrap();
        replicas.push(Leader::new(store, name, Arc::clone(&shared)));
    }
    let period = chrono::TimeDelta::seconds(30);
    let mut leaders = Vec::new();
    for r in &replicas {
        if r.renew().await.unwrap() {
            leaders.push(r.holder().to_owned());
        }
    }
    assert_eq!(leaders, ["r0"], "exactly one leader");
    // r0 dies at once (kill -9: no release). The others renew every 10 s.
    let died = clock.now();
    let new_leader = loop {
        clock.advance(replicas[1].renew_every());
        let mut held = Vec::new();
        for r in &replicas[1..] {
            if r.renew().await.unwrap() {
                held.push(r.holder().to_owned());
            }
        }
        assert!(held.len() <= 1, "two leaders: {held:?}");
        if let Some(leader) = held.pop() {
            break leader;
        }
        assert!(
            clock.now() - died <= period * 2,
            "no leader after two periods"
        );
    };
    assert!(clock.now() - died <= period * 2);
    assert!(clock.now() - died >= period, "not while r0's lease lasted");
    let (holder, _) = s.store.lease(LEADER).await.unwrap().unwrap();
    assert_eq!(holder, new_leader);
}

#[tokio::test]
async fn a_replicas_metrics_carry_its_instance_name_and_it_leads_alone() {
    let app = support::spawn_app_with(|c| c.instance_name = "replica-7".to_owned()).await;
    // Alone on its database, the replica takes the lease at once.
    let text = eventually("replica-7 leads", async || {
        let text = app
            .client
            .get(app.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.contains("leader{instance=\"replica-7\"} 1")
            .then_some(text)
    })
    .await;
    assert!(
        text.contains("registered_users_total{instance=\"replica-7\"} 0"),
        "{text}"
    );
    let (holder, _) = app.store.lease(LEADER).await.unwrap().expect("a lease");
    assert!(holder.starts_with("replica-7-"), "{holder}");
}

#[tokio::test]
async fn a_migrated_groups_claimed_message_is_resent_at_once() {
    let s = setup().await;
    let (group, supergroup) = (-4001, -1_009_001);
    let t0 = now_ms();
    s.enqueue(group, "group: hot", t0).await;
    s.fake.reply_next_to(group, 1, Reply::MigrateTo(supergroup));
    let mut a = s.notifier("replica-a").await;
    match a.step_at(t0).await.unwrap() {
        StepOutcome::Worked(r) => assert_eq!(r.retried, 1, "{r:?}"),
        other => panic!("expected work, got {other:?}"),
    }
    // The claim ended with the move: not held back for the claim lease.
    let mut b = s.notifier("replica-b").await;
    match b.step_at(t0 + 1).await.unwrap() {
        StepOutcome::Worked(r) => assert_eq!(r.sent, 1, "{r:?}"),
        other => panic!(
            "expected work, got {other:?} (t0 {t0}): {:?}",
            s.store.outbox_rows().await.unwrap()
        ),
    }
    assert_eq!(s.fake.texts_to(supergroup), ["group: hot"]);
}

/// A sample's value in a `/metrics` text (unlabelled: `Config::local`).
fn sample(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

async fn scrape(addr: std::net::SocketAddr) -> String {
    reqwest::get(format!("http://{addr}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn two_apps_on_one_file_poll_on_one_and_the_other_takes_over_when_it_dies() {
    use meteobot::config::Config;
    use meteobot::secret::Secret;
    use meteobot::startup::App;

    let dir = tempfile::tempdir().unwrap();
    let url = meteobot::store::scratch::database_url(dir.path(), "app").await;
    let telegram = FakeTelegram::start().await;
    let clock = ManualClock::default();
    // Each replica in a runtime of its own: dropping it ends every task at
    // once, without a release (kill -9).
    let mut apps = Vec::new();
    for _ in 0..2 {
        let mut config = Config::local(url.clone());
        config.telegram_token = Some(Secret::new(support::fake_telegram::TOKEN));
        config.telegram_api_url = Some(telegram.url());
        config.poll_interval = Duration::from_millis(100);
        let closed = reqwest::Url::parse("http://127.0.0.1:9").unwrap();
        config.open_meteo_api_url = closed.clone();
        config.open_meteo_geocoding_url = closed;
        config.jwt_secret = Some(Secret::new(support::JWT_SECRET));
        let clock: SharedClock = Arc::new(clock.clone());
        let (addr_tx, addr_rx) = tokio::sync::oneshot::channel();
        let (kill_tx, kill_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let app = App::build_with_clock(config, clock).await.unwrap();
                addr_tx.send(app.local_addr()).unwrap();
                tokio::spawn(app.run_until(std::future::pending()));
                let _ = kill_rx.await;
            });
            rt.shutdown_background();
        });
        let addr = addr_rx.await.unwrap();
        apps.push((addr, (kill_tx, thread)));
    }
    // Exactly one leads, and only it polls.
    let leader = eventually("one leader that polls", async || {
        let mut leading = Vec::new();
        for (i, (addr, _)) in apps.iter().enumerate() {
            let text = scrape(*addr).await;
            if sample(&text, "leader") == Some(1.0)
                && sample(&text, "poll_cycle_duration_seconds_count").unwrap_or(0.0) >= 2.0
            {
                leading.push(i);
            }
        }
        assert!(leading.len() <= 1, "two leaders");
        leading.pop()
    })
    .await;
    let other = 1 - leader;
    let text = scrape(apps[other].0).await;
    assert_eq!(sample(&text, "leader"), Some(0.0));
    assert_eq!(
        sample(&text, "poll_cycle_duration_seconds_count"),
        Some(0.0),
        "the follower does not poll"
    );
    // Readiness: the follower's workers beat while they wait.
    let ready = reqwest::get(format!("http://{}/readyz", apps[other].0))
        .await
        .unwrap();
    assert_eq!(ready.status(), 200, "{}", ready.text().await.unwrap());

    // The leader dies without releasing its lease (its tasks are dropped).
    let (_, (kill, thread)) = apps.remove(leader);
    kill.send(()).unwrap();
    tokio::task::spawn_blocking(move || thread.join().unwrap())
        .await
        .unwrap();
    let addr = apps[0].0;
    // Within the lease nothing changes...
    clock.advance(Duration::from_secs(20));
    let text = scrape(addr).await;
    assert_eq!(sample(&text, "leader"), Some(0.0));
    // ...after it (under two periods) the other takes over and polls.
    clock.advance(Duration::from_secs(11));
    wait_for("the takeover and a poll", async || {
        let text = scrape(addr).await;
        sample(&text, "leader") == Some(1.0)
            && sample(&text, "poll_cycle_duration_seconds_count").unwrap_or(0.0) >= 1.0
    })
    .await;
    let (_, (kill, thread)) = apps.remove(0);
    kill.send(()).unwrap();
    tokio::task::spawn_blocking(move || thread.join().unwrap())
        .await
        .unwrap();
}
