//! Benchmark of issue 8 at its scale — 2,000 places, 100,000 subscriptions,
//! default settings — against an in-process provider that answers forecast
//! series (no network):
//!
//! 1. upstream calls per day: polling `current` every 10 minutes (the old
//!    way) against a simulated day of refreshes under the daily budget;
//! 2. the evaluation tick (read series and subscriptions, decide, write):
//!    steady state and the tick where every subscription flips at once;
//! 3. memory in use (RSS) after each phase.
//!
//! Run with `cargo run --release --example poll_bench`
//! (`-- --subscriptions 10000 --locations 200` for a smaller run). The store
//! is a temp-file SQLite by default; `-- --postgres <server URL>` (for example
//! `postgres://postgres@127.0.0.1:5432/postgres`) runs the same workload on a
//! fresh database created on that PostgreSQL server and dropped at the end
//! (`--keep-database` keeps it for inspection). `--analyze` runs `ANALYZE`
//! (untimed) before each evaluation tick, as in a database with statistics. RSS is this process only: on
//! PostgreSQL the server's memory is not included.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use meteobot::alerts::{Poller, PollerSettings};
use meteobot::domain::{ChatId, LeadTime, Temperature, TemperatureBand};
use meteobot::forecasts::{ForecastSettings, Forecasts};
use meteobot::metrics::Metrics;
use meteobot::secret::redact_url;
use meteobot::store::scratch::fresh_postgres_database;
use meteobot::store::{EngineKind, NewSubscription, Store};
use meteobot::weather::grid::Cell;
use meteobot::weather::{Coordinates, Place, Quota, Series, Step, WeatherError, WeatherProvider};
use tokio::sync::Notify;

#[path = "poll_bench/db.rs"]
mod db;

/// Every point gets the same flat series at the temperature set between
/// cycles, starting at `base`; Open-Meteo's weighting (one call a place).
struct InProcess {
    quota: Quota,
    temperature_bits: AtomicU64,
    base: AtomicU64,
    locations_asked: AtomicUsize,
}

impl InProcess {
    fn series(&self) -> Series {
        let t = f64::from_bits(self.temperature_bits.load(Ordering::Relaxed)) as f32;
        let base = self.base.load(Ordering::Relaxed) as i64;
        let step = |at: i64| Step {
            at,
            temperature_c: t,
            rain_mm: 0.0,
            snow_cm: 0.0,
            probability: Some(0),
            code: Some(1),
        };
        Series {
            fetched_at: Utc::now(),
            utc_offset_seconds: 0,
            timezone: None,
            fine: (0..32).map(|i| step(base + i * 900)).collect(),
            coarse: (0..49).map(|i| step(base + i * 3600)).collect(),
        }
    }
}

#[async_trait]
impl WeatherProvider for InProcess {
    fn name(&self) -> &'static str {
        "in-process"
    }

    async fn geocode(&self, _query: &str) -> Result<Vec<Place>, WeatherError> {
        Ok(Vec::new())
    }

    fn free_quota(&self) -> Quota {
        self.quota
    }

    fn forecast_weight(&self, points: usize) -> f64 {
        points as f64
    }

    fn forecast_batch(&self) -> usize {
        100
    }

    async fn forecast(&self, points: &[Coordinates]) -> Vec<Result<Series, WeatherError>> {
        self.locations_asked
            .fetch_add(points.len(), Ordering::Relaxed);
        let series = self.series();
        points.iter().map(|_| Ok(series.clone())).collect()
    }
}

/// The value following `name` on the command line.
fn arg_value(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn arg(name: &str, default: usize) -> usize {
    arg_value(name)
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn flag(name: &str) -> bool {
    std::env::args().any(|a| a == name)
}

/// Resident and peak resident memory of this process, in MB.
fn memory() -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or_else(|| "?".to_owned(), |kb| format!("{:.0} MB", kb / 1024.0))
    };
    format!("RSS {} (peak {})", field("VmRSS:"), field("VmHWM:"))
}

fn point(loc: usize) -> Coordinates {
    Coordinates {
        latitude: -60.0 + (loc / 100) as f64 * 0.5,
        longitude: -170.0 + (loc % 100) as f64 * 0.5,
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let subscriptions = arg("--subscriptions", 100_000);
    let locations = arg("--locations", 2_000).max(1);
    let postgres = arg_value("--postgres");
    let dir = tempfile::tempdir()?;
    let database_url = match &postgres {
        Some(server) => fresh_postgres_database(server).await?,
        None => format!("sqlite:{}", dir.path().join("bench.db").display()),
    };
    let store = Store::connect(&database_url).await?;
    match store.engine() {
        EngineKind::Sqlite => println!("engine: SQLite (temp file {})", dir.path().display()),
        EngineKind::Postgres => println!(
            "engine: PostgreSQL {} ({})",
            redact_url(&database_url),
            db::server_version(postgres.as_deref().unwrap_or_default()).await?
        ),
    }

    let started = Instant::now();
    let band = TemperatureBand::new(Some(Temperature::new(5.0)?), Some(Temperature::new(30.0)?))?;
    for i in 0..subscriptions {
        let p = point(i % locations);
        let new = NewSubscription {
            chat_id: ChatId::new(1 + (i / 20) as i64)?,
            city: "City",
            country: "XX",
            latitude: p.latitude,
            longitude: p.longitude,
            band,
            rain: i % 2 == 0,
            snow: false,
            // Every fourth subscription asks for a 3 h heads-up: the
            // look-ahead is part of the tick.
            ahead: if i % 4 == 0 {
                LeadTime::parse_optional("3h")?
            } else {
                None
            },
        };
        store
            .insert_subscription(new, 20)
            .await?
            .expect("under the per-chat limit");
    }
    println!(
        "setup: {subscriptions} subscriptions over {locations} places in {:.1} s; {}",
        started.elapsed().as_secs_f64(),
        memory()
    );

    let t0 = Utc::now().duration_trunc(TimeDelta::days(1))? + TimeDelta::days(1);
    let provider = Arc::new(InProcess {
        // Open-Meteo's free plan.
        quota: Quota {
            per_minute: 600.0,
            per_hour: 5_000.0,
            per_day: 10_000.0,
        },
        temperature_bits: AtomicU64::new(20f64.to_bits()),
        base: AtomicU64::new(t0.timestamp() as u64),
        locations_asked: AtomicUsize::new(0),
    });
    let settings = ForecastSettings {
        grid: 0.05,
        refresh: Duration::from_secs(3600),
        max_age: Duration::from_secs(3 * 3600),
        daily_budget: None,
    };
    let metrics = Metrics::new();
    let forecasts = Forecasts::new(store.clone(), provider.clone(), metrics.clone(), settings);
    let cells: Vec<Cell> = {
        let mut cells: Vec<Cell> = (0..locations)
            .map(|l| forecasts.cell_of(point(l)))
            .collect();
        cells.sort_unstable();
        cells.dedup();
        cells
    };

    // 1. A simulated UTC day of refresh ticks every POLL_INTERVAL (10 min).
    let tick = TimeDelta::minutes(10);
    let mut now = t0;
    let mut worst_refresh = Duration::ZERO;
    let mut interval = Duration::ZERO;
    while now < t0 + TimeDelta::days(1) {
        provider
            .base
            .store(now.timestamp() as u64, Ordering::Relaxed);
        let started = Instant::now();
        let report = forecasts.refresh(&cells, now).await?;
        worst_refresh = worst_refresh.max(started.elapsed());
        interval = report.interval;
        now += tick;
    }
    let spent = forecasts.usage(t0 + TimeDelta::hours(23)).await?.day;
    println!(
        "\n## Upstream calls per day ({} places, Open-Meteo weighting)",
        cells.len()
    );
    println!(
        "polling `current` every 10 min (before): {:>7} calls",
        cells.len() * 144
    );
    println!(
        "forecast series under the budget (now):   {:>7} calls (budget 10,000; {} locations asked)",
        spent,
        provider.locations_asked.load(Ordering::Relaxed)
    );
    println!(
        "effective refresh interval: {} (WEATHER_REFRESH 1h stretched by the budget); slowest refresh tick {:.3} s",
        humantime::format_duration(Duration::from_secs(interval.as_secs())),
        worst_refresh.as_secs_f64()
    );
    println!("{}", memory());

    // 2. Evaluation ticks. Each cycle is an hour after the last, so every
    //    series is due and replaced with new data inside `poll_once`; that
    //    upstream part is timed apart ("refresh") from the tick it feeds.
    //    No limits here, so every cycle can swap in new series everywhere.
    let provider = Arc::new(InProcess {
        quota: Quota {
            per_minute: f64::MAX,
            per_hour: f64::MAX,
            per_day: f64::MAX,
        },
        temperature_bits: AtomicU64::new(20f64.to_bits()),
        base: AtomicU64::new(t0.timestamp() as u64),
        locations_asked: AtomicUsize::new(0),
    });
    let unlimited = Forecasts::new(store.clone(), provider.clone(), Metrics::new(), settings);
    let poller = Poller::new(
        store.clone(),
        unlimited,
        metrics,
        PollerSettings {
            remind_every: Duration::from_secs(6 * 3600),
            heads_up_probability: 50,
            admin_chats: Vec::new(),
        },
        Arc::new(Notify::new()),
    );
    let cycles = [
        ("warm-up (loads the series cache)", 20.0, 0),
        ("steady, all inside the band", 20.0, 60),
        ("every subscription flips at once", 35.0, 120),
        ("steady, all still violated", 36.0, 180),
        ("every subscription clears", 20.0, 240),
        ("steady again", 21.0, 300),
    ];
    println!(
        "\n## Evaluation tick (read series + subscriptions, decide, write){}",
        if flag("--analyze") {
            "; ANALYZE before each tick"
        } else {
            ""
        }
    );
    println!(
        "{:<36} {:>7} {:>9} {:>8} {:>9}   read / decide / write (ms)",
        "cycle", "tick s", "messages", "changes", "refresh s"
    );
    let day2 = t0 + TimeDelta::days(2);
    for (label, t, minute) in cycles {
        let at: DateTime<Utc> = day2 + TimeDelta::minutes(minute);
        provider
            .temperature_bits
            .store(f64::to_bits(t), Ordering::Relaxed);
        provider
            .base
            .store(at.timestamp() as u64, Ordering::Relaxed);
        if flag("--analyze") {
            db::analyze(store.engine(), &database_url).await?;
        }
        let report = poller.poll_once(at).await?;
        let ms = |d: Duration| d.as_millis();
        println!(
            "{label:<36} {:>7.3} {:>9} {:>8} {:>9.3}   {} / {} / {}",
            (report.read + report.decide + report.write).as_secs_f64(),
            report.messages,
            report.changes,
            report.fetch.as_secs_f64(),
            ms(report.read),
            ms(report.decide),
            ms(report.write),
        );
    }
    drop(poller);
    println!(
        "outbox rows: {}; {}",
        store.pending_count().await?,
        memory()
    );
    if let Some(bytes) = store.database_size().await? {
        println!("database size: {:.0} MB", bytes as f64 / 1e6);
    }
    store.close().await;
    if let Some(server) = &postgres {
        if flag("--keep-database") {
            println!("kept {}", redact_url(&database_url));
        } else {
            db::drop_postgres_database(server, &database_url).await?;
        }
    }
    Ok(())
}
