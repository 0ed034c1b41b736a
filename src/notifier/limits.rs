//! The notifier's knobs. The defaults follow Telegram's published limits;
//! tests shrink the times so a suite runs in seconds.

use std::time::Duration;

#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Least time between the starts of two sends, any chat. 34 ms is
    /// 29.4 messages/s: under Telegram's 30/s with room for the jitter between
    /// our clock and the moment a request reaches Telegram, so no one-second
    /// window there ever sees a 31st message.
    pub spacing: Duration,
    /// Least time between the starts of two sends to the same chat (1/s).
    pub chat_spacing: Duration,
    /// Sends in flight at once; with ~50 ms per round trip, 16 sustain far
    /// more than 30/s.
    pub max_in_flight: usize,
    /// Rows claimed per step. A step ends when its last send is answered, so
    /// larger batches waste less time on that tail (64 ≈ 2 s of sending).
    pub batch: u32,
    /// First retry delay after a network or server error; doubles per attempt.
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// Longest idle sleep: rows written without a wake-up are found this late.
    pub idle_poll: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            spacing: Duration::from_millis(34),
            chat_spacing: Duration::from_secs(1),
            max_in_flight: 16,
            batch: 64,
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(300),
            idle_poll: Duration::from_secs(1),
        }
    }
}
