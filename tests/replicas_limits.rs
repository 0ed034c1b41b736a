//! Telegram's limits across replicas (issue 11): three notifiers, each with
//! its own connection pool and its own in-process pace, on one database (a
//! PostgreSQL database when METEOBOT_TEST_POSTGRES is set, else a SQLite
//! file), against a fake Bot API that answers 429 as soon as more than 30
//! messages arrive in a second or two to one chat within a second. Only the
//! shared start slots (`send_slots`) and the chats' shared cooling (their
//! last `sent_at_ms`) keep the three of them under both limits.

mod support;

use std::sync::Arc;
use std::time::Duration;

use meteobot::metrics::Metrics;
use meteobot::notifier::{Notifier, StepReport};
use meteobot::store::Store;
use support::drain::drain;
use support::e2e::wait_for;
use support::fake_telegram::{Enforce, FakeTelegram};
use tempfile::TempDir;
use tokio::sync::Notify;

/// The replicas share the rows: look again soon when idle.
const PAUSE: Duration = Duration::from_millis(50);
const CHATS: i64 = 300;

/// One test at a time: two runs of three replicas each on a 2-core machine
/// would delay each other's sends, and bunched sends are what Telegram's
/// window counts.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

struct Setup {
    url: String,
    fake: FakeTelegram,
    _dir: TempDir,
}

/// 600 alerts to 300 chats (two each, in order) and a fake enforcing
/// Telegram's limits.
async fn setup() -> Setup {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = meteobot::store::scratch::database_url(dir.path(), "x").await;
    let store = Store::connect(&url).await.expect("store");
    support::storm::enqueue(&store, CHATS).await;
    store.close().await;
    let fake = FakeTelegram::start().await;
    fake.enforce_limits(Enforce::default());
    Setup {
        url,
        fake,
        _dir: dir,
    }
}

impl Setup {
    /// A replica's notifier with Telegram's default pacing, its own pool.
    async fn replica(&self, name: &str, claim_lease: Duration) -> Notifier {
        let store = Store::connect(&self.url).await.expect("replica's pool");
        Notifier::new(
            store,
            self.fake.bot(),
            Metrics::new(),
            Arc::new(Notify::new()),
        )
        .with_holder(name)
        .with_claim_lease(claim_lease)
    }

    fn spawn(mut notifier: Notifier) -> tokio::task::JoinHandle<StepReport> {
        tokio::spawn(async move { drain(&mut notifier, PAUSE).await })
    }
}

#[tokio::test]
async fn three_replicas_send_600_alerts_to_300_chats_once_each_under_telegrams_limits() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let s = setup().await;
    let lease = meteobot::notifier::CLAIM_LEASE;
    let replicas = [
        Setup::spawn(s.replica("a", lease).await),
        Setup::spawn(s.replica("b", lease).await),
        Setup::spawn(s.replica("c", lease).await),
    ];
    let mut sent = 0;
    for replica in replicas {
        let report = replica.await.expect("replica");
        assert_eq!(report.failed + report.stopped, 0, "{report:?}");
        sent += report.sent;
    }
    assert_eq!(sent, 600);
    let received = s.fake.received();
    assert_eq!(received.len(), 600, "0 lost, 0 duplicates");
    let duplicates =
        support::storm::duplicates_after_checking_each_arrived_in_order(&received, CHATS);
    assert_eq!(duplicates, 0, "0 duplicates");
    assert_eq!(
        s.fake.count_429(),
        0,
        "over a limit: {:?}",
        support::storm::why_429(&s.fake)
    );
}

#[tokio::test]
async fn a_replica_killed_in_the_middle_loses_nothing_and_duplicates_at_most_one() {
    let _alone = ONE_AT_A_TIME.lock().await;
    let s = setup().await;
    // Short claims: the dead replica's rows are taken over after 6 s.
    let lease = Duration::from_secs(6);
    let a = Setup::spawn(s.replica("a", lease).await);
    let b = Setup::spawn(s.replica("b", lease).await);
    let c = Setup::spawn(s.replica("c", lease).await);
    // kill -9 of c a third of the way: its task is dropped wherever it is
    // (mid-send, mid-record), nothing released, nothing recorded.
    wait_for("200 delivered", async || s.fake.received().len() >= 200).await;
    c.abort();
    assert!(c.await.unwrap_err().is_cancelled());
    let (ra, rb) = (a.await.expect("a"), b.await.expect("b"));
    assert_eq!(ra.failed + rb.failed + ra.stopped + rb.stopped, 0);

    let received = s.fake.received();
    let duplicates =
        support::storm::duplicates_after_checking_each_arrived_in_order(&received, CHATS);
    assert!(duplicates <= 1, "{duplicates} duplicates");
    assert_eq!(received.len(), 600 + duplicates);
    assert_eq!(
        s.fake.count_429(),
        0,
        "over a limit: {:?}",
        support::storm::why_429(&s.fake)
    );
    let store = Store::connect(&s.url).await.unwrap();
    let rows = store.outbox_rows().await.unwrap();
    assert!(rows.iter().all(|r| r.status == "sent"), "every row sent");
}
