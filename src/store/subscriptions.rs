//! Subscriptions, each with the location resolved at subscribe time.

use anyhow::Context;

use super::{Store, now_unix};
use crate::domain::{ChatId, ChatZone, LeadTime, TemperatureBand};

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Subscription {
    pub id: i64,
    pub chat_id: i64,
    pub city: String,
    pub country: String,
    pub latitude: f64,
    pub longitude: f64,
    pub t_min: Option<f64>,
    pub t_max: Option<f64>,
    pub rain: bool,
    pub snow: bool,
    pub active: bool,
    pub created_at: i64,
    /// Heads-up lead time in seconds; `None`: off.
    pub ahead_s: Option<i64>,
}

pub struct NewSubscription<'a> {
    pub chat_id: ChatId,
    pub city: &'a str,
    pub country: &'a str,
    pub latitude: f64,
    pub longitude: f64,
    pub band: TemperatureBand,
    pub rain: bool,
    pub snow: bool,
    pub ahead: Option<LeadTime>,
}

/// What `subscribe` did.
#[derive(Debug, Clone, PartialEq)]
pub enum Insert {
    Created(Subscription),
    /// The chat already has this subscription (same place and thresholds).
    Existing(Subscription),
    LimitReached,
}

/// The chat's subscription equal to `new` (the unique key), read on `conn`.
async fn same_subscription<'c, E, DB>(
    conn: E,
    new: &NewSubscription<'_>,
) -> anyhow::Result<Option<Subscription>>
where
    E: sqlx::Executor<'c, Database = DB>,
    DB: sqlx::Database,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> f64: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> Option<f64>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> bool: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    for<'q> <DB as sqlx::Database>::Arguments<'q>: sqlx::IntoArguments<'q, DB>,
    Subscription: for<'r> sqlx::FromRow<'r, DB::Row>,
{
    let sql = format!(
        "SELECT {COLUMNS} FROM subscriptions
         WHERE chat_id = $1 AND latitude = $2 AND longitude = $3 AND t_min IS NOT DISTINCT FROM $4
           AND t_max IS NOT DISTINCT FROM $5
           AND rain = $6 AND snow = $7"
    );
    sqlx::query_as::<_, Subscription>(&sql)
        .bind(new.chat_id.get())
        .bind(new.latitude)
        .bind(new.longitude)
        .bind(new.band.min().map(|t| t.celsius()))
        .bind(new.band.max().map(|t| t.celsius()))
        .bind(new.rain)
        .bind(new.snow)
        .fetch_optional(conn)
        .await
        .context("looking for the same subscription")
}

const COLUMNS: &str = "id, chat_id, city, country, latitude, longitude, t_min, t_max, rain, snow, \
                       active, created_at, ahead_s";

impl Store {
    /// Stores a subscription unless the chat already has the same one
    /// (place and thresholds) or `limit` subscriptions. The answer is given
    /// only once the transaction committed: the row is read back inside it
    /// rather than through `INSERT … RETURNING`, whose row can reach the
    /// caller before the statement (and the commit) finished.
    pub async fn subscribe(&self, new: NewSubscription<'_>, limit: u32) -> anyhow::Result<Insert> {
        self.subscribe_in_zone(new, limit, None).await
    }

    /// [`Store::subscribe`], and when the subscription is created and its
    /// chat has no time zone yet, the place's `zone` becomes the chat's —
    /// in the same transaction, so the answer sees both.
    pub async fn subscribe_in_zone(
        &self,
        new: NewSubscription<'_>,
        limit: u32,
        zone: Option<ChatZone>,
    ) -> anyhow::Result<Insert> {
        with_pool!(self, |pool| {
            let mut tx = pool.begin_write().await.context("subscribing: begin")?;
            if let Some(existing) = same_subscription(&mut *tx, &new).await? {
                tx.commit().await.context("subscribing: commit")?;
                return Ok(Insert::Existing(existing));
            }
            let inserted = sqlx::query(
                "INSERT INTO subscriptions
                 (chat_id, city, country, latitude, longitude, t_min, t_max, rain, snow, created_at,
                  ahead_s)
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $12
             WHERE (SELECT COUNT(*) FROM subscriptions WHERE chat_id = $1) < $11",
            )
            .bind(new.chat_id.get())
            .bind(new.city)
            .bind(new.country)
            .bind(new.latitude)
            .bind(new.longitude)
            .bind(new.band.min().map(|t| t.celsius()))
            .bind(new.band.max().map(|t| t.celsius()))
            .bind(new.rain)
            .bind(new.snow)
            .bind(now_unix())
            .bind(i64::from(limit))
            .bind(new.ahead.map(LeadTime::as_secs))
            .execute(&mut *tx)
            .await;
            let inserted = match inserted {
                Ok(done) => done,
                // The same subscription committed by a concurrent request.
                Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
                    drop(tx);
                    let existing = same_subscription(&mut *pool.acquire().await?, &new)
                        .await?
                        .context("a duplicate subscription vanished")?;
                    return Ok(Insert::Existing(existing));
                }
                Err(e) => return Err(anyhow::Error::new(e).context("inserting a subscription")),
            };
            if inserted.rows_affected() == 0 {
                return Ok(Insert::LimitReached);
            }
            // Read back by its unique key (no engine-specific "last id").
            let sub = same_subscription(&mut *tx, &new)
                .await?
                .context("the new subscription is not there")?;
            if let Some(zone) = zone {
                sqlx::query(
                    "INSERT INTO chats (chat_id, timezone, updated_at) VALUES ($1, $2, $3)
                 ON CONFLICT (chat_id) DO UPDATE SET timezone = $2, updated_at = $3
                 WHERE chats.timezone IS NULL",
                )
                .bind(new.chat_id.get())
                .bind(zone.name())
                .bind(now_unix())
                .execute(&mut *tx)
                .await
                .context("adopting the place's time zone")?;
            }
            tx.commit().await.context("subscribing: commit")?;
            Ok(Insert::Created(sub))
        })
    }

    /// [`Store::subscribe`] for callers that only need the row (tests,
    /// benchmarks): the new or existing subscription, `None` at the limit.
    pub async fn insert_subscription(
        &self,
        new: NewSubscription<'_>,
        limit: u32,
    ) -> anyhow::Result<Option<Subscription>> {
        Ok(match self.subscribe(new, limit).await? {
            Insert::Created(sub) | Insert::Existing(sub) => Some(sub),
            Insert::LimitReached => None,
        })
    }

    pub async fn subscriptions_of_chat(
        &self,
        chat_id: ChatId,
    ) -> anyhow::Result<Vec<Subscription>> {
        with_pool!(self, |pool| {
            let sql = format!("SELECT {COLUMNS} FROM subscriptions WHERE chat_id = $1 ORDER BY id");
            sqlx::query_as::<_, Subscription>(&sql)
                .bind(chat_id.get())
                .fetch_all(pool)
                .await
                .context("listing a chat's subscriptions")
        })
    }

    /// Deletes one of the chat's own subscriptions; `false` when there is no
    /// such id *in this chat* (someone else's id looks exactly like a missing one).
    pub async fn delete_subscription(&self, chat_id: ChatId, id: i64) -> anyhow::Result<bool> {
        with_pool!(self, |pool| {
            let done = sqlx::query("DELETE FROM subscriptions WHERE id = $1 AND chat_id = $2")
                .bind(id)
                .bind(chat_id.get())
                .execute(pool)
                .await
                .context("deleting a subscription")?;
            Ok(done.rows_affected() == 1)
        })
    }
}

impl Store {
    /// Sets (or with `None` turns off) the heads-up lead time of one of the
    /// chat's own subscriptions; `false` when the chat has no such id.
    pub async fn set_ahead(
        &self,
        chat_id: ChatId,
        id: i64,
        ahead: Option<LeadTime>,
    ) -> anyhow::Result<bool> {
        with_pool!(self, |pool| {
            let done =
                sqlx::query("UPDATE subscriptions SET ahead_s = $1 WHERE id = $2 AND chat_id = $3")
                    .bind(ahead.map(LeadTime::as_secs))
                    .bind(id)
                    .bind(chat_id.get())
                    .execute(pool)
                    .await
                    .context("setting a heads-up lead time")?;
            Ok(done.rows_affected() == 1)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Temperature;
    use crate::store::test_support::temp_store;

    fn rome(chat: i64) -> NewSubscription<'static> {
        NewSubscription {
            chat_id: ChatId::new(chat).unwrap(),
            city: "Rome",
            country: "IT",
            latitude: 41.89,
            longitude: 12.51,
            band: TemperatureBand::new(
                Some(Temperature::new(5.0).unwrap()),
                Some(Temperature::new(30.0).unwrap()),
            )
            .unwrap(),
            rain: true,
            snow: false,
            ahead: None,
        }
    }

    #[tokio::test]
    async fn insert_list_delete_stay_within_the_chat() {
        let (store, _dir) = temp_store().await;
        let sub = store
            .insert_subscription(rome(7), 20)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (sub.t_min, sub.t_max, sub.rain, sub.snow, sub.active),
            (Some(5.0), Some(30.0), true, false, true)
        );
        let chat7 = ChatId::new(7).unwrap();
        let chat8 = ChatId::new(8).unwrap();
        assert_eq!(
            store.subscriptions_of_chat(chat7).await.unwrap(),
            vec![sub.clone()]
        );
        assert!(store.subscriptions_of_chat(chat8).await.unwrap().is_empty());
        let three_hours = LeadTime::parse_optional("3h").unwrap();
        assert!(!store.set_ahead(chat8, sub.id, three_hours).await.unwrap());
        assert!(store.set_ahead(chat7, sub.id, three_hours).await.unwrap());
        let listed = store.subscriptions_of_chat(chat7).await.unwrap();
        assert_eq!(listed[0].ahead_s, Some(3 * 3600));
        assert!(!store.delete_subscription(chat8, sub.id).await.unwrap());
        assert!(store.delete_subscription(chat7, sub.id).await.unwrap());
        assert!(!store.delete_subscription(chat7, sub.id).await.unwrap());
    }

    #[tokio::test]
    async fn the_same_subscription_twice_is_the_existing_one() {
        let (store, _dir) = temp_store().await;
        let Insert::Created(first) = store.subscribe(rome(1), 20).await.unwrap() else {
            panic!("expected a new subscription");
        };
        assert_eq!(
            store.subscribe(rome(1), 20).await.unwrap(),
            Insert::Existing(first.clone())
        );
        // Other thresholds, or another chat, are another subscription.
        let mut warmer = rome(1);
        warmer.band = TemperatureBand::new(None, Some(Temperature::new(35.0).unwrap())).unwrap();
        assert!(matches!(
            store.subscribe(warmer, 20).await.unwrap(),
            Insert::Created(_)
        ));
        assert!(matches!(
            store.subscribe(rome(2), 20).await.unwrap(),
            Insert::Created(_)
        ));
        assert_eq!(
            store
                .subscriptions_of_chat(ChatId::new(1).unwrap())
                .await
                .unwrap()
                .len(),
            2
        );
    }

    #[tokio::test]
    async fn the_limit_is_enforced() {
        let (store, _dir) = temp_store().await;
        let at = |chat: i64, max: f64| {
            let mut new = rome(chat);
            new.band = TemperatureBand::new(None, Some(Temperature::new(max).unwrap())).unwrap();
            new
        };
        for max in [30.0, 31.0, 32.0] {
            assert!(matches!(
                store.subscribe(at(1, max), 3).await.unwrap(),
                Insert::Created(_)
            ));
        }
        assert_eq!(
            store.subscribe(at(1, 33.0), 3).await.unwrap(),
            Insert::LimitReached
        );
        assert!(matches!(
            store.subscribe(at(2, 30.0), 3).await.unwrap(),
            Insert::Created(_)
        ));
    }
}
