//! Per-chat preferences (language, units) and reachability.

use anyhow::Context;

use super::{Store, now_unix};
use crate::text::{Language, Units};

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
        sqlx::query_as::<_, Chat>(
            "SELECT chat_id, language, units, active, inactive_reason FROM chats WHERE chat_id = ?",
        )
        .bind(chat_id)
        .fetch_optional(&self.pool)
        .await
        .context("reading a chat")
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
        let column = match which {
            Preference::Language => "language",
            Preference::Units => "units",
        };
        let sql = format!(
            "INSERT INTO chats (chat_id, {column}, updated_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (chat_id) DO UPDATE SET {column} = ?2, updated_at = ?3"
        );
        sqlx::query(&sql)
            .bind(chat_id)
            .bind(code)
            .bind(now_unix())
            .execute(&self.pool)
            .await
            .with_context(|| format!("setting a chat's {column}"))?;
        Ok(())
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
