//! `SlaService`: what REST and the bot's `/sla` commands call. Inputs arrive
//! parsed ([`SlaKey`], [`MetricRange`], [`Horizon`]); answers are domain
//! values, worded by each front end.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::task::JoinSet;

use super::burn::budget_at;
use super::evaluator::Evaluator;
use super::forecast::{self, FIT_WINDOW, ForecastError, MIN_SAMPLES, Prevision};
use super::source::{History, MetricSource, Reading, SourceError};
use super::{Bound, Horizon, JobName, MetricName, MetricRange, MetricSyntax, PrometheusSource};
use super::{Budget, Objective, RegistrySource, Sla};
use crate::config::Config;
use crate::domain::ParseError;
use crate::metrics::Metrics;
use crate::store::{SlaUpsert, Store, StoredObjective, TooManySlas};

/// Stored samples read for one forecast (6 h at one per second, with room).
const MAX_STORED_POINTS: u32 = 25_000;
/// A Prometheus query that takes longer than this is not coming back.
const PROMETHEUS_TIMEOUT: Duration = Duration::from_secs(10);

/// Which SLA: its metric and job, parsed with the service's syntax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaKey {
    pub metric: MetricName,
    pub job: JobName,
}

/// A metric's value judged against its SLA.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SlaState {
    Value {
        value: f64,
        violation: Option<Bound>,
    },
    NoData,
}

/// One SLA with its live state (or why it could not be read).
#[derive(Debug, Clone, PartialEq)]
pub struct SlaOverview {
    pub sla: Sla,
    pub state: Result<SlaState, SourceError>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ViolationCounts {
    pub last_hour: u64,
    pub last_3_hours: u64,
    pub last_6_hours: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum SlaError {
    #[error("{0}")]
    Invalid(#[from] ParseError),
    #[error("no SLA for metric '{metric}' and job '{job}'")]
    Unknown { metric: String, job: String },
    #[error(
        "the SLA for metric '{metric}' and job '{job}' has no objective: add it again with one (e.g. objective 99.5)"
    )]
    NoObjective { metric: String, job: String },
    #[error(transparent)]
    TooMany(#[from] TooManySlas),
    #[error(transparent)]
    Forecast(#[from] ForecastError),
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

#[derive(Clone)]
pub struct SlaService {
    // Visible to `chart_data`, which gathers a chart's data through them.
    pub(super) store: Store,
    pub(super) source: Arc<dyn MetricSource>,
    syntax: MetricSyntax,
    pub(super) eval_interval: Duration,
    /// Told about burn-rate alerts (`ADMIN_CHAT_IDS`).
    admin_chats: Vec<i64>,
}

impl SlaService {
    pub fn new(
        store: Store,
        source: Arc<dyn MetricSource>,
        syntax: MetricSyntax,
        eval_interval: Duration,
    ) -> Self {
        Self {
            store,
            source,
            syntax,
            eval_interval,
            admin_chats: Vec::new(),
        }
    }

    /// Chats the evaluator tells about burn-rate alerts.
    pub fn with_admin_chats(mut self, chats: Vec<i64>) -> Self {
        self.admin_chats = chats;
        self
    }

    /// Prometheus when `PROMETHEUS_URL` is set (PromQL allowed), else the
    /// process's own registry as job `METRICS_JOB` (plain names only).
    pub fn from_config(config: &Config, store: Store, metrics: &Metrics) -> Self {
        let (source, syntax): (Arc<dyn MetricSource>, _) = match &config.prometheus_url {
            Some(url) => (
                Arc::new(PrometheusSource::new(url.clone(), PROMETHEUS_TIMEOUT)),
                MetricSyntax::PromQl,
            ),
            None => (
                Arc::new(RegistrySource::new(
                    metrics.registry().clone(),
                    config.metrics_job.clone(),
                )),
                MetricSyntax::Name,
            ),
        };
        Self::new(store, source, syntax, config.sla_eval_interval)
            .with_admin_chats(config.admin_chat_ids.clone())
    }

    /// The background evaluator over the same store and source.
    pub fn evaluator(&self, metrics: Metrics, retention: Duration) -> Evaluator {
        Evaluator::new(
            self.store.clone(),
            Arc::clone(&self.source),
            metrics,
            retention,
        )
        .with_admin_chats(self.admin_chats.clone())
    }

    pub fn syntax(&self) -> MetricSyntax {
        self.syntax
    }

    pub fn parse_key(&self, metric: &str, job: &str) -> Result<SlaKey, SlaError> {
        Ok(SlaKey {
            metric: MetricName::parse(metric, self.syntax)?,
            job: JobName::parse(job)?,
        })
    }

    /// Every SLA with its live state, read concurrently.
    pub async fn list(&self) -> Result<Vec<SlaOverview>, SlaError> {
        let mut tasks = JoinSet::new();
        for (index, row) in self.store.slas().await?.into_iter().enumerate() {
            let sla = Sla::from_row(row)?;
            let source = Arc::clone(&self.source);
            tasks.spawn(async move {
                let state = read_state(source.as_ref(), &sla).await;
                (index, SlaOverview { sla, state })
            });
        }
        let mut out = Vec::with_capacity(tasks.len());
        while let Some(joined) = tasks.join_next().await {
            out.push(joined.map_err(|e| anyhow::anyhow!("an SLA read task failed: {e}"))?);
        }
        out.sort_by_key(|(index, _)| *index);
        Ok(out.into_iter().map(|(_, o)| o).collect())
    }

    pub async fn get(&self, key: &SlaKey) -> Result<Sla, SlaError> {
        let row = self
            .store
            .sla(key.metric.as_str(), key.job.as_str())
            .await?
            .ok_or_else(|| unknown(key))?;
        Ok(Sla::from_row(row)?)
    }

    /// Adds the SLA or, when it exists, sets its range (no objective).
    pub async fn add(&self, key: &SlaKey, range: MetricRange) -> Result<SlaUpsert, SlaError> {
        self.define(key, range, None).await
    }

    /// Adds the SLA or, when it exists, replaces its range and objective:
    /// an add states the whole SLA, so one without an objective drops it.
    pub async fn define(
        &self,
        key: &SlaKey,
        range: MetricRange,
        objective: Option<Objective>,
    ) -> Result<SlaUpsert, SlaError> {
        let stored = objective.map(|o| StoredObjective {
            percent: o.percent(),
            window_ms: i64::try_from(o.window().as_millis()).unwrap_or(i64::MAX),
        });
        let outcome = self
            .store
            .upsert_sla_with_objective(
                key.metric.as_str(),
                key.job.as_str(),
                range.max(),
                range.min(),
                stored,
                Utc::now().timestamp_millis(),
            )
            .await
            .map_err(|e| match e.downcast::<TooManySlas>() {
                Ok(full) => SlaError::TooMany(full),
                Err(e) => SlaError::Internal(e),
            })?;
        let objective = objective.map(|o| o.percent());
        tracing::info!(metric = %key.metric, job = %key.job, %range, ?objective, ?outcome, "SLA saved");
        Ok(outcome)
    }

    /// The SLA's error budget and burn rates at `now` (its stored
    /// evaluations), with the burn-rate rules firing (`(rule, since_ms)`).
    pub async fn budget(
        &self,
        key: &SlaKey,
        now: DateTime<Utc>,
    ) -> Result<(Sla, Budget, Vec<(String, i64)>), SlaError> {
        let sla = self.get(key).await?;
        let Some(objective) = sla.objective else {
            return Err(SlaError::NoObjective {
                metric: key.metric.to_string(),
                job: key.job.to_string(),
            });
        };
        let budget = budget_at(&self.store, sla.id, objective, now.timestamp_millis()).await?;
        let firing = self.store.sla_burn_alerts(sla.id).await?;
        Ok((sla, budget, firing))
    }

    /// `false`: there was no such SLA.
    pub async fn remove(&self, key: &SlaKey) -> Result<bool, SlaError> {
        let removed = self
            .store
            .remove_sla(key.metric.as_str(), key.job.as_str())
            .await?;
        if removed {
            tracing::info!(metric = %key.metric, job = %key.job, "SLA removed");
        }
        Ok(removed)
    }

    /// The metric's value now, read from the source, judged against the SLA.
    pub async fn current_state(&self, key: &SlaKey) -> Result<(Sla, SlaState), SlaError> {
        let sla = self.get(key).await?;
        let state = read_state(self.source.as_ref(), &sla).await?;
        Ok((sla, state))
    }

    /// Stored violations in the last 1, 3 and 6 hours before `now`.
    pub async fn past_violations(
        &self,
        key: &SlaKey,
        now: DateTime<Utc>,
    ) -> Result<(Sla, ViolationCounts), SlaError> {
        let sla = self.get(key).await?;
        let now_ms = now.timestamp_millis();
        let hours = |h: i64| now_ms - h * 3_600_000;
        let counts = self
            .store
            .sla_violation_counts(sla.id, &[hours(1), hours(3), hours(6)], now_ms)
            .await?;
        let counts = ViolationCounts {
            last_hour: counts[0],
            last_3_hours: counts[1],
            last_6_hours: counts[2],
        };
        Ok((sla, counts))
    }

    /// P(the metric leaves the SLA's range within `horizon`); `desired_max`
    /// replaces the maximum for a "what if". Returns the range used.
    pub async fn forecast(
        &self,
        key: &SlaKey,
        horizon: Horizon,
        desired_max: Option<f64>,
        now: DateTime<Utc>,
    ) -> Result<(Sla, MetricRange, Prevision), SlaError> {
        let sla = self.get(key).await?;
        let range = match desired_max {
            Some(max) => sla.range.with_max(max)?,
            None => sla.range,
        };
        let history = self.history(&sla, now).await?;
        // Fitting is CPU work: keep it off the async workers.
        let prevision = tokio::task::spawn_blocking(move || {
            forecast::exit_probability(&history, &range, horizon.duration())
        })
        .await
        .map_err(|e| anyhow::anyhow!("the forecast task failed: {e}"))??;
        Ok((sla, range, prevision))
    }

    /// The source's own history when it has enough, else the stored samples.
    pub(super) async fn history(&self, sla: &Sla, now: DateTime<Utc>) -> Result<History, SlaError> {
        let end_ms = now.timestamp_millis();
        let start_ms = end_ms - FIT_WINDOW.as_millis() as i64;
        let finest = FIT_WINDOW / forecast::MAX_POINTS as u32;
        let step = self.eval_interval.max(finest);
        match self
            .source
            .history(&sla.metric, &sla.job, start_ms, end_ms, step)
            .await
        {
            Ok(Some(points)) if points.len() >= MIN_SAMPLES => return Ok(points),
            Ok(_) => {}
            Err(err) => tracing::warn!(
                sla = sla.id,
                error = %err,
                "history query failed; forecasting from stored samples"
            ),
        }
        Ok(self
            .store
            .sla_samples_since(sla.id, start_ms, MAX_STORED_POINTS)
            .await?)
    }
}

async fn read_state(source: &dyn MetricSource, sla: &Sla) -> Result<SlaState, SourceError> {
    Ok(match source.current(&sla.metric, &sla.job).await? {
        Reading::Value(value) => SlaState::Value {
            value,
            violation: sla.range.violation(value),
        },
        Reading::NoData => SlaState::NoData,
    })
}

fn unknown(key: &SlaKey) -> SlaError {
    SlaError::Unknown {
        metric: key.metric.to_string(),
        job: key.job.to_string(),
    }
}
