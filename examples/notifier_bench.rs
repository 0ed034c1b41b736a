//! Notifier throughput against a fake Bot API that enforces Telegram's
//! limits (30 messages/s overall, 1/s per chat, 429 otherwise) and answers
//! after 20–50 ms. Prints messages/s, time, lost, duplicates and 429s; exits
//! 1 if a message was lost, duplicated or reordered within its chat.
//!
//! ```text
//! cargo run --release --example notifier_bench                    # 10,000 to 5,000 chats (~6 min)
//! cargo run --release --example notifier_bench -- --messages 600 --chats 300
//! ```
//! `NOTIFIER_BENCH_MESSAGES` / `NOTIFIER_BENCH_CHATS` work too.

#[path = "../tests/support/fake_telegram.rs"]
mod fake_telegram;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use fake_telegram::{Enforce, FakeTelegram};
use meteobot::metrics::Metrics;
use meteobot::notifier::Notifier;
use meteobot::shutdown;
use meteobot::store::{NewMessage, Store, now_ms};
use tokio::sync::Notify;
use tokio::time::Instant;

struct Args {
    messages: usize,
    chats: usize,
}

fn args() -> anyhow::Result<Args> {
    let from_env = |name: &str, default: usize| -> anyhow::Result<usize> {
        std::env::var(name).map_or(Ok(default), |v| Ok(v.parse()?))
    };
    let mut args = Args {
        messages: from_env("NOTIFIER_BENCH_MESSAGES", 10_000)?,
        chats: from_env("NOTIFIER_BENCH_CHATS", 5_000)?,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it
            .next()
            .ok_or_else(|| anyhow::anyhow!("{flag} needs a value"))?;
        match flag.as_str() {
            "--messages" => args.messages = value.parse()?,
            "--chats" => args.chats = value.parse()?,
            _ => anyhow::bail!("unknown flag {flag} (use --messages N --chats M)"),
        }
    }
    anyhow::ensure!(
        args.messages > 0 && args.chats > 0,
        "need at least one message and chat"
    );
    Ok(args)
}

fn chat_of(i: usize, chats: usize) -> i64 {
    1_000_000 + (i % chats) as i64
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let Args { messages, chats } = args()?;
    let dir = tempfile::tempdir()?;
    let store =
        Store::connect(&format!("sqlite:{}", dir.path().join("bench.db").display())).await?;

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

    let metrics = Metrics::new();
    let notifier = Notifier::new(
        store.clone(),
        fake.bot(),
        metrics.clone(),
        Arc::new(Notify::new()),
    );
    let (trigger, listener) = shutdown::channel();
    let started = Instant::now();
    let task = tokio::spawn(notifier.run(listener));

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
    task.await?;

    let received = fake.received();
    let requests = fake.requests();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for m in &received {
        *seen.entry(m.text.as_str()).or_default() += 1;
    }
    let duplicates: usize = seen.values().map(|n| n.saturating_sub(1)).sum();
    let rows = store.outbox_rows().await?;
    let not_sent = rows.iter().filter(|r| r.status != "sent").count();
    let never_received = rows
        .iter()
        .filter(|r| !seen.contains_key(r.text.as_str()))
        .count();
    let mut last_index: HashMap<i64, usize> = HashMap::new();
    let mut reordered = 0;
    for m in &received {
        let i: usize = m.text.trim_start_matches("message ").parse()?;
        if last_index.insert(m.chat_id, i).is_some_and(|prev| prev > i) {
            reordered += 1;
        }
    }
    let first = requests.first().map(|r| r.at);
    let last = received.last().map(|m| m.at);
    let span = match (first, last) {
        (Some(a), Some(b)) => b - a,
        _ => Duration::ZERO,
    };
    let sustained = received.len().saturating_sub(1) as f64 / span.as_secs_f64().max(1e-9);

    println!("messages:        {messages} to {chats} chats");
    println!(
        "total time:      {:.1} s (wall, start of run to outbox empty)",
        total.as_secs_f64()
    );
    println!("sustained:       {sustained:.2} msg/s (first request to last accepted message)");
    println!(
        "overall:         {:.2} msg/s",
        messages as f64 / total.as_secs_f64()
    );
    println!(
        "lost:            {} (rows not sent: {not_sent}, never received: {never_received})",
        not_sent.max(never_received)
    );
    println!("duplicates:      {duplicates}");
    println!("reordered:       {reordered} (within a chat)");
    println!(
        "429 answers:     {} (fake) / {} (notifier metric)",
        fake.count_429(),
        metrics.telegram_429.get()
    );
    println!("requests:        {}", requests.len());
    if let Some(t0) = first {
        for r in requests.iter().filter(|r| r.status == 429).take(10) {
            let chat = r.chat_id.unwrap_or_default();
            let window = received
                .iter()
                .filter(|m| r.at > m.at && r.at - m.at < Duration::from_secs(1));
            let same_chat = window.clone().any(|m| m.chat_id == chat);
            println!(
                "  429 at +{:.3} s to chat {chat}: {} accepted in the second before{}",
                (r.at - t0).as_secs_f64(),
                window.count(),
                if same_chat {
                    ", one to the same chat"
                } else {
                    ""
                }
            );
        }
    }

    if not_sent + never_received + duplicates + reordered > 0 {
        std::process::exit(1);
    }
    Ok(())
}
