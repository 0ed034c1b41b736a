//! One place's series for a reader (`/weather`, `/forecast`, digests): the
//! stored one while fresh, else one fetch if the budget allows.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::weather::{Coordinates, WeatherError};

use super::{ForecastError, Forecasts, Fresh, fresh, series_row};

impl Forecasts {
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
}
