//! Per-chat preferences (language, units) and reachability.

use anyhow::Context;

use super::{Store, now_unix};
use crate::domain::{Language, Units};

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Chat {
    pub chat_id: i64,
    pub language: String,
    pub units: String,
    pub active: bool,
    pub inactive_reason: Option<String>,
}

impl Store {
    pub async fn chat(&self, chat_id: i64) -> anyhow::Result<Option<Chat>> {
        with_pool!(self, |pool| {
            sqlx::query_as::<_, Chat>(
            "SELECT chat_id, language, units, active, inactive_reason FROM chats WHERE chat_id = $1",
        )
        .bind(chat_id)
        .fetch_optional(pool)
        .await
        .context("reading a chat")
        })
    }

    pub async fn set_chat_language(&self, chat_id: i64, language: Language) -> anyhow::Result<()> {
        self.set_chat_preference(chat_id, Preference::Language, language.code())
            .await
    }

    pub async fn set_chat_units(&self, chat_id: i64, units: Units) -> anyhow::Result<()> {
        self.set_chat_preference(chat_id, Preference::Units, units.code())
            .await
    }

    /// Upserts one preference column; the column names are fixed here, never
    /// taken from input.
    async fn set_chat_preference(
        &self,
        chat_id: i64,
        which: Preference,
        code: &str,
    ) -> anyhow::Result<()> {
        with_pool!(self, |pool| {
            let column = match which {
                Preference::Language => "language",
                Preference::Units => "units",
            };
            let sql = format!(
                "INSERT INTO chats (chat_id, {column}, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (chat_id) DO UPDATE SET {column} = $2, updated_at = $3"
            );
            sqlx::query(&sql)
                .bind(chat_id)
                .bind(code)
                .bind(now_unix())
                .execute(pool)
                .await
                .with_context(|| format!("setting a chat's {column}"))?;
            Ok(())
        })
    }
}

impl Store {
    /// The group `from` became the supergroup `to` (Telegram gives the new
    /// id once, in an error or a service message): its subscriptions, its
    /// preferences and reachability, its account and its pending messages
    /// move to `to`, in one transaction. A subscription `to` already has
    /// (same unique key) is kept once; the old chat's dialogue is dropped.
    /// Returns `false` when there was nothing to move (already moved).
    pub async fn migrate_chat(&self, from: i64, to: i64) -> anyhow::Result<bool> {
        with_pool!(self, |pool| {
            if from == to {
                return Ok(false);
            }
            let mut tx = pool.begin_write().await.context("migrate chat: begin")?;
            let mut moved = 0;
            moved += sqlx::query(
                "INSERT INTO chats (chat_id, language, units, active, inactive_reason, updated_at,
                 timezone, quiet_start, quiet_end, quiet_hold, digest_at, digest_last_day)
             SELECT $2, language, units, TRUE, NULL, $3,
                 timezone, quiet_start, quiet_end, quiet_hold, digest_at, digest_last_day
             FROM chats WHERE chat_id = $1
             ON CONFLICT (chat_id) DO UPDATE SET language = excluded.language,
                 units = excluded.units, active = TRUE, inactive_reason = NULL,
                 updated_at = excluded.updated_at, timezone = excluded.timezone,
                 quiet_start = excluded.quiet_start, quiet_end = excluded.quiet_end,
                 quiet_hold = excluded.quiet_hold, digest_at = excluded.digest_at,
                 digest_last_day = excluded.digest_last_day",
            )
            .bind(from)
            .bind(to)
            .bind(now_unix())
            .execute(&mut *tx)
            .await
            .context("copying a chat's preferences")?
            .rows_affected();
            sqlx::query("DELETE FROM chats WHERE chat_id = $1")
                .bind(from)
                .execute(&mut *tx)
                .await
                .context("removing the old chat")?;
            // Each one unless `to` has the same (the unique key of subscriptions).
            moved += sqlx::query(
                "UPDATE subscriptions SET chat_id = $2
             WHERE chat_id = $1
               AND NOT EXISTS (
                   SELECT 1 FROM subscriptions d
                   WHERE d.chat_id = $2
                     AND d.latitude = subscriptions.latitude
                     AND d.longitude = subscriptions.longitude
                     AND COALESCE(d.t_min, 1e9) = COALESCE(subscriptions.t_min, 1e9)
                     AND COALESCE(d.t_max, 1e9) = COALESCE(subscriptions.t_max, 1e9)
                     AND d.rain = subscriptions.rain AND d.snow = subscriptions.snow)",
            )
            .bind(from)
            .bind(to)
            .execute(&mut *tx)
            .await
            .context("moving a chat's subscriptions")?
            .rows_affected();
            // Left behind only when `to` already had the same subscription.
            sqlx::query("DELETE FROM subscriptions WHERE chat_id = $1")
                .bind(from)
                .execute(&mut *tx)
                .await
                .context("dropping duplicate subscriptions")?;
            sqlx::query(
                "UPDATE users SET chat_id = $2 WHERE chat_id = $1
               AND NOT EXISTS (SELECT 1 FROM users WHERE chat_id = $2)",
            )
            .bind(from)
            .bind(to)
            .execute(&mut *tx)
            .await
            .context("moving a chat's account")?;
            // Claims released: the message is resent at the new id at once, by
            // any replica (the claim of the send that learnt the new id ends).
            moved += sqlx::query(
                "UPDATE outbox SET chat_id = $2, claimed_by = NULL, claimed_until_ms = NULL
             WHERE chat_id = $1 AND status = 'pending'",
            )
            .bind(from)
            .bind(to)
            .execute(&mut *tx)
            .await
            .context("moving a chat's pending messages")?
            .rows_affected();
            sqlx::query("UPDATE held_events SET chat_id = $2 WHERE chat_id = $1")
                .bind(from)
                .bind(to)
                .execute(&mut *tx)
                .await
                .context("moving a chat's held alerts")?;
            sqlx::query("DELETE FROM dialogues WHERE chat_id = $1")
                .bind(from)
                .execute(&mut *tx)
                .await
                .context("dropping the old chat's dialogue")?;
            tx.commit().await.context("migrate chat: commit")?;
            Ok(moved > 0)
        })
    }
}

#[derive(Clone, Copy)]
enum Preference {
    Language,
    Units,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::temp_store;

    #[tokio::test]
    async fn preferences_are_kept_separately() {
        let (store, _dir) = temp_store().await;
        assert_eq!(store.chat(5).await.unwrap(), None);
        store.set_chat_language(5, Language::It).await.unwrap();
        store.set_chat_units(5, Units::Fahrenheit).await.unwrap();
        let chat = store.chat(5).await.unwrap().unwrap();
        assert_eq!(
            (chat.language.as_str(), chat.units.as_str(), chat.active),
            ("it", "f", true)
        );
        store
            .deactivate_chat(5, "Forbidden: bot was blocked by the user")
            .await
            .unwrap();
        let chat = store.chat(5).await.unwrap().unwrap();
        assert!(!chat.active);
        assert_eq!(chat.language, "it");
    }
}
