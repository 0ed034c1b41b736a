//! What `/sla chart` reads: an SLA's samples averaged per time bucket (a
//! week at one sample a second is 600 000 rows; a chart draws ~800), and its
//! most recent violations. Times are unix milliseconds.

use anyhow::Context;

use super::Store;

impl Store {
    /// `(first at_ms, mean value)` per `bucket_ms` slice of `[from_ms, to_ms]`,
    /// oldest first. Integer division buckets the same on both engines.
    pub async fn sla_samples_bucketed(
        &self,
        sla_id: i64,
        from_ms: i64,
        to_ms: i64,
        bucket_ms: i64,
    ) -> anyhow::Result<Vec<(i64, f64)>> {
        let bucket_ms = bucket_ms.max(1);
        with_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT MIN(at_ms), AVG(value) FROM sla_samples
             WHERE sla_id = $1 AND at_ms BETWEEN $2 AND $3
             GROUP BY (at_ms - $2) / $4 ORDER BY 1",
            )
            .bind(sla_id)
            .bind(from_ms)
            .bind(to_ms)
            .bind(bucket_ms)
            .fetch_all(pool)
            .await
            .context("reading SLA samples for a chart")
        })
    }

    /// `(at_ms, value)` of the SLA's violations in `[from_ms, to_ms]`, oldest
    /// first, at most the `limit` most recent.
    pub async fn sla_violations_between(
        &self,
        sla_id: i64,
        from_ms: i64,
        to_ms: i64,
        limit: u32,
    ) -> anyhow::Result<Vec<(i64, f64)>> {
        with_pool!(self, |pool| {
            let mut rows: Vec<(i64, f64)> = sqlx::query_as(
                "SELECT at_ms, value FROM sla_violations
             WHERE sla_id = $1 AND at_ms BETWEEN $2 AND $3
             ORDER BY at_ms DESC LIMIT $4",
            )
            .bind(sla_id)
            .bind(from_ms)
            .bind(to_ms)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await
            .context("reading SLA violations for a chart")?;
            rows.reverse();
            Ok(rows)
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::Bound;
    use crate::store::SlaSample;
    use crate::store::test_support::temp_store;

    #[tokio::test]
    async fn buckets_average_and_violations_are_the_latest() {
        let (store, _dir) = temp_store().await;
        store.upsert_sla("m", "j", 10.0, None, 0).await.unwrap();
        let id = store.sla("m", "j").await.unwrap().unwrap().id;
        // Samples 0..=9 at 0, 100, …, 900 ms; values above 6 violate.
        let batch: Vec<SlaSample> = (0..10)
            .map(|i| SlaSample {
                sla_id: id,
                at_ms: i * 100,
                value: i as f64,
                violation: (i > 6).then_some((Bound::Max, 6.0)),
            })
            .collect();
        store.record_sla_samples(&batch, 0).await.unwrap();
        assert_eq!(
            store.sla_samples_bucketed(id, 100, 800, 300).await.unwrap(),
            vec![(100, 2.0), (400, 5.0), (700, 7.5)]
        );
        assert!(
            store
                .sla_samples_bucketed(id, 1_000, 2_000, 300)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            store.sla_violations_between(id, 0, 900, 2).await.unwrap(),
            vec![(800, 8.0), (900, 9.0)]
        );
        assert_eq!(
            store.sla_violations_between(id, 0, 750, 10).await.unwrap(),
            vec![(700, 7.0)]
        );
    }
}
