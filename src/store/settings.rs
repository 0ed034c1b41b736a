//! Key/value settings that must survive restarts (the generated JWT key).

use anyhow::Context;

use super::Store;

impl Store {
    pub async fn setting(&self, key: &str) -> anyhow::Result<Option<String>> {
        sqlx::query_scalar("SELECT value FROM settings WHERE key = ?")
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .with_context(|| format!("reading setting {key}"))
    }

    /// Stores `value` unless the key exists; returns what is stored afterwards.
    /// Two processes racing on first start thus agree on one value.
    pub async fn setting_or_insert(&self, key: &str, value: &str) -> anyhow::Result<String> {
        sqlx::query("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING")
            .bind(key)
            .bind(value)
            .execute(&self.pool)
            .await
            .with_context(|| format!("writing setting {key}"))?;
        self.setting(key)
            .await?
            .with_context(|| format!("setting {key} vanished"))
    }
}

#[cfg(test)]
mod tests {
    use crate::store::test_support::temp_store;

    #[tokio::test]
    async fn first_value_wins() {
        let (store, _dir) = temp_store().await;
        assert_eq!(store.setting("k").await.unwrap(), None);
        assert_eq!(store.setting_or_insert("k", "a").await.unwrap(), "a");
        assert_eq!(store.setting_or_insert("k", "b").await.unwrap(), "a");
    }
}
