//! Password hashing, bounded: argon2id on a few dedicated threads behind
//! an admission queue that refuses with `Busy` instead of piling up.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Once, mpsc};
use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use tokio::sync::{OnceCell, Semaphore, oneshot};

use crate::domain::Password;

use super::{AccountError, random_hex};

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
pub(super) mod tests {
    use super::*;

    pub(in crate::accounts) fn tiny_pool() -> HashPool {
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
}
