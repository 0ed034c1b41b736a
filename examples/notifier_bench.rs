//! Notifier throughput against a fake Bot API that enforces Telegram's
//! limits (30 messages/s overall, 1/s per chat, 429 otherwise) and answers
//! after 20–50 ms. Prints messages/s, time, lost, duplicates and 429s; exits
//! 1 if a message was lost, duplicated or reordered within its chat.
//!
//! One replica is one `Store::connect` pool and one `Notifier` running its
//! production loop (`Notifier::run`) under its own holder name; replicas
//! share Telegram's limits only through the database.
//!
//! ```text
//! cargo run --release --example notifier_bench                    # 10,000 to 5,000 chats (~6 min)
//! cargo run --release --example notifier_bench -- --messages 600 --chats 300
//! cargo run --release --example notifier_bench -- --messages 3000 --chats 1500 \
//!     --postgres postgres://postgres@127.0.0.1:55432/postgres --replicas 3
//! ```
//! `--postgres <server URL>` creates a fresh database on that server
//! (default: a SQLite file in a temp directory); `--replicas <n>` (default 1).
//! `NOTIFIER_BENCH_MESSAGES` / `NOTIFIER_BENCH_CHATS` work too.

#[path = "../tests/support/fake_telegram.rs"]
mod fake_telegram;
#[path = "notifier_bench/report.rs"]
mod report;

use std::sync::Arc;
use std::time::Duration;

use fake_telegram::{Enforce, FakeTelegram};
use meteobot::metrics::Metrics;
use meteobot::notifier::Notifier;
use meteobot::secret::redact_url;
use meteobot::shutdown;
use meteobot::store::{NewMessage, Store, now_ms};
use tokio::sync::Notify;
use tokio::time::Instant;

struct Args {
    messages: usize,
    chats: usize,
    postgres: Option<String>,
    replicas: usize,
}

fn args() -> anyhow::Result<Args> {
    let from_env = |name: &str, default: usize| -> anyhow::Result<usize> {
        std::env::var(name).map_or(Ok(default), |v| Ok(v.parse()?))
    };
    let mut args = Args {
        messages: from_env("NOTIFIER_BENCH_MESSAGES", 10_000)?,
        chats: from_env("NOTIFIER_BENCH_CHATS", 5_000)?,
        postgres: None,
        replicas: 1,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it
            .next()
            .ok_or_else(|| anyhow::anyhow!("{flag} needs a value"))?;
        match flag.as_str() {
            "--messages" => args.messages = value.parse()?,
            "--chats" => args.chats = value.parse()?,
            "--postgres" => args.postgres = Some(value),
            "--replicas" => args.replicas = value.parse()?,
            _ => anyhow::bail!(
                "unknown flag {flag} (use --messages N --chats M [--postgres URL] [--replicas R])"
            ),
        }
    }
    anyhow::ensure!(
        args.messages > 0 && args.chats > 0 && args.replicas > 0,
        "need at least one message, chat and replica"
    );
    Ok(args)
}

fn chat_of(i: usize, chats: usize) -> i64 {
    1_000_000 + (i % chats) as i64
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let Args {
        messages,
        chats,
        postgres,
        replicas,
    } = args()?;
    let dir = tempfile::tempdir()?;
    let (engine, url) = match &postgres {
        Some(server) => (
            "PostgreSQL",
            meteobot::store::scratch::fresh_postgres_database(server).await?,
        ),
        None => (
            "SQLite",
            format!("sqlite:{}", dir.path().join("bench.db").display()),
        ),
    };
    println!(
        "engine: {engine} ({}), replicas: {replicas}",
        redact_url(&url)
    );
    let store = Store::connect(&url).await?;

    let fake = FakeTelegram::start().await;
    fake.enforce_limits(Enforce::default());
    fake.set_latency(Duration::from_millis(20), Duration::from_millis(50));

    // Round robin: each chat gets its messages in increasing i.
    let created = now_ms();
    for i in 0..messages {
        let msg = NewMessage {
            chat_id: chat_of(i, chats),
            subscription_id: None,
            kind: "alert",
            text: format!("message {i}"),
            dedup_key: format!("bench-{i}"),
            ..NewMessage::default()
        };
        store.enqueue_message(&msg, created).await?;
    }
    println!(
        "{messages} messages to {chats} chats enqueued; sending (Telegram limits enforced, 20-50 ms latency)"
    );

    // Each replica: its own pool, its own notifier, its own holder name.
    let mut notifiers = Vec::with_capacity(replicas);
    let mut metrics = Vec::with_capacity(replicas);
    for r in 0..replicas {
        let pool = Store::connect(&url).await?;
        let m = Metrics::new();
        let notifier = Notifier::new(pool, fake.bot(), m.clone(), Arc::new(Notify::new()))
            .with_holder(format!("bench-{r}"));
        notifiers.push(notifier);
        metrics.push(m);
    }
    let (trigger, listener) = shutdown::channel();
    let started = Instant::now();
    let tasks: Vec<_> = notifiers
        .into_iter()
        .map(|n| tokio::spawn(n.run(listener.clone())))
        .collect();

    let mut last_report = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let pending = store.pending_count().await?;
        if pending == 0 {
            break;
        }
        if last_report.elapsed() >= Duration::from_secs(30) {
            last_report = Instant::now();
            let done = fake.received().len();
            let secs = started.elapsed().as_secs_f64();
            println!(
                "  {secs:>6.0} s: {done} sent, {pending} pending, {:.2} msg/s",
                done as f64 / secs
            );
        }
    }
    let total = started.elapsed();
    trigger.trigger();
    for task in tasks {
        task.await?;
    }

    let rows = store.outbox_rows().await?;
    let per_replica: Vec<(u64, u64)> = metrics
        .iter()
        .map(|m| (m.messages_sent.get(), m.telegram_429.get()))
        .collect();
    let failed = report::Run {
        engine,
        replicas,
        messages,
        chats,
        total,
        per_replica,
    }
    .print(&fake, &rows)?;
    store.close().await;
    if failed {
        std::process::exit(1);
    }
    Ok(())
}
