//! Key/value settings that must survive restarts (the generated JWT key).

use anyhow::Context;

use super::Store;

/// Until when (unix ms) Telegram asked the bot to wait (429 `retry_after`):
/// shared by every replica.
const TELEGRAM_HOLD_KEY: &str = "telegram_hold_until_ms";

impl Store {
    /// The flood wait stored by any replica's notifier, if any.
    pub async fn telegram_hold_until_ms(&self) -> anyhow::Result<Option<i64>> {
        Ok(self
            .setting(TELEGRAM_HOLD_KEY)
            .await?
            .and_then(|value| value.parse().ok()))
    }

    /// Stores a flood wait's end; a later end wins, an earlier one is
    /// ignored (two replicas answered 429 at once).
    pub async fn set_telegram_hold_until_ms(&self, until_ms: i64) -> anyhow::Result<()> {
        with_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO settings (key, value) VALUES ($1, $2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value
             WHERE CAST(settings.value AS BIGINT) < CAST(excluded.value AS BIGINT)",
            )
            .bind(TELEGRAM_HOLD_KEY)
            .bind(until_ms.to_string())
            .execute(pool)
            .await
            .context("writing the Telegram flood wait")?;
            Ok(())
        })
    }

    pub async fn setting(&self, key: &str) -> anyhow::Result<Option<String>> {
        with_pool!(self, |pool| {
            sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
                .bind(key)
                .fetch_optional(pool)
                .await
                .with_context(|| format!("reading setting {key}"))
        })
    }

    /// Stores `value` unless the key exists; returns what is stored afterwards.
    /// Two processes racing on first start thus agree on one value.
    pub async fn setting_or_insert(&self, key: &str, value: &str) -> anyhow::Result<String> {
        with_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
            )
            .bind(key)
            .bind(value)
            .execute(pool)
            .await
            .with_context(|| format!("writing setting {key}"))?;
            self.setting(key)
                .await?
                .with_context(|| format!("setting {key} vanished"))
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::store::test_support::temp_store;

    #[tokio::test]
    async fn the_telegram_hold_only_grows() {
        let (store, _dir) = temp_store().await;
        assert_eq!(store.telegram_hold_until_ms().await.unwrap(), None);
        store.set_telegram_hold_until_ms(5_000).await.unwrap();
        store.set_telegram_hold_until_ms(3_000).await.unwrap();
        assert_eq!(store.telegram_hold_until_ms().await.unwrap(), Some(5_000));
        store.set_telegram_hold_until_ms(9_000).await.unwrap();
        assert_eq!(store.telegram_hold_until_ms().await.unwrap(), Some(9_000));
    }

    #[tokio::test]
    async fn first_value_wins() {
        let (store, _dir) = temp_store().await;
        assert_eq!(store.setting("k").await.unwrap(), None);
        assert_eq!(store.setting_or_insert("k", "a").await.unwrap(), "a");
        assert_eq!(store.setting_or_insert("k", "b").await.unwrap(), "a");
    }
}
