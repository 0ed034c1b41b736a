//! Throwaway databases for tests and benchmarks: a SQLite file in a given
//! directory, or — when `METEOBOT_TEST_POSTGRES` names a PostgreSQL server
//! (`postgres://postgres@127.0.0.1:5432/postgres`) — a fresh, empty database
//! on that server, so the same tests run on both engines. `.ci/run` runs the
//! suite once without and once with it, against a PostgreSQL of its own.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context;
use sqlx::Connection;

/// The variable naming the PostgreSQL server tests create databases on.
pub const TEST_POSTGRES: &str = "METEOBOT_TEST_POSTGRES";

/// The server tests should use, if one is named.
pub fn test_postgres() -> Option<String> {
    std::env::var(TEST_POSTGRES)
        .ok()
        .filter(|url| !url.trim().is_empty())
}

/// A `DATABASE_URL` for one test: `sqlite:<dir>/<name>.db`, or a new
/// database on [`test_postgres`]. Panics when that server cannot create
/// one (a test fixture: there is nothing to test without it).
pub async fn database_url(dir: &Path, name: &str) -> String {
    match test_postgres() {
        Some(server) => fresh_postgres_database(&server)
            .await
            .unwrap_or_else(|e| panic!("{TEST_POSTGRES}: cannot create a test database: {e:#}")),
        None => format!("sqlite:{}", dir.join(format!("{name}.db")).display()),
    }
}

/// Creates an empty database with a name no other test of any process uses
/// and returns the URL of `server` pointing at it.
pub async fn fresh_postgres_database(server: &str) -> anyhow::Result<String> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let name = format!(
        "meteobot_t{}_{}_{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let mut admin = sqlx::PgConnection::connect(server)
        .await
        .with_context(|| format!("connecting to {}", crate::secret::redact_url(server)))?;
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .with_context(|| format!("CREATE DATABASE {name}"))?;
    admin.close().await.ok();
    let mut url = reqwest::Url::parse(server).context("the server's URL")?;
    url.set_path(&format!("/{name}"));
    Ok(url.to_string())
}
