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

/// When the notifier gives up, and what it prunes. `NOTIFY_MAX_ATTEMPTS`,
/// `NOTIFY_MAX_AGE` and `OUTBOX_RETENTION` come from the configuration
/// ([`Policy::from_config`]); the rest are fixed defaults tests may shrink.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// A row whose send failed this many times (network, 5xx) is `failed`.
    /// Flood waits (429) do not count.
    pub max_attempts: u32,
    /// A row that fails (network, 5xx) when it is this old is `failed`,
    /// whatever its attempts.
    pub max_age: Duration,
    /// `sent` rows older than this (by `sent_at_ms`) are deleted.
    pub outbox_retention: Duration,
    /// Dialogues not touched for this long are deleted.
    pub dialogue_idle: Duration,
    /// How often the notifier prunes (sent rows, idle dialogues).
    pub prune_every: Duration,
    /// At most this many rows of each kind are deleted per prune; a full
    /// batch prunes again at the next step.
    pub prune_batch: u32,
}

pub const DEFAULT_MAX_ATTEMPTS: u32 = 10;
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(24 * 3600);
pub const DEFAULT_OUTBOX_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);

impl Default for Policy {
    fn default() -> Self {
        Self {
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            max_age: DEFAULT_MAX_AGE,
            outbox_retention: DEFAULT_OUTBOX_RETENTION,
            dialogue_idle: Duration::from_secs(24 * 3600),
            prune_every: Duration::from_secs(600),
            prune_batch: 1000,
        }
    }
}

impl Policy {
    /// The configured limits, the fixed defaults for the rest.
    pub fn from_config(config: &crate::config::Config) -> Self {
        Self {
            max_attempts: config.notify_max_attempts,
            max_age: config.notify_max_age,
            outbox_retention: config.outbox_retention,
            ..Self::default()
        }
    }
}
