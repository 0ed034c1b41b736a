//! The forecast cache: one stored series per grid cell, refreshed under the
//! provider's call budget (see `weather::budget`), kept in memory and in the
//! store so a restart reuses what is still fresh. The poller asks it to
//! refresh the cells in use and then reads every series; `/weather` and
//! `/forecast` read one place through it. Between refreshes nothing here
//! calls upstream.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, TimeDelta, Utc};
use tokio::sync::Mutex;

use crate::metrics::Metrics;
use crate::store::{SeriesRow, Store};
use crate::weather::budget::{self, Known, Usage};
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

    /// Refreshes the due ones of `cells` (the cells in use) under the budget.
    /// Failures cost only their cells' refresh; only a store failure is an
    /// error.
    pub async fn refresh(
        &self,
        cells: &[Cell],
        now: DateTime<Utc>,
    ) -> anyhow::Result<RefreshReport> {
        let stored = self.snapshot().await?;
        let known: Vec<Known> = cells
            .iter()
            .map(|cell| Known {
                cell: *cell,
                fetched_at: stored.get(cell).map(|s| s.fetched_at),
            })
            .collect();
        let weight_per_cell = self.inner.provider.forecast_weight(1);
        let (plan, weight) = {
            let _spending = self.inner.spending.lock().await;
            let usage = self.usage(now).await?;
            let hold = self.hold_until().await?;
            let plan = budget::plan(
                &known,
                weight_per_cell,
                &self.inner.quota,
                usage,
                self.inner.settings.refresh,
                now,
                hold,
            );
            let weight = self.inner.provider.forecast_weight(plan.refresh.len());
            if weight > 0.0 {
                self.inner
                    .store
                    .record_weather_calls(now.timestamp_millis(), weight)
                    .await?;
            }
            (plan, weight)
        };
        self.warn_if_starved(plan.interval, cells.len());
        let mut report = RefreshReport {
            cells: cells.len(),
            deferred: plan.deferred,
            weight,
            interval: plan.interval,
            ..RefreshReport::default()
        };
        if !plan.refresh.is_empty() {
            self.inner.metrics.weather_weighted_calls.inc_by(weight);
            let points: Vec<Coordinates> = plan.refresh.iter().map(|c| c.centre()).collect();
            let results = self.inner.provider.forecast(&points).await;
            let mut rows = Vec::new();
            let mut fresh = Vec::new();
            for (cell, result) in plan.refresh.iter().zip(results) {
                match result {
                    Ok(mut series) => {
                        // The injected clock, not the wall clock: schedules
                        // and staleness are judged against `now`.
                        series.fetched_at = now;
                        rows.push(series_row(*cell, &series)?);
                        fresh.push((*cell, Arc::new(series)));
                    }
                    Err(err) => {
                        report.failed += 1;
                        if let WeatherError::RateLimited {
                            retry_after,
                            window,
                        } = &err
                            && report.rate_limited.is_none()
                        {
                            report.rate_limited =
                                Some(self.hold(*window, *retry_after, now).await?);
                        }
                        tracing::debug!(lat_e4 = cell.lat_e4, lon_e4 = cell.lon_e4, error = %err,
                            "forecast refresh failed; the stored series is kept");
                    }
                }
            }
            self.inner.store.save_series(&rows).await?;
            report.fetched = fresh.len();
            self.remember(fresh);
            if report.failed > 0 && report.rate_limited.is_none() {
                tracing::warn!(
                    failed = report.failed,
                    fetched = report.fetched,
                    "some forecast refreshes failed; their previous series are kept"
                );
            }
            if report.fetched > 0 && report.rate_limited.is_none() {
                self.end_episode();
            }
        }
        if let Some(untold) = self.inner.untold.lock().expect("episode lock").take() {
            report.rate_limited = Some(untold);
        }
        self.update_gauges(cells, plan.interval, now).await?;
        self.prune(cells, now).await?;
        Ok(report)
    }

    /// A series for one point: the stored one when it is not stale, else a
    /// fresh fetch if the budget allows (it is stored for the next reader).
    pub async fn for_point(
        &self,
        point: Coordinates,
        now: DateTime<Utc>,
    ) -> Result<Fresh, ForecastError> {
        let cell = self.cell_of(point);
        let stored = self.snapshot().await?.get(&cell).cloned();
        if let Some(series) = stored.as_ref().filter(|s| !self.is_stale(s, now)) {
            return Ok(fresh(cell, Arc::clone(series), now));
        }
        let weight = self.inner.provider.forecast_weight(1);
        {
            let _spending = self.inner.spending.lock().await;
            let usage = self.usage(now).await?;
            let held = self.hold_until().await?.is_some_and(|until| now < until);
            if held || usage.left(&self.inner.quota) < weight {
                // A stale series is still better than nothing to look at.
                return match stored {
                    Some(series) => Ok(fresh(cell, series, now)),
                    None => Err(ForecastError::OverBudget),
                };
            }
            self.inner
                .store
                .record_weather_calls(now.timestamp_millis(), weight)
                .await?;
        }
        self.inner.metrics.weather_weighted_calls.inc_by(weight);
        let result = self.inner.provider.forecast(&[cell.centre()]).await.pop();
        match result {
            Some(Ok(mut series)) => {
                series.fetched_at = now;
                self.inner
                    .store
                    .save_series(&[series_row(cell, &series)?])
                    .await?;
                let series = Arc::new(series);
                self.remember(vec![(cell, Arc::clone(&series))]);
                Ok(fresh(cell, series, now))
            }
            Some(Err(err)) => {
                if let WeatherError::RateLimited {
                    retry_after,
                    window,
                } = &err
                {
                    self.hold(*window, *retry_after, now).await?;
                }
                match stored {
                    Some(series) => Ok(fresh(cell, series, now)),
                    None => Err(err.into()),
                }
            }
            None => Err(ForecastError::Internal(anyhow::anyhow!(
                "the provider answered no series"
            ))),
        }
    }

    /// Weighted calls spent in the current UTC minute, hour and day.
    pub async fn usage(&self, now: DateTime<Utc>) -> anyhow::Result<Usage> {
        let (minute, hour, day) = budget::window_starts_ms(now);
        let spent = self.inner.store.weather_spent(minute, hour, day).await?;
        Ok(Usage {
            minute: spent.minute,
            hour: spent.hour,
            day: spent.day,
        })
    }

    async fn hold_until(&self) -> anyhow::Result<Option<DateTime<Utc>>> {
        Ok(self
            .inner
            .store
            .weather_hold_until_ms()
            .await?
            .and_then(DateTime::from_timestamp_millis))
    }

    /// Stops refreshes until the window named by a 429 ends (without one:
    /// `Retry-After`, else the next minute), and says whether this starts an
    /// episode.
    async fn hold(
        &self,
        window: Option<QuotaWindow>,
        retry_after: Option<Duration>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<RateLimit> {
        let until = match (window, retry_after) {
            (Some(window), _) => budget::window_end(window, now),
            (None, Some(wait)) => now + TimeDelta::from_std(wait).unwrap_or(TimeDelta::hours(1)),
            (None, None) => budget::window_end(QuotaWindow::Minute, now),
        };
        self.inner
            .store
            .set_weather_hold_until_ms(until.timestamp_millis())
            .await?;
        let new_episode = {
            let mut limited = self.inner.limited.lock().expect("episode lock");
            !std::mem::replace(&mut *limited, true)
        };
        if new_episode {
            self.inner.metrics.weather_rate_limited.inc();
            tracing::warn!(provider = self.inner.provider.name(), ?window, until = %until,
                "the weather provider's rate limit was reached: refreshes stop until then, \
                 alerts go on from the stored series");
        }
        let limit = RateLimit {
            window,
            until,
            new_episode,
        };
        if new_episode {
            *self.inner.untold.lock().expect("episode lock") = Some(limit);
        }
        Ok(limit)
    }

    /// Says once per interval change when the budget stretches refreshes
    /// past `WEATHER_MAX_AGE`: series then go stale between refreshes and
    /// their subscriptions are not judged for part of each interval.
    fn warn_if_starved(&self, interval: Duration, cells: usize) {
        let max_age = self.inner.settings.max_age;
        let mut warned = self.inner.warned_interval.lock().expect("warn lock");
        if interval > max_age && *warned != interval {
            tracing::warn!(
                cells,
                interval_s = interval.as_secs(),
                max_age_s = max_age.as_secs(),
                "the daily weather budget stretches refreshes beyond WEATHER_MAX_AGE: raise \
                 WEATHER_DAILY_BUDGET (a paid plan), WEATHER_MAX_AGE or WEATHER_GRID"
            );
        }
        *warned = interval;
    }

    fn end_episode(&self) {
        let mut limited = self.inner.limited.lock().expect("episode lock");
        if std::mem::replace(&mut *limited, false) {
            tracing::info!("weather refreshes work again after the rate limit");
        }
    }

    fn remember(&self, fresh: Vec<(Cell, Arc<Series>)>) {
        if fresh.is_empty() {
            return;
        }
        let mut slot = self.inner.cache.write().expect("cache lock");
        let cache = slot.get_or_insert_with(HashMap::new);
        cache.extend(fresh);
    }

    async fn update_gauges(
        &self,
        cells: &[Cell],
        interval: Duration,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let metrics = &self.inner.metrics;
        let usage = self.usage(now).await?;
        metrics
            .weather_budget_left
            .set((self.inner.quota.per_day - usage.day).max(0.0));
        metrics.weather_refresh_interval.set(interval.as_secs_f64());
        let snapshot = self.snapshot().await?;
        let oldest = cells
            .iter()
            .filter_map(|c| snapshot.get(c))
            .map(|s| s.age(now).num_seconds())
            .max()
            .unwrap_or(0);
        metrics.weather_oldest_series_age.set(oldest as f64);
        Ok(())
    }

    /// Forgets calls from before yesterday, and series nobody watches that
    /// are older than a day (a `/forecast` of a place nobody subscribed to).
    async fn prune(&self, in_use: &[Cell], now: DateTime<Utc>) -> anyhow::Result<()> {
        let day_ms = 86_400_000;
        let now_ms = now.timestamp_millis();
        self.inner
            .store
            .prune_weather_calls(now_ms - 2 * day_ms)
            .await?;
        let keep: Vec<(i64, i64)> = in_use
            .iter()
            .map(|c| (i64::from(c.lat_e4), i64::from(c.lon_e4)))
            .collect();
        let before = now_ms - day_ms.max(self.inner.settings.max_age.as_millis() as i64);
        if self.inner.store.prune_series(&keep, before).await? > 0 {
            let keep: std::collections::HashSet<Cell> = in_use.iter().copied().collect();
            let mut slot = self.inner.cache.write().expect("cache lock");
            if let Some(cache) = slot.as_mut() {
                cache.retain(|cell, s| {
                    keep.contains(cell) || s.fetched_at.timestamp_millis() >= before
                });
            }
        }
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::temp_store;
    use crate::weather::{Place, Step};
    use async_trait::async_trait;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Answers a one-step-per-hour flat series, counts the places asked, and
    /// can be told to answer a daily rate limit.
    #[derive(Default)]
    struct Fake {
        asked: AtomicUsize,
        limited: std::sync::atomic::AtomicBool,
    }

    #[async_trait]
    impl WeatherProvider for Fake {
        fn name(&self) -> &'static str {
            "fake"
        }
        async fn geocode(&self, _: &str) -> Result<Vec<Place>, WeatherError> {
            Ok(Vec::new())
        }
        fn free_quota(&self) -> Quota {
            Quota {
                per_minute: 600.0,
                per_hour: 5_000.0,
                per_day: 10_000.0,
            }
        }
        fn forecast_weight(&self, points: usize) -> f64 {
            points as f64
        }
        async fn forecast(&self, points: &[Coordinates]) -> Vec<Result<Series, WeatherError>> {
            self.asked.fetch_add(points.len(), Ordering::SeqCst);
            if self.limited.load(Ordering::SeqCst) {
                let err = WeatherError::RateLimited {
                    retry_after: None,
                    window: Some(QuotaWindow::Day),
                };
                return points.iter().map(|_| Err(err.clone())).collect();
            }
            let start = T0 - T0 % 3600;
            let steps = (0..60)
                .map(|h| Step {
                    at: start + h * 3600,
                    temperature_c: 20.0,
                    rain_mm: 0.0,
                    snow_cm: 0.0,
                    probability: None,
                    code: None,
                })
                .collect();
            let series = Series {
                fetched_at: Utc::now(),
                utc_offset_seconds: 0,
                timezone: None,
                fine: Vec::new(),
                coarse: steps,
            };
            points.iter().map(|_| Ok(series.clone())).collect()
        }
    }

    const T0: i64 = 1_800_003_600;

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(T0 + minutes * 60, 0).unwrap()
    }

    fn settings(daily_budget: Option<f64>) -> ForecastSettings {
        ForecastSettings {
            grid: 0.05,
            refresh: Duration::from_secs(3600),
            max_age: Duration::from_secs(3 * 3600),
            daily_budget,
        }
    }

    fn cells(n: i32) -> Vec<Cell> {
        (0..n)
            .map(|i| Cell {
                lat_e4: i * 500,
                lon_e4: 0,
            })
            .collect()
    }

    #[tokio::test]
    async fn a_restart_reuses_fresh_series_without_calling_upstream() {
        let (store, _dir) = temp_store().await;
        let fake = Arc::new(Fake::default());
        let first = Forecasts::new(store.clone(), fake.clone(), Metrics::new(), settings(None));
        let report = first.refresh(&cells(3), at(0)).await.unwrap();
        assert_eq!((report.fetched, fake.asked.load(Ordering::SeqCst)), (3, 3));
        // A new process on the same database.
        let second = Forecasts::new(store.clone(), fake.clone(), Metrics::new(), settings(None));
        let report = second.refresh(&cells(3), at(10)).await.unwrap();
        assert_eq!(report.fetched, 0);
        assert_eq!(fake.asked.load(Ordering::SeqCst), 3);
        let fresh = second
            .for_point(cells(1)[0].centre(), at(20))
            .await
            .unwrap();
        assert_eq!(fresh.age, TimeDelta::minutes(20));
        assert_eq!(fake.asked.load(Ordering::SeqCst), 3);
        // An hour later every cell is due again.
        assert_eq!(second.refresh(&cells(3), at(60)).await.unwrap().fetched, 3);
    }

    #[tokio::test]
    async fn on_demand_reads_respect_the_budget() {
        let (store, _dir) = temp_store().await;
        let fake = Arc::new(Fake::default());
        let forecasts = Forecasts::new(store, fake.clone(), Metrics::new(), settings(Some(2.0)));
        let report = forecasts.refresh(&cells(3), at(0)).await.unwrap();
        assert_eq!((report.fetched, report.deferred), (2, 1));
        let unknown = Coordinates {
            latitude: 10.0,
            longitude: 10.0,
        };
        assert!(matches!(
            forecasts.for_point(unknown, at(1)).await,
            Err(ForecastError::OverBudget)
        ));
        assert_eq!(fake.asked.load(Ordering::SeqCst), 2);
        assert_eq!(forecasts.usage(at(1)).await.unwrap().day, 2.0);
    }

    #[tokio::test]
    async fn a_daily_limit_holds_refreshes_until_the_next_utc_day() {
        let (store, _dir) = temp_store().await;
        let fake = Arc::new(Fake::default());
        let metrics = Metrics::new();
        let forecasts = Forecasts::new(store, fake.clone(), metrics.clone(), settings(None));
        fake.limited.store(true, Ordering::SeqCst);
        let report = forecasts.refresh(&cells(2), at(0)).await.unwrap();
        let limit = report.rate_limited.unwrap();
        assert!(limit.new_episode);
        assert_eq!(limit.until, budget::window_end(QuotaWindow::Day, at(0)));
        fake.limited.store(false, Ordering::SeqCst);
        let asked = fake.asked.load(Ordering::SeqCst);
        let before_midnight = (limit.until - at(0)).num_minutes() - 1;
        for minute in [10, before_midnight] {
            let report = forecasts.refresh(&cells(2), at(minute)).await.unwrap();
            assert_eq!((report.fetched, report.deferred), (0, 2), "minute {minute}");
        }
        assert_eq!(fake.asked.load(Ordering::SeqCst), asked);
        let next_day = forecasts.refresh(&cells(2), limit.until).await.unwrap();
        assert_eq!(next_day.fetched, 2);
        assert_eq!(metrics.weather_rate_limited.get(), 1);
    }
}
