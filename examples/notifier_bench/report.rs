//! What a run of the notifier bench delivered: lost, duplicated and
//! reordered messages, sustained rate, 429s, and a timeline of the sends
//! (per second, the busiest sliding second, each 429's surroundings).

use std::collections::HashMap;
use std::time::Duration;

use meteobot::store::OutboxRow;
use tokio::time::Instant;

use crate::fake_telegram::FakeTelegram;

/// One run's parameters and what its replicas counted.
pub struct Run {
    pub engine: &'static str,
    pub replicas: usize,
    pub messages: usize,
    pub chats: usize,
    /// Wall time, start of the run to the outbox empty.
    pub total: Duration,
    /// Each replica's `messages_sent` and `telegram_429` metrics.
    pub per_replica: Vec<(u64, u64)>,
}

const SECOND: Duration = Duration::from_secs(1);

impl Run {
    /// Prints the figures; `true` if a message was lost, duplicated or
    /// reordered within its chat.
    pub fn print(&self, fake: &FakeTelegram, rows: &[OutboxRow]) -> anyhow::Result<bool> {
        let (messages, chats, total) = (self.messages, self.chats, self.total);
        let received = fake.received();
        let requests = fake.requests();
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for m in &received {
            *seen.entry(m.text.as_str()).or_default() += 1;
        }
        let duplicates: usize = seen.values().map(|n| n.saturating_sub(1)).sum();
        let not_sent = rows.iter().filter(|r| r.status != "sent").count();
        let never_received = rows
            .iter()
            .filter(|r| !seen.contains_key(r.text.as_str()))
            .count();
        let lost = not_sent.max(never_received);
        let mut last_index: HashMap<i64, (usize, Instant)> = HashMap::new();
        let mut reordered = 0;
        let mut closest_in_chat: Option<Duration> = None;
        for m in &received {
            let i: usize = m.text.trim_start_matches("message ").parse()?;
            if let Some((prev, at)) = last_index.insert(m.chat_id, (i, m.at)) {
                if prev > i {
                    reordered += 1;
                }
                let gap = m.at.duration_since(at);
                closest_in_chat = Some(closest_in_chat.map_or(gap, |c| c.min(gap)));
            }
        }
        let first = requests.first().map(|r| r.at);
        let last = received.last().map(|m| m.at);
        let span = match (first, last) {
            (Some(a), Some(b)) => b - a,
            _ => Duration::ZERO,
        };
        let sustained = received.len().saturating_sub(1) as f64 / span.as_secs_f64().max(1e-9);
        let count_429 = fake.count_429();
        let metric_429: u64 = self.per_replica.iter().map(|(_, n)| n).sum();

        println!("engine:          {}", self.engine);
        println!("replicas:        {}", self.replicas);
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
            "lost:            {lost} (rows not sent: {not_sent}, never received: {never_received})"
        );
        println!("duplicates:      {duplicates}");
        println!("reordered:       {reordered} (within a chat)");
        println!("429 answers:     {count_429} (fake) / {metric_429} (notifier metrics)");
        println!("requests:        {}", requests.len());
        for (r, (sent, n429)) in self.per_replica.iter().enumerate() {
            println!("  replica {r}: {sent} sent, {n429} 429s");
        }
        let accepted: Vec<Instant> = received.iter().map(|m| m.at).collect();
        println!(
            "busiest second:  {} accepted (sliding window)",
            busiest_second(&accepted)
        );
        if let Some(gap) = closest_in_chat {
            println!(
                "closest in chat: {:.3} s between two accepted messages to one chat",
                gap.as_secs_f64()
            );
        }
        print_gaps(&requests.iter().map(|r| r.at).collect::<Vec<_>>());
        if let Some(t0) = first {
            println!(
                "accepted per second from the first request: {:?}",
                per_second(&accepted, t0)
            );
            print_429s(fake, t0);
        }
        println!(
            "| {}, {} {} | {:.1} s | {sustained:.2} msg/s | {lost} | {duplicates} | {reordered} | {count_429} |",
            thousands(messages) + " → " + &thousands(chats) + " chats",
            self.engine,
            replicas_label(self.replicas),
            total.as_secs_f64(),
        );
        Ok(not_sent + never_received + duplicates + reordered > 0)
    }
}

fn replicas_label(n: usize) -> String {
    if n == 1 {
        "1 replica".into()
    } else {
        format!("{n} replicas")
    }
}

fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The most arrivals in any window of one second (sorted input).
fn busiest_second(at: &[Instant]) -> usize {
    let mut start = 0;
    let mut best = 0;
    for end in 0..at.len() {
        while at[end].duration_since(at[start]) >= SECOND {
            start += 1;
        }
        best = best.max(end + 1 - start);
    }
    best
}

/// Arrivals in each whole second after `t0`.
fn per_second(at: &[Instant], t0: Instant) -> Vec<usize> {
    let mut counts = Vec::new();
    for a in at {
        let s = a.saturating_duration_since(t0).as_secs() as usize;
        if counts.len() <= s {
            counts.resize(s + 1, 0);
        }
        counts[s] += 1;
    }
    counts
}

/// The time between consecutive requests: how it spreads, and how much of
/// the run went to gaps longer than twice the 34 ms spacing (a step's tail
/// and the next step's queries, a replica waiting for the shared window).
fn print_gaps(at: &[Instant]) {
    let mut gaps: Vec<u128> = at
        .windows(2)
        .map(|w| w[1].saturating_duration_since(w[0]).as_millis())
        .collect();
    if gaps.is_empty() {
        return;
    }
    let long: Vec<u128> = gaps.iter().copied().filter(|g| *g > 68).collect();
    let lost: u128 = long.iter().map(|g| g - 34).sum();
    gaps.sort_unstable();
    let q = |p: usize| gaps[(gaps.len() - 1) * p / 100];
    println!(
        "gaps (ms):       min {} p10 {} p50 {} p90 {} p99 {} max {}; {} over 68 ms, {:.1} s beyond 34 ms in them",
        gaps[0],
        q(10),
        q(50),
        q(90),
        q(99),
        gaps[gaps.len() - 1],
        long.len(),
        lost as f64 / 1000.0
    );
    let under: usize = gaps.iter().filter(|g| **g < 30).count();
    println!("                 {under} under 30 ms");
    let t0 = at[0];
    let where_long: Vec<String> = at
        .windows(2)
        .filter(|w| w[1].saturating_duration_since(w[0]) > Duration::from_millis(68))
        .map(|w| {
            format!(
                "{:.2}+{}",
                w[0].duration_since(t0).as_secs_f64(),
                w[1].duration_since(w[0]).as_millis()
            )
        })
        .collect();
    println!(
        "long gaps (s after the first request + ms): {}",
        where_long.join(" ")
    );
}

/// Each 429 (the first 20): why the fake answered it ("window": 30 accepted
/// in the second before; "chat": one to the same chat less than a second
/// before) and the requests of the 1.1 s before it (ms after `t0`, 429s
/// marked with `!`).
fn print_429s(fake: &FakeTelegram, t0: Instant) {
    let requests = fake.requests();
    for r in requests.iter().filter(|r| r.status == 429).take(20) {
        let chat = r.chat_id.unwrap_or_default();
        let before = requests
            .iter()
            .filter(|a| a.status == 200 && a.at <= r.at && r.at.duration_since(a.at) < SECOND);
        let in_window = before.clone().count();
        let same_chat = before
            .filter(|a| a.chat_id == r.chat_id)
            .map(|a| r.at.duration_since(a.at).as_millis())
            .min();
        let recent: Vec<String> = requests
            .iter()
            .filter(|a| a.at <= r.at && r.at.duration_since(a.at) < Duration::from_millis(1100))
            .map(|a| {
                let ms = a.at.duration_since(t0).as_millis();
                if a.status == 429 {
                    format!("{ms}!")
                } else {
                    ms.to_string()
                }
            })
            .collect();
        println!(
            "  429 at +{:.3} s to chat {chat}: {in_window} accepted in the second before{}; requests (ms) {}",
            r.at.duration_since(t0).as_secs_f64(),
            same_chat.map_or(String::new(), |ms| format!(
                ", the same chat's last {ms} ms before"
            )),
            recent.join(" ")
        );
    }
}
