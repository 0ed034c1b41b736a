//! The evaluator: every `SLA_EVAL_INTERVAL`, read each SLA's value, store the
//! sample, record a violation when it left its range, and prune history past
//! the retention window.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::task::JoinSet;

use super::Sla;
use super::burn::{BurnReport, BurnWatch};
use super::source::{MetricSource, Reading, SourceError};
use crate::clock::SharedClock;
use crate::metrics::Metrics;
use crate::shutdown::ShutdownListener;
use crate::store::{Pruned, SlaSample, Store};

/// What one evaluation did (for tests and logs).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct EvaluationReport {
    pub slas: usize,
    pub sampled: usize,
    pub no_data: usize,
    /// SLAs whose value could not be read (source down, garbage, bad query).
    pub failed: usize,
    pub violations: usize,
    pub pruned: Pruned,
    /// Objectives checked and burn-rate rules that started or resolved.
    pub burn: BurnReport,
}

pub struct Evaluator {
    store: Store,
    source: Arc<dyn MetricSource>,
    metrics: Metrics,
    retention: Duration,
    /// Each loop's evaluation time.
    clock: SharedClock,
    /// Evaluations run only while this replica is the leader; `None`: always.
    leader: Option<crate::store::Leader>,
    /// Budgets, burn rates and their alerts of SLAs with an objective.
    burn: BurnWatch,
}

impl Evaluator {
    pub fn new(
        store: Store,
        source: Arc<dyn MetricSource>,
        metrics: Metrics,
        retention: Duration,
    ) -> Self {
        Self {
            store,
            source,
            metrics,
            retention,
            clock: crate::clock::system(),
            leader: None,
            burn: BurnWatch::new(Vec::new()),
        }
    }

    /// Tells these chats when an objective's burn-rate rule starts firing
    /// and when it resolves (`ADMIN_CHAT_IDS`).
    pub fn with_admin_chats(mut self, chats: Vec<i64>) -> Self {
        self.burn = BurnWatch::new(chats);
        self
    }

    /// Steps only while this replica holds the leader lease (several
    /// replicas on one database; `crate::store::Leader`).
    pub fn with_leader(mut self, leader: crate::store::Leader) -> Self {
        self.leader = Some(leader);
        self
    }

    /// Evaluates [`Self::run`]'s cycles at `clock`'s time.
    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// One evaluation at `now`. A source failure costs only the SLAs
    /// concerned this one time; only a store failure is an error.
    pub async fn evaluate_once(&self, now: DateTime<Utc>) -> anyhow::Result<EvaluationReport> {
        let mut slas = Vec::new();
        for row in self.store.slas().await? {
            match Sla::from_row(row) {
                Ok(sla) => slas.push(sla),
                Err(e) => tracing::error!(error = format!("{e:#}"), "skipping a broken SLA"),
            }
        }
        let mut report = EvaluationReport {
            slas: slas.len(),
            ..EvaluationReport::default()
        };
        let at_ms = now.timestamp_millis();
        let mut samples = Vec::new();
        let with_objective: Vec<Sla> = slas
            .iter()
            .filter(|s| s.objective.is_some())
            .cloned()
            .collect();
        for (sla, reading) in self.read_all(slas).await {
            match reading {
                Ok(Reading::Value(value)) => {
                    let violation = sla
                        .range
                        .violation(value)
                        .and_then(|b| sla.range.bound_value(b).map(|v| (b, v)));
                    if let Some((bound, limit)) = violation {
                        report.violations += 1;
                        tracing::info!(sla = sla.id, metric = %sla.metric, job = %sla.job,
                            value, bound = bound.as_str(), limit, "SLA violated");
                    }
                    samples.push(SlaSample {
                        sla_id: sla.id,
                        at_ms,
                        value,
                        violation,
                    });
                }
                Ok(Reading::NoData) => report.no_data += 1,
                Err(err) => {
                    report.failed += 1;
                    self.metrics.sla_evaluation_errors.inc();
                    log_failure(self.source.name(), &sla, &err);
                }
            }
        }
        report.sampled = samples.len();
        let retention_ms = i64::try_from(self.retention.as_millis()).unwrap_or(i64::MAX);
        report.pruned = self
            .store
            .record_sla_samples(&samples, at_ms.saturating_sub(retention_ms))
            .await?;
        self.metrics.sla_violations.inc_by(report.violations as u64);
        report.burn = self
            .burn
            .check(
                &self.store,
                &self.metrics,
                &with_objective,
                at_ms,
                self.retention,
            )
            .await?;
        tracing::debug!(
            slas = report.slas,
            sampled = report.sampled,
            no_data = report.no_data,
            failed = report.failed,
            violations = report.violations,
            "SLA evaluation done"
        );
        Ok(report)
    }

    /// Reads every SLA concurrently: one slow query must not push the others
    /// past the next tick.
    async fn read_all(&self, slas: Vec<Sla>) -> Vec<(Sla, Result<Reading, SourceError>)> {
        let mut tasks = JoinSet::new();
        for sla in slas {
            let source = Arc::clone(&self.source);
            tasks.spawn(async move {
                let reading = source.current(&sla.metric, &sla.job).await;
                (sla, reading)
            });
        }
        let mut out = Vec::with_capacity(tasks.len());
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok(pair) => out.push(pair),
                Err(e) => tracing::error!(error = %e, "an SLA read task failed"),
            }
        }
        out
    }

    /// Evaluates every `interval` until shutdown; a failed evaluation is
    /// logged and the next one runs on schedule. Each evaluation is stamped
    /// with the start of its interval ([`evaluation_time`]), so two replicas
    /// that both evaluate during a leader handover write the same key and the
    /// store keeps the first (once per evaluation, whoever runs it).
    pub async fn run(self, interval: Duration, shutdown: ShutdownListener) {
        let leader = self.leader.as_ref();
        crate::store::every_as_leader(leader, shutdown, interval, "SLA evaluation", || {
            // Every tick, leader or not: a replica that lost the lease drops
            // its budget gauges, so only the leader's values are exposed.
            if leader.is_some_and(|l| !l.holds()) {
                self.burn.forget_all(&self.metrics);
            }
            async {
                let at = evaluation_time(self.clock.now(), interval);
                self.evaluate_once(at).await.map(drop)
            }
        })
        .await;
    }
}

/// `now` rounded down to a multiple of `interval` since the epoch: the
/// evaluation's key in `sla_samples` and `sla_violations`.
pub fn evaluation_time(now: DateTime<Utc>, interval: Duration) -> DateTime<Utc> {
    let step = i64::try_from(interval.as_millis())
        .unwrap_or(i64::MAX)
        .max(1);
    let ms = now.timestamp_millis();
    DateTime::from_timestamp_millis(ms - ms.rem_euclid(step)).unwrap_or(now)
}

fn log_failure(source: &str, sla: &Sla, err: &SourceError) {
    tracing::warn!(
        source,
        sla = sla.id,
        metric = %sla.metric,
        job = %sla.job,
        kind = err.kind(),
        error = %err,
        "reading an SLA metric failed; it skips this evaluation"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_evaluation_is_keyed_by_the_start_of_its_interval() {
        let at = |ms| DateTime::from_timestamp_millis(ms).unwrap();
        let minute = Duration::from_secs(60);
        assert_eq!(evaluation_time(at(120_000), minute), at(120_000));
        assert_eq!(evaluation_time(at(179_999), minute), at(120_000));
        // Two replicas a few seconds apart in one interval: one key.
        assert_eq!(
            evaluation_time(at(1_795_798_405_325), minute),
            evaluation_time(at(1_795_798_431_002), minute)
        );
        assert_eq!(evaluation_time(at(5), Duration::ZERO), at(5));
    }
}
