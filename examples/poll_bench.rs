//! Benchmark: one poll cycle (fetch, evaluate, write states + outbox) over
//! 100,000 subscriptions at 2,000 locations, against an in-process provider.
//! Prints figures; run with `cargo run --release --example poll_bench`
//! (`-- --subscriptions 10000 --locations 200` for a smaller run).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{TimeDelta, Utc};
use meteobot::alerts::Poller;
use meteobot::domain::{ChatId, Temperature, TemperatureBand};
use meteobot::metrics::Metrics;
use meteobot::store::{NewSubscription, Store};
use meteobot::weather::{Coordinates, Observation, Place, WeatherError, WeatherProvider};
use tokio::sync::Notify;

/// Every point reports the same temperature, set between cycles.
struct InProcess {
    temperature_bits: AtomicU64,
}

#[async_trait]
impl WeatherProvider for InProcess {
    fn name(&self) -> &'static str {
        "in-process"
    }

    async fn geocode(&self, _query: &str) -> Result<Vec<Place>, WeatherError> {
        Ok(Vec::new())
    }

    async fn current(&self, points: &[Coordinates]) -> Vec<Result<Observation, WeatherError>> {
        let t = f64::from_bits(self.temperature_bits.load(Ordering::Relaxed));
        let obs = Observation {
            temperature_c: t,
            raining: false,
            snowing: false,
            observed_at: Utc::now(),
            description: None,
        };
        vec![Ok(obs); points.len()]
    }

    fn free_quota(&self) -> meteobot::weather::Quota {
        meteobot::weather::Quota {
            per_minute: f64::MAX,
            per_hour: f64::MAX,
            per_day: f64::MAX,
        }
    }

    fn forecast_weight(&self, points: usize) -> f64 {
        points as f64
    }

    async fn forecast(
        &self,
        points: &[Coordinates],
    ) -> Vec<Result<meteobot::weather::Series, WeatherError>> {
        points
            .iter()
            .map(|_| Err(WeatherError::Malformed("not yet".into())))
            .collect()
    }
}

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let subscriptions = arg("--subscriptions", 100_000);
    let locations = arg("--locations", 2_000).max(1);
    let dir = tempfile::tempdir()?;
    let store =
        Store::connect(&format!("sqlite:{}", dir.path().join("bench.db").display())).await?;

    let started = Instant::now();
    let band = TemperatureBand::new(Some(Temperature::new(5.0)?), Some(Temperature::new(30.0)?))?;
    for i in 0..subscriptions {
        let loc = i % locations;
        let new = NewSubscription {
            chat_id: ChatId::new(1 + (i / 20) as i64)?,
            city: "City",
            country: "XX",
            latitude: -60.0 + (loc / 100) as f64 * 0.5,
            longitude: -170.0 + (loc % 100) as f64 * 0.5,
            band,
            rain: i % 2 == 0,
            snow: false,
            ahead: None,
        };
        store
            .insert_subscription(new, 20)
            .await?
            .expect("under the per-chat limit");
    }
    println!(
        "setup: {subscriptions} subscriptions over {locations} locations in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let provider = Arc::new(InProcess {
        temperature_bits: AtomicU64::new(20f64.to_bits()),
    });
    let poller = Poller::new(
        store.clone(),
        provider.clone(),
        Metrics::new(),
        Duration::from_secs(6 * 3600),
        Arc::new(Notify::new()),
    );
    let t0 = Utc::now();
    let cycles = [
        ("steady, all inside the band", 20.0, 0),
        ("every subscription enters violation", 35.0, 10),
        ("steady, all still violated", 36.0, 20),
        ("every subscription clears", 20.0, 30),
        ("steady again", 21.0, 40),
    ];
    println!(
        "{:<40} {:>10} {:>10} {:>11} {:>9}",
        "cycle", "seconds", "messages", "statements", "locations"
    );
    for (label, t, minute) in cycles {
        provider
            .temperature_bits
            .store(f64::to_bits(t), Ordering::Relaxed);
        let started = Instant::now();
        let report = poller.poll_once(t0 + TimeDelta::minutes(minute)).await?;
        let ms = |d: Duration| d.as_millis();
        println!(
            "{label:<40} {:>8.3} {:>9} {:>11} {:>9}   {} / {} / {} / {}",
            started.elapsed().as_secs_f64(),
            report.messages,
            report.statements,
            report.locations,
            ms(report.read),
            ms(report.fetch),
            ms(report.decide),
            ms(report.write),
        );
    }
    println!("outbox rows: {}", store.pending_count().await?);
    for _ in 0..3 {
        let started = Instant::now();
        let rows = store.watched_subscriptions().await?.len();
        println!(
            "read of {rows} watched subscriptions alone: {:.3} s",
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
