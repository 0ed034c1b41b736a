//! Happenings held by a chat's quiet hours (`hold` mode), released as one
//! summary message when the quiet hours end. Written in the poll's own
//! transaction (`apply_alert_changes`); released in one transaction that
//! writes the summary and deletes what it sums up.

use anyhow::Context;
use sqlx::{Database, Encode, QueryBuilder, Type};

use super::{NewMessage, Store};

/// A happening to hold.
#[derive(Debug, Clone, PartialEq)]
pub struct NewHeld {
    pub chat_id: i64,
    pub subscription_id: i64,
    /// "Rome, IT".
    pub place: String,
    /// `hot`, `cold`, `rain`, `snow`.
    pub condition: &'static str,
    /// `start`, `end`, `heads_up`, `heads_up_cancelled`.
    pub event: &'static str,
    /// Unix seconds.
    pub at: i64,
    pub detail: String,
    /// When the quiet hours holding it end (unix s).
    pub release_at: i64,
}

/// A held happening due for release, with its chat's preferences.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct HeldRow {
    pub id: i64,
    pub chat_id: i64,
    pub subscription_id: Option<i64>,
    pub place: String,
    pub condition: String,
    pub event: String,
    pub at: i64,
    pub detail: String,
    pub language: Option<String>,
    pub timezone: Option<String>,
}

impl Store {
    /// Held happenings of the chats that have any due at `now` (unix s),
    /// all of such a chat's (due or not — a window's events share one
    /// release time), oldest first; at most `limit` chats.
    pub async fn due_held_events(&self, now: i64, limit: u32) -> anyhow::Result<Vec<HeldRow>> {
        with_pool!(self, |pool| {
            sqlx::query_as::<_, HeldRow>(
                "SELECT h.id, h.chat_id, h.subscription_id, h.place, h.condition, h.event, h.at,
                    h.detail, c.language, c.timezone
             FROM held_events h LEFT JOIN chats c ON c.chat_id = h.chat_id
             WHERE h.chat_id IN (SELECT DISTINCT chat_id FROM held_events
                                 WHERE release_at <= $1 LIMIT $2)
               AND h.release_at <= $1
             ORDER BY h.chat_id, h.id",
            )
            .bind(now)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await
            .context("reading held happenings")
        })
    }

    /// Writes a chat's summary (if any) and deletes the held rows `ids` it
    /// sums up, in one transaction.
    pub async fn release_held(
        &self,
        ids: &[i64],
        summary: Option<&NewMessage>,
        now_ms: i64,
    ) -> anyhow::Result<()> {
        with_pool!(self, |pool| {
            let mut tx = pool.begin_write().await.context("release held: begin")?;
            if let Some(m) = summary {
                super::alerts::insert_messages(std::slice::from_ref(m), now_ms)
                    .build()
                    .execute(&mut *tx)
                    .await
                    .context("writing a quiet-hours summary")?;
            }
            for chunk in ids.chunks(500) {
                let mut q = QueryBuilder::new("DELETE FROM held_events WHERE id IN (");
                let mut list = q.separated(", ");
                for id in chunk {
                    list.push_bind(*id);
                }
                q.push(")");
                q.build()
                    .execute(&mut *tx)
                    .await
                    .context("deleting released happenings")?;
            }
            tx.commit().await.context("release held: commit")?;
            Ok(())
        })
    }
}

/// The insert of held happenings (inside the poll's transaction).
pub(super) fn insert_held<'a, DB>(chunk: &'a [NewHeld]) -> QueryBuilder<'a, DB>
where
    DB: Database,
    i64: Encode<'a, DB> + Type<DB>,
    Option<i64>: Encode<'a, DB> + Type<DB>,
    &'a str: Encode<'a, DB> + Type<DB>,
    Option<&'a str>: Encode<'a, DB> + Type<DB>,
    bool: Encode<'a, DB> + Type<DB>,
{
    let mut q = QueryBuilder::new(
        "INSERT INTO held_events
             (chat_id, subscription_id, place, condition, event, at, detail, release_at)
         SELECT column1, column2, column3, column4, column5, column6, column7, column8 FROM (",
    );
    q.push_values(chunk, |mut row, h| {
        row.push_bind(h.chat_id)
            .push_bind(h.subscription_id)
            .push_bind(h.place.as_str())
            .push_bind(h.condition)
            .push_bind(h.event)
            .push_bind(h.at)
            .push_bind(h.detail.as_str())
            .push_bind(h.release_at);
    });
    q.push(") AS v WHERE column2 IN (SELECT id FROM subscriptions)");
    q
}
