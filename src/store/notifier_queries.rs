//! Outbox queries only the notifier needs.

use anyhow::Context;

use super::Store;

impl Store {
    /// When the next message can be sent: the earliest due time among the
    /// oldest pending row of each chat. Unlike `next_due_ms`, a later row
    /// waiting behind its chat's retried head does not count, so an idle
    /// notifier does not wake for a row it may not send yet.
    pub async fn next_head_due_ms(&self) -> anyhow::Result<Option<i64>> {
        sqlx::query_scalar(
            "SELECT MIN(o.next_attempt_at_ms)
             FROM outbox o
             JOIN (SELECT MIN(id) AS id FROM outbox WHERE status = 'pending' GROUP BY chat_id) h
               ON h.id = o.id",
        )
        .fetch_one(&self.pool)
        .await
        .context("reading the next due time of each chat's oldest message")
    }
}
