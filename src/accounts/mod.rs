//! Accounts: argon2id password hashes, HS256 JWTs with an id and an expiry,
//! and real logout (revoked ids checked on every use).
//!
//! Hashing is bounded ([`HashPool`]): each argon2id hash takes about 19 MiB
//! and tens of ms of CPU, so at most a few run at once on dedicated threads,
//! a few more wait briefly, and the rest are refused at once with
//! [`AccountError::Busy`] (503 + `Retry-After` over REST). Unknown usernames
//! are verified against a dummy hash, so `/login` takes as long for a name
//! that does not exist as for a wrong password.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Once, mpsc};
use std::time::Duration;

use anyhow::Context;
use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use tokio::sync::{OnceCell, Semaphore, oneshot};

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
    /// Too many password checks are running or waiting: try again later.
    #[error("the server is busy checking passwords, try again in a moment")]
    Busy { retry_after: Duration },
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

    fn issue(&self, user: &User) -> Result<String, AccountError> {
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

/// `N` random bytes as lower-case hex.
fn random_hex<const N: usize>() -> String {
    let mut bytes = [0u8; N];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The most hashes that ever run at once, whatever the core count: each
/// takes about 19 MiB, so this also bounds their memory (≈ 76 MiB).
pub const MAX_HASH_WORKERS: usize = 4;

/// How password hashing is bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashPoolSettings {
    /// Hashes running at once, each on its own dedicated thread.
    pub workers: usize,
    /// Requests that may wait for a worker; beyond them, `Busy` at once.
    pub queue: usize,
    /// The longest a queued request waits before `Busy`.
    pub max_wait: Duration,
}

impl HashPoolSettings {
    /// One worker per core (at most [`MAX_HASH_WORKERS`]), twice as many
    /// waiting, for at most 2 s.
    pub fn for_this_machine() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let workers = cores.clamp(1, MAX_HASH_WORKERS);
        Self {
            workers,
            queue: 2 * workers,
            max_wait: Duration::from_secs(2),
        }
    }
}

/// What a refused request is told to wait before trying again.
pub const BUSY_RETRY_AFTER: Duration = Duration::from_secs(2);

type Job = Box<dyn FnOnce() + Send>;

/// argon2id hashing and verification on a few dedicated threads, behind a
/// bounded admission queue. Cheap to clone (shared).
#[derive(Clone)]
pub struct HashPool {
    inner: Arc<PoolInner>,
}

struct PoolInner {
    settings: HashPoolSettings,
    /// Running + waiting: `workers + queue` permits, taken without waiting.
    admission: Arc<Semaphore>,
    /// Running: `workers` permits.
    running: Arc<Semaphore>,
    jobs: Mutex<mpsc::Sender<Job>>,
    /// A hash of nothing anyone knows, with the same parameters as real
    /// ones: what an unknown username is checked against.
    dummy: OnceCell<String>,
    verifications: AtomicU64,
    dummy_verifications: AtomicU64,
}

impl std::fmt::Debug for HashPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HashPool")
            .field("settings", &self.inner.settings)
            .finish_non_exhaustive()
    }
}

impl HashPool {
    /// Starts `settings.workers` threads (at least one); they end when the
    /// last clone of the pool is dropped.
    pub fn new(settings: HashPoolSettings) -> Self {
        tune_allocator();
        let settings = HashPoolSettings {
            workers: settings.workers.max(1),
            ..settings
        };
        let (sender, receiver) = mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        for i in 0..settings.workers {
            let receiver = Arc::clone(&receiver);
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || {
                    loop {
                        // The lock is held only while waiting for a job.
                        let job = match receiver.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return, // the pool is gone
                        }
                    }
                })
                .expect("starting a password hashing thread");
        }
        Self {
            inner: Arc::new(PoolInner {
                settings,
                admission: Arc::new(Semaphore::new(settings.workers + settings.queue)),
                running: Arc::new(Semaphore::new(settings.workers)),
                jobs: Mutex::new(sender),
                dummy: OnceCell::new(),
                verifications: AtomicU64::new(0),
                dummy_verifications: AtomicU64::new(0),
            }),
        }
    }

    pub fn settings(&self) -> HashPoolSettings {
        self.inner.settings
    }

    /// argon2id with a random salt.
    pub async fn hash(&self, password: Password) -> Result<String, AccountError> {
        self.run(move || hash_now(password.expose()))
            .await?
            .map_err(AccountError::Internal)
    }

    /// `Ok(false)` on a wrong password; `Internal` only when the stored hash
    /// is unreadable.
    pub async fn verify(&self, password: String, hash: String) -> Result<bool, AccountError> {
        self.inner.verifications.fetch_add(1, Ordering::Relaxed);
        self.run(move || verify_now(&password, &hash))
            .await?
            .map_err(AccountError::Internal)
    }

    /// Checks `password` against the dummy hash (always false), taking the
    /// time and memory a real check takes.
    pub async fn verify_dummy(&self, password: String) -> Result<(), AccountError> {
        let dummy = self
            .inner
            .dummy
            .get_or_try_init(|| async {
                let mut secret = random_hex::<16>();
                secret.push_str("-never-a-password");
                let password = Password::parse(&secret).expect("long enough");
                self.hash(password).await
            })
            .await?
            .clone();
        self.inner
            .dummy_verifications
            .fetch_add(1, Ordering::Relaxed);
        self.verify(password, dummy).await.map(|_| ())
    }

    /// Password checks made (dummy ones included).
    pub fn verifications(&self) -> u64 {
        self.inner.verifications.load(Ordering::Relaxed)
    }

    /// Checks made against the dummy hash (unknown usernames).
    pub fn dummy_verifications(&self) -> u64 {
        self.inner.dummy_verifications.load(Ordering::Relaxed)
    }

    /// Takes a place in the queue (or `Busy`), waits up to `max_wait` for a
    /// worker (or `Busy`), and runs `work` there. Once started, the work
    /// keeps its worker until done even if the caller goes away.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, AccountError> {
        let busy = || AccountError::Busy {
            retry_after: BUSY_RETRY_AFTER,
        };
        let admitted = Arc::clone(&self.inner.admission)
            .try_acquire_owned()
            .map_err(|_| busy())?;
        let running = tokio::time::timeout(
            self.inner.settings.max_wait,
            Arc::clone(&self.inner.running).acquire_owned(),
        )
        .await
        .map_err(|_| busy())?
        .map_err(|_| busy())?;
        let (done, result) = oneshot::channel();
        let job: Job = Box::new(move || {
            let out = work();
            drop(running);
            drop(admitted);
            let _ = done.send(out);
        });
        self.inner
            .jobs
            .lock()
            .map_err(|_| anyhow::anyhow!("password hashing pool poisoned"))?
            .send(job)
            .map_err(|_| anyhow::anyhow!("password hashing threads are gone"))?;
        result
            .await
            .map_err(|_| AccountError::Internal(anyhow::anyhow!("password hashing job lost")))
    }

    /// Holds one place of the admission queue until the guard is dropped:
    /// lets a test fill the queue without racing real hashes.
    #[doc(hidden)]
    pub fn occupy(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        Arc::clone(&self.inner.admission).try_acquire_owned().ok()
    }
}

fn hash_now(password: &str) -> anyhow::Result<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
}

fn verify_now(password: &str, hash: &str) -> anyhow::Result<bool> {
    let parsed = argon2::password_hash::phc::PasswordHash::new(hash)
        .map_err(|e| anyhow::anyhow!("stored password hash is unreadable: {e}"))?;
    Ok(Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok())
}

/// glibc malloc keeps freed memory in per-thread arenas, and after the first
/// 19 MiB argon2 block is freed it raises its mmap threshold past that size,
/// so every later block comes from an arena and stays resident (measured:
/// hundreds of MB after a few hundred hashes, gigabytes under concurrent
/// logins). A fixed threshold keeps blocks of 1 MiB and more in their own
/// mappings, returned to the system when freed; fewer arenas keep the rest
/// of the heap compact. Once per process, before the first hash.
fn tune_allocator() {
    static TUNED: Once = Once::new();
    TUNED.call_once(|| {
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: mallopt only sets allocator parameters; any value is valid
        // and it is thread-safe (it takes the arena lock).
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    });
}

#[cfg(test)]
mod tests {
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

    fn tiny_pool() -> HashPool {
        HashPool::new(HashPoolSettings {
            workers: 1,
            queue: 0,
            max_wait: Duration::from_secs(30),
        })
    }

    #[tokio::test]
    async fn hashes_are_salted_argon2id() {
        let pool = tiny_pool();
        let p = Password::parse("correct horse").unwrap();
        let a = pool.hash(p.clone()).await.unwrap();
        let b = pool.hash(p).await.unwrap();
        assert!(a.starts_with("$argon2id$"));
        assert_ne!(a, b);
        assert!(
            pool.verify("correct horse".into(), a.clone())
                .await
                .unwrap()
        );
        assert!(!pool.verify("wrong horse".into(), a).await.unwrap());
        assert_eq!(pool.verifications(), 2);
    }

    #[test]
    fn the_machine_pool_is_bounded() {
        let s = HashPoolSettings::for_this_machine();
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        assert!(s.workers >= 1 && s.workers <= cores && s.workers <= MAX_HASH_WORKERS);
        assert_eq!(s.queue, 2 * s.workers);
    }

    #[tokio::test]
    async fn a_full_queue_is_busy_at_once_and_frees_up() {
        let pool = tiny_pool();
        let held = pool.occupy().expect("one place");
        assert!(pool.occupy().is_none(), "one worker, no queue");
        let refused = pool.verify("x".into(), "y".into()).await;
        assert!(
            matches!(refused, Err(AccountError::Busy { retry_after }) if retry_after == BUSY_RETRY_AFTER),
            "{refused:?}"
        );
        drop(held);
        let hash = pool
            .hash(Password::parse("secret1").unwrap())
            .await
            .unwrap();
        assert!(pool.verify("secret1".into(), hash).await.unwrap());
    }

    #[tokio::test]
    async fn a_queued_request_waits_at_most_max_wait() {
        let pool = HashPool::new(HashPoolSettings {
            workers: 1,
            queue: 1,
            max_wait: Duration::ZERO,
        });
        // The running permit is taken by hand: a queued call finds no worker.
        let _running = Arc::clone(&pool.inner.running).try_acquire_owned().unwrap();
        assert!(matches!(
            pool.verify("x".into(), "y".into()).await,
            Err(AccountError::Busy { .. })
        ));
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
        assert_eq!(bob.id, ada.id, "SQLite hands the id out again");
        assert!(matches!(
            acc.authenticate(&token).await,
            Err(AccountError::BadToken)
        ));
        assert_eq!(acc.authenticate(&bob_token).await.unwrap().user, bob);
    }
}
