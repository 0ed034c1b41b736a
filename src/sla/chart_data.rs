//! What a chart of an SLA shows, gathered by the service: the metric over the
//! last hours, its stored violations, and the forecast for the next hour with
//! its 95 % band. The front ends word it and draw it with [`ChartData::render`].

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::chart::{self, ChartError, ChartInput, ChartLabels};
use super::forecast::{self, ForecastBand, ForecastError};
use super::{History, Sla, SlaError, SlaKey, SlaService};
use crate::domain::ParseError;

/// About as many points as the chart is wide: more would not be seen.
const SERIES_POINTS: i64 = 800;
/// Violations drawn at most (the most recent); beyond that dots merge anyway.
const MAX_VIOLATIONS: u32 = 2_000;
/// How far the drawn forecast looks.
pub const CHART_HORIZON: Duration = Duration::from_secs(3600);

/// How many hours a chart covers: whole hours from one to a week.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChartHours(u32);

impl ChartHours {
    pub const MAX: u32 = 168;
    /// When none is asked for: the forecast's own fitting window.
    pub const DEFAULT: Self = Self(6);

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let bad = || {
            ParseError::new(format!(
                "hours must be a whole number from 1 to {}, not '{}'",
                Self::MAX,
                raw.trim()
            ))
        };
        let hours: u32 = raw.trim().parse().map_err(|_| bad())?;
        if (1..=Self::MAX).contains(&hours) {
            Ok(Self(hours))
        } else {
            Err(bad())
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }

    fn millis(self) -> i64 {
        i64::from(self.0) * 3_600_000
    }
}

/// Everything one chart shows.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartData {
    pub sla: Sla,
    pub hours: ChartHours,
    /// The window drawn, unix ms.
    pub from_ms: i64,
    pub to_ms: i64,
    /// `(unix ms, value)`, oldest first; empty: nothing to draw.
    pub series: History,
    pub violations: History,
    /// The next hour, or why there is no forecast (too few samples, no model).
    pub forecast: Result<ForecastBand, ForecastError>,
}

impl SlaService {
    /// The SLA's data for a chart of the last `hours` before `now`.
    pub async fn chart_data(
        &self,
        key: &SlaKey,
        hours: ChartHours,
        now: DateTime<Utc>,
    ) -> Result<ChartData, SlaError> {
        let sla = self.get(key).await?;
        let to_ms = now.timestamp_millis();
        let from_ms = to_ms - hours.millis();
        let bucket_ms = (hours.millis() / SERIES_POINTS).max(self.eval_interval.as_millis() as i64);
        let series = self.chart_series(&sla, from_ms, to_ms, bucket_ms).await?;
        let violations = self
            .store
            .sla_violations_between(sla.id, from_ms, to_ms, MAX_VIOLATIONS)
            .await?;
        let forecast = if series.is_empty() {
            Err(ForecastError::NotEnoughData {
                have: 0,
                need: forecast::MIN_SAMPLES,
            })
        } else {
            let history = self.history(&sla, now).await?;
            // Fitting is CPU work: keep it off the async workers.
            tokio::task::spawn_blocking(move || forecast::forecast_band(&history, CHART_HORIZON))
                .await
                .map_err(|e| anyhow::anyhow!("the forecast task failed: {e}"))?
        };
        Ok(ChartData {
            sla,
            hours,
            from_ms,
            to_ms,
            series,
            violations,
            forecast,
        })
    }

    /// The source's own history when it keeps one, else the stored samples,
    /// one point per bucket.
    async fn chart_series(
        &self,
        sla: &Sla,
        from_ms: i64,
        to_ms: i64,
        bucket_ms: i64,
    ) -> Result<History, SlaError> {
        let step = Duration::from_millis(bucket_ms as u64);
        match self
            .source
            .history(&sla.metric, &sla.job, from_ms, to_ms, step)
            .await
        {
            Ok(Some(points)) if !points.is_empty() => return Ok(points),
            Ok(_) => {}
            Err(err) => tracing::warn!(
                sla = sla.id,
                error = %err,
                "history query failed; charting the stored samples"
            ),
        }
        Ok(self
            .store
            .sla_samples_bucketed(sla.id, from_ms, to_ms, bucket_ms)
            .await?)
    }
}

impl ChartData {
    /// The chart as PNG bytes, drawn off the async workers.
    pub async fn render(
        &self,
        title: String,
        note: Option<String>,
        labels: ChartLabels<'static>,
    ) -> Result<Vec<u8>, SlaError> {
        let data = self.clone();
        let drawn = tokio::task::spawn_blocking(move || {
            let band = data.forecast.as_ref().map(|f| &f.points[..]).unwrap_or(&[]);
            chart::render_png(&ChartInput {
                title: &title,
                note: note.as_deref(),
                labels,
                window: (data.from_ms, data.to_ms),
                series: &data.series,
                range: data.sla.range,
                violations: &data.violations,
                forecast: band,
            })
        })
        .await
        .map_err(|e| anyhow::anyhow!("the chart task failed: {e}"))?;
        // Callers check `series` first: an empty one here is a bug, like a
        // drawing failure.
        drawn.map_err(|e: ChartError| SlaError::Internal(anyhow::anyhow!(e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hours() {
        assert_eq!(ChartHours::parse(" 24 ").unwrap().get(), 24);
        assert_eq!(ChartHours::parse("168").unwrap().millis(), 168 * 3_600_000);
        for bad in ["0", "169", "-1", "1.5", "abc", "", "99999999999"] {
            let err = ChartHours::parse(bad).unwrap_err();
            assert!(err.to_string().contains("from 1 to 168"), "{bad}: {err}");
        }
    }

    proptest! {
        #[test]
        fn any_text_is_hours_or_an_error(raw in "\\PC{0,8}") {
            if let Ok(h) = ChartHours::parse(&raw) {
                prop_assert!((1..=ChartHours::MAX).contains(&h.get()));
            }
        }
    }
}
