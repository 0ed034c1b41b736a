//! The poller's refresh: the due cells in use fetched under the budget,
//! then the gauges updated and what nobody needs any more pruned.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::weather::budget::{self, Known};
use crate::weather::grid::Cell;
use crate::weather::{Coordinates, WeatherError};

use super::{Forecasts, RefreshReport, series_row};

impl Forecasts {
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
