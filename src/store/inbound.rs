//! Webhook mode's inbound updates (`inbound_updates`): recorded by the
//! webhook route before it answers 200, claimed by a consumer with a lease,
//! marked handled, pruned after a retention. See docs/ARCHITECTURE.md,
//! "Webhook mode".

use anyhow::Context;
use sqlx::Row;

use super::Store;

/// An update claimed for handling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundUpdate {
    pub update_id: i64,
    pub chat_id: i64,
    /// The update's JSON, as Telegram sent it.
    pub body: String,
}

/// One row, for inspection (tests, diagnostics).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundRow {
    pub update_id: i64,
    pub chat_id: i64,
    pub received_at_ms: i64,
    pub claimed_until_ms: Option<i64>,
    pub handled_at_ms: Option<i64>,
}

impl Store {
    /// Records an update once: `false` when `update_id` was already there
    /// (a second delivery), which changes nothing. Committed on return.
    pub async fn record_inbound(
        &self,
        update_id: i64,
        chat_id: i64,
        body: &str,
        now_ms: i64,
    ) -> anyhow::Result<bool> {
        with_pool!(self, |pool| {
            let done = sqlx::query(
                "INSERT INTO inbound_updates (update_id, chat_id, body, received_at_ms)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (update_id) DO NOTHING",
            )
            .bind(update_id)
            .bind(chat_id)
            .bind(body)
            .bind(now_ms)
            .execute(pool)
            .await
            .context("recording an inbound update")?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// Claims until `now_ms + lease_ms` at most `limit` updates, each the
    /// oldest unhandled update of its chat and not claimed by anyone else
    /// (or claimed by a lease that expired): so a chat's updates are handled
    /// in order, one at a time, whichever consumer takes them. Oldest first.
    pub async fn claim_inbound(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: u32,
    ) -> anyhow::Result<Vec<InboundUpdate>> {
        with_pool!(self, |pool| {
            let mut tx = pool.begin_write().await.context("claim inbound: begin")?;
            let candidates = sqlx::query(
                "SELECT u.update_id, u.chat_id, u.body FROM inbound_updates u
             WHERE u.handled_at_ms IS NULL
               AND (u.claimed_until_ms IS NULL OR u.claimed_until_ms <= $1)
               AND NOT EXISTS (
                   SELECT 1 FROM inbound_updates e
                   WHERE e.chat_id = u.chat_id AND e.handled_at_ms IS NULL
                     AND e.update_id < u.update_id)
             ORDER BY u.update_id
             LIMIT $2",
            )
            .bind(now_ms)
            .bind(i64::from(limit))
            .fetch_all(&mut *tx)
            .await
            .context("claim inbound: select")?;
            let mut claimed = Vec::with_capacity(candidates.len());
            for row in candidates {
                let update = InboundUpdate {
                    update_id: row.try_get("update_id")?,
                    chat_id: row.try_get("chat_id")?,
                    body: row.try_get("body")?,
                };
                // Guarded again, so a concurrent consumer's claim is never taken.
                let done = sqlx::query(
                    "UPDATE inbound_updates SET claimed_until_ms = $2
                 WHERE update_id = $1 AND handled_at_ms IS NULL
                   AND (claimed_until_ms IS NULL OR claimed_until_ms <= $3)",
                )
                .bind(update.update_id)
                .bind(now_ms.saturating_add(lease_ms))
                .bind(now_ms)
                .execute(&mut *tx)
                .await
                .context("claim inbound: update")?;
                if done.rows_affected() == 1 {
                    claimed.push(update);
                }
            }
            tx.commit().await.context("claim inbound: commit")?;
            Ok(claimed)
        })
    }

    /// The update was handled: never claimed again.
    pub async fn finish_inbound(&self, update_id: i64, now_ms: i64) -> anyhow::Result<()> {
        with_pool!(self, |pool| {
            sqlx::query(
                "UPDATE inbound_updates SET handled_at_ms = $2, claimed_until_ms = NULL
             WHERE update_id = $1",
            )
            .bind(update_id)
            .bind(now_ms)
            .execute(pool)
            .await
            .context("marking an inbound update handled")?;
            Ok(())
        })
    }

    /// Deletes at most `limit` updates handled before `before_ms`, oldest
    /// first. Returns how many.
    pub async fn prune_inbound(&self, before_ms: i64, limit: u32) -> anyhow::Result<u64> {
        with_pool!(self, |pool| {
            let done = sqlx::query(
                "DELETE FROM inbound_updates WHERE update_id IN (
                 SELECT update_id FROM inbound_updates
                 WHERE handled_at_ms IS NOT NULL AND handled_at_ms < $1
                 ORDER BY handled_at_ms LIMIT $2)",
            )
            .bind(before_ms)
            .bind(i64::from(limit))
            .execute(pool)
            .await
            .context("pruning handled inbound updates")?;
            Ok(done.rows_affected())
        })
    }

    /// One recorded update, if it is there.
    pub async fn inbound_row(&self, update_id: i64) -> anyhow::Result<Option<InboundRow>> {
        with_pool!(self, |pool| {
            let row = sqlx::query(
                "SELECT update_id, chat_id, received_at_ms, claimed_until_ms, handled_at_ms
             FROM inbound_updates WHERE update_id = $1",
            )
            .bind(update_id)
            .fetch_optional(pool)
            .await
            .context("reading an inbound update")?;
            row.map(|r| {
                Ok(InboundRow {
                    update_id: r.try_get("update_id")?,
                    chat_id: r.try_get("chat_id")?,
                    received_at_ms: r.try_get("received_at_ms")?,
                    claimed_until_ms: r.try_get("claimed_until_ms")?,
                    handled_at_ms: r.try_get("handled_at_ms")?,
                })
            })
            .transpose()
        })
    }

    /// How many updates are recorded, handled or not.
    pub async fn inbound_count(&self) -> anyhow::Result<i64> {
        with_pool!(self, |pool| {
            sqlx::query_scalar("SELECT COUNT(*) FROM inbound_updates")
                .fetch_one(pool)
                .await
                .context("counting inbound updates")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::temp_store;

    const LEASE: i64 = 60_000;

    #[tokio::test]
    async fn an_update_is_recorded_once() {
        let (store, _dir) = temp_store().await;
        assert!(store.record_inbound(10, 1, "{}", 1_000).await.unwrap());
        assert!(
            !store
                .record_inbound(10, 1, "{\"x\":1}", 2_000)
                .await
                .unwrap()
        );
        assert_eq!(store.inbound_count().await.unwrap(), 1);
        let row = store.inbound_row(10).await.unwrap().unwrap();
        assert_eq!((row.received_at_ms, row.handled_at_ms), (1_000, None));
    }

    #[tokio::test]
    async fn a_chat_is_handled_in_order_one_update_at_a_time() {
        let (store, _dir) = temp_store().await;
        for (id, chat) in [(1, 7), (2, 7), (3, 8), (4, 7)] {
            store.record_inbound(id, chat, "{}", 0).await.unwrap();
        }
        let ids =
            |v: Vec<super::InboundUpdate>| v.into_iter().map(|u| u.update_id).collect::<Vec<_>>();
        // The oldest of each chat.
        assert_eq!(
            ids(store.claim_inbound(0, LEASE, 10).await.unwrap()),
            [1, 3]
        );
        // Claimed: nothing more for either chat, even for another consumer.
        assert!(store.claim_inbound(1, LEASE, 10).await.unwrap().is_empty());
        store.finish_inbound(1, 2).await.unwrap();
        assert_eq!(ids(store.claim_inbound(3, LEASE, 10).await.unwrap()), [2]);
        store.finish_inbound(2, 4).await.unwrap();
        store.finish_inbound(3, 4).await.unwrap();
        assert_eq!(ids(store.claim_inbound(5, LEASE, 10).await.unwrap()), [4]);
    }

    #[tokio::test]
    async fn an_expired_claim_is_taken_over() {
        let (store, _dir) = temp_store().await;
        store.record_inbound(1, 7, "{}", 0).await.unwrap();
        assert_eq!(store.claim_inbound(0, LEASE, 10).await.unwrap().len(), 1);
        assert!(
            store
                .claim_inbound(LEASE - 1, LEASE, 10)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            store.claim_inbound(LEASE, LEASE, 10).await.unwrap().len(),
            1
        );
        store.finish_inbound(1, LEASE + 1).await.unwrap();
        assert!(
            store
                .claim_inbound(10 * LEASE, LEASE, 10)
                .await
                .unwrap()
                .is_empty()
        );
    }

    #[tokio::test]
    async fn handled_updates_are_pruned_after_the_retention() {
        let (store, _dir) = temp_store().await;
        for id in 1..=3 {
            store.record_inbound(id, id, "{}", 0).await.unwrap();
        }
        store.finish_inbound(1, 100).await.unwrap();
        store.finish_inbound(2, 200).await.unwrap();
        assert_eq!(store.prune_inbound(150, 10).await.unwrap(), 1);
        assert_eq!(store.prune_inbound(1_000, 10).await.unwrap(), 1);
        // Unhandled updates are kept whatever their age.
        assert_eq!(store.inbound_count().await.unwrap(), 1);
        assert!(store.inbound_row(3).await.unwrap().is_some());
    }
}
