//! Revoked token ids (JWT `jti`), checked on every authenticated request.

use anyhow::Context;

use super::{Store, now_unix};

/// How long past its expiry a revoked token's row is kept. The token check
/// allows no leeway today; this margin covers one (a few seconds) and
/// clock steps, so a revoked token never passes again while its signature
/// check could still accept it.
pub const REVOCATION_MARGIN_S: i64 = 300;

impl Store {
    /// Revokes a token id; revoking twice is fine. Entries that expired more
    /// than [`REVOCATION_MARGIN_S`] ago are pruned on the way: the expiry
    /// check refuses those tokens anyway.
    pub async fn revoke_token(&self, jti: &str, expires_at: i64) -> anyhow::Result<()> {
        with_pool!(self, |pool| {
            let mut tx = pool.begin_write().await.context("revoke: begin")?;
            sqlx::query("DELETE FROM revoked_tokens WHERE expires_at < $1")
                .bind(now_unix() - REVOCATION_MARGIN_S)
                .execute(&mut *tx)
                .await
                .context("pruning revoked tokens")?;
            sqlx::query("INSERT INTO revoked_tokens (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING")
            .bind(jti)
            .bind(expires_at)
            .execute(&mut *tx)
            .await
            .context("revoking a token")?;
            tx.commit().await.context("revoke: commit")
        })
    }

    pub async fn is_token_revoked(&self, jti: &str) -> anyhow::Result<bool> {
        with_pool!(self, |pool| {
            let found: Option<String> =
                sqlx::query_scalar("SELECT jti FROM revoked_tokens WHERE jti = $1")
                    .bind(jti)
                    .fetch_optional(pool)
                    .await
                    .context("checking a revoked token")?;
            Ok(found.is_some())
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::store::test_support::temp_store;

    #[tokio::test]
    async fn revocation_is_remembered_and_idempotent() {
        let (store, _dir) = temp_store().await;
        let exp = chrono::Utc::now().timestamp() + 60;
        assert!(!store.is_token_revoked("a").await.unwrap());
        store.revoke_token("a", exp).await.unwrap();
        store.revoke_token("a", exp).await.unwrap();
        assert!(store.is_token_revoked("a").await.unwrap());
        assert!(!store.is_token_revoked("b").await.unwrap());
    }

    #[tokio::test]
    async fn a_just_expired_revocation_is_kept_past_the_margin_only() {
        let (store, _dir) = temp_store().await;
        let now = chrono::Utc::now().timestamp();
        store.revoke_token("recent", now - 10).await.unwrap();
        store
            .revoke_token("old", now - super::REVOCATION_MARGIN_S - 10)
            .await
            .unwrap();
        // Another revocation prunes.
        store.revoke_token("c", now + 60).await.unwrap();
        assert!(store.is_token_revoked("recent").await.unwrap());
        assert!(!store.is_token_revoked("old").await.unwrap());
    }
}
