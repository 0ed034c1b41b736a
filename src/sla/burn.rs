//! After each evaluation, for every SLA with an objective: its budget and
//! burn rates from the stored evaluations (`store::slo`), the gauges, and
//! one message to each admin chat when a burn-rate rule starts firing and
//! one when it resolves — never one per evaluation: the rules firing are
//! stored, and a message goes only with a change, in its transaction.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use super::Sla;
use super::slo::{BURN_WINDOWS, Budget, Counts, LONGEST_BURN_WINDOW, Objective, Rule, transitions};
use crate::metrics::Metrics;
use crate::store::{BurnChange, EvaluationCounts, NewMessage, Store};
use crate::text::slo as texts;

/// What one check did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct BurnReport {
    pub with_objective: usize,
    pub started: usize,
    pub resolved: usize,
}

/// The burn-rate watch of one evaluator: remembers which gauge series it
/// set, so an SLA removed (or whose objective was dropped) loses its series.
pub struct BurnWatch {
    admin_chats: Vec<i64>,
    shown: Mutex<HashSet<[String; 3]>>,
}

impl BurnWatch {
    pub fn new(admin_chats: Vec<i64>) -> Self {
        Self {
            admin_chats,
            shown: Mutex::new(HashSet::new()),
        }
    }

    /// Checks every SLA of `slas` that has an objective at `at_ms` (the
    /// evaluation's time), then prunes their history beyond what they need
    /// (`retention` at least: the plain retention still applies).
    pub async fn check(
        &self,
        store: &Store,
        metrics: &Metrics,
        slas: &[Sla],
        at_ms: i64,
        retention: Duration,
    ) -> anyhow::Result<BurnReport> {
        let mut report = BurnReport::default();
        let mut shown = HashSet::new();
        for sla in slas {
            let Some(objective) = sla.objective else {
                continue;
            };
            report.with_objective += 1;
            let budget = budget_at(store, sla.id, objective, at_ms).await?;
            shown.insert(show(metrics, sla, &budget));
            let stored = store.sla_burn_alerts(sla.id).await?;
            let t = transitions(&stored, &budget.firing());
            let mut changes = Vec::new();
            let mut messages = Vec::new();
            for rule in &t.started {
                changes.push(BurnChange::Started {
                    rule: rule.name.to_owned(),
                    since_ms: at_ms,
                });
                let text = texts::burn_started(sla, rule, &budget);
                messages.extend(self.to_admins(sla.id, rule, "start", at_ms, &text));
            }
            for (rule, since_ms) in &t.resolved {
                changes.push(BurnChange::Resolved {
                    rule: rule.name.to_owned(),
                });
                let text = texts::burn_resolved(sla, rule, &budget, *since_ms, at_ms);
                messages.extend(self.to_admins(sla.id, rule, "end", *since_ms, &text));
            }
            changes.extend(
                t.forgotten
                    .into_iter()
                    .map(|rule| BurnChange::Resolved { rule }),
            );
            store
                .apply_burn_changes(sla.id, &changes, &messages, at_ms)
                .await?;
            for rule in &t.started {
                tracing::warn!(sla = sla.id, metric = %sla.metric, job = %sla.job,
                    rule = rule.name, severity = rule.severity.as_str(), "SLO burn-rate rule firing");
            }
            for (rule, _) in &t.resolved {
                tracing::info!(
                    sla = sla.id,
                    rule = rule.name,
                    "SLO burn-rate rule resolved"
                );
            }
            report.started += t.started.len();
            report.resolved += t.resolved.len();
        }
        self.forget_gone(metrics, shown);
        let keep = retention.max(LONGEST_BURN_WINDOW);
        store
            .prune_objective_history(at_ms, i64::try_from(keep.as_millis()).unwrap_or(i64::MAX))
            .await?;
        Ok(report)
    }

    /// One message per admin chat; the dedup key names the SLA, the rule,
    /// the change and the firing's start, so a replica that repeats the
    /// same evaluation writes nothing new.
    fn to_admins(
        &self,
        sla: i64,
        rule: &Rule,
        change: &str,
        since_ms: i64,
        text: &str,
    ) -> Vec<NewMessage> {
        self.admin_chats
            .iter()
            .map(|chat| NewMessage {
                chat_id: *chat,
                kind: "notice",
                text: text.to_owned(),
                dedup_key: format!("slo:{sla}:{}:{change}:{since_ms}:{chat}", rule.name),
                ..NewMessage::default()
            })
            .collect()
    }

    /// Removes every gauge series this watch set (a replica that is no
    /// longer the leader: its values would go stale).
    pub fn forget_all(&self, metrics: &Metrics) {
        self.forget_gone(metrics, HashSet::new());
    }

    fn forget_gone(&self, metrics: &Metrics, now: HashSet<[String; 3]>) {
        let mut shown = self.shown.lock().unwrap_or_else(|e| e.into_inner());
        for gone in shown.difference(&now) {
            let labels: Vec<&str> = gone.iter().map(String::as_str).collect();
            let _ = metrics.sla_budget_remaining.remove_label_values(&labels);
            for w in &BURN_WINDOWS {
                let mut with_window = labels.clone();
                with_window.push(w.name);
                let _ = metrics.sla_burn_rate.remove_label_values(&with_window);
            }
        }
        *shown = now;
    }
}

/// The budget of one SLA at `at_ms`, from its stored evaluations.
pub async fn budget_at(
    store: &Store,
    sla_id: i64,
    objective: Objective,
    at_ms: i64,
) -> anyhow::Result<Budget> {
    let ms = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
    let mut windows: Vec<i64> = BURN_WINDOWS.iter().map(|w| ms(w.length)).collect();
    windows.push(ms(objective.window()));
    let counts = store.sla_evaluation_counts(sla_id, at_ms, &windows).await?;
    let counts: Vec<Counts> = counts.iter().map(to_counts).collect();
    let burn: [Counts; 7] = counts[..7]
        .try_into()
        .map_err(|_| anyhow::anyhow!("the store returned {} window counts", counts.len()))?;
    Ok(Budget::new(objective, counts[7], &burn))
}

fn to_counts(c: &EvaluationCounts) -> Counts {
    Counts {
        total: c.total,
        bad: c.bad,
    }
}

/// Sets the SLA's gauges; a window without evaluations has no series (an
/// absent value, not a made-up zero). Returns the SLA's label values.
fn show(metrics: &Metrics, sla: &Sla, budget: &Budget) -> [String; 3] {
    let labels = [
        sla.id.to_string(),
        sla.metric.to_string(),
        sla.job.to_string(),
    ];
    let base: Vec<&str> = labels.iter().map(String::as_str).collect();
    match budget.remaining_percent {
        Some(left) => metrics
            .sla_budget_remaining
            .with_label_values(&base)
            .set(left),
        None => {
            let _ = metrics.sla_budget_remaining.remove_label_values(&base);
        }
    }
    for (w, rate) in BURN_WINDOWS.iter().zip(budget.burn) {
        let mut with_window = base.clone();
        with_window.push(w.name);
        match rate {
            Some(rate) => metrics
                .sla_burn_rate
                .with_label_values(&with_window)
                .set(rate),
            None => {
                let _ = metrics.sla_burn_rate.remove_label_values(&with_window);
            }
        }
    }
    labels
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sla::{JobName, MetricName, MetricRange, MetricSyntax};
    use crate::store::test_support::temp_store;

    #[tokio::test]
    async fn a_replica_that_stops_leading_drops_its_gauges() {
        let (store, _dir) = temp_store().await;
        let objective = crate::store::StoredObjective {
            percent: 99.0,
            window_ms: 86_400_000,
        };
        store
            .upsert_sla_with_objective("up", "meteobot", 1.0, None, Some(objective), 0)
            .await
            .unwrap();
        let row = store.sla("up", "meteobot").await.unwrap().unwrap();
        let sla = Sla {
            id: row.id,
            metric: MetricName::parse("up", MetricSyntax::Name).unwrap(),
            job: JobName::parse("meteobot").unwrap(),
            range: MetricRange::new(1.0, None).unwrap(),
            objective: Some(Objective::new(99.0, Duration::from_secs(86_400)).unwrap()),
        };
        let sample = crate::store::SlaSample {
            sla_id: row.id,
            at_ms: 60_000,
            value: 0.5,
            violation: None,
        };
        store.record_sla_samples(&[sample], 0).await.unwrap();
        let (metrics, watch) = (Metrics::new(), BurnWatch::new(vec![1]));
        let retention = Duration::from_secs(3600);
        let report = watch
            .check(&store, &metrics, &[sla], 60_000, retention)
            .await
            .unwrap();
        assert_eq!(report.with_objective, 1);
        assert!(
            metrics
                .render()
                .contains("sla_error_budget_remaining_percent{")
        );
        assert_eq!(metrics.render().matches("sla_burn_rate{").count(), 7);
        watch.forget_all(&metrics);
        let text = metrics.render();
        assert!(
            !text.contains("sla_error_budget_remaining_percent{"),
            "{text}"
        );
        assert!(!text.contains("sla_burn_rate{"), "{text}");
    }
}
