//! What objectives need stored (issue 12): evaluations counted per window,
//! the burn-rate rules firing, and the long history an objective keeps.

use anyhow::Context;

use super::alerts::insert_messages;
use super::{NewMessage, Store};

/// Evaluations of one SLA in `(end − window, end]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EvaluationCounts {
    pub total: u64,
    pub bad: u64,
}

/// A rule that starts or stops firing, with the messages that say so.
#[derive(Debug, Clone, PartialEq)]
pub enum BurnChange {
    Started { rule: String, since_ms: i64 },
    Resolved { rule: String },
}

impl Store {
    /// Evaluations (samples) and bad ones (violations) of `sla_id` in each
    /// window `(end_ms − w, end_ms]`, `w` from `windows_ms`: two indexed
    /// range scans over the longest window, whatever the number of windows.
    pub async fn sla_evaluation_counts(
        &self,
        sla_id: i64,
        end_ms: i64,
        windows_ms: &[i64],
    ) -> anyhow::Result<Vec<EvaluationCounts>> {
        let Some(longest) = windows_ms.iter().copied().max() else {
            return Ok(Vec::new());
        };
        // One CASE per window; the bounds are bound, never formatted in.
        let sums: Vec<String> = (0..windows_ms.len())
            .map(|i| {
                format!(
                    "CAST(COALESCE(SUM(CASE WHEN at_ms > ${} THEN 1 ELSE 0 END), 0) AS BIGINT)",
                    i + 4
                )
            })
            .collect();
        let count = |table: &str| {
            format!(
                "SELECT {} FROM {table} WHERE sla_id = $1 AND at_ms > $2 AND at_ms <= $3",
                sums.join(", ")
            )
        };
        let (samples, violations) = (count("sla_samples"), count("sla_violations"));
        with_pool!(self, |pool| {
            let mut per_table = Vec::with_capacity(2);
            for sql in [&samples, &violations] {
                let mut query = sqlx::query(sql)
                    .bind(sla_id)
                    .bind(end_ms.saturating_sub(longest))
                    .bind(end_ms);
                for w in windows_ms {
                    query = query.bind(end_ms.saturating_sub(*w));
                }
                let row = query
                    .fetch_one(pool)
                    .await
                    .context("counting SLA evaluations")?;
                let values = (0..windows_ms.len())
                    .map(|i| {
                        let n: i64 = sqlx::Row::try_get(&row, i)?;
                        Ok(u64::try_from(n).unwrap_or(0))
                    })
                    .collect::<Result<Vec<u64>, sqlx::Error>>()
                    .context("reading SLA evaluation counts")?;
                per_table.push(values);
            }
            Ok(per_table[0]
                .iter()
                .zip(&per_table[1])
                .map(|(&total, &bad)| EvaluationCounts { total, bad })
                .collect())
        })
    }

    /// The rules stored as firing for `sla_id`: `(rule, since_ms)`.
    pub async fn sla_burn_alerts(&self, sla_id: i64) -> anyhow::Result<Vec<(String, i64)>> {
        with_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT rule, since_ms FROM sla_burn_alerts WHERE sla_id = $1 ORDER BY rule",
            )
            .bind(sla_id)
            .fetch_all(pool)
            .await
            .context("reading firing burn-rate rules")
        })
    }

    /// Applies what changed and enqueues the messages that tell it, in one
    /// write transaction: a start is told once (a second writer of the same
    /// start, another replica, finds the row and its dedup keys taken) and
    /// never without its row. Changes to an SLA removed meanwhile are
    /// dropped with their messages.
    pub async fn apply_burn_changes(
        &self,
        sla_id: i64,
        changes: &[BurnChange],
        messages: &[NewMessage],
        now_ms: i64,
    ) -> anyhow::Result<()> {
        if changes.is_empty() {
            return Ok(());
        }
        with_pool!(self, |pool| {
            let mut tx = pool.begin_write().await.context("burn alerts: begin")?;
            let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM slas WHERE id = $1")
                .bind(sla_id)
                .fetch_optional(&mut *tx)
                .await
                .context("burn alerts: reading the SLA")?;
            if exists.is_none() {
                return Ok(());
            }
            for change in changes {
                match change {
                    BurnChange::Started { rule, since_ms } => sqlx::query(
                        "INSERT INTO sla_burn_alerts (sla_id, rule, since_ms) VALUES ($1, $2, $3)
                         ON CONFLICT (sla_id, rule) DO NOTHING",
                    )
                    .bind(sla_id)
                    .bind(rule)
                    .bind(*since_ms),
                    BurnChange::Resolved { rule } => {
                        sqlx::query("DELETE FROM sla_burn_alerts WHERE sla_id = $1 AND rule = $2")
                            .bind(sla_id)
                            .bind(rule)
                    }
                }
                .execute(&mut *tx)
                .await
                .context("writing a burn-rate rule change")?;
            }
            if !messages.is_empty() {
                insert_messages(messages, now_ms)
                    .build()
                    .execute(&mut *tx)
                    .await
                    .context("enqueuing burn-rate messages")?;
            }
            tx.commit().await.context("burn alerts: commit")?;
            Ok(())
        })
    }

    /// Deletes the samples and violations of SLAs with an objective that
    /// are older than `keep_ms` before `now_ms` and older than the SLA's own
    /// window, returning how many rows went. Their history is exempt from
    /// the plain retention (`record_sla_samples`) so budgets see the whole
    /// window.
    pub async fn prune_objective_history(&self, now_ms: i64, keep_ms: i64) -> anyhow::Result<u64> {
        with_pool!(self, |pool| {
            let mut deleted = 0;
            for table in ["sla_samples", "sla_violations"] {
                let sql = format!(
                    "DELETE FROM {table} WHERE at_ms < $1 AND sla_id IN (
                         SELECT id FROM slas WHERE objective IS NOT NULL
                         AND {table}.at_ms < $2 - {}(slo_window_ms, $3))",
                    pool.dialect().greatest()
                );
                deleted += sqlx::query(&sql)
                    .bind(now_ms.saturating_sub(keep_ms))
                    .bind(now_ms)
                    .bind(keep_ms)
                    .execute(pool)
                    .await
                    .context("pruning objective history")?
                    .rows_affected();
            }
            Ok(deleted)
        })
    }
}

#[cfg(test)]
#[path = "slo_tests.rs"]
mod tests;
