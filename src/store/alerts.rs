//! The poller's reads and writes: active subscriptions in one lean query,
//! the episodes in progress in another, and every decision of a cycle
//! (episode rows written or deleted + outbox rows) in one transaction of
//! multi-row statements.

use anyhow::Context;
use sqlx::{Database, Encode, QueryBuilder, Type};

use super::{NewMessage, Store};

/// An active subscription of a reachable chat, with what its messages need
/// (place name, the chat's language and units). The poller keeps these in
/// memory and re-reads them only when `watch_generation` moved.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Watched {
    pub id: i64,
    pub chat_id: i64,
    pub latitude: f64,
    pub longitude: f64,
    pub t_min: Option<f64>,
    pub t_max: Option<f64>,
    pub rain: bool,
    pub snow: bool,
    /// Heads-up lead time in seconds; `None`: off.
    pub ahead_s: Option<i64>,
    pub city: String,
    pub country: String,
    pub language: Option<String>,
    pub units: Option<String>,
    /// The chat's time zone and quiet hours (see `chat_settings`).
    pub timezone: Option<String>,
    pub quiet_start: Option<i64>,
    pub quiet_end: Option<i64>,
    pub quiet_hold: Option<bool>,
    /// Nothing is told before this (unix s).
    pub snoozed_until: Option<i64>,
}

/// What one poll writes, in one transaction: episode changes, outbox rows,
/// happenings held by quiet hours, and the subscriptions whose snooze ended.
#[derive(Debug, Clone, Copy)]
pub struct AlertWrite<'a> {
    pub changes: &'a [EpisodeChange],
    pub messages: &'a [NewMessage],
    pub held: &'a [super::held::NewHeld],
    pub woke: &'a [i64],
    /// `(chat, zone)`: the zone of the chat's first place, set only on a
    /// chat that has none.
    pub zones: &'a [(i64, String)],
    pub now_ms: i64,
}

/// An episode in progress (or announced) of one condition of a
/// subscription. Times are unix seconds.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct EpisodeRow {
    pub subscription_id: i64,
    /// `hot`, `cold`, `rain` or `snow`.
    pub condition: String,
    pub since: Option<i64>,
    pub last_notified_at: Option<i64>,
    pub heads_up_start: Option<i64>,
}

/// One condition's new state: `row: None` deletes it (nothing going on).
#[derive(Debug, Clone, PartialEq)]
pub struct EpisodeChange {
    pub subscription_id: i64,
    pub condition: &'static str,
    pub row: Option<EpisodeRow>,
}

/// Rows per multi-row statement: 6 columns × 5,000 stays below SQLite's
/// 32,766 bound parameters.
const BATCH: usize = 5000;
/// Outbox rows have 9 columns: 3,000 × 9 = 27,000 parameters (SQLite allows
/// 32,766). Held events have 8: 24,000.
const MESSAGE_BATCH: usize = 3000;

impl Store {
    pub async fn watched_subscriptions(&self) -> anyhow::Result<Vec<Watched>> {
        with_pool!(self, |pool| {
            sqlx::query_as::<_, Watched>(
                "SELECT s.id, s.chat_id, s.latitude, s.longitude, s.t_min, s.t_max, s.rain, s.snow,
                    s.ahead_s, s.city, s.country, c.language, c.units, c.timezone,
                    c.quiet_start, c.quiet_end, c.quiet_hold, s.snoozed_until
             FROM subscriptions s
             LEFT JOIN chats c ON c.chat_id = s.chat_id
             WHERE s.active = TRUE AND (c.active IS NULL OR c.active = TRUE)",
            )
            .fetch_all(pool)
            .await
            .context("reading watched subscriptions")
        })
    }

    /// Every episode in progress or announced.
    pub async fn alert_episodes(&self) -> anyhow::Result<Vec<EpisodeRow>> {
        with_pool!(self, |pool| {
            sqlx::query_as::<_, EpisodeRow>(
                "SELECT subscription_id, condition, since, last_notified_at, heads_up_start
             FROM alert_episodes",
            )
            .fetch_all(pool)
            .await
            .context("reading alert episodes")
        })
    }

    /// Bumped by every change to subscriptions or chats (triggers).
    pub async fn watch_generation(&self) -> anyhow::Result<i64> {
        with_pool!(self, |pool| {
            sqlx::query_scalar("SELECT value FROM watch_generation WHERE id = 1")
                .fetch_one(pool)
                .await
                .context("reading the watch generation")
        })
    }

    /// Writes every episode change and every message atomically; returns the
    /// number of SQL statements used. Changes for subscriptions deleted in
    /// the meantime are dropped (the user unsubscribed: nothing to say).
    pub async fn apply_alert_changes(&self, write: &AlertWrite<'_>) -> anyhow::Result<usize> {
        with_pool!(self, |pool| {
            let AlertWrite {
                changes,
                messages,
                held,
                woke,
                zones,
                now_ms,
            } = *write;
            if changes.is_empty()
                && messages.is_empty()
                && held.is_empty()
                && woke.is_empty()
                && zones.is_empty()
            {
                return Ok(0);
            }
            let now = now_ms / 1000;
            let upserts: Vec<&EpisodeRow> = changes.iter().filter_map(|c| c.row.as_ref()).collect();
            let deletes: Vec<&EpisodeChange> = changes.iter().filter(|c| c.row.is_none()).collect();
            let mut statements = 0;
            let mut tx = pool.begin_write().await.context("alert changes: begin")?;
            for chunk in upserts.chunks(BATCH) {
                upsert_episodes(chunk, now)
                    .build()
                    .execute(&mut *tx)
                    .await
                    .context("writing alert episodes")?;
                statements += 1;
            }
            for chunk in deletes.chunks(BATCH) {
                delete_episodes(chunk)
                    .build()
                    .execute(&mut *tx)
                    .await
                    .context("deleting alert episodes")?;
                statements += 1;
            }
            for chunk in messages.chunks(MESSAGE_BATCH) {
                insert_messages(chunk, now_ms)
                    .build()
                    .execute(&mut *tx)
                    .await
                    .context("writing outbox rows")?;
                statements += 1;
            }
            for chunk in held.chunks(MESSAGE_BATCH) {
                super::held::insert_held(chunk)
                    .build()
                    .execute(&mut *tx)
                    .await
                    .context("holding happenings")?;
                statements += 1;
            }
            for chunk in woke.chunks(BATCH) {
                let mut q = QueryBuilder::new(
                    "UPDATE subscriptions SET snoozed_until = NULL WHERE snoozed_until <= ",
                );
                q.push_bind(now).push(" AND id IN (");
                let mut list = q.separated(", ");
                for id in chunk {
                    list.push_bind(*id);
                }
                q.push(")");
                q.build()
                    .execute(&mut *tx)
                    .await
                    .context("ending snoozes")?;
                statements += 1;
            }
            for (chat, zone) in zones {
                sqlx::query(
                    "INSERT INTO chats (chat_id, timezone, updated_at) VALUES ($1, $2, $3)
                 ON CONFLICT (chat_id) DO UPDATE SET timezone = $2, updated_at = $3
                 WHERE chats.timezone IS NULL",
                )
                .bind(chat)
                .bind(zone)
                .bind(now)
                .execute(&mut *tx)
                .await
                .context("adopting a place's time zone")?;
                statements += 1;
            }
            tx.commit().await.context("alert changes: commit")?;
            Ok(statements)
        })
    }
}

fn upsert_episodes<'a, DB>(chunk: &[&'a EpisodeRow], now: i64) -> QueryBuilder<'a, DB>
where
    DB: Database,
    i64: Encode<'a, DB> + Type<DB>,
    Option<i64>: Encode<'a, DB> + Type<DB>,
    &'a str: Encode<'a, DB> + Type<DB>,
    Option<&'a str>: Encode<'a, DB> + Type<DB>,
    bool: Encode<'a, DB> + Type<DB>,
{
    let mut q = QueryBuilder::new(
        "INSERT INTO alert_episodes
             (subscription_id, condition, since, last_notified_at, heads_up_start, updated_at)
         SELECT column1, column2, column3, column4, column5, column6 FROM (",
    );
    q.push_values(chunk, |mut row, e| {
        row.push_bind(e.subscription_id)
            .push_bind(e.condition.as_str())
            .push_bind(e.since)
            .push_bind(e.last_notified_at)
            .push_bind(e.heads_up_start)
            .push_bind(now);
    });
    q.push(
        ") AS v WHERE column1 IN (SELECT id FROM subscriptions)
         ON CONFLICT (subscription_id, condition) DO UPDATE SET since = excluded.since,
             last_notified_at = excluded.last_notified_at,
             heads_up_start = excluded.heads_up_start, updated_at = excluded.updated_at",
    );
    q
}

fn delete_episodes<'a, DB>(chunk: &[&'a EpisodeChange]) -> QueryBuilder<'a, DB>
where
    DB: Database,
    i64: Encode<'a, DB> + Type<DB>,
    Option<i64>: Encode<'a, DB> + Type<DB>,
    &'a str: Encode<'a, DB> + Type<DB>,
    Option<&'a str>: Encode<'a, DB> + Type<DB>,
    bool: Encode<'a, DB> + Type<DB>,
{
    let mut q =
        QueryBuilder::new("DELETE FROM alert_episodes WHERE (subscription_id, condition) IN (");
    q.push_values(chunk, |mut row, c| {
        row.push_bind(c.subscription_id).push_bind(c.condition);
    });
    q.push(")");
    q
}

pub(super) fn insert_messages<'a, DB>(
    messages: &'a [NewMessage],
    now_ms: i64,
) -> QueryBuilder<'a, DB>
where
    DB: Database,
    i64: Encode<'a, DB> + Type<DB>,
    Option<i64>: Encode<'a, DB> + Type<DB>,
    &'a str: Encode<'a, DB> + Type<DB>,
    Option<&'a str>: Encode<'a, DB> + Type<DB>,
    bool: Encode<'a, DB> + Type<DB>,
{
    let mut q = QueryBuilder::new(
        "INSERT INTO outbox (chat_id, subscription_id, kind, text, dedup_key, next_attempt_at_ms,
             created_at_ms, silent, reply_markup)
         SELECT column1, column2, column3, column4, column5, column6, column7, column8, column9
         FROM (",
    );
    q.push_values(messages, |mut row, m| {
        row.push_bind(m.chat_id)
            .push_bind(m.subscription_id)
            .push_bind(m.kind)
            .push_bind(m.text.as_str())
            .push_bind(m.dedup_key.as_str())
            .push_bind(now_ms)
            .push_bind(now_ms)
            .push_bind(m.silent)
            .push_bind(m.reply_markup.as_deref());
    });
    q.push(
        ") AS v WHERE column2 IS NULL OR column2 IN (SELECT id FROM subscriptions)
         ON CONFLICT (dedup_key) DO NOTHING",
    );
    q
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ChatId, Temperature, TemperatureBand};
    use crate::store::NewSubscription;
    use crate::store::test_support::temp_store;

    async fn subscribe(store: &Store, chat: i64, lat: f64) -> i64 {
        let new = NewSubscription {
            chat_id: ChatId::new(chat).unwrap(),
            city: "Rome",
            country: "IT",
            latitude: lat,
            longitude: 12.5,
            band: TemperatureBand::new(None, Some(Temperature::new(30.0).unwrap())).unwrap(),
            rain: false,
            snow: false,
            ahead: None,
        };
        store
            .insert_subscription(new, 20)
            .await
            .unwrap()
            .unwrap()
            .id
    }

    fn hot(id: i64) -> EpisodeChange {
        EpisodeChange {
            subscription_id: id,
            condition: "hot",
            row: Some(EpisodeRow {
                subscription_id: id,
                condition: "hot".into(),
                since: Some(100),
                last_notified_at: Some(100),
                heads_up_start: None,
            }),
        }
    }

    fn message(id: i64, chat: i64, key: &str) -> NewMessage {
        NewMessage {
            chat_id: chat,
            subscription_id: Some(id),
            kind: "alert",
            text: "hot".into(),
            dedup_key: key.into(),
            ..NewMessage::default()
        }
    }

    /// More messages than one statement may carry (a storm: every
    /// subscription flips at once) are written in chunks, all in one
    /// transaction. 4,000 rows × 9 columns once broke SQLite's limit of
    /// 32,766 parameters and failed every poll after.
    #[tokio::test]
    async fn a_storm_of_messages_is_written_in_chunks() {
        let (store, _dir) = temp_store().await;
        let id = subscribe(&store, 1, 41.0).await;
        let messages: Vec<NewMessage> = (0..super::MESSAGE_BATCH * 2 + 7)
            .map(|i| message(id, 1, &format!("storm {i}")))
            .collect();
        store
            .apply_alert_changes(&AlertWrite {
                changes: &[],
                messages: &messages,
                held: &[],
                woke: &[],
                zones: &[],
                now_ms: 1_000_000,
            })
            .await
            .expect("written in chunks");
        assert_eq!(store.pending_count().await.unwrap(), messages.len() as i64);
    }

    #[tokio::test]
    async fn changes_land_together_and_deleted_subscriptions_are_skipped() {
        let (store, _dir) = temp_store().await;
        let a = subscribe(&store, 1, 41.0).await;
        let b = subscribe(&store, 2, 42.0).await;
        let gone = subscribe(&store, 3, 43.0).await;
        store
            .delete_subscription(ChatId::new(3).unwrap(), gone)
            .await
            .unwrap();

        let changes = vec![hot(a), hot(b), hot(gone)];
        let messages = vec![
            message(a, 1, "a1"),
            message(b, 2, "b1"),
            message(gone, 3, "g1"),
        ];
        assert_eq!(
            store
                .apply_alert_changes(&AlertWrite {
                    changes: &changes,
                    messages: &messages,
                    held: &[],
                    woke: &[],
                    zones: &[],
                    now_ms: 1_000_000
                })
                .await
                .unwrap(),
            2
        );
        let rows = store.outbox_rows().await.unwrap();
        assert_eq!(
            rows.iter()
                .map(|r| r.dedup_key.as_str())
                .collect::<Vec<_>>(),
            vec!["a1", "b1"]
        );
        let episodes = store.alert_episodes().await.unwrap();
        assert_eq!(episodes.len(), 2);
        assert!(episodes.iter().all(|e| e.since == Some(100)));

        // Same decision again: dedup keys make it a no-op for the outbox.
        store
            .apply_alert_changes(&AlertWrite {
                changes: &changes,
                messages: &messages,
                held: &[],
                woke: &[],
                zones: &[],
                now_ms: 1_000_000,
            })
            .await
            .unwrap();
        assert_eq!(store.outbox_rows().await.unwrap().len(), 2);

        // An ended episode is deleted.
        let ended = EpisodeChange {
            subscription_id: a,
            condition: "hot",
            row: None,
        };
        store
            .apply_alert_changes(&AlertWrite {
                changes: &[ended],
                messages: &[],
                held: &[],
                woke: &[],
                zones: &[],
                now_ms: 2_000_000,
            })
            .await
            .unwrap();
        let left = store.alert_episodes().await.unwrap();
        assert_eq!(
            left.iter().map(|e| e.subscription_id).collect::<Vec<_>>(),
            vec![b]
        );
    }

    #[tokio::test]
    async fn inactive_chats_are_not_watched_and_changes_move_the_generation() {
        let (store, _dir) = temp_store().await;
        let g0 = store.watch_generation().await.unwrap();
        subscribe(&store, 1, 41.0).await;
        subscribe(&store, 2, 42.0).await;
        let g1 = store.watch_generation().await.unwrap();
        assert!(g1 > g0);
        store.deactivate_chat(2, "blocked").await.unwrap();
        assert!(store.watch_generation().await.unwrap() > g1);
        let watched = store.watched_subscriptions().await.unwrap();
        assert_eq!(
            watched.iter().map(|w| w.chat_id).collect::<Vec<_>>(),
            vec![1]
        );
    }
}
