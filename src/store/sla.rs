//! SLAs, their samples and violations. Times are unix milliseconds.

use anyhow::Context;

use super::Store;
use crate::domain::Bound;

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct SlaRow {
    pub id: i64,
    pub metric_name: String,
    pub job_name: String,
    pub max_value: f64,
    pub min_value: Option<f64>,
    /// Percentage of evaluations that must be inside the range, with its
    /// window; both `None` without an objective.
    pub objective: Option<f64>,
    pub slo_window_ms: Option<i64>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// What an add did to the stored SLA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlaUpsert {
    Added,
    Updated,
    /// The SLA existed with exactly this range: nothing written.
    Unchanged,
}

/// One evaluated value, with the bound it crossed if any.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SlaSample {
    pub sla_id: i64,
    pub at_ms: i64,
    pub value: f64,
    /// The bound crossed and its value at that time.
    pub violation: Option<(Bound, f64)>,
}

/// Rows deleted by a retention prune.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    pub samples: u64,
    pub violations: u64,
}

const COLUMNS: &str = "id, metric_name, job_name, max_value, min_value, objective, slo_window_ms,
     created_at_ms, updated_at_ms";

/// At most this many SLAs: each is read every evaluation (concurrently) and
/// labels its own gauge series, so their number must be bounded.
pub const MAX_SLAS: i64 = 200;

/// An add refused because [`MAX_SLAS`] SLAs exist.
#[derive(Debug, thiserror::Error)]
#[error("there are already {MAX_SLAS} SLAs, the most meteobot keeps: remove one first")]
pub struct TooManySlas;

/// An SLA's objective as stored: percent and window (ms).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StoredObjective {
    pub percent: f64,
    pub window_ms: i64,
}

impl Store {
    /// Adds the SLA without an objective, or sets its range (and drops its
    /// objective) when it exists: [`Self::upsert_sla_with_objective`].
    pub async fn upsert_sla(
        &self,
        metric: &str,
        job: &str,
        max: f64,
        min: Option<f64>,
        now_ms: i64,
    ) -> anyhow::Result<SlaUpsert> {
        self.upsert_sla_with_objective(metric, job, max, min, None, now_ms)
            .await
    }

    /// Adds the SLA, or replaces its range and objective when it exists (an
    /// add states the whole SLA). One write transaction: the read that
    /// decides the outcome and the write cannot be split by a concurrent add
    /// of the same SLA.
    pub async fn upsert_sla_with_objective(
        &self,
        metric: &str,
        job: &str,
        max: f64,
        min: Option<f64>,
        objective: Option<StoredObjective>,
        now_ms: i64,
    ) -> anyhow::Result<SlaUpsert> {
        let (percent, window_ms) = (objective.map(|o| o.percent), objective.map(|o| o.window_ms));
        with_pool!(self, |pool| {
            let mut tx = pool.begin_write().await.context("upsert SLA: begin")?;
            type Existing = (f64, Option<f64>, Option<f64>, Option<i64>);
            let existing: Option<Existing> = sqlx::query_as(
                "SELECT max_value, min_value, objective, slo_window_ms FROM slas
                 WHERE metric_name = $1 AND job_name = $2",
            )
            .bind(metric)
            .bind(job)
            .fetch_optional(&mut *tx)
            .await
            .context("reading an SLA")?;
            let outcome = match existing {
                Some(old) if old == (max, min, percent, window_ms) => {
                    return Ok(SlaUpsert::Unchanged);
                }
                Some(_) => {
                    sqlx::query(
                        "UPDATE slas SET max_value = $1, min_value = $2, objective = $3,
                         slo_window_ms = $4, updated_at_ms = $5
                         WHERE metric_name = $6 AND job_name = $7",
                    )
                    .bind(max)
                    .bind(min)
                    .bind(percent)
                    .bind(window_ms)
                    .bind(now_ms)
                    .bind(metric)
                    .bind(job)
                    .execute(&mut *tx)
                    .await
                    .context("updating an SLA")?;
                    SlaUpsert::Updated
                }
                None => {
                    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM slas")
                        .fetch_one(&mut *tx)
                        .await
                        .context("counting SLAs")?;
                    if count >= MAX_SLAS {
                        return Err(TooManySlas.into());
                    }
                    sqlx::query(
                        "INSERT INTO slas (metric_name, job_name, max_value, min_value, objective,
                         slo_window_ms, created_at_ms, updated_at_ms)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
                    )
                    .bind(metric)
                    .bind(job)
                    .bind(max)
                    .bind(min)
                    .bind(percent)
                    .bind(window_ms)
                    .bind(now_ms)
                    .execute(&mut *tx)
                    .await
                    .context("inserting an SLA")?;
                    SlaUpsert::Added
                }
            };
            tx.commit().await.context("upsert SLA: commit")?;
            Ok(outcome)
        })
    }

    /// Removes the SLA and (by cascade) its history. `false`: there was none.
    pub async fn remove_sla(&self, metric: &str, job: &str) -> anyhow::Result<bool> {
        with_pool!(self, |pool| {
            let done = sqlx::query("DELETE FROM slas WHERE metric_name = $1 AND job_name = $2")
                .bind(metric)
                .bind(job)
                .execute(pool)
                .await
                .context("removing an SLA")?;
            Ok(done.rows_affected() > 0)
        })
    }

    pub async fn sla(&self, metric: &str, job: &str) -> anyhow::Result<Option<SlaRow>> {
        with_pool!(self, |pool| {
            let sql =
                format!("SELECT {COLUMNS} FROM slas WHERE metric_name = $1 AND job_name = $2");
            sqlx::query_as::<_, SlaRow>(&sql)
                .bind(metric)
                .bind(job)
                .fetch_optional(pool)
                .await
                .context("reading an SLA")
        })
    }

    pub async fn slas(&self) -> anyhow::Result<Vec<SlaRow>> {
        with_pool!(self, |pool| {
            let sql = format!("SELECT {COLUMNS} FROM slas ORDER BY metric_name, job_name");
            sqlx::query_as::<_, SlaRow>(&sql)
                .fetch_all(pool)
                .await
                .context("listing SLAs")
        })
    }

    /// Stores one evaluation's samples and violations, then prunes history
    /// older than `prune_before_ms` of SLAs without an objective — one transaction, so a crash never keeps
    /// a violation without its sample. An evaluation is its `at_ms`: one
    /// already stored (another replica ran it) is kept as it is. A sample of an SLA removed meanwhile
    /// is skipped rather than failing the batch.
    pub async fn record_sla_samples(
        &self,
        samples: &[SlaSample],
        prune_before_ms: i64,
    ) -> anyhow::Result<Pruned> {
        with_pool!(self, |pool| {
            let mut tx = pool.begin_write().await.context("record samples: begin")?;
            for s in samples {
                sqlx::query(
                    "INSERT INTO sla_samples (sla_id, at_ms, value)
                 SELECT $1, $2, $3 WHERE EXISTS (SELECT 1 FROM slas WHERE id = $1)
                 ON CONFLICT (sla_id, at_ms) DO NOTHING",
                )
                .bind(s.sla_id)
                .bind(s.at_ms)
                .bind(s.value)
                .execute(&mut *tx)
                .await
                .context("inserting an SLA sample")?;
                if let Some((bound, bound_value)) = s.violation {
                    sqlx::query(
                        "INSERT INTO sla_violations (sla_id, at_ms, value, bound, bound_value)
                     SELECT $1, $2, $3, $4, $5 WHERE EXISTS (SELECT 1 FROM slas WHERE id = $1)
                     ON CONFLICT (sla_id, at_ms) DO NOTHING",
                    )
                    .bind(s.sla_id)
                    .bind(s.at_ms)
                    .bind(s.value)
                    .bind(bound.as_str())
                    .bind(bound_value)
                    .execute(&mut *tx)
                    .await
                    .context("inserting an SLA violation")?;
                }
            }
            // An SLA with an objective keeps its history for its own window
            // (`Store::prune_objective_history`).
            let mut deleted = [0; 2];
            for (table, count) in ["sla_samples", "sla_violations"].iter().zip(&mut deleted) {
                let sql = format!(
                    "DELETE FROM {table} WHERE at_ms < $1
                     AND sla_id NOT IN (SELECT id FROM slas WHERE objective IS NOT NULL)"
                );
                *count = sqlx::query(&sql)
                    .bind(prune_before_ms)
                    .execute(&mut *tx)
                    .await
                    .with_context(|| format!("pruning {table}"))?
                    .rows_affected();
            }
            let [samples, violations] = deleted;
            tx.commit().await.context("record samples: commit")?;
            Ok(Pruned {
                samples,
                violations,
            })
        })
    }

    /// `(at_ms, value)` of one SLA from `since_ms` on, oldest first, at most
    /// the `limit` most recent.
    pub async fn sla_samples_since(
        &self,
        sla_id: i64,
        since_ms: i64,
        limit: u32,
    ) -> anyhow::Result<Vec<(i64, f64)>> {
        with_pool!(self, |pool| {
            let mut rows: Vec<(i64, f64)> = sqlx::query_as(
                "SELECT at_ms, value FROM sla_samples WHERE sla_id = $1 AND at_ms >= $2
             ORDER BY at_ms DESC LIMIT $3",
            )
            .bind(sla_id)
            .bind(since_ms)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await
            .context("reading SLA samples")?;
            rows.reverse();
            Ok(rows)
        })
    }

    /// Violations of one SLA in `[from_ms, to_ms]`, for each `from_ms` given
    /// (each an indexed range count).
    pub async fn sla_violation_counts(
        &self,
        sla_id: i64,
        from_ms: &[i64],
        to_ms: i64,
    ) -> anyhow::Result<Vec<u64>> {
        with_pool!(self, |pool| {
            let mut counts = Vec::with_capacity(from_ms.len());
            for &from in from_ms {
                let n: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM sla_violations WHERE sla_id = $1 AND at_ms BETWEEN $2 AND $3",
            )
            .bind(sla_id)
            .bind(from)
            .bind(to_ms)
            .fetch_one(pool)
            .await
            .context("counting SLA violations")?;
                counts.push(u64::try_from(n).unwrap_or(0));
            }
            Ok(counts)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::temp_store;

    #[tokio::test]
    async fn upsert_reports_what_it_did() {
        let (store, _dir) = temp_store().await;
        let up = |max, min| store.upsert_sla("up", "meteobot", max, min, 1);
        assert_eq!(up(1.0, None).await.unwrap(), SlaUpsert::Added);
        assert_eq!(up(1.0, None).await.unwrap(), SlaUpsert::Unchanged);
        assert_eq!(up(1.0, Some(0.5)).await.unwrap(), SlaUpsert::Updated);
        assert_eq!(up(1.0, Some(0.5)).await.unwrap(), SlaUpsert::Unchanged);
        let row = store.sla("up", "meteobot").await.unwrap().unwrap();
        assert_eq!((row.max_value, row.min_value), (1.0, Some(0.5)));
        assert_eq!(store.slas().await.unwrap().len(), 1);
        assert!(store.remove_sla("up", "meteobot").await.unwrap());
        assert!(!store.remove_sla("up", "meteobot").await.unwrap());
    }

    #[tokio::test]
    async fn samples_violations_and_pruning() {
        let (store, _dir) = temp_store().await;
        store.upsert_sla("m", "j", 10.0, None, 0).await.unwrap();
        let id = store.sla("m", "j").await.unwrap().unwrap().id;
        let sample = |at_ms, value: f64| SlaSample {
            sla_id: id,
            at_ms,
            value,
            violation: (value > 10.0).then_some((Bound::Max, 10.0)),
        };
        let batch = [sample(100, 5.0), sample(200, 12.0), sample(300, 15.0)];
        store.record_sla_samples(&batch, 0).await.unwrap();
        assert_eq!(
            store.sla_samples_since(id, 150, 10).await.unwrap(),
            vec![(200, 12.0), (300, 15.0)]
        );
        assert_eq!(
            store.sla_samples_since(id, 0, 1).await.unwrap(),
            vec![(300, 15.0)]
        );
        assert_eq!(
            store
                .sla_violation_counts(id, &[250, 0], 300)
                .await
                .unwrap(),
            vec![1, 2]
        );
        let pruned = store.record_sla_samples(&[], 250).await.unwrap();
        assert_eq!(
            pruned,
            Pruned {
                samples: 2,
                violations: 1
            }
        );
        // A removed SLA's late sample is dropped, not an error.
        store.remove_sla("m", "j").await.unwrap();
        store
            .record_sla_samples(&[sample(400, 20.0)], 0)
            .await
            .unwrap();
        assert!(store.sla_samples_since(id, 0, 10).await.unwrap().is_empty());
    }

    /// Two replicas that both ran the evaluation of one interval (a leader
    /// handover) record it once: the first write of the key wins.
    #[tokio::test]
    async fn an_evaluation_recorded_twice_is_kept_once() {
        let (store, _dir) = temp_store().await;
        store.upsert_sla("m", "j", 10.0, None, 0).await.unwrap();
        let id = store.sla("m", "j").await.unwrap().unwrap().id;
        let sample = |value: f64| SlaSample {
            sla_id: id,
            at_ms: 60_000,
            value,
            violation: Some((Bound::Max, 10.0)),
        };
        store.record_sla_samples(&[sample(12.0)], 0).await.unwrap();
        store.record_sla_samples(&[sample(13.0)], 0).await.unwrap();
        assert_eq!(
            store.sla_samples_since(id, 0, 10).await.unwrap(),
            vec![(60_000, 12.0)]
        );
        assert_eq!(
            store.sla_violation_counts(id, &[0], 60_000).await.unwrap(),
            vec![1]
        );
    }
}
