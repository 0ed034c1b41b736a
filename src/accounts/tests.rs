use jsonwebtoken::{Algorithm, Header};

use super::hashing::tests::tiny_pool;
use super::*;
use crate::store::test_support::temp_store;

async fn accounts_with(ttl: Duration, pool: HashPool) -> (Accounts, tempfile::TempDir) {
    let (store, dir) = temp_store().await;
    let secret = jwt_secret(None, &store).await.unwrap();
    (
        Accounts::with_hash_pool(store, &secret, ttl, Metrics::new(), pool),
        dir,
    )
}

async fn accounts() -> (Accounts, tempfile::TempDir) {
    let pool = HashPool::new(HashPoolSettings::for_this_machine());
    accounts_with(Duration::from_secs(3600), pool).await
}

#[tokio::test]
async fn an_unknown_username_is_checked_against_the_dummy_hash() {
    let (acc, _dir) = accounts().await;
    acc.register("ada", "secret1", "42").await.unwrap();
    let pool = acc.hash_pool().clone();
    assert_eq!((pool.verifications(), pool.dummy_verifications()), (0, 0));
    assert!(matches!(
        acc.login("nobody", "secret1").await,
        Err(AccountError::BadCredentials)
    ));
    assert_eq!((pool.verifications(), pool.dummy_verifications()), (1, 1));
    // A name that is not even a valid username costs the same check.
    assert!(matches!(
        acc.login("no\u{200B}body", "secret1").await,
        Err(AccountError::BadCredentials)
    ));
    assert_eq!((pool.verifications(), pool.dummy_verifications()), (2, 2));
    // A known name with a wrong password: a real check, not the dummy.
    assert!(matches!(
        acc.login("ada", "wrong-pw").await,
        Err(AccountError::BadCredentials)
    ));
    assert_eq!((pool.verifications(), pool.dummy_verifications()), (3, 2));
}

#[tokio::test]
async fn logins_over_the_queue_are_busy() {
    let (acc, _dir) = accounts_with(Duration::from_secs(3600), tiny_pool()).await;
    acc.register("ada", "secret1", "42").await.unwrap();
    let _held = acc.hash_pool().occupy().unwrap();
    for name in ["ada", "nobody"] {
        assert!(matches!(
            acc.login(name, "secret1").await,
            Err(AccountError::Busy { .. })
        ));
    }
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
    assert_eq!(user.token_salt.len(), 32);
    assert!(matches!(
        acc.register("ada", "secret1", "43").await,
        Err(AccountError::Taken(_))
    ));
    assert!(matches!(
        acc.register("ADA", "secret1", "43").await,
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
    assert!(acc.login(" ADA ", "secret1").await.is_ok(), "any case");
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

/// A token of the account's own, signed with the accounts' key.
fn sign(acc: &Accounts, claims: &Claims) -> String {
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &acc.encoding).unwrap()
}

#[tokio::test]
async fn a_revoked_token_stays_revoked_inside_the_leeway() {
    let (acc, _dir) = accounts().await;
    let (user, token) = acc.register("ada", "secret1", "42").await.unwrap();
    let mut claims = acc.authenticate(&token).await.unwrap().claims;
    // Expired two seconds ago: inside jsonwebtoken's default 5 s leeway.
    let now = chrono::Utc::now().timestamp();
    claims.exp = now - 2;
    claims.jti = "just-expired".into();
    let just_expired = sign(&acc, &claims);
    acc.store
        .revoke_token(&claims.jti, claims.exp)
        .await
        .unwrap();
    // Another logout prunes old revocations on its way.
    acc.logout(&token).await.unwrap();
    assert!(matches!(
        acc.authenticate(&just_expired).await,
        Err(AccountError::BadToken)
    ));
    assert!(acc.store.is_token_revoked("just-expired").await.unwrap());
    // Control: the same claims, unexpired, are accepted.
    claims.exp = now + 60;
    claims.jti = "fresh".into();
    assert_eq!(
        acc.authenticate(&sign(&acc, &claims)).await.unwrap().user,
        user
    );
}

#[tokio::test]
async fn a_reused_user_id_does_not_inherit_tokens() {
    let (acc, _dir) = accounts().await;
    let (ada, token) = acc.register("ada", "secret1", "42").await.unwrap();
    assert!(acc.store.delete_user(ada.id).await.unwrap());
    let (bob, bob_token) = acc.register("bob", "secret2", "43").await.unwrap();
    if acc.store.engine() == crate::store::EngineKind::Sqlite {
        assert_eq!(bob.id, ada.id, "SQLite hands the id out again");
    }
    assert!(matches!(
        acc.authenticate(&token).await,
        Err(AccountError::BadToken)
    ));
    assert_eq!(acc.authenticate(&bob_token).await.unwrap().user, bob);
}
