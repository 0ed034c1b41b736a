//! Three `meteobot` processes on one PostgreSQL database against the fake
//! Bot API enforcing Telegram's limits (30/s overall, 1/s per chat): 600
//! alerts to 300 chats are delivered once each with no 429, and after one
//! process is killed with SIGKILL a third of the way, nothing is lost and at
//! most one message is sent twice (the unavoidable window between Telegram's
//! acceptance and the commit). Its claims are taken over when they end
//! (`CLAIM_LEASE`, 60 s), so the test takes about a minute and a half.
//!
//! PostgreSQL only (`METEOBOT_TEST_POSTGRES`): several hosts share a
//! database there; `tests/replicas_limits.rs` covers both engines in
//! process.

mod support;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use meteobot::store::Store;
use support::fake_telegram::{Enforce, FakeTelegram, TOKEN};

const BIN: &str = env!("CARGO_BIN_EXE_meteobot");
const CHATS: i64 = 300;

/// A replica: the binary on `database`, Telegram at `telegram`, every other
/// upstream a closed port, the admin port on a free one.
fn replica(name: &str, database: &str, telegram: &str) -> Child {
    Command::new(BIN)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("DATABASE_URL", database)
        .env("TELOXIDE_TOKEN", TOKEN)
        .env("TELOXIDE_API_URL", telegram)
        .env("OPEN_METEO_API_URL", "http://127.0.0.1:9/")
        .env("OPEN_METEO_GEOCODING_URL", "http://127.0.0.1:9/")
        .env("ADMIN_ADDR", "127.0.0.1:0")
        .env("INSTANCE_NAME", name)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start meteobot")
}

/// Kills whatever is left of the replicas when the test ends, passing or not.
struct Replicas(Vec<Child>);

impl Drop for Replicas {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[tokio::test]
async fn three_processes_and_one_killed_deliver_600_alerts_once_under_telegrams_limits() {
    let Some(server) = meteobot::store::scratch::test_postgres() else {
        eprintln!("METEOBOT_TEST_POSTGRES is not set: PostgreSQL only; skipped");
        return;
    };
    let database = meteobot::store::scratch::fresh_postgres_database(&server)
        .await
        .expect("a database");
    let store = Store::connect(&database).await.expect("store");
    let fake = FakeTelegram::start().await;
    fake.enforce_limits(Enforce::default());
    let telegram = fake.url().to_string();
    let mut replicas = Replicas(
        ["a", "b", "c"]
            .iter()
            .map(|name| replica(name, &database, &telegram))
            .collect(),
    );
    // The alerts, as the leader's poller would write them.
    support::storm::enqueue(&store, CHATS).await;
    let sent = |fake: &FakeTelegram| {
        fake.received()
            .iter()
            .filter(|r| r.text.ends_with("first") || r.text.ends_with("second"))
            .count()
    };
    support::e2e::wait_for("200 delivered", async || sent(&fake) >= 200).await;
    // kill -9: no shutdown, no release, claims left behind.
    let victim = &mut replicas.0[2];
    victim.kill().expect("SIGKILL");
    victim.wait().expect("reaped");

    // The others finish, taking the dead one's rows when its claims end.
    support::e2e::eventually_within("every row sent", Duration::from_secs(150), async || {
        (store.pending_count().await.unwrap() == 0).then_some(())
    })
    .await;
    drop(replicas);

    let duplicates =
        support::storm::duplicates_after_checking_each_arrived_in_order(&fake.received(), CHATS);
    assert!(duplicates <= 1, "{duplicates} duplicates");
    assert_eq!(
        fake.count_429(),
        0,
        "over a limit: {:?}",
        support::storm::why_429(&fake)
    );
    let rows = store.outbox_rows().await.unwrap();
    assert!(rows.iter().all(|r| r.status == "sent"));
}
