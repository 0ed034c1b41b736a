//! When the next send may start. Telegram allows about 30 messages a second
//! overall, one a second per chat and 20 a minute per group, and a 429
//! (flood wait) holds back the whole bot. Pacing the *start* of each send,
//! not its completion, is what lets several sends be in flight while the
//! rate stays under the limit.
//!
//! One [`SendPace`] is shared by everything that sends messages: the
//! notifier's outbox sends and the bot's replies (`bot::reply::Replier`), so
//! together they keep to the limits, and a 429 on either holds both.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use teloxide::RequestError;
use tokio::time::Instant;

/// Least time between the starts of two sends, any chat: 29.4/s, under
/// Telegram's 30/s (see `Limits::spacing`).
pub const SPACING: Duration = Duration::from_millis(34);
/// Least time between two sends to one private chat (1/s).
pub const PRIVATE_CHAT_SPACING: Duration = Duration::from_secs(1);
/// Least time between two sends to one group, supergroup or channel (chat id
/// < 0): 20 a minute.
pub const GROUP_CHAT_SPACING: Duration = Duration::from_secs(3);
/// A reply kept waiting longer than this (a long flood wait) is logged; it
/// is still sent after the wait.
pub const LONG_WAIT: Duration = Duration::from_secs(30);

#[derive(Debug)]
pub(crate) struct Pacer {
    spacing: Duration,
    chat_spacing: Duration,
    group_spacing: Duration,
    /// The earliest start of the next send, any chat.
    next_slot: Instant,
    /// No send starts before this (Telegram's flood wait).
    hold_until: Option<Instant>,
    /// When each recently served chat's last send started (or will start:
    /// a reserved slot).
    chats: HashMap<i64, Instant>,
}

impl Pacer {
    pub(crate) fn new(spacing: Duration, chat_spacing: Duration, group_spacing: Duration) -> Self {
        Self {
            spacing,
            chat_spacing,
            group_spacing,
            next_slot: Instant::now(),
            hold_until: None,
            chats: HashMap::new(),
        }
    }

    /// The least time between two sends to `chat`: groups (negative ids)
    /// get the group spacing.
    fn spacing_of(&self, chat: i64) -> Duration {
        if chat < 0 {
            self.group_spacing
        } else {
            self.chat_spacing
        }
    }

    /// Telegram asked the bot to wait until `until`.
    pub(crate) fn hold(&mut self, until: Instant) {
        if self.hold_until.is_none_or(|held| held < until) {
            self.hold_until = Some(until);
        }
    }

    /// The end of the flood wait, if one is running at `now`.
    pub(crate) fn held_until(&self, now: Instant) -> Option<Instant> {
        self.hold_until.filter(|until| *until > now)
    }

    /// When `chat` may be sent to again, if it is still cooling down at `now`.
    pub(crate) fn chat_ready_at(&self, chat: i64, now: Instant) -> Option<Instant> {
        let ready = *self.chats.get(&chat)? + self.spacing_of(chat);
        (ready > now).then_some(ready)
    }

    /// Chats still cooling down at `now` (the rest are forgotten).
    pub(crate) fn cooling_chats(&mut self, now: Instant) -> usize {
        let (private, group) = (self.chat_spacing, self.group_spacing);
        self.chats.retain(|chat, started| {
            let spacing = if *chat < 0 { group } else { private };
            *started + spacing > now
        });
        self.chats.len()
    }

    /// Reserves the next global start slot at or after `now`. Slots do not
    /// accumulate while idle, so a quiet minute never turns into a burst.
    pub(crate) fn reserve(&mut self, now: Instant) -> Instant {
        let slot = self.next_slot.max(now);
        self.next_slot = slot + self.spacing;
        slot
    }

    /// A send to `chat` starts at `at`.
    pub(crate) fn started(&mut self, chat: i64, at: Instant) {
        self.chats.insert(chat, at);
    }

    /// Telegram answered a send to `chat` at `at`: the chat cools down from
    /// here. The request reached Telegram before its answer, so the next one
    /// arrives at least the chat's spacing after it, however the network
    /// delayed the first (a new connection, a slow hop); slots alone would
    /// let a late first and a prompt second arrive too close together.
    pub(crate) fn answered(&mut self, chat: i64, at: Instant) {
        let last = self.chats.entry(chat).or_insert(at);
        *last = (*last).max(at);
    }

    /// A send to `chat` now: the next global slot, and the chat is taken
    /// from that slot on. `Err` is when to ask again: the end of a flood
    /// wait, or when the chat has cooled down.
    pub(crate) fn claim(&mut self, chat: i64, now: Instant) -> Result<Instant, Instant> {
        if let Some(until) = self.held_until(now) {
            return Err(until);
        }
        if let Some(ready) = self.chat_ready_at(chat, now) {
            return Err(ready);
        }
        let slot = self.reserve(now);
        self.started(chat, slot);
        Ok(slot)
    }
}

/// The one pace of every message the bot sends (cheap to clone: a handle).
#[derive(Clone, Debug)]
pub struct SendPace(Arc<Mutex<Pacer>>);

impl SendPace {
    /// Telegram's limits: [`SPACING`], [`PRIVATE_CHAT_SPACING`],
    /// [`GROUP_CHAT_SPACING`].
    pub fn telegram() -> Self {
        Self::new(SPACING, PRIVATE_CHAT_SPACING, GROUP_CHAT_SPACING)
    }

    /// No spacing at all; flood waits still hold (tests that are not about
    /// pacing).
    pub fn unpaced() -> Self {
        Self::new(Duration::ZERO, Duration::ZERO, Duration::ZERO)
    }

    /// `spacing` between any two sends, `chat_spacing` between two to one
    /// private chat, `group_spacing` between two to one group.
    pub fn new(spacing: Duration, chat_spacing: Duration, group_spacing: Duration) -> Self {
        Self(Arc::new(Mutex::new(Pacer::new(
            spacing,
            chat_spacing,
            group_spacing,
        ))))
    }

    /// Telegram's proportions from a global and a private-chat spacing: a
    /// group's is three times the private one (1/s against 20/min).
    pub fn scaled(spacing: Duration, chat_spacing: Duration) -> Self {
        let ratio = GROUP_CHAT_SPACING.as_secs() / PRIVATE_CHAT_SPACING.as_secs();
        Self::new(spacing, chat_spacing, chat_spacing * ratio as u32)
    }

    /// The least time between the starts of two sends, any chat.
    pub fn spacing(&self) -> Duration {
        self.lock().spacing
    }

    /// How long a chat cools down after a message, for the store's
    /// cross-replica view (`Store::due_messages`).
    pub fn cooling(&self) -> crate::store::Cooling {
        let pacer = self.lock();
        let ms = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 4);
        crate::store::Cooling {
            private_ms: ms(pacer.chat_spacing),
            group_ms: ms(pacer.group_spacing),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Pacer> {
        // A std Mutex, held for a few instructions, never across an await;
        // the pacer stays consistent even if a holder panicked.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Telegram answered 429: no send to any chat starts for `wait`.
    pub fn hold_for(&self, wait: Duration) {
        self.lock().hold(Instant::now() + wait);
    }

    /// The end of the flood wait, if one is running.
    pub fn held_until(&self) -> Option<Instant> {
        self.lock().held_until(Instant::now())
    }

    /// Waits until a send to `chat` may start and takes its turn: after any
    /// flood wait, once the chat has cooled down, at the next global slot.
    /// Returns the start instant.
    pub async fn turn(&self, chat: i64) -> Instant {
        loop {
            let claimed = self.lock().claim(chat, Instant::now());
            match claimed {
                Err(retry_at) => tokio::time::sleep_until(retry_at).await,
                Ok(slot) => {
                    if slot > Instant::now() {
                        tokio::time::sleep_until(slot).await;
                    }
                    // A 429 may have come back while we waited for the slot.
                    if self.held_until().is_none() {
                        return slot;
                    }
                }
            }
        }
    }

    /// One message to `chat` through `send` (called once per attempt), at
    /// its turn. A 429 holds every sender for its `retry_after` and the
    /// message is sent once more after the wait; a second 429 is returned.
    ///
    /// The wait is as long as Telegram's flood wait, which may exceed
    /// [`LONG_WAIT`]: such a message is logged and still sent after it.
    /// Waiting messages stay few: teloxide handles one chat's updates one
    /// at a time, so each chat has at most one reply waiting here, and the
    /// notifier starts a bounded batch.
    pub async fn send<T, F, Fut>(&self, chat: i64, mut send: F) -> Result<T, RequestError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, RequestError>>,
    {
        let asked = Instant::now();
        let mut retried = false;
        loop {
            let started = self.turn(chat).await;
            let waited = started.saturating_duration_since(asked);
            if waited > LONG_WAIT {
                tracing::warn!(
                    chat_id = chat,
                    waited_s = waited.as_secs(),
                    "a message waited out a long flood wait"
                );
            }
            let answer = send().await;
            self.lock().answered(chat, Instant::now());
            match answer {
                Err(RequestError::RetryAfter(wait)) => {
                    self.hold_for(wait.duration());
                    tracing::warn!(
                        chat_id = chat,
                        retry_after_s = wait.seconds(),
                        retried,
                        "Telegram asked to slow down (429): every send waits"
                    );
                    if retried {
                        return Err(RequestError::RetryAfter(wait));
                    }
                    retried = true;
                }
                other => return other,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn slots_are_spaced_and_do_not_accumulate() {
        let mut pacer = Pacer::new(34 * MS, 1000 * MS, 3000 * MS);
        let t0 = Instant::now();
        assert_eq!(pacer.reserve(t0), t0);
        assert_eq!(pacer.reserve(t0), t0 + 34 * MS);
        assert_eq!(pacer.reserve(t0 + 40 * MS), t0 + 68 * MS);
        // Idle for a while: the next slot is "now", then spaced again.
        let later = t0 + 10_000 * MS;
        assert_eq!(pacer.reserve(later), later);
        assert_eq!(pacer.reserve(later), later + 34 * MS);
    }

    #[test]
    fn a_chat_cools_down_for_its_spacing() {
        let t0 = Instant::now();
        let mut pacer = Pacer::new(34 * MS, 1000 * MS, 3000 * MS);
        pacer.started(7, t0);
        assert_eq!(pacer.chat_ready_at(7, t0 + 500 * MS), Some(t0 + 1000 * MS));
        assert_eq!(pacer.chat_ready_at(7, t0 + 1000 * MS), None);
        assert_eq!(pacer.chat_ready_at(8, t0), None);
        assert_eq!(pacer.cooling_chats(t0 + 999 * MS), 1);
        assert_eq!(pacer.cooling_chats(t0 + 1000 * MS), 0);
    }

    #[test]
    fn a_chat_cools_down_from_the_answer() {
        let mut pacer = Pacer::new(34 * MS, 1000 * MS, 3000 * MS);
        let t0 = Instant::now();
        assert_eq!(pacer.claim(7, t0), Ok(t0));
        // The first request took 300 ms to be answered.
        pacer.answered(7, t0 + 300 * MS);
        assert_eq!(pacer.chat_ready_at(7, t0 + 1000 * MS), Some(t0 + 1300 * MS));
        pacer.answered(7, t0 + 100 * MS);
        assert_eq!(pacer.chat_ready_at(7, t0 + 1000 * MS), Some(t0 + 1300 * MS));
    }

    #[test]
    fn a_hold_only_grows() {
        let t0 = Instant::now();
        let mut pacer = Pacer::new(34 * MS, 1000 * MS, 3000 * MS);
        assert_eq!(pacer.held_until(t0), None);
        pacer.hold(t0 + 5000 * MS);
        pacer.hold(t0 + 1000 * MS);
        assert_eq!(pacer.held_until(t0 + 4000 * MS), Some(t0 + 5000 * MS));
        assert_eq!(pacer.held_until(t0 + 5000 * MS), None);
    }

    #[test]
    fn a_group_cools_down_for_three_times_longer() {
        let t0 = Instant::now();
        let mut pacer = Pacer::new(34 * MS, 1000 * MS, 3000 * MS);
        pacer.started(-100_123, t0);
        assert_eq!(
            pacer.chat_ready_at(-100_123, t0 + 1000 * MS),
            Some(t0 + 3000 * MS)
        );
        assert_eq!(pacer.cooling_chats(t0 + 2999 * MS), 1);
        assert_eq!(pacer.cooling_chats(t0 + 3000 * MS), 0);
        let scaled = SendPace::scaled(5 * MS, 200 * MS);
        assert_eq!(scaled.lock().spacing_of(-1), 600 * MS);
        assert_eq!(scaled.lock().spacing_of(1), 200 * MS);
    }

    // ---- SendPace, on tokio's paused clock --------------------------------

    use std::sync::Mutex as StdMutex;

    use teloxide::types::Seconds;

    /// What a fake Telegram saw: (chat, start) of every attempt.
    #[derive(Clone, Default)]
    struct Sends(Arc<StdMutex<Vec<(i64, Instant)>>>);

    impl Sends {
        /// A reply to `chat` through `pace`, accepted at once.
        async fn reply(&self, pace: &SendPace, chat: i64) {
            pace.send(chat, || async {
                self.0.lock().unwrap().push((chat, Instant::now()));
                Ok::<_, RequestError>(())
            })
            .await
            .unwrap();
        }

        fn starts(&self) -> Vec<(i64, Instant)> {
            self.0.lock().unwrap().clone()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn replies_to_one_private_chat_start_a_second_apart() {
        let pace = SendPace::telegram();
        let sends = Sends::default();
        let t0 = Instant::now();
        sends.reply(&pace, 7).await;
        sends.reply(&pace, 7).await;
        // Another chat is not kept waiting by chat 7, only by the global slot.
        sends.reply(&pace, 8).await;
        sends.reply(&pace, 7).await;
        let at: Vec<Duration> = sends.starts().iter().map(|(_, at)| *at - t0).collect();
        assert_eq!(at[0], Duration::ZERO);
        assert!(at[1] >= PRIVATE_CHAT_SPACING, "{at:?}");
        assert!(
            at[2] - at[1] >= SPACING && at[2] - at[1] < 100 * MS,
            "{at:?}"
        );
        assert!(at[3] - at[1] >= PRIVATE_CHAT_SPACING, "{at:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn replies_to_a_group_start_three_seconds_apart() {
        let pace = SendPace::telegram();
        let sends = Sends::default();
        let group = -1_001_234_567;
        for _ in 0..3 {
            sends.reply(&pace, group).await;
        }
        let at: Vec<Instant> = sends.starts().iter().map(|(_, at)| *at).collect();
        for pair in at.windows(2) {
            assert!(pair[1] - pair[0] >= GROUP_CHAT_SPACING, "{at:?}");
        }
        // 20 a minute, not more: the 21st starts a minute after the first.
        for _ in 3..21 {
            sends.reply(&pace, group).await;
        }
        let starts = sends.starts();
        assert!(starts[20].1 - starts[0].1 >= Duration::from_secs(60));
    }

    #[tokio::test(start_paused = true)]
    async fn replies_and_notifier_sends_share_the_global_slot() {
        let pace = SendPace::telegram();
        let t0 = Instant::now();
        // The notifier claims slots for three chats, as its dispatch does.
        let claimed: Vec<Instant> = (1..=3)
            .map(|chat| pace.lock().claim(chat, t0).unwrap())
            .collect();
        assert_eq!(claimed, [t0, t0 + SPACING, t0 + SPACING * 2]);
        // A reply to a fourth chat comes after them, in the same sequence…
        let sends = Sends::default();
        sends.reply(&pace, 4).await;
        assert_eq!(sends.starts()[0].1, t0 + SPACING * 3);
        // …and one to a chat the notifier just served waits for that chat.
        sends.reply(&pace, 2).await;
        assert!(sends.starts()[1].1 >= claimed[1] + PRIVATE_CHAT_SPACING);
        // The notifier, in turn, finds the replied-to chats taken.
        let now = Instant::now();
        assert!(pace.lock().claim(2, now).is_err());
        assert!(pace.lock().claim(4, now).is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_on_a_reply_holds_every_sender_and_the_reply_goes_once_more() {
        let pace = SendPace::telegram();
        let attempts = Arc::new(StdMutex::new(Vec::new()));
        let reply = {
            let (pace, attempts) = (pace.clone(), Arc::clone(&attempts));
            tokio::spawn(async move {
                pace.send(7, || {
                    let mut attempts = attempts.lock().unwrap();
                    attempts.push(Instant::now());
                    let answer = match attempts.len() {
                        1 => Err(RequestError::RetryAfter(Seconds::from_seconds(5))),
                        _ => Ok("sent"),
                    };
                    async move { answer }
                })
                .await
            })
        };
        while attempts.lock().unwrap().is_empty() {
            tokio::task::yield_now().await;
        }
        let t429 = attempts.lock().unwrap()[0];
        // The notifier sees the hold: no slot for any chat until it ends.
        let held = pace.held_until().expect("held");
        assert!(held >= t429 + Duration::from_secs(5));
        assert_eq!(pace.lock().claim(99, Instant::now()), Err(held));

        assert_eq!(reply.await.unwrap().unwrap(), "sent");
        let attempts = attempts.lock().unwrap().clone();
        assert_eq!(attempts.len(), 2);
        assert!(attempts[1] >= t429 + Duration::from_secs(5));
        assert!(pace.lock().claim(99, Instant::now()).is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn a_second_429_is_returned_and_a_long_flood_wait_is_waited_out() {
        let pace = SendPace::telegram();
        let t0 = Instant::now();
        let mut calls = 0;
        let answer = pace
            .send(7, || {
                calls += 1;
                async { Err::<(), _>(RequestError::RetryAfter(Seconds::from_seconds(90))) }
            })
            .await;
        assert!(matches!(answer, Err(RequestError::RetryAfter(_))));
        assert_eq!(calls, 2, "sent once more, not forever");
        // Beyond LONG_WAIT and still sent, after the flood wait.
        assert!(Instant::now() - t0 >= Duration::from_secs(90));
        assert!(pace.held_until().is_some(), "the second 429 holds too");
    }

    #[tokio::test(start_paused = true)]
    async fn unpaced_sends_do_not_wait() {
        let pace = SendPace::unpaced();
        let sends = Sends::default();
        let t0 = Instant::now();
        for chat in [1, 1, -1, -1] {
            sends.reply(&pace, chat).await;
        }
        assert!(sends.starts().iter().all(|(_, at)| *at == t0));
    }
}
