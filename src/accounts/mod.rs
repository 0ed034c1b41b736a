//! Accounts: argon2id password hashes, HS256 JWTs with an id and an expiry,
//! and real logout (revoked ids checked on every use).
//!
//! Hashing is bounded ([`HashPool`]): each argon2id hash takes about 19 MiB
//! and tens of ms of CPU, so at most a few run at once on dedicated threads,
//! a few more wait briefly, and the rest are refused at once with
//! [`AccountError::Busy`] (503 + `Retry-After` over REST). Unknown usernames
//! are verified against a dummy hash, so `/login` takes as long for a name
//! that does not exist as for a wrong password.
//!
//! The parts: `tokens` (the JWTs: issuing, checking, revoking, and their
//! key) and `hashing` (the bounded argon2id pool).

mod hashing;
#[cfg(test)]
mod tests;
mod tokens;

use std::time::Duration;

use jsonwebtoken::{DecodingKey, EncodingKey};
use rand::RngCore;

use crate::domain::{ChatId, ParseError, Password, Username};
use crate::metrics::Metrics;
use crate::secret::Secret;
use crate::store::{NewUser, Store, User, WriteError};

pub use hashing::{BUSY_RETRY_AFTER, HashPool, HashPoolSettings, MAX_HASH_WORKERS};
pub use tokens::{Claims, jwt_secret};

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
    /// Too many password checks are running or waiting: try again later.
    #[error("the server is busy checking passwords, try again in a moment")]
    Busy { retry_after: Duration },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
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
    hasher: HashPool,
}

impl Accounts {
    /// With a [`HashPool`] sized for this machine.
    pub fn new(store: Store, secret: &Secret, ttl: Duration, metrics: Metrics) -> Self {
        Self::with_hash_pool(
            store,
            secret,
            ttl,
            metrics,
            HashPool::new(HashPoolSettings::for_this_machine()),
        )
    }

    pub fn with_hash_pool(
        store: Store,
        secret: &Secret,
        ttl: Duration,
        metrics: Metrics,
        hasher: HashPool,
    ) -> Self {
        Self {
            store,
            encoding: EncodingKey::from_secret(secret.expose().as_bytes()),
            decoding: DecodingKey::from_secret(secret.expose().as_bytes()),
            ttl,
            metrics,
            hasher,
        }
    }

    /// The pool that hashes and checks passwords.
    pub fn hash_pool(&self) -> &HashPool {
        &self.hasher
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
        // Spare the hash when the name is visibly taken (the insert still
        // decides: two registrations may race).
        if self.store.user_by_name(username.as_str()).await?.is_some() {
            return Err(AccountError::Taken("this username"));
        }
        let hash = self.hasher.hash(password).await?;
        let token_salt = random_hex::<16>();
        let user = self
            .store
            .insert_user(NewUser {
                username: &username,
                password_hash: &hash,
                chat_id,
                token_salt: &token_salt,
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
        let user = match Username::parse(username) {
            Ok(name) => self.store.user_by_name(name.as_str()).await?,
            Err(_) => None,
        };
        let Some(user) = user else {
            // As long as a wrong password: the answer tells nothing.
            self.hasher.verify_dummy(password.to_owned()).await?;
            return Err(AccountError::BadCredentials);
        };
        if !self
            .hasher
            .verify(password.to_owned(), user.password_hash.clone())
            .await?
        {
            tracing::info!(user_id = user.id, "login refused: wrong password");
            return Err(AccountError::BadCredentials);
        }
        self.metrics.logged_users.inc();
        let token = self.issue(&user)?;
        Ok((user, token))
    }
}

/// `N` random bytes as lower-case hex.
pub(super) fn random_hex<const N: usize>() -> String {
    let mut bytes = [0u8; N];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
