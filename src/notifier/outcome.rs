//! One send's outcome and how it is recorded: in the outbox row (and the
//! chat, when it became unreachable), in the metrics, and in the log.

use std::time::Duration;

use teloxide::RequestError;
use teloxide::types::Message;

use super::classify::{Failure, backoff, classify};
use super::{Limits, Policy};
use crate::metrics::Metrics;
use crate::store::{OutboxMessage, Store};

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Verdict {
    /// Telegram accepted the message.
    Sent { message_id: i64 },
    /// 429: resend after Telegram's wait, not counted as an attempt.
    FloodWait { wait: Duration, error: String },
    /// Network or server trouble: resend after a backoff.
    Retry { delay: Duration, error: String },
    /// Telegram refused this message for good.
    Refused { error: String },
    /// Network or server trouble again, and the row has had its attempts
    /// (`NOTIFY_MAX_ATTEMPTS`) or is too old (`NOTIFY_MAX_AGE`): failed.
    GaveUp { error: String },
    /// The group became a supergroup: its chat moves to `to`, the row with
    /// it, and is sent there next.
    Migrated { to: i64 },
    /// The bot token was rejected: the row stays as it was.
    TokenRejected,
    /// The chat is gone for the bot: stop it and pause its subscriptions.
    ChatUnreachable { reason: String },
}

#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    pub row_id: i64,
    pub chat_id: i64,
    pub kind: String,
    pub verdict: Verdict,
    /// When the answer came (unix ms); retries count from here.
    pub at_ms: i64,
}

impl Outcome {
    pub(crate) fn new(
        row: &OutboxMessage,
        result: Result<Message, RequestError>,
        limits: &Limits,
        policy: &Policy,
        at_ms: i64,
    ) -> Self {
        let verdict = match result {
            Ok(message) => Verdict::Sent {
                message_id: i64::from(message.id.0),
            },
            Err(err) => match classify(&err) {
                Failure::FloodWait(wait) => Verdict::FloodWait {
                    wait,
                    error: format!("flood wait: retry after {} s", wait.as_secs()),
                },
                Failure::Transient(error) => match give_up(row, policy, at_ms) {
                    Some(why) => Verdict::GaveUp {
                        error: format!("{why}; last error: {error}"),
                    },
                    None => Verdict::Retry {
                        delay: backoff(row.attempts, limits.backoff_base, limits.backoff_max),
                        error,
                    },
                },
                Failure::Refused(error) => Verdict::Refused { error },
                Failure::ChatUnreachable(reason) => Verdict::ChatUnreachable { reason },
                Failure::Migrated(to) => Verdict::Migrated { to },
                Failure::TokenRejected => Verdict::TokenRejected,
            },
        };
        Self {
            row_id: row.id,
            chat_id: row.chat_id,
            kind: row.kind.clone(),
            verdict,
            at_ms,
        }
    }

    /// Writes the outcome to the store, then counts it. Counting only after
    /// the write keeps the metrics right when a failed write is replayed.
    pub(crate) async fn record(&self, store: &Store, metrics: &Metrics) -> anyhow::Result<()> {
        match &self.verdict {
            Verdict::Sent { message_id } => {
                store
                    .mark_sent(self.row_id, *message_id, self.at_ms)
                    .await?;
                metrics.messages_sent.inc();
            }
            Verdict::FloodWait { wait, error } => {
                store
                    .schedule_retry(self.row_id, self.at_ms + millis(*wait), error, false)
                    .await?;
                metrics.telegram_429.inc();
                metrics.messages_retried.inc();
            }
            Verdict::Retry { delay, error } => {
                store
                    .schedule_retry(self.row_id, self.at_ms + millis(*delay), error, true)
                    .await?;
                metrics.messages_retried.inc();
            }
            Verdict::Refused { error } | Verdict::GaveUp { error } => {
                store.mark_failed(self.row_id, error).await?;
                metrics.messages_failed.inc();
            }
            Verdict::ChatUnreachable { reason } => {
                store.deactivate_chat(self.chat_id, reason).await?;
                metrics.messages_failed.inc();
            }
            Verdict::Migrated { to } => {
                store.migrate_chat(self.chat_id, *to).await?;
                metrics.messages_retried.inc();
            }
            // Nothing to write: the row stays pending, untouched.
            Verdict::TokenRejected => {}
        }
        Ok(())
    }

    /// One line per send: ids, kind and outcome; never the text or the token
    /// (error texts were redacted when classified).
    pub(crate) fn log(&self) {
        let (chat_id, row_id, kind) = (self.chat_id, self.row_id, self.kind.as_str());
        match &self.verdict {
            Verdict::Sent { message_id } => {
                tracing::info!(
                    chat_id,
                    row_id,
                    kind,
                    message_id,
                    outcome = "sent",
                    "message sent"
                );
            }
            Verdict::FloodWait { wait, .. } => tracing::warn!(
                chat_id,
                row_id,
                kind,
                retry_after_s = wait.as_secs(),
                outcome = "flood_wait",
                "Telegram asked to slow down; holding all sends"
            ),
            Verdict::Retry { delay, error } => tracing::warn!(
                chat_id,
                row_id,
                kind,
                retry_in_ms = millis(*delay),
                error = %error,
                outcome = "retry",
                "send failed, will retry"
            ),
            Verdict::Refused { error } => tracing::warn!(
                chat_id,
                row_id,
                kind,
                error = %error,
                outcome = "failed",
                "Telegram refused the message"
            ),
            Verdict::ChatUnreachable { reason } => tracing::warn!(
                chat_id,
                row_id,
                kind,
                reason = %reason,
                outcome = "chat_stopped",
                "chat unreachable; its subscriptions are paused"
            ),
            Verdict::GaveUp { error } => tracing::warn!(
                chat_id,
                row_id,
                kind,
                error = %error,
                outcome = "gave_up",
                "send failed again; giving up on the message"
            ),
            Verdict::Migrated { to } => tracing::info!(
                chat_id,
                row_id,
                kind,
                new_chat_id = to,
                outcome = "migrated",
                "group became a supergroup; moving the chat and resending"
            ),
            // Logged once by the notifier, not per row.
            Verdict::TokenRejected => {}
        }
    }
}

/// Why a row that failed again at `at_ms` is given up on, if it is: this
/// failure is its `max_attempts`-th, or it is `max_age` old.
fn give_up(row: &OutboxMessage, policy: &Policy, at_ms: i64) -> Option<String> {
    let attempts = row.attempts.saturating_add(1);
    let age_ms = at_ms.saturating_sub(row.created_at_ms);
    if attempts >= i64::from(policy.max_attempts.max(1)) {
        Some(format!("gave up after {attempts} attempts"))
    } else if age_ms >= millis(policy.max_age) {
        let age = humantime::format_duration(Duration::from_secs(
            u64::try_from(age_ms / 1000).unwrap_or(0),
        ));
        Some(format!("gave up after {attempts} attempts: {age} old"))
    } else {
        None
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 2)
}
