//! The outbox: messages decided by the poller, delivered by the notifier.
//! A row is `pending` until Telegram accepted it (`sent`), refused it for good
//! or kept failing past `NOTIFY_MAX_ATTEMPTS` / `NOTIFY_MAX_AGE` (`failed`),
//! its chat became unreachable or its news ended before delivery (`stopped`);
//! `last_error` says why. `sent` rows are deleted after `OUTBOX_RETENTION`
//! (`notifier_queries.rs`); the others are kept.
//!
//! Several replicas (issue 11): a notifier sends only rows it *claimed*
//! (`claimed_by`, `claimed_until_ms`, [`Store::claim_messages`]); recording
//! an outcome or [`Store::release_claims`] ends the claim, and a claim whose
//! time passed (its replica died) may be taken by another replica.

use anyhow::Context;

use super::{Engine, Pool, Store};

/// The columns of [`OutboxMessage`].
const MESSAGE_COLUMNS: &str = "id, chat_id, subscription_id, kind, text, attempts, next_attempt_at_ms, \
                               created_at_ms, silent, reply_markup";

/// A pending message, as the notifier sees it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct OutboxMessage {
    pub id: i64,
    pub chat_id: i64,
    pub subscription_id: Option<i64>,
    pub kind: String,
    pub text: String,
    pub attempts: i64,
    pub next_attempt_at_ms: i64,
    /// When it was enqueued (unix ms): `NOTIFY_MAX_AGE` counts from here.
    pub created_at_ms: i64,
    /// Sent without sound (quiet hours).
    pub silent: bool,
    /// Inline buttons, the Bot API's `reply_markup` JSON.
    pub reply_markup: Option<String>,
}

/// One row of the outbox in any state (for tests and inspection).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct OutboxRow {
    pub id: i64,
    pub chat_id: i64,
    pub subscription_id: Option<i64>,
    pub kind: String,
    pub text: String,
    pub dedup_key: String,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at_ms: i64,
    pub created_at_ms: i64,
    pub sent_at_ms: Option<i64>,
    pub telegram_message_id: Option<i64>,
    pub last_error: Option<String>,
    pub silent: bool,
    pub reply_markup: Option<String>,
}

/// How long a chat cools down after a delivered message (ms): Telegram's
/// 1/s per private chat and 20/min per group (chat id < 0). Zero: none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Cooling {
    pub private_ms: i64,
    pub group_ms: i64,
}

/// A message to enqueue.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NewMessage {
    pub chat_id: i64,
    pub subscription_id: Option<i64>,
    /// `alert`, `reminder` or `all_clear`.
    pub kind: &'static str,
    pub text: String,
    /// Unique: enqueuing the same decision twice is a no-op.
    pub dedup_key: String,
    /// Sent without sound (quiet hours).
    pub silent: bool,
    /// Inline buttons, as the Bot API's `reply_markup` JSON.
    pub reply_markup: Option<String>,
}

impl Store {
    /// Enqueues one message, due at once; `false` if its dedup key exists.
    pub async fn enqueue_message(&self, msg: &NewMessage, now_ms: i64) -> anyhow::Result<bool> {
        with_pool!(self, |pool| {
            let done = sqlx::query(
                "INSERT INTO outbox (chat_id, subscription_id, kind, text, dedup_key,
                 next_attempt_at_ms, created_at_ms, silent, reply_markup)
             VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8)
             ON CONFLICT (dedup_key) DO NOTHING",
            )
            .bind(msg.chat_id)
            .bind(msg.subscription_id)
            .bind(msg.kind)
            .bind(&msg.text)
            .bind(&msg.dedup_key)
            .bind(now_ms)
            .bind(msg.silent)
            .bind(msg.reply_markup.as_deref())
            .execute(pool)
            .await
            .context("enqueuing a message")?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// The oldest pending message of each chat, if it is due at `now_ms` and
    /// not claimed by a live claim, oldest first. One per chat keeps a
    /// chat's messages in order (an all-clear never overtakes its alert,
    /// whichever replica sends them: the next row is not a head until the
    /// claimed one left `pending`) and lets the notifier pace each chat.
    ///
    /// A chat whose last message was delivered less than its `cooling` ago
    /// (by any replica: `sent_at_ms` is Telegram's answer) is left out, so
    /// the per-chat limit holds across replicas.
    pub async fn due_messages(
        &self,
        now_ms: i64,
        limit: u32,
        cooling: Cooling,
    ) -> anyhow::Result<Vec<OutboxMessage>> {
        with_pool!(self, |pool| {
            sqlx::query_as::<_, OutboxMessage>(
            "SELECT o.id, o.chat_id, o.subscription_id, o.kind, o.text, o.attempts, o.next_attempt_at_ms,
                    o.created_at_ms, o.silent, o.reply_markup
             FROM outbox o
             WHERE o.status = 'pending'
               AND o.next_attempt_at_ms <= $1
               AND (o.claimed_until_ms IS NULL OR o.claimed_until_ms <= $1)
               AND o.id = (SELECT MIN(p.id) FROM outbox p
                           WHERE p.chat_id = o.chat_id AND p.status = 'pending')
               AND NOT EXISTS (
                   SELECT 1 FROM outbox s
                   WHERE s.chat_id = o.chat_id AND s.status = 'sent'
                     AND CASE WHEN o.chat_id < 0 THEN $4 ELSE $3 END > 0
                     AND s.sent_at_ms > $1 - CASE WHEN o.chat_id < 0 THEN $4 ELSE $3 END)
             ORDER BY o.next_attempt_at_ms, o.id
             LIMIT $2",
        )
        .bind(now_ms)
        .bind(i64::from(limit))
        .bind(cooling.private_ms)
        .bind(cooling.group_ms)
        .fetch_all(pool)
        .await
        .context("reading due outbox messages")
        })
    }

    /// Claims for `holder` until `until_ms` those of the rows `ids` that are
    /// still pending and not claimed by a live claim at `now_ms`, and
    /// returns them (in the order of `ids`): what this replica may send.
    ///
    /// - SQLite: one conditional UPDATE in a write transaction, so two
    ///   replicas never both claim a row; the rows are read back only after
    ///   the commit (a `RETURNING` row can reach the caller before the
    ///   statement and the commit finished, see `subscriptions.rs`).
    /// - PostgreSQL: the rows are locked `FOR UPDATE SKIP LOCKED` and
    ///   claimed in one statement: a row another replica is claiming at this
    ///   moment is skipped instead of waited for (it is that replica's), and
    ///   the condition is checked again on the locked row.
    pub async fn claim_messages(
        &self,
        ids: &[i64],
        holder: &str,
        now_ms: i64,
        until_ms: i64,
    ) -> anyhow::Result<Vec<OutboxMessage>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let list = serde_json::to_string(ids).context("listing rows to claim")?;
        let mut claimed = match &self.pool {
            Pool::Sqlite(pool) => {
                let mut tx = pool
                    .begin_write()
                    .await
                    .context("claiming messages: begin")?;
                sqlx::query(&format!(
                    "UPDATE outbox SET claimed_by = $1, claimed_until_ms = $2
                     WHERE id IN ({})
                       AND status = 'pending'
                       AND (claimed_until_ms IS NULL OR claimed_until_ms <= $4)",
                    pool.dialect().ids_in(3)
                ))
                .bind(holder)
                .bind(until_ms)
                .bind(&list)
                .bind(now_ms)
                .execute(&mut *tx)
                .await
                .context("claiming messages")?;
                tx.commit().await.context("claiming messages: commit")?;
                sqlx::query_as::<_, OutboxMessage>(&format!(
                    "SELECT {MESSAGE_COLUMNS} FROM outbox
                     WHERE id IN ({})
                       AND status = 'pending' AND claimed_by = $2 AND claimed_until_ms = $3",
                    pool.dialect().ids_in(1)
                ))
                .bind(&list)
                .bind(holder)
                .bind(until_ms)
                .fetch_all(pool)
                .await
                .context("reading claimed messages")?
            }
            Pool::Postgres(pool) => sqlx::query_as::<_, OutboxMessage>(&format!(
                "UPDATE outbox SET claimed_by = $1, claimed_until_ms = $2
                 WHERE id IN (SELECT id FROM outbox
                              WHERE id IN ({})
                                AND status = 'pending'
                                AND (claimed_until_ms IS NULL OR claimed_until_ms <= $4)
                              FOR UPDATE SKIP LOCKED)
                   AND status = 'pending'
                   AND (claimed_until_ms IS NULL OR claimed_until_ms <= $4)
                 RETURNING {MESSAGE_COLUMNS}",
                pool.dialect().ids_in(3)
            ))
            .bind(holder)
            .bind(until_ms)
            .bind(&list)
            .bind(now_ms)
            .fetch_all(pool)
            .await
            .context("claiming messages")?,
        };
        claimed.sort_by_key(|row| ids.iter().position(|id| *id == row.id));
        Ok(claimed)
    }

    /// Ends `holder`'s claims on the rows `ids` (claimed but not sent: they
    /// are due again for any replica at once).
    pub async fn release_claims(&self, ids: &[i64], holder: &str) -> anyhow::Result<()> {
        with_pool!(self, |pool| {
            if ids.is_empty() {
                return Ok(());
            }
            let list = serde_json::to_string(ids).context("listing rows to release")?;
            sqlx::query(&format!(
                "UPDATE outbox SET claimed_by = NULL, claimed_until_ms = NULL
                 WHERE id IN ({}) AND claimed_by = $2",
                pool.dialect().ids_in(1)
            ))
            .bind(&list)
            .bind(holder)
            .execute(pool)
            .await
            .context("releasing claims")?;
            Ok(())
        })
    }

    pub async fn pending_count(&self) -> anyhow::Result<i64> {
        with_pool!(self, |pool| {
            sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE status = 'pending'")
                .fetch_one(pool)
                .await
                .context("counting pending messages")
        })
    }

    /// Telegram accepted the message: only now is it marked sent.
    pub async fn mark_sent(
        &self,
        id: i64,
        telegram_message_id: i64,
        now_ms: i64,
    ) -> anyhow::Result<()> {
        with_pool!(self, |pool| {
            sqlx::query(
                "UPDATE outbox SET status = 'sent', sent_at_ms = $1, telegram_message_id = $2,
                    attempts = attempts + 1, last_error = NULL,
                    claimed_by = NULL, claimed_until_ms = NULL
             WHERE id = $3 AND status = 'pending'",
            )
            .bind(now_ms)
            .bind(telegram_message_id)
            .bind(id)
            .execute(pool)
            .await
            .context("marking a message sent")?;
            Ok(())
        })
    }

    /// A failed attempt that may succeed later: stays pending until `retry_at_ms`.
    /// `counts_as_attempt` is false for flood waits (429): Telegram asked us to
    /// wait, the message itself is fine.
    pub async fn schedule_retry(
        &self,
        id: i64,
        retry_at_ms: i64,
        error: &str,
        counts_as_attempt: bool,
    ) -> anyhow::Result<()> {
        with_pool!(self, |pool| {
            sqlx::query(
            "UPDATE outbox SET next_attempt_at_ms = $1, last_error = $2, attempts = attempts + $3,
                    claimed_by = NULL, claimed_until_ms = NULL
             WHERE id = $4 AND status = 'pending'",
        )
        .bind(retry_at_ms)
        .bind(error)
        .bind(i64::from(counts_as_attempt))
        .bind(id)
        .execute(pool)
        .await
        .context("scheduling a retry")?;
            Ok(())
        })
    }

    /// Telegram refused this message for good (not the chat), or it kept
    /// failing past the notifier's limits: kept, with the reason.
    pub async fn mark_failed(&self, id: i64, error: &str) -> anyhow::Result<()> {
        with_pool!(self, |pool| {
            sqlx::query(
                "UPDATE outbox SET status = 'failed', last_error = $1, attempts = attempts + 1,
                    claimed_by = NULL, claimed_until_ms = NULL
             WHERE id = $2 AND status = 'pending'",
            )
            .bind(error)
            .bind(id)
            .execute(pool)
            .await
            .context("marking a message failed")?;
            Ok(())
        })
    }

    /// The chat cannot be reached (blocked the bot, deactivated, not found):
    /// mark it inactive, pause its subscriptions, and stop its pending
    /// messages, keeping them with the reason. One transaction.
    pub async fn deactivate_chat(&self, chat_id: i64, reason: &str) -> anyhow::Result<()> {
        with_pool!(self, |pool| {
            let now = super::now_unix();
            let mut tx = pool.begin_write().await.context("deactivate chat: begin")?;
            sqlx::query(
            "INSERT INTO chats (chat_id, active, inactive_reason, updated_at) VALUES ($1, FALSE, $2, $3)
             ON CONFLICT (chat_id) DO UPDATE SET active = FALSE, inactive_reason = $2, updated_at = $3",
        )
        .bind(chat_id)
        .bind(reason)
        .bind(now)
        .execute(&mut *tx)
        .await
        .context("marking a chat inactive")?;
            sqlx::query("UPDATE subscriptions SET active = FALSE WHERE chat_id = $1")
                .bind(chat_id)
                .execute(&mut *tx)
                .await
                .context("pausing a chat's subscriptions")?;
            sqlx::query(
            "UPDATE outbox SET status = 'stopped', last_error = $1 WHERE chat_id = $2 AND status = 'pending'",
        )
        .bind(reason)
        .bind(chat_id)
        .execute(&mut *tx)
        .await
        .context("stopping a chat's messages")?;
            tx.commit().await.context("deactivate chat: commit")
        })
    }

    /// Every outbox row, oldest first (tests, inspection).
    pub async fn outbox_rows(&self) -> anyhow::Result<Vec<OutboxRow>> {
        with_pool!(self, |pool| {
            sqlx::query_as::<_, OutboxRow>(
                "SELECT id, chat_id, subscription_id, kind, text, dedup_key, status, attempts,
                    next_attempt_at_ms, created_at_ms, sent_at_ms, telegram_message_id, last_error,
                    silent, reply_markup
             FROM outbox ORDER BY id",
            )
            .fetch_all(pool)
            .await
            .context("listing the outbox")
        })
    }
}
