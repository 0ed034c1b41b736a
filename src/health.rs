//! Readiness: named worker heartbeats with expected periods, and the
//! `/readyz` verdict that combines them with the database.
//!
//! Each worker gets a [`Heartbeat`] from the [`Health`] registry. The
//! supervisor marks it running or stopped; the worker beats after each unit
//! of work (or at the top of its loop); anyone may report a problem that keeps
//! it unready (the dispatcher while Telegram cannot be reached). A worker with
//! an expected period is stalled when its last beat — or, before the first
//! one, its start — is older than that period.
//!
//! Time comes from an injected [`crate::clock::Clock`], so tests advance it by hand.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::Serialize;
use utoipa::ToSchema;

use crate::clock::SharedClock;
use crate::store::Store;

/// How long `/readyz` waits for the database to answer.
pub const DATABASE_TIMEOUT: Duration = Duration::from_secs(2);

/// A problem someone else keeps (e.g. the notifier's "token rejected"):
/// polled at each readiness check; `Some(reason)` keeps the worker unready.
pub type ProblemCheck = Arc<dyn Fn() -> Option<String> + Send + Sync>;

/// The registry of worker heartbeats; cheap clones of one shared state.
#[derive(Clone)]
pub struct Health {
    inner: Arc<Inner>,
}

struct Inner {
    clock: SharedClock,
    workers: Mutex<BTreeMap<&'static str, Worker>>,
}

struct Worker {
    /// `None`: alive is enough (the dispatcher waits for updates).
    expect_every: Option<Duration>,
    /// Registration or the latest (re)start: the grace before a first beat.
    since: Instant,
    last_beat: Option<Instant>,
    running: bool,
    /// Why it is not running (panicked, exited).
    stopped_because: Option<String>,
    /// Reported by the worker or its supervisor; cleared by them.
    problem: Option<String>,
    checks: Vec<ProblemCheck>,
    restarts: u64,
}

/// One worker as `/readyz` shows it.
#[derive(Debug, Clone, Serialize, PartialEq, ToSchema)]
pub struct WorkerReport {
    pub name: &'static str,
    pub ok: bool,
    pub running: bool,
    /// Seconds since the last beat; `null` before the first.
    pub last_progress_s: Option<u64>,
    /// The period within which a beat is expected; `null`: alive suffices.
    pub expected_every_s: Option<u64>,
    pub restarts: u64,
    /// What is wrong, when `ok` is false.
    pub problem: Option<String>,
}

impl Health {
    pub fn new() -> Self {
        Self::with_clock(crate::clock::system())
    }

    pub fn with_clock(clock: SharedClock) -> Self {
        Self {
            inner: Arc::new(Inner {
                clock,
                workers: Mutex::new(BTreeMap::new()),
            }),
        }
    }

    /// Adds a worker (not yet running) and returns its heartbeat. Registering
    /// a name again replaces it.
    pub fn register(&self, name: &'static str, expect_every: Option<Duration>) -> Heartbeat {
        let now = self.inner.clock.instant();
        self.workers().insert(
            name,
            Worker {
                expect_every,
                since: now,
                last_beat: None,
                running: false,
                stopped_because: Some("not started".to_owned()),
                problem: None,
                checks: Vec::new(),
                restarts: 0,
            },
        );
        Heartbeat {
            health: self.clone(),
            name,
        }
    }

    /// Adds a problem check to the registered worker `name` (no-op if none).
    pub fn add_check(&self, name: &'static str, check: ProblemCheck) {
        if let Some(w) = self.workers().get_mut(name) {
            w.checks.push(check);
        }
    }

    /// Every registered worker, by name.
    pub fn report(&self) -> Vec<WorkerReport> {
        let now = self.inner.clock.instant();
        // Checks run outside the lock: they are someone else's code.
        let snapshot: Vec<_> = self
            .workers()
            .iter()
            .map(|(name, w)| {
                (
                    *name,
                    w.expect_every,
                    w.since,
                    w.last_beat,
                    w.running,
                    w.stopped_because.clone(),
                    w.problem.clone(),
                    w.checks.clone(),
                    w.restarts,
                )
            })
            .collect();
        snapshot
            .into_iter()
            .map(
                |(name, expect, since, last, running, stopped, problem, checks, restarts)| {
                    let quiet = now.saturating_duration_since(last.unwrap_or(since));
                    let problem = if !running {
                        Some(format!(
                            "not running ({})",
                            stopped.as_deref().unwrap_or("stopped")
                        ))
                    } else if let Some(p) = problem {
                        Some(p)
                    } else if let Some(p) = checks.iter().find_map(|check| check()) {
                        Some(p)
                    } else {
                        expect.filter(|every| quiet > *every).map(|every| {
                            format!(
                                "no progress for {} s (expected within {} s)",
                                quiet.as_secs(),
                                every.as_secs()
                            )
                        })
                    };
                    WorkerReport {
                        name,
                        ok: problem.is_none(),
                        running,
                        last_progress_s: last.map(|at| now.saturating_duration_since(at).as_secs()),
                        expected_every_s: expect.map(|d| d.as_secs()),
                        restarts,
                        problem,
                    }
                },
            )
            .collect()
    }

    fn workers(&self) -> std::sync::MutexGuard<'_, BTreeMap<&'static str, Worker>> {
        // Every update is a plain field store: the map is consistent even if
        // a holder panicked.
        self.inner
            .workers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for Health {
    fn default() -> Self {
        Self::new()
    }
}

/// One worker's handle on the registry.
#[derive(Clone)]
pub struct Heartbeat {
    health: Health,
    name: &'static str,
}

impl Heartbeat {
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The worker made progress now.
    pub fn beat(&self) {
        let now = self.health.inner.clock.instant();
        self.update(|w| w.last_beat = Some(now));
    }

    /// Sets (or with `None` clears) a problem that keeps the worker unready.
    pub fn set_problem(&self, problem: Option<String>) {
        self.update(|w| w.problem = problem);
    }

    /// Adds a problem someone else keeps, polled at each readiness check.
    pub fn add_check(&self, check: ProblemCheck) {
        self.update(|w| w.checks.push(check));
    }

    /// The supervisor (re)started the worker: it is running, and has a full
    /// period from now for its first beat.
    pub fn started(&self) {
        let now = self.health.inner.clock.instant();
        self.update(|w| {
            w.running = true;
            w.stopped_because = None;
            w.since = now;
            w.last_beat = None;
        });
    }

    /// The worker is not running any more, for `why`.
    pub fn stopped(&self, why: impl Into<String>) {
        let why = why.into();
        self.update(|w| {
            w.running = false;
            w.stopped_because = Some(why);
        });
    }

    pub fn restarted(&self) {
        self.update(|w| w.restarts += 1);
    }

    fn update(&self, f: impl FnOnce(&mut Worker)) {
        if let Some(w) = self.health.workers().get_mut(self.name) {
            f(w);
        }
    }
}

/// The database file as it was opened: a deleted or replaced file leaves the
/// open connections on the old one while new ones see another database.
#[derive(Debug, Clone)]
struct DatabaseFile {
    path: PathBuf,
    /// (device, inode) at start.
    identity: (u64, u64),
}

fn file_identity(path: &std::path::Path) -> std::io::Result<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path)?;
    Ok((meta.dev(), meta.ino()))
}

/// Everything `/readyz` looks at.
#[derive(Clone)]
pub struct Readiness {
    health: Health,
    store: Store,
    database_file: Option<DatabaseFile>,
}

#[derive(Debug, Clone, Serialize, PartialEq, ToSchema)]
pub struct Check {
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Check {
    fn from(result: Result<(), String>) -> Self {
        match result {
            Ok(()) => Self {
                ok: true,
                error: None,
            },
            Err(e) => Self {
                ok: false,
                error: Some(e),
            },
        }
    }
}

/// The `/readyz` body (plus `state`/`message`, added by the handler).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReadinessReport {
    pub ready: bool,
    pub database: Check,
    pub migrations: Check,
    pub workers: Vec<WorkerReport>,
    /// One line per problem, `<what>: <why>`; empty when ready.
    pub problems: Vec<String>,
}

impl Readiness {
    /// `database_url` names the file whose identity is checked (none in
    /// memory). Call right after the store connected.
    pub async fn new(health: Health, store: Store, database_url: &str) -> Self {
        let main = crate::sysmetrics::database_files(database_url).pop();
        let database_file = match main {
            Some(path) => tokio::task::spawn_blocking(move || {
                file_identity(&path)
                    .ok()
                    .map(|identity| DatabaseFile { path, identity })
            })
            .await
            .ok()
            .flatten(),
            None => None,
        };
        Self {
            health,
            store,
            database_file,
        }
    }

    pub fn health(&self) -> &Health {
        &self.health
    }

    pub async fn check(&self) -> ReadinessReport {
        let database = Check::from(self.check_database().await);
        let migrations = Check::from(if database.ok {
            self.check_migrations().await
        } else {
            Err("unknown: the database does not answer".to_owned())
        });
        let workers = self.health.report();
        let mut problems = Vec::new();
        if let Some(e) = &database.error {
            problems.push(format!("database: {e}"));
        }
        if let Some(e) = &migrations.error {
            problems.push(format!("migrations: {e}"));
        }
        for w in &workers {
            if let Some(p) = &w.problem {
                problems.push(format!("{}: {p}", w.name));
            }
        }
        ReadinessReport {
            ready: problems.is_empty(),
            database,
            migrations,
            workers,
            problems,
        }
    }

    async fn check_database(&self) -> Result<(), String> {
        if let Some(file) = self.database_file.clone() {
            let current = tokio::task::spawn_blocking(move || {
                (file_identity(&file.path), file.identity, file.path)
            })
            .await
            .map_err(|e| format!("checking the database file failed: {e}"))?;
            match current {
                (Err(e), _, path) => {
                    return Err(format!("database file {} is gone: {e}", path.display()));
                }
                (Ok(now), then, path) if now != then => {
                    return Err(format!(
                        "database file {} was replaced since start",
                        path.display()
                    ));
                }
                _ => {}
            }
        }
        match tokio::time::timeout(DATABASE_TIMEOUT, self.store.ping()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(format!("query failed: {e:#}")),
            Err(_) => Err(format!("no answer within {} s", DATABASE_TIMEOUT.as_secs())),
        }
    }

    async fn check_migrations(&self) -> Result<(), String> {
        match tokio::time::timeout(DATABASE_TIMEOUT, self.store.pending_migrations()).await {
            Ok(Ok(pending)) if pending.is_empty() => Ok(()),
            Ok(Ok(pending)) => Err(format!("not applied: {pending:?}")),
            Ok(Err(e)) => Err(format!("cannot read the applied migrations: {e:#}")),
            Err(_) => Err(format!("no answer within {} s", DATABASE_TIMEOUT.as_secs())),
        }
    }
}

#[cfg(test)]
#[path = "health_tests.rs"]
mod tests;
