//! Dialogue states of the bot, stored as JSON text per chat, and the chat
//! lifecycle changes the bot reports (blocked → paused, unblocked → resumed).

use anyhow::Context;

use super::{Store, now_unix};

impl Store {
    pub async fn dialogue(&self, chat_id: i64) -> anyhow::Result<Option<String>> {
        with_pool!(self, |pool| {
            sqlx::query_scalar("SELECT state FROM dialogues WHERE chat_id = $1")
                .bind(chat_id)
                .fetch_optional(pool)
                .await
                .context("reading a dialogue")
        })
    }

    pub async fn save_dialogue(&self, chat_id: i64, state: &str) -> anyhow::Result<()> {
        with_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO dialogues (chat_id, state, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (chat_id) DO UPDATE SET state = $2, updated_at = $3",
            )
            .bind(chat_id)
            .bind(state)
            .bind(now_unix())
            .execute(pool)
            .await
            .context("saving a dialogue")?;
            Ok(())
        })
    }

    pub async fn delete_dialogue(&self, chat_id: i64) -> anyhow::Result<()> {
        with_pool!(self, |pool| {
            sqlx::query("DELETE FROM dialogues WHERE chat_id = $1")
                .bind(chat_id)
                .execute(pool)
                .await
                .context("deleting a dialogue")?;
            Ok(())
        })
    }

    /// Deletes at most `limit` dialogues last saved before `before_unix`
    /// (unix seconds), oldest first: a dialogue abandoned for a day is not
    /// worth keeping. Returns how many.
    pub async fn prune_dialogues(&self, before_unix: i64, limit: u32) -> anyhow::Result<u64> {
        with_pool!(self, |pool| {
            let done = sqlx::query(
                "DELETE FROM dialogues WHERE chat_id IN (
                 SELECT chat_id FROM dialogues WHERE updated_at < $1
                 ORDER BY updated_at LIMIT $2)",
            )
            .bind(before_unix)
            .bind(i64::from(limit))
            .execute(pool)
            .await
            .context("pruning idle dialogues")?;
            Ok(done.rows_affected())
        })
    }

    /// The chat can be reached again (the user unblocked the bot): mark it
    /// active and resume the subscriptions that were paused with it.
    pub async fn reactivate_chat(&self, chat_id: i64) -> anyhow::Result<bool> {
        with_pool!(self, |pool| {
            let mut tx = pool.begin_write().await.context("reactivate chat: begin")?;
            let changed = sqlx::query(
            "UPDATE chats SET active = TRUE, inactive_reason = NULL, updated_at = $1 WHERE chat_id = $2 AND active = FALSE",
        )
        .bind(now_unix())
        .bind(chat_id)
        .execute(&mut *tx)
        .await
        .context("marking a chat active")?
        .rows_affected()
            == 1;
            if changed {
                sqlx::query("UPDATE subscriptions SET active = TRUE WHERE chat_id = $1")
                    .bind(chat_id)
                    .execute(&mut *tx)
                    .await
                    .context("resuming a chat's subscriptions")?;
            }
            tx.commit().await.context("reactivate chat: commit")?;
            Ok(changed)
        })
    }

    /// Creates the chat's row with its first language unless it exists; the
    /// language a user chose with /language is never overwritten.
    pub async fn ensure_chat(
        &self,
        chat_id: i64,
        language: crate::domain::Language,
    ) -> anyhow::Result<()> {
        with_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO chats (chat_id, language, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (chat_id) DO NOTHING",
            )
            .bind(chat_id)
            .bind(language.code())
            .bind(now_unix())
            .execute(pool)
            .await
            .context("registering a chat")?;
            Ok(())
        })
    }

    pub async fn user_by_chat(&self, chat_id: i64) -> anyhow::Result<Option<super::User>> {
        with_pool!(self, |pool| {
            sqlx::query_as::<_, super::User>(
            "SELECT id, username, password_hash, chat_id, created_at FROM users WHERE chat_id = $1",
        )
        .bind(chat_id)
        .fetch_optional(pool)
        .await
        .context("looking up a user by chat")
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::Language;
    use crate::store::test_support::temp_store;

    #[tokio::test]
    async fn dialogues_round_trip() {
        let (store, _dir) = temp_store().await;
        assert_eq!(store.dialogue(1).await.unwrap(), None);
        store.save_dialogue(1, "{\"a\":1}").await.unwrap();
        store.save_dialogue(1, "{\"a\":2}").await.unwrap();
        assert_eq!(
            store.dialogue(1).await.unwrap().as_deref(),
            Some("{\"a\":2}")
        );
        store.delete_dialogue(1).await.unwrap();
        assert_eq!(store.dialogue(1).await.unwrap(), None);
    }

    #[tokio::test]
    async fn idle_dialogues_are_pruned_in_bounded_batches() {
        let (store, _dir) = temp_store().await;
        for chat in 1..=3 {
            store.save_dialogue(chat, "{}").await.unwrap();
        }
        let now = crate::store::now_unix();
        assert_eq!(store.prune_dialogues(now - 60, 10).await.unwrap(), 0);
        assert_eq!(store.prune_dialogues(now + 1, 2).await.unwrap(), 2);
        assert_eq!(store.prune_dialogues(now + 1, 2).await.unwrap(), 1);
        assert_eq!(store.dialogue(3).await.unwrap(), None);
    }

    #[tokio::test]
    async fn reactivation_resumes_paused_subscriptions_once() {
        let (store, _dir) = temp_store().await;
        store.ensure_chat(4, Language::It).await.unwrap();
        store.ensure_chat(4, Language::En).await.unwrap();
        assert_eq!(store.chat(4).await.unwrap().unwrap().language, "it");
        assert!(!store.reactivate_chat(4).await.unwrap(), "already active");
        store.deactivate_chat(4, "blocked").await.unwrap();
        assert!(store.reactivate_chat(4).await.unwrap());
        assert!(store.chat(4).await.unwrap().unwrap().active);
    }
}
