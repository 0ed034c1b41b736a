//! The one store, on SQLite (the default, embedded) or PostgreSQL (several
//! replicas on one database). All SQL of the crate lives here and in
//! `migrations/{sqlite,postgres}/`.
//!
//! One text of SQL serves both engines: every query is written with `$1`
//! placeholders (which sqlx's SQLite driver reads as `?1`), TRUE/FALSE for
//! flags and portable functions; [`with_pool!`] compiles each store method
//! once per engine. The few statements that differ ask [`Dialect`].
//!
//! SQLite: WAL lets the REST port read while a worker writes; the busy
//! timeout turns short write contention into waiting instead of errors.

/// Runs `$body` with `$p` bound to the store's pool: the body is compiled once
/// per engine, each copy seeing its own pool type. It is not a closure: `?`
/// and `return` inside leave the enclosing function.
macro_rules! with_pool {
    ($store:expr, |$p:ident| $body:expr) => {
        match &$store.pool {
            $crate::store::Pool::Sqlite($p) => {
                #[allow(unused_imports)]
                use $crate::store::Engine as _;
                $body
            }
            $crate::store::Pool::Postgres($p) => {
                #[allow(unused_imports)]
                use $crate::store::Engine as _;
                $body
            }
        }
    };
}

mod alerts;
mod chat_settings;
mod chats;
mod dialogues;
mod digest;
mod engine;
mod forecasts;
mod held;
mod inbound;
mod leases;
mod notifier_queries;
mod outbox;
mod pacing;
pub mod scratch;
mod settings;
mod sla;
mod sla_chart;
mod slo;
mod subscriptions;
mod tokens;
mod users;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context;
use sqlx::{PgPool, SqlitePool};

pub use alerts::{AlertWrite, EpisodeChange, EpisodeRow, Watched};
pub use chat_settings::{ChatSettings, SnoozeTarget};
pub use chats::Chat;
pub use digest::{DigestChat, DigestPlace};
pub(crate) use engine::Engine;
pub use engine::{Dialect, EngineKind};
pub use forecasts::{SeriesRow, Spent};
pub use held::{HeldRow, NewHeld};
pub use inbound::{InboundRow, InboundUpdate};
pub use leases::{Gate, LEADER, LEASE_PERIOD, Leader, every_as_leader, holder_name};
pub use outbox::{Cooling, NewMessage, OutboxMessage, OutboxRow};
pub use sla::{MAX_SLAS, Pruned, SlaRow, SlaSample, SlaUpsert, StoredObjective, TooManySlas};
pub use slo::{BurnChange, EvaluationCounts};
pub use subscriptions::{Insert, NewSubscription, Subscription};
pub use users::{NewUser, User};

/// The pool of one engine (see [`with_pool!`]).
#[derive(Clone, Debug)]
pub(crate) enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

#[derive(Clone, Debug)]
pub struct Store {
    pool: Pool,
    /// Connections handed out by the pool since start (`db_connections_total`).
    acquisitions: Arc<AtomicU64>,
}

/// A write that broke a UNIQUE constraint, told apart from other failures.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("{0} is already taken")]
    Conflict(&'static str),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// The database named by `DATABASE_URL` could not be opened at start (exit 2:
/// nothing is retried, so a supervisor restarts the process with its backoff).
#[derive(Debug, thiserror::Error)]
#[error("cannot open the database {url}: {source}")]
pub struct Unreachable {
    /// The URL without its password.
    pub url: String,
    #[source]
    pub source: sqlx::Error,
}

impl Store {
    /// Opens (creating a missing SQLite file) and migrates the database of
    /// `database_url`: `sqlite:…` or `postgres://…` / `postgresql://…`.
    pub async fn connect(database_url: &str) -> anyhow::Result<Self> {
        Self::open(database_url, true).await
    }

    /// [`Store::connect`] for a caller that runs the store from short-lived
    /// tokio runtimes (teloxide_tests' MockBot runs each dispatch on a
    /// runtime of its own): a PostgreSQL connection belongs to the runtime
    /// that opened it, so none is kept past its query. SQLite's connections
    /// live on threads of their own and are pooled as usual.
    pub async fn connect_unpooled(database_url: &str) -> anyhow::Result<Self> {
        Self::open(database_url, false).await
    }

    async fn open(database_url: &str, reuse: bool) -> anyhow::Result<Self> {
        let acquisitions = Arc::new(AtomicU64::new(0));
        let pool = match EngineKind::of_url(database_url)? {
            EngineKind::Sqlite => {
                Pool::Sqlite(engine::sqlite_pool(database_url, Arc::clone(&acquisitions)).await?)
            }
            EngineKind::Postgres => {
                let counter = Arc::clone(&acquisitions);
                Pool::Postgres(engine::pg_pool(database_url, counter, reuse).await?)
            }
        };
        let store = Self { pool, acquisitions };
        with_pool!(store, |p| p.migrator().run(p).await)
            .context("cannot apply database migrations")?;
        Ok(store)
    }

    /// Which engine this store runs on.
    pub fn engine(&self) -> EngineKind {
        match self.pool {
            Pool::Sqlite(_) => EngineKind::Sqlite,
            Pool::Postgres(_) => EngineKind::Postgres,
        }
    }

    /// `SELECT 1`: the database answers a query (readiness).
    pub async fn ping(&self) -> anyhow::Result<()> {
        with_pool!(self, |p| sqlx::query("SELECT 1").execute(p).await.map(drop)).context("SELECT 1")
    }

    /// Versions of this build's migrations the database has not applied
    /// successfully (readiness); empty when it is up to date.
    pub async fn pending_migrations(&self) -> anyhow::Result<Vec<i64>> {
        with_pool!(self, |p| {
            let applied: Vec<i64> =
                sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success = TRUE")
                    .fetch_all(p)
                    .await
                    .context("reading _sqlx_migrations")?;
            Ok(p.migrator()
                .iter()
                .filter(|m| m.migration_type.is_up_migration() && !applied.contains(&m.version))
                .map(|m| m.version)
                .collect())
        })
    }

    /// The database's size in bytes on PostgreSQL (`pg_database_size`);
    /// `None` on SQLite, whose files are measured on disk instead.
    pub async fn database_size(&self) -> anyhow::Result<Option<i64>> {
        match &self.pool {
            Pool::Sqlite(_) => Ok(None),
            Pool::Postgres(p) => sqlx::query_scalar("SELECT pg_database_size(current_database())")
                .fetch_one(p)
                .await
                .map(Some)
                .context("reading the database size"),
        }
    }

    /// How many connections the pool has handed out since `connect`.
    pub fn connection_acquisitions(&self) -> u64 {
        self.acquisitions.load(Ordering::Relaxed)
    }

    pub async fn close(&self) {
        with_pool!(self, |p| p.close().await);
    }
}

/// Maps a UNIQUE violation to `Conflict(what)`, anything else to `Other`.
fn conflict_or(err: sqlx::Error, what: &'static str, context: &'static str) -> WriteError {
    if let sqlx::Error::Database(db) = &err
        && db.is_unique_violation()
    {
        return WriteError::Conflict(what);
    }
    WriteError::Other(anyhow::Error::new(err).context(context))
}

/// Whether a failure is the store being unable to serve right now (a full
/// disk, a lock held too long, an I/O error, a closed or exhausted pool)
/// rather than a bug: such a request may be retried later, and nothing of it
/// was stored.
pub fn is_unavailable(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        matches!(
            cause.downcast_ref::<sqlx::Error>(),
            Some(
                sqlx::Error::Database(_)
                    | sqlx::Error::Io(_)
                    | sqlx::Error::PoolTimedOut
                    | sqlx::Error::PoolClosed
                    | sqlx::Error::WorkerCrashed
            )
        )
    })
}

fn now_unix() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Wall-clock unix milliseconds, the outbox's time unit.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[cfg(test)]
mod unavailable_tests {
    use super::is_unavailable;
    use anyhow::Context;

    #[test]
    fn storage_failures_are_told_from_bugs() {
        let closed: anyhow::Result<()> = Err(sqlx::Error::PoolClosed).context("writing");
        assert!(is_unavailable(&closed.unwrap_err()));
        let timed_out = anyhow::Error::new(sqlx::Error::PoolTimedOut)
            .context("a")
            .context("b");
        assert!(is_unavailable(&timed_out));
        assert!(!is_unavailable(&anyhow::anyhow!("a bug")));
        assert!(!is_unavailable(&anyhow::Error::new(
            sqlx::Error::RowNotFound
        )));
    }

    #[tokio::test]
    async fn a_closed_store_is_unavailable() {
        let (store, _dir) = super::test_support::temp_store().await;
        store.close().await;
        let err = store.watch_generation().await.unwrap_err();
        assert!(is_unavailable(&err), "{err:#}");
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::Store;

    /// A migrated store on a fresh database: a temporary SQLite file (kept
    /// alive by the guard), or a new PostgreSQL database when
    /// `METEOBOT_TEST_POSTGRES` is set (see `scratch`).
    pub async fn temp_store() -> (Store, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = super::scratch::database_url(dir.path(), "test").await;
        (Store::connect(&url).await.expect("store"), dir)
    }

    /// [`temp_store`] on SQLite whatever the environment (SQLite's own
    /// behaviour: files, read-only connections, failed commits).
    pub async fn temp_sqlite_store() -> (Store, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite:{}", dir.path().join("test.db").display());
        (Store::connect(&url).await.expect("store"), dir)
    }
}
