//! The tokens: HS256 JWTs with an id and an expiry, checked against the
//! revoked ids on every use, and the key that signs them.

use anyhow::Context;
use jsonwebtoken::{Algorithm, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::secret::Secret;
use crate::store::{Store, User};

use super::{AccountError, Accounts, Session, random_hex};

const JWT_SECRET_SETTING: &str = "jwt_secret";

/// What a valid token says.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// User id.
    pub sub: String,
    pub name: String,
    pub chat: i64,
    /// The account's random id (`users.token_salt`): a token is valid only
    /// for the account that has it, not for a later account that reuses the
    /// numeric id. Absent in tokens of accounts made before it existed.
    #[serde(default)]
    pub salt: String,
    /// Token id: what `/logout` revokes.
    pub jti: String,
    pub iat: i64,
    pub exp: i64,
}

impl Accounts {
    /// Checks signature, expiry (no leeway: the tokens are ours, signed by
    /// this clock) and revocation, and that the account exists and is the
    /// one the token was issued to.
    pub async fn authenticate(&self, token: &str) -> Result<Session, AccountError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
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
        if claims.salt != user.token_salt {
            return Err(AccountError::BadToken);
        }
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

    pub(super) fn issue(&self, user: &User) -> Result<String, AccountError> {
        let now = chrono::Utc::now().timestamp();
        let ttl = i64::try_from(self.ttl.as_secs()).unwrap_or(i64::MAX / 2);
        let claims = Claims {
            sub: user.id.to_string(),
            name: user.username.clone(),
            chat: user.chat_id,
            salt: user.token_salt.clone(),
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
    let fresh = random_hex::<32>();
    store
        .setting_or_insert(JWT_SECRET_SETTING, &fresh)
        .await
        .map(Secret::new)
}
