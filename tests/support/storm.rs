//! The replica tests' workload: two alerts ("<chat> first", "<chat> second")
//! to each of `chats` chats, and the check that each arrived, in order.

use std::collections::HashMap;

use meteobot::store::{NewMessage, Store, now_ms};

use std::time::Duration;

use super::fake_telegram::{FakeTelegram, Received};

/// Enqueues the two alerts of every chat `1..=chats`, as a poll would.
pub async fn enqueue(store: &Store, chats: i64) {
    let at = now_ms();
    for chat in 1..=chats {
        for n in ["first", "second"] {
            let msg = NewMessage {
                chat_id: chat,
                kind: "alert",
                text: format!("{chat} {n}"),
                dedup_key: format!("{chat}:{n}"),
                ..NewMessage::default()
            };
            assert!(store.enqueue_message(&msg, at).await.unwrap());
        }
    }
}

/// Asserts that every chat got both alerts, "first" before "second"
/// (counting each one's first copy); returns how many copies came twice.
pub fn duplicates_after_checking_each_arrived_in_order(received: &[Received], chats: i64) -> usize {
    let mut per_chat: HashMap<i64, Vec<&str>> = HashMap::new();
    for r in received {
        per_chat.entry(r.chat_id).or_default().push(&r.text);
    }
    let mut duplicates = 0;
    for chat in 1..=chats {
        let texts = per_chat.get(&chat).cloned().unwrap_or_default();
        let (first, second) = (format!("{chat} first"), format!("{chat} second"));
        for text in [&first, &second] {
            let copies = texts.iter().filter(|t| **t == text.as_str()).count();
            assert!(copies >= 1, "chat {chat}: '{text}' lost");
            duplicates += copies - 1;
        }
        let at = |text: &str| texts.iter().position(|t| *t == text);
        assert!(
            at(&first) < at(&second),
            "chat {chat} out of order: {texts:?}"
        );
    }
    duplicates
}

/// Why the fake answered each 429: "chat" (a message to the same chat was
/// accepted less than a second before) or "window" (30 in the last second).
pub fn why_429(fake: &FakeTelegram) -> Vec<String> {
    let requests = fake.requests();
    // Only messages count against Telegram's limits (not getMe, getUpdates…).
    let requests: Vec<_> = requests
        .into_iter()
        .filter(|r| r.method == "sendMessage")
        .collect();
    let accepted: Vec<_> = requests.iter().filter(|r| r.status == 200).collect();
    requests
        .iter()
        .filter(|r| r.status == 429)
        .map(|r| {
            let before = accepted.iter().filter(|a| a.at <= r.at);
            let in_window = before
                .clone()
                .filter(|a| r.at.duration_since(a.at) < Duration::from_secs(1))
                .count();
            let chat_gap = before
                .filter(|a| a.chat_id == r.chat_id)
                .map(|a| (r.at.duration_since(a.at), a.params.get("text").cloned()))
                .min_by_key(|(gap, _)| *gap);
            let t0 = requests[0].at;
            let recent: Vec<u128> = requests
                .iter()
                .filter(|a| a.at <= r.at && r.at.duration_since(a.at) < Duration::from_millis(1100))
                .map(|a| a.at.duration_since(t0).as_millis())
                .collect();
            format!(
                "chat {:?}: {in_window} in the last second, chat's last {chat_gap:?} ago; arrivals (ms) {recent:?}",
                r.chat_id
            )
        })
        .collect()
}
