//! The forecast cache: one stored series per grid cell, refreshed under the
//! provider's call budget (see `weather::budget`), kept in memory and in the
//! store so a restart reuses what is still fresh. The poller asks it to
//! refresh the cells in use and then reads every series; `/weather` and
//! `/forecast` read one place through it. Between refreshes nothing here
//! calls upstream.
//!
//! The parts: `refresh` (the poller's refresh of the cells in use, with its
//! gauges and pruning), `on_demand` (one place's series for a reader) and
//! `limits` (the calls spent and the rate-limit holds).

mod limits;
mod on_demand;
mod refresh;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::Mutex;

use crate::metrics::Metrics;
use crate::store::{SeriesRow, Store};
use crate::weather::grid::Cell;
use crate::weather::{Coordinates, Quota, QuotaWindow, Series, WeatherError, WeatherProvider};

/// How the cache schedules and judges series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ForecastSettings {
    /// Grid step in degrees (`WEATHER_GRID`).
    pub grid: f64,
    /// Wanted refresh interval per cell (`WEATHER_REFRESH`).
    pub refresh: Duration,
    /// Older than this a series decides nothing (`WEATHER_MAX_AGE`).
    pub max_age: Duration,
    /// Weighted calls a UTC day may spend (`WEATHER_DAILY_BUDGET`); `None`:
    /// the provider's free plan.
    pub daily_budget: Option<f64>,
}

/// A series with what the reader needs to judge it.
#[derive(Debug, Clone)]
pub struct Fresh {
    pub cell: Cell,
    pub series: Arc<Series>,
    pub age: TimeDelta,
}

/// Why `for_point` has no series to give.
#[derive(Debug, thiserror::Error)]
pub enum ForecastError {
    #[error("the weather call budget is used up for now")]
    OverBudget,
    #[error(transparent)]
    Upstream(#[from] WeatherError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// A rate-limit answer: refreshes stop until `until`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    pub window: Option<QuotaWindow>,
    pub until: DateTime<Utc>,
    /// The first answer of an episode (log and tell the admins once).
    pub new_episode: bool,
}

/// What one refresh did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RefreshReport {
    pub cells: usize,
    pub fetched: usize,
    pub failed: usize,
    pub deferred: usize,
    pub weight: f64,
    pub interval: Duration,
    pub rate_limited: Option<RateLimit>,
}

#[derive(Clone)]
pub struct Forecasts {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    provider: Arc<dyn WeatherProvider>,
    metrics: Metrics,
    settings: ForecastSettings,
    quota: Quota,
    /// Every stored series, parsed; `None` until first read from the store.
    cache: RwLock<Option<HashMap<Cell, Arc<Series>>>>,
    /// Serialises "check the budget, record the calls" so two fetches can
    /// never both spend the last call.
    spending: Mutex<()>,
    /// Inside a rate-limit episode (told once, cleared by a good refresh).
    limited: std::sync::Mutex<bool>,
    /// A new episode not yet reported by `refresh` (one an on-demand read
    /// met): the poller tells the admins of every episode, whoever met it.
    untold: std::sync::Mutex<Option<RateLimit>>,
    /// The last interval warned about as longer than the max age.
    warned_interval: std::sync::Mutex<Duration>,
}

impl Forecasts {
    pub fn new(
        store: Store,
        provider: Arc<dyn WeatherProvider>,
        metrics: Metrics,
        settings: ForecastSettings,
    ) -> Self {
        let mut quota = provider.free_quota();
        if let Some(budget) = settings.daily_budget {
            quota.per_day = budget;
        }
        Self {
            inner: Arc::new(Inner {
                store,
                provider,
                metrics,
                settings,
                quota,
                cache: RwLock::new(None),
                spending: Mutex::new(()),
                limited: std::sync::Mutex::new(false),
                untold: std::sync::Mutex::new(None),
                warned_interval: std::sync::Mutex::new(Duration::ZERO),
            }),
        }
    }

    pub fn settings(&self) -> &ForecastSettings {
        &self.inner.settings
    }

    pub fn quota(&self) -> Quota {
        self.inner.quota
    }

    /// The cell a point's forecast comes from.
    pub fn cell_of(&self, point: Coordinates) -> Cell {
        Cell::of(point, self.inner.settings.grid)
    }

    /// Whether a series is too old to decide anything at `now`.
    pub fn is_stale(&self, series: &Series, now: DateTime<Utc>) -> bool {
        let max_age = TimeDelta::from_std(self.inner.settings.max_age).unwrap_or(TimeDelta::MAX);
        series.age(now) > max_age
    }

    /// Every stored series (loaded from the store on first use).
    pub async fn snapshot(&self) -> anyhow::Result<HashMap<Cell, Arc<Series>>> {
        if let Some(cache) = self.inner.cache.read().expect("cache lock").as_ref() {
            return Ok(cache.clone());
        }
        let rows = self.inner.store.all_series().await?;
        let mut cache = HashMap::with_capacity(rows.len());
        for row in rows {
            match serde_json::from_str::<Series>(&row.series) {
                Ok(series) => {
                    let cell = Cell {
                        lat_e4: row.lat_e4 as i32,
                        lon_e4: row.lon_e4 as i32,
                    };
                    cache.insert(cell, Arc::new(series));
                }
                // A row written by another version: refetched when due.
                Err(e) => tracing::warn!(lat_e4 = row.lat_e4, lon_e4 = row.lon_e4, error = %e,
                    "unreadable stored series ignored"),
            }
        }
        let mut slot = self.inner.cache.write().expect("cache lock");
        Ok(slot.get_or_insert(cache).clone())
    }

    fn remember(&self, fresh: Vec<(Cell, Arc<Series>)>) {
        if fresh.is_empty() {
            return;
        }
        let mut slot = self.inner.cache.write().expect("cache lock");
        let cache = slot.get_or_insert_with(HashMap::new);
        cache.extend(fresh);
    }
}

fn fresh(cell: Cell, series: Arc<Series>, now: DateTime<Utc>) -> Fresh {
    Fresh {
        cell,
        age: series.age(now),
        series,
    }
}

fn series_row(cell: Cell, series: &Series) -> anyhow::Result<SeriesRow> {
    Ok(SeriesRow {
        lat_e4: i64::from(cell.lat_e4),
        lon_e4: i64::from(cell.lon_e4),
        fetched_at_ms: series.fetched_at.timestamp_millis(),
        series: serde_json::to_string(series).context("encoding a series")?,
    })
}
