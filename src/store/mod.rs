//! The one SQLite store. All SQL of the crate lives here and in `migrations/`.
//! WAL lets the REST port read while a worker writes; the busy timeout turns
//! short write contention into waiting instead of errors.

mod alerts;
mod chats;
mod dialogues;
mod forecasts;
mod notifier_queries;
mod outbox;
mod settings;
mod sla;
mod subscriptions;
mod tokens;
mod users;

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

pub use alerts::{EpisodeChange, EpisodeRow, Watched};
pub use chats::Chat;
pub use forecasts::{SeriesRow, Spent};
pub use outbox::{NewMessage, OutboxMessage, OutboxRow};
pub use sla::{Pruned, SlaRow, SlaSample, SlaUpsert};
pub use subscriptions::{Insert, NewSubscription, Subscription};
pub use users::{NewUser, User};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

#[derive(Clone, Debug)]
pub struct Store {
    pool: SqlitePool,
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

impl Store {
    /// Opens (creating if missing) and migrates the database.
    pub async fn connect(database_url: &str) -> anyhow::Result<Self> {
        let options = SqliteConnectOptions::from_str(database_url)
            .with_context(|| format!("DATABASE_URL '{database_url}' is not a SQLite URL"))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let acquisitions = Arc::new(AtomicU64::new(0));
        // sqlx calls `before_acquire` only for a connection reused from the
        // idle queue and `after_connect` for one opened to serve an acquire
        // (min_connections is 0, so none is opened otherwise): together they
        // count every acquisition.
        let (reused, opened) = (Arc::clone(&acquisitions), Arc::clone(&acquisitions));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .before_acquire(move |_conn, _meta| {
                reused.fetch_add(1, Ordering::Relaxed);
                Box::pin(async { Ok(true) })
            })
            .after_connect(move |_conn, _meta| {
                opened.fetch_add(1, Ordering::Relaxed);
                Box::pin(async { Ok(()) })
            })
            .connect_with(options)
            .await
            .with_context(|| format!("cannot open the database {database_url}"))?;
        MIGRATOR
            .run(&pool)
            .await
            .context("cannot apply database migrations")?;
        Ok(Self { pool, acquisitions })
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// How many connections the pool has handed out since `connect`.
    pub fn connection_acquisitions(&self) -> u64 {
        self.acquisitions.load(Ordering::Relaxed)
    }

    pub async fn close(&self) {
        self.pool.close().await;
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

fn now_unix() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Wall-clock unix milliseconds, the outbox's time unit.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::Store;

    /// A migrated store on a fresh temporary file (kept alive by the guard).
    pub async fn temp_store() -> (Store, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite:{}", dir.path().join("test.db").display());
        (Store::connect(&url).await.expect("store"), dir)
    }
}
