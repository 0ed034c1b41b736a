//! System metrics of the process under the reference system's names —
//! `cpu_usage_percent`, `memory_usage_percent`, `disk_space_used`,
//! `db_connections_total` — refreshed every 15 s (the Prometheus scrape
//! interval), so SLAs written for the old services keep their meaning.
//!
//! [`SystemMetrics::refresh_once`] is one sampling step; [`SystemMetrics::run`]
//! only adds the schedule and shutdown, and runs each step on the blocking
//! pool (`spawn_blocking`): sysinfo reads /proc and the disk figure `stat`s
//! files, neither of which belongs on an async worker thread.

use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, Instant};

use sqlx::sqlite::SqliteConnectOptions;
use sysinfo::{MemoryRefreshKind, Pid, ProcessRefreshKind, ProcessesToUpdate, System};

use crate::metrics::Metrics;
use crate::shutdown::ShutdownListener;
use crate::store::{EngineKind, Store};

/// How often the gauges are refreshed: Prometheus scrapes every 15 s, so a
/// faster refresh would never be seen and a slower one would repeat values.
pub const REFRESH_INTERVAL: Duration = Duration::from_secs(15);

/// What one refresh measured; `None` where the platform could not tell.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub cpu_percent: Option<f64>,
    pub memory_percent: Option<f64>,
    pub disk_bytes: u64,
    /// Pool acquisitions since the previous refresh.
    pub new_acquisitions: u64,
}

pub struct SystemMetrics {
    /// `None` when sysinfo does not support this platform: the database
    /// metrics are still worth having.
    process: Option<(System, Pid)>,
    /// CPUs this process may run on (respects affinity and cgroup quotas).
    cpus: f64,
    /// The database file and its `-wal` / `-shm` companions; empty in memory.
    database_files: Vec<PathBuf>,
    store: Store,
    metrics: Metrics,
    acquisitions_seen: u64,
    /// When the first CPU reading was taken.
    primed_at: Instant,
}

impl SystemMetrics {
    /// Takes a first CPU reading right away: process CPU % is a difference
    /// between two readings, so the first refresh after this one is already
    /// meaningful.
    pub fn new(store: Store, database_url: &str, metrics: Metrics) -> Self {
        let process = match (System::new(), sysinfo::get_current_pid()) {
            (Ok(mut system), Ok(pid)) => {
                refresh_process(&mut system, pid);
                Some((system, pid))
            }
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!(error = %e, "no CPU or memory metrics on this platform");
                None
            }
        };
        let cpus = std::thread::available_parallelism().map_or(1, NonZeroUsize::get) as f64;
        Self {
            process,
            cpus,
            database_files: database_files(database_url),
            store,
            metrics,
            acquisitions_seen: 0,
            primed_at: Instant::now(),
        }
    }

    /// Samples everything once and sets the metrics. Synchronous and
    /// blocking (a few small reads under /proc and three `stat` calls): from
    /// async code, call it through `spawn_blocking` as [`Self::run`] does.
    pub fn refresh_once(&mut self) -> Sample {
        let (cpu_percent, memory_percent) = match &mut self.process {
            Some((system, pid)) => process_usage(system, *pid, self.cpus),
            None => (None, None),
        };
        if let Some(cpu) = cpu_percent {
            self.metrics.cpu_usage.set(cpu);
        }
        if let Some(memory) = memory_percent {
            self.metrics.memory_usage.set(memory);
        }
        let disk_bytes = files_size(&self.database_files);
        // PostgreSQL's size is read by `refresh_database_size`.
        if self.store.engine() == EngineKind::Sqlite {
            self.metrics
                .disk_space_used
                .set(i64::try_from(disk_bytes).unwrap_or(i64::MAX));
        }
        // The store counts since it connected; the counter only learns the
        // difference, so it never goes backwards.
        let acquired = self.store.connection_acquisitions();
        let new_acquisitions = acquired.saturating_sub(self.acquisitions_seen);
        self.acquisitions_seen = acquired;
        self.metrics.db_connections.inc_by(new_acquisitions);
        Sample {
            cpu_percent,
            memory_percent,
            disk_bytes,
            new_acquisitions,
        }
    }

    /// On PostgreSQL, `disk_space_used` is the database's size as the server
    /// counts it (`pg_database_size`): its files are not on this machine.
    /// Returns the size set, `None` on SQLite.
    pub async fn refresh_database_size(&self) -> anyhow::Result<Option<i64>> {
        let size = self.store.database_size().await?;
        if let Some(bytes) = size {
            self.metrics.disk_space_used.set(bytes);
        }
        Ok(size)
    }

    /// Refreshes at start (so the first scrape sees real values), then every
    /// [`REFRESH_INTERVAL`] until shutdown. The first refresh waits until
    /// sysinfo's minimum CPU interval has passed since the priming reading
    /// (at most 200 ms): sooner, the CPU figure would be meaningless.
    pub async fn run(mut self, mut shutdown: ShutdownListener) {
        let first = self.primed_at + sysinfo::MINIMUM_CPU_UPDATE_INTERVAL;
        let mut ticks = tokio::time::interval_at(first.into(), REFRESH_INTERVAL);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.stopped() => break,
                _ = ticks.tick() => {}
            }
            let step = tokio::task::spawn_blocking(move || {
                let sample = self.refresh_once();
                (self, sample)
            });
            match step.await {
                Ok((this, sample)) => {
                    self = this;
                    tracing::trace!(?sample, "system metrics refreshed");
                    if let Err(e) = self.refresh_database_size().await {
                        tracing::warn!(error = format!("{e:#}"), "cannot read the database size");
                    }
                }
                Err(e) => {
                    // Only a panic in sysinfo gets here; the sampler is gone.
                    tracing::error!(error = %e, "system metrics sampler failed");
                    return;
                }
            }
        }
        tracing::info!("system metrics stopped");
    }
}

fn refresh_process(system: &mut System, pid: Pid) {
    system.refresh_processes_specifics(
        ProcessesToUpdate::Some(&[pid]),
        true,
        ProcessRefreshKind::nothing().with_cpu().with_memory(),
    );
}

/// CPU % of the CPUs available (sysinfo counts 100 % per core, so a busy
/// 4-core process would read 400; an SLA threshold should not depend on the
/// host) and RSS % of the memory available (the container's limit if lower
/// than the machine's).
fn process_usage(system: &mut System, pid: Pid, cpus: f64) -> (Option<f64>, Option<f64>) {
    refresh_process(system, pid);
    system.refresh_memory_specifics(MemoryRefreshKind::nothing().with_ram());
    let Some(process) = system.process(pid) else {
        return (None, None);
    };
    let cpu = (f64::from(process.cpu_usage()) / cpus).clamp(0.0, 100.0);
    let limit = match system.cgroup_limits() {
        Some(cgroup) if cgroup.total_memory > 0 => cgroup.total_memory.min(system.total_memory()),
        _ => system.total_memory(),
    };
    let memory = (limit > 0).then(|| (process.memory() as f64 / limit as f64 * 100.0).min(100.0));
    (Some(cpu), memory)
}

/// The files SQLite keeps for `database_url` — the database, its write-ahead
/// log and its shared-memory index — or none for an in-memory database.
/// Parsed like sqlx does (`sqlite:path`, `sqlite://path`, `?mode=…`), so the
/// path is the one the store opened, percent-decoding included.
pub fn database_files(database_url: &str) -> Vec<PathBuf> {
    if !database_url.starts_with("sqlite:") {
        return Vec::new(); // PostgreSQL: see `refresh_database_size`
    }
    let rest = database_url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let (database, query) = rest.split_once('?').unwrap_or((rest, ""));
    let in_memory = database.is_empty()
        || database == ":memory:"
        || query.split('&').any(|pair| pair == "mode=memory");
    if in_memory {
        return Vec::new();
    }
    let Ok(options) = SqliteConnectOptions::from_str(database_url) else {
        return Vec::new();
    };
    let main = options.get_filename().to_path_buf();
    let companion = |suffix: &str| {
        let mut name = main.clone().into_os_string();
        name.push(suffix);
        PathBuf::from(name)
    };
    vec![companion("-wal"), companion("-shm"), main]
}

/// Sum of the sizes of the files that exist (the WAL and index come and go
/// with checkpoints and connections).
fn files_size(files: &[PathBuf]) -> u64 {
    files.iter().map(|f| file_size(f)).sum()
}

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::{temp_sqlite_store, temp_store};

    fn names(url: &str) -> Vec<String> {
        database_files(url)
            .iter()
            .map(|p| p.display().to_string())
            .collect()
    }

    #[test]
    fn database_files_follow_sqlx_url_forms() {
        let expected = ["/data/m.db-wal", "/data/m.db-shm", "/data/m.db"];
        assert_eq!(names("sqlite:/data/m.db"), expected);
        assert_eq!(names("sqlite:///data/m.db"), expected);
        assert_eq!(names("sqlite:///data/m.db?mode=rwc"), expected);
        assert_eq!(
            names("sqlite://meteobot.db"),
            ["meteobot.db-wal", "meteobot.db-shm", "meteobot.db"]
        );
        assert_eq!(names("sqlite:my%20bot.db")[2], "my bot.db");
    }

    #[test]
    fn in_memory_databases_have_no_files() {
        for url in [
            "sqlite::memory:",
            "sqlite://:memory:",
            "sqlite://?mode=memory",
            "sqlite:x.db?mode=memory&cache=shared",
            "sqlite:",
        ] {
            assert!(database_files(url).is_empty(), "{url}");
        }
    }

    /// The database's own size on PostgreSQL (run by the suite's pass with
    /// `METEOBOT_TEST_POSTGRES`); on SQLite there is none to read.
    #[tokio::test]
    async fn the_database_size_comes_from_the_engine() {
        let (store, _dir) = temp_store().await;
        let metrics = Metrics::new();
        let sys = SystemMetrics::new(store.clone(), "postgres://elsewhere/db", metrics.clone());
        let size = sys.refresh_database_size().await.expect("size");
        match store.engine() {
            EngineKind::Sqlite => assert_eq!(size, None),
            EngineKind::Postgres => {
                let bytes = size.expect("PostgreSQL has a size");
                assert!(bytes > 1_000_000, "{bytes}"); // an empty database is ~7 MB
                assert_eq!(metrics.disk_space_used.get(), bytes);
            }
        }
        assert!(database_files("postgres://u:p@h/db").is_empty());
    }

    #[tokio::test]
    async fn in_memory_store_reports_zero_disk() {
        let store = Store::connect("sqlite::memory:").await.expect("store");
        let mut sys = SystemMetrics::new(store, "sqlite::memory:", Metrics::new());
        assert_eq!(sys.refresh_once().disk_bytes, 0);
    }

    #[tokio::test]
    async fn values_are_plausible_and_follow_the_database() {
        let (store, dir) = temp_sqlite_store().await;
        let url = format!("sqlite:{}", dir.path().join("test.db").display());
        let metrics = Metrics::new();
        let mut sys = SystemMetrics::new(store.clone(), &url, metrics.clone());

        let first = sys.refresh_once();
        if let Some(cpu) = first.cpu_percent {
            assert!((0.0..=100.0).contains(&cpu), "cpu {cpu}");
        }
        let memory = first.memory_percent.expect("memory is known on Linux");
        assert!(memory > 0.0 && memory <= 100.0, "memory {memory}");
        assert!(first.disk_bytes > 0);
        // Connecting and migrating already used the pool.
        assert!(first.new_acquisitions > 0);
        assert_eq!(metrics.db_connections.get(), first.new_acquisitions);

        let value = "x".repeat(4096);
        for i in 0..100 {
            store
                .setting_or_insert(&format!("k{i}"), &value)
                .await
                .expect("write");
        }
        let second = sys.refresh_once();
        assert!(
            second.disk_bytes > first.disk_bytes + 100 * 4096 / 2,
            "{} then {}",
            first.disk_bytes,
            second.disk_bytes
        );
        // setting_or_insert runs two statements, each on an acquired connection.
        assert!(second.new_acquisitions >= 200, "{second:?}");
        assert_eq!(
            metrics.db_connections.get(),
            first.new_acquisitions + second.new_acquisitions
        );
        assert_eq!(metrics.disk_space_used.get() as u64, second.disk_bytes);
        assert!(
            second
                .cpu_percent
                .is_some_and(|c| (0.0..=100.0).contains(&c))
        );
    }

    #[tokio::test]
    async fn rendered_under_the_reference_names() {
        let (store, dir) = temp_store().await;
        let url = format!("sqlite:{}", dir.path().join("test.db").display());
        let metrics = Metrics::new();
        SystemMetrics::new(store, &url, metrics.clone()).refresh_once();
        let text = metrics.render();
        for name in [
            "cpu_usage_percent ",
            "memory_usage_percent ",
            "disk_space_used ",
            "db_connections_total ",
        ] {
            assert!(text.contains(name), "missing {name} in\n{text}");
        }
    }

    // Real time, not a paused clock: the first refresh must come without
    // waiting for an interval, long before the 15 s one.
    #[tokio::test]
    async fn run_refreshes_at_once_and_stops_on_shutdown() {
        let (store, dir) = temp_store().await;
        let url = format!("sqlite:{}", dir.path().join("test.db").display());
        let metrics = Metrics::new();
        let sys = SystemMetrics::new(store, &url, metrics.clone());
        let (trigger, listener) = crate::shutdown::channel();
        let task = tokio::spawn(sys.run(listener));
        let refreshed = tokio::time::timeout(Duration::from_secs(5), async {
            while metrics.disk_space_used.get() == 0 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
        .await;
        assert!(refreshed.is_ok(), "no refresh at start");
        trigger.trigger();
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("the loop stops on shutdown")
            .expect("the loop ends cleanly");
    }
}
