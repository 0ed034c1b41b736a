//! Outbox queries only the notifier needs.

use anyhow::Context;

use super::{Cooling, Store};

/// `last_error` of rows dropped by [`Store::drop_superseded`].
pub const SUPERSEDED: &str = "superseded before delivery";

impl Store {
    /// When the next message can be sent: the earliest due time among the
    /// oldest pending row of each chat (a head claimed by another replica
    /// is due when its claim ends, if it is still pending then). A later row
    /// waiting behind its chat's retried head does not count, so an idle
    /// notifier does not wake for a row it may not send yet.
    /// A chat still cooling down after its last delivered message (any
    /// replica's) is due when it has cooled (see [`Store::due_messages`]).
    pub async fn next_head_due_ms(&self, cooling: Cooling) -> anyhow::Result<Option<i64>> {
        with_pool!(self, |pool| {
            sqlx::query_scalar(&format!(
                "SELECT MIN({}(o.next_attempt_at_ms, COALESCE(o.claimed_until_ms, 0),
                              CASE WHEN o.chat_id < 0 THEN $2 ELSE $1 END
                              + COALESCE((SELECT MAX(s.sent_at_ms) FROM outbox s
                                          WHERE s.chat_id = o.chat_id AND s.status = 'sent'
                                            AND CASE WHEN o.chat_id < 0 THEN $2 ELSE $1 END > 0),
                                         0)))
             FROM outbox o
             JOIN (SELECT MIN(id) AS id FROM outbox WHERE status = 'pending' GROUP BY chat_id) h
               ON h.id = o.id",
                pool.dialect().greatest()
            ))
            .bind(cooling.private_ms)
            .bind(cooling.group_ms)
            .fetch_one(pool)
            .await
            .context("reading the next due time of each chat's oldest message")
        })
    }

    /// Only news that is still true goes out. For each chat and subscription
    /// S, look at S's pending rows in that chat, oldest first. They are all
    /// marked `stopped` with [`SUPERSEDED`], from the first one up to and
    /// including the last ending (`all_clear` or `heads_up_cancelled`), when:
    ///
    /// 1. the first of them is an `alert` or a `heads_up` (news the chat has
    ///    not heard), and an ending follows it;
    /// 2. S has nothing going on now (no `alert_episodes` row: no condition
    ///    observed, no heads-up announced), so everything up to that ending
    ///    is over; and
    /// 3. the last row of S this chat did receive (`sent`), if any, is an
    ///    ending, so the chat is not waiting for one (an alert it got is
    ///    always followed by its all-clear).
    ///
    /// Rows after that last ending stay pending. A row's kind names only the
    /// first of what its message groups (alerts, heads-ups, reminders,
    /// endings, cancellations), so the rule looks at kinds and the episodes,
    /// never the text. Known gap: when the last row received was a partial
    /// all-clear (one condition ended while another went on), the ending of
    /// the other condition can be dropped with a later alert that was
    /// superseded too. One statement, so the poller (one transaction per
    /// poll) is never seen half-way. A run with a claimed row is left alone:
    /// another replica may be sending it right now, and its chat would then
    /// get the alert without the ending. Returns the rows dropped.
    pub async fn drop_superseded(&self) -> anyhow::Result<u64> {
        with_pool!(self, |pool| {
            let done = sqlx::query(
            "WITH runs AS (
                 SELECT chat_id, subscription_id,
                        MIN(id) AS first_id,
                        MAX(CASE WHEN kind IN ('all_clear', 'heads_up_cancelled') THEN id END) AS last_end
                 FROM outbox
                 WHERE status = 'pending' AND subscription_id IS NOT NULL
                 GROUP BY chat_id, subscription_id
             ), stale AS (
                 SELECT r.chat_id, r.subscription_id, r.first_id, r.last_end
                 FROM runs r
                 WHERE r.last_end > r.first_id
                   AND (SELECT f.kind FROM outbox f WHERE f.id = r.first_id) IN ('alert', 'heads_up')
                   AND NOT EXISTS (SELECT 1 FROM alert_episodes e
                                   WHERE e.subscription_id = r.subscription_id)
                   AND NOT EXISTS (SELECT 1 FROM outbox c
                                   WHERE c.chat_id = r.chat_id
                                     AND c.subscription_id = r.subscription_id
                                     AND c.status = 'pending' AND c.claimed_by IS NOT NULL)
                   AND COALESCE((SELECT s.kind FROM outbox s
                                 WHERE s.subscription_id = r.subscription_id
                                   AND s.chat_id = r.chat_id AND s.status = 'sent'
                                 ORDER BY s.id DESC LIMIT 1), 'all_clear')
                       IN ('all_clear', 'heads_up_cancelled')
             )
             UPDATE outbox SET status = 'stopped', last_error = $1
             WHERE status = 'pending'
               AND EXISTS (SELECT 1 FROM stale t
                           WHERE t.chat_id = outbox.chat_id
                             AND t.subscription_id = outbox.subscription_id
                             AND outbox.id BETWEEN t.first_id AND t.last_end)",
        )
        .bind(SUPERSEDED)
        .execute(pool)
        .await
        .context("dropping superseded messages")?;
            Ok(done.rows_affected())
        })
    }

    /// Deletes at most `limit` `sent` rows sent before `before_ms` (unix
    /// ms), oldest first. Returns how many.
    pub async fn prune_sent_messages(&self, before_ms: i64, limit: u32) -> anyhow::Result<u64> {
        with_pool!(self, |pool| {
            let done = sqlx::query(
                "DELETE FROM outbox WHERE id IN (
                 SELECT id FROM outbox WHERE status = 'sent' AND sent_at_ms < $1
                 ORDER BY sent_at_ms LIMIT $2)",
            )
            .bind(before_ms)
            .bind(i64::from(limit))
            .execute(pool)
            .await
            .context("pruning sent messages")?;
            Ok(done.rows_affected())
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::store::NewMessage;
    use crate::store::test_support::temp_store;

    async fn enqueue(store: &crate::store::Store, chat: i64, kind: &'static str, at: i64) -> i64 {
        let msg = NewMessage {
            chat_id: chat,
            subscription_id: None,
            kind,
            text: format!("{kind} {at}"),
            dedup_key: format!("{chat}:{kind}:{at}"),
            ..NewMessage::default()
        };
        assert!(store.enqueue_message(&msg, at).await.unwrap());
        store.outbox_rows().await.unwrap().last().unwrap().id
    }

    async fn subscription(store: &crate::store::Store, chat: i64) -> i64 {
        with_pool!(store, |pool| sqlx::query_scalar(
            "INSERT INTO subscriptions (chat_id, city, latitude, longitude, rain, snow, created_at)
             VALUES ($1, 'Rome', 41.9, 12.5, TRUE, FALSE, 0) RETURNING id",
        )
        .bind(chat)
        .fetch_one(pool)
        .await
        .unwrap())
    }

    async fn enqueue_for(
        store: &crate::store::Store,
        chat: i64,
        sub: i64,
        kind: &'static str,
        text: &str,
    ) -> i64 {
        let msg = NewMessage {
            chat_id: chat,
            subscription_id: Some(sub),
            kind,
            text: text.to_owned(),
            dedup_key: text.to_owned(),
            ..NewMessage::default()
        };
        assert!(store.enqueue_message(&msg, 1).await.unwrap());
        store.outbox_rows().await.unwrap().last().unwrap().id
    }

    async fn statuses(store: &crate::store::Store) -> Vec<(String, String)> {
        let rows = store.outbox_rows().await.unwrap();
        rows.into_iter().map(|r| (r.text, r.status)).collect()
    }

    fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
        expected
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    #[tokio::test]
    async fn news_still_going_on_or_an_ending_owed_is_never_dropped() {
        let (store, _dir) = temp_store().await;
        // Something is going on now for `busy`: its alert and all-clear stay.
        let busy = subscription(&store, 1).await;
        enqueue_for(&store, 1, busy, "alert", "busy alert").await;
        enqueue_for(&store, 1, busy, "all_clear", "busy ended").await;
        with_pool!(store, |pool| sqlx::query(
            "INSERT INTO alert_episodes (subscription_id, condition, since, updated_at)
             VALUES ($1, 'rain', 1, 1)",
        )
        .bind(busy)
        .execute(pool)
        .await
        .map(drop))
        .unwrap();
        // `owed`: the chat got an alert; a new alert and an all-clear
        // pending: the chat is owed that ending, so both go out.
        let owed = subscription(&store, 2).await;
        let sent = enqueue_for(&store, 2, owed, "alert", "owed first").await;
        store.mark_sent(sent, 1, 2).await.unwrap();
        enqueue_for(&store, 2, owed, "alert", "owed second").await;
        enqueue_for(&store, 2, owed, "all_clear", "owed ended").await;
        // `remind`: starts with a reminder (its alert went out): kept.
        let remind = subscription(&store, 3).await;
        enqueue_for(&store, 3, remind, "reminder", "remind").await;
        enqueue_for(&store, 3, remind, "all_clear", "remind ended").await;
        // `gone`: dropped, and only up to its last ending.
        let gone = subscription(&store, 4).await;
        enqueue_for(&store, 4, gone, "heads_up", "gone heads-up").await;
        enqueue_for(&store, 4, gone, "alert", "gone alert").await;
        enqueue_for(&store, 4, gone, "all_clear", "gone ended").await;
        enqueue_for(&store, 4, gone, "heads_up", "gone new heads-up").await;

        assert_eq!(store.drop_superseded().await.unwrap(), 3);
        assert_eq!(store.drop_superseded().await.unwrap(), 0);

        assert_eq!(
            statuses(&store).await,
            pairs(&[
                ("busy alert", "pending"),
                ("busy ended", "pending"),
                ("owed first", "sent"),
                ("owed second", "pending"),
                ("owed ended", "pending"),
                ("remind", "pending"),
                ("remind ended", "pending"),
                ("gone heads-up", "stopped"),
                ("gone alert", "stopped"),
                ("gone ended", "stopped"),
                ("gone new heads-up", "pending"),
            ])
        );
    }

    #[tokio::test]
    async fn only_old_sent_rows_are_pruned_in_bounded_batches() {
        let (store, _dir) = temp_store().await;
        for at in [1_000, 2_000, 3_000, 9_000] {
            let id = enqueue(&store, 1, "notice", at).await;
            store.mark_sent(id, at, at).await.unwrap();
        }
        enqueue(&store, 1, "notice", 500).await; // pending: kept however old
        assert_eq!(store.prune_sent_messages(5_000, 2).await.unwrap(), 2);
        assert_eq!(store.prune_sent_messages(5_000, 2).await.unwrap(), 1);
        assert_eq!(store.prune_sent_messages(5_000, 2).await.unwrap(), 0);
        let left: Vec<_> = store
            .outbox_rows()
            .await
            .unwrap()
            .into_iter()
            .map(|r| (r.created_at_ms, r.status))
            .collect();
        assert_eq!(
            left,
            [(9_000, "sent".to_owned()), (500, "pending".to_owned())]
        );
    }
}
