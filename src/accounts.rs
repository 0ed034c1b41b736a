//! Accounts: argon2id password hashes, HS256 JWTs with an id and an expiry,
//! and real logout (revoked ids checked on every use).

use std::time::Duration;

use anyhow::Context;
use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::domain::{ChatId, ParseError, Password, Username};
use crate::metrics::Metrics;
use crate::secret::Secret;
use crate::store::{NewUser, Store, User, WriteError};

const JWT_SECRET_SETTING: &str = "jwt_secret";

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("{0}")]
    Invalid(#[from] ParseError),
    #[error("{0} is already taken")]
    Taken(&'static str),
    #[error("wrong username or password")]
    BadCredentials,
    #[error("the token is invalid, expired or logged out")]
    BadToken,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// What a valid token says.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// User id.
    pub sub: String,
    pub name: String,
    pub chat: i64,
    /// Token id: what `/logout` revokes.
    pub jti: String,
    pub iat: i64,
    pub exp: i64,
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: User,
    pub claims: Claims,
}

impl Session {
    pub fn chat_id(&self) -> ChatId {
        ChatId::new(self.user.chat_id).expect("stored chat ids are valid")
    }
}

#[derive(Clone)]
pub struct Accounts {
    store: Store,
    encoding: EncodingKey,
    decoding: DecodingKey,
    ttl: Duration,
    metrics: Metrics,
}

impl Accounts {
    pub fn new(store: Store, secret: &Secret, ttl: Duration, metrics: Metrics) -> Self {
        Self {
            store,
            encoding: EncodingKey::from_secret(secret.expose().as_bytes()),
            decoding: DecodingKey::from_secret(secret.expose().as_bytes()),
            ttl,
            metrics,
        }
    }

    /// Creates an account and returns it with a fresh token.
    pub async fn register(
        &self,
        username: &str,
        password: &str,
        chat_id: &str,
    ) -> Result<(User, String), AccountError> {
        let username = Username::parse(username)?;
        let password = Password::parse(password)?;
        let chat_id = ChatId::parse(chat_id)?;
        let hash = hash_password(password).await?;
        let user = self
            .store
            .insert_user(NewUser {
                username: &username,
                password_hash: &hash,
                chat_id,
            })
            .await
            .map_err(|e| match e {
                WriteError::Conflict(what) => AccountError::Taken(what),
                WriteError::Other(e) => AccountError::Internal(e),
            })?;
        self.metrics.registered_users.inc();
        tracing::info!(user_id = user.id, "account registered");
        let token = self.issue(&user)?;
        Ok((user, token))
    }

    pub async fn login(
        &self,
        username: &str,
        password: &str,
    ) -> Result<(User, String), AccountError> {
        let user = self
            .store
            .user_by_name(username.trim())
            .await?
            .ok_or(AccountError::BadCredentials)?;
        if !verify_password(password.to_owned(), user.password_hash.clone()).await? {
            tracing::info!(user_id = user.id, "login refused: wrong password");
            return Err(AccountError::BadCredentials);
        }
        self.metrics.logged_users.inc();
        let token = self.issue(&user)?;
        Ok((user, token))
    }

    /// Checks signature, expiry and revocation, and that the account exists.
    pub async fn authenticate(&self, token: &str) -> Result<Session, AccountError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        validation.set_required_spec_claims(&["exp", "sub"]);
        let claims = jsonwebtoken::decode::<Claims>(token.trim(), &self.decoding, &validation)
            .map_err(|_| AccountError::BadToken)?
            .claims;
        if self.store.is_token_revoked(&claims.jti).await? {
            return Err(AccountError::BadToken);
        }
        let user_id: i64 = claims.sub.parse().map_err(|_| AccountError::BadToken)?;
        let user = self
            .store
            .user_by_id(user_id)
            .await?
            .ok_or(AccountError::BadToken)?;
        Ok(Session { user, claims })
    }

    /// Revokes the token: every later use is refused.
    pub async fn logout(&self, token: &str) -> Result<Session, AccountError> {
        let session = self.authenticate(token).await?;
        self.store
            .revoke_token(&session.claims.jti, session.claims.exp)
            .await?;
        tracing::info!(user_id = session.user.id, "logged out");
        Ok(session)
    }

    fn issue(&self, user: &User) -> Result<String, AccountError> {
        let now = chrono::Utc::now().timestamp();
        let ttl = i64::try_from(self.ttl.as_secs()).unwrap_or(i64::MAX / 2);
        let claims = Claims {
            sub: user.id.to_string(),
            name: user.username.clone(),
            chat: user.chat_id,
            jti: uuid::Uuid::new_v4().to_string(),
            iat: now,
            exp: now.saturating_add(ttl),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .context("signing a token")
            .map_err(AccountError::Internal)
    }
}

/// The JWT key: configured, or generated once and kept in the database so
/// tokens survive restarts.
pub async fn jwt_secret(configured: Option<&Secret>, store: &Store) -> anyhow::Result<Secret> {
    if let Some(secret) = configured {
        return Ok(secret.clone());
    }
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let fresh: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    store
        .setting_or_insert(JWT_SECRET_SETTING, &fresh)
        .await
        .map(Secret::new)
}

/// argon2id with a random salt; on a blocking thread (tens of ms of CPU).
pub async fn hash_password(password: Password) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.expose().as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
    })
    .await
    .context("password hashing task")?
}

/// `Ok(false)` on a wrong password; `Err` only when the stored hash is unreadable.
pub async fn verify_password(password: String, hash: String) -> anyhow::Result<bool> {
    tokio::task::spawn_blocking(move || {
        let parsed = argon2::password_hash::phc::PasswordHash::new(&hash)
            .map_err(|e| anyhow::anyhow!("stored password hash is unreadable: {e}"))?;
        Ok(Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok())
    })
    .await
    .context("password verification task")?
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::temp_store;

    async fn accounts() -> (Accounts, tempfile::TempDir) {
        let (store, dir) = temp_store().await;
        let secret = jwt_secret(None, &store).await.unwrap();
        (
            Accounts::new(store, &secret, Duration::from_secs(3600), Metrics::new()),
            dir,
        )
    }

    #[tokio::test]
    async fn hashes_are_salted_argon2id() {
        let p = Password::parse("correct horse").unwrap();
        let a = hash_password(p.clone()).await.unwrap();
        let b = hash_password(p).await.unwrap();
        assert!(a.starts_with("$argon2id$"));
        assert_ne!(a, b);
        assert!(
            verify_password("correct horse".into(), a.clone())
                .await
                .unwrap()
        );
        assert!(!verify_password("wrong horse".into(), a).await.unwrap());
    }

    #[tokio::test]
    async fn generated_secret_is_kept() {
        let (store, _dir) = temp_store().await;
        let a = jwt_secret(None, &store).await.unwrap();
        let b = jwt_secret(None, &store).await.unwrap();
        assert_eq!(a, b);
        assert_eq!(a.expose().len(), 64);
    }

    #[tokio::test]
    async fn register_login_logout() {
        let (acc, _dir) = accounts().await;
        let (user, token) = acc.register("ada", "secret1", "42").await.unwrap();
        assert_eq!(acc.authenticate(&token).await.unwrap().user, user);
        assert!(matches!(
            acc.register("ada", "secret1", "43").await,
            Err(AccountError::Taken(_))
        ));
        assert!(matches!(
            acc.login("ada", "nope-nope").await,
            Err(AccountError::BadCredentials)
        ));
        assert!(matches!(
            acc.login("bob", "secret1").await,
            Err(AccountError::BadCredentials)
        ));
        let (_, token2) = acc.login("ada", "secret1").await.unwrap();
        acc.logout(&token).await.unwrap();
        assert!(matches!(
            acc.authenticate(&token).await,
            Err(AccountError::BadToken)
        ));
        assert!(
            acc.authenticate(&token2).await.is_ok(),
            "other sessions stay valid"
        );
        assert!(matches!(
            acc.authenticate("garbage").await,
            Err(AccountError::BadToken)
        ));
    }
}
