//! When the next send may start. Telegram allows about 30 messages a second
//! overall and one a second per chat, and a 429 (flood wait) holds back the
//! whole bot. Pacing the *start* of each send, not its completion, is what
//! lets several sends be in flight while the rate stays under the limit.

use std::collections::HashMap;
use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug)]
pub(crate) struct Pacer {
    spacing: Duration,
    chat_spacing: Duration,
    /// The earliest start of the next send, any chat.
    next_slot: Instant,
    /// No send starts before this (Telegram's flood wait).
    hold_until: Option<Instant>,
    /// When each recently served chat's last send started.
    chats: HashMap<i64, Instant>,
}

impl Pacer {
    pub(crate) fn new(spacing: Duration, chat_spacing: Duration) -> Self {
        Self {
            spacing,
            chat_spacing,
            next_slot: Instant::now(),
            hold_until: None,
            chats: HashMap::new(),
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
        let ready = *self.chats.get(&chat)? + self.chat_spacing;
        (ready > now).then_some(ready)
    }

    /// Chats still cooling down at `now` (the rest are forgotten).
    pub(crate) fn cooling_chats(&mut self, now: Instant) -> usize {
        let spacing = self.chat_spacing;
        self.chats.retain(|_, started| *started + spacing > now);
        self.chats.len()
    }

    /// Reserves the next global start slot at or after `now`. Slots do not
    /// accumulate while idle, so a quiet minute never turns into a burst.
    pub(crate) fn reserve(&mut self, now: Instant) -> Instant {
        let slot = self.next_slot.max(now);
        self.next_slot = slot + self.spacing;
        slot
    }

    /// A send to `chat` started at `at`.
    pub(crate) fn started(&mut self, chat: i64, at: Instant) {
        self.chats.insert(chat, at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn slots_are_spaced_and_do_not_accumulate() {
        let mut pacer = Pacer::new(34 * MS, 1000 * MS);
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
        let mut pacer = Pacer::new(34 * MS, 1000 * MS);
        pacer.started(7, t0);
        assert_eq!(pacer.chat_ready_at(7, t0 + 500 * MS), Some(t0 + 1000 * MS));
        assert_eq!(pacer.chat_ready_at(7, t0 + 1000 * MS), None);
        assert_eq!(pacer.chat_ready_at(8, t0), None);
        assert_eq!(pacer.cooling_chats(t0 + 999 * MS), 1);
        assert_eq!(pacer.cooling_chats(t0 + 1000 * MS), 0);
    }

    #[test]
    fn a_hold_only_grows() {
        let t0 = Instant::now();
        let mut pacer = Pacer::new(34 * MS, 1000 * MS);
        assert_eq!(pacer.held_until(t0), None);
        pacer.hold(t0 + 5000 * MS);
        pacer.hold(t0 + 1000 * MS);
        assert_eq!(pacer.held_until(t0 + 4000 * MS), Some(t0 + 5000 * MS));
        assert_eq!(pacer.held_until(t0 + 5000 * MS), None);
    }
}
