//! Stored forecast series (one per grid cell, as JSON the weather module
//! writes and reads), the weighted upstream calls spent, and the provider's
//! rate-limit hold. The store does not interpret a series.

use anyhow::Context;
use sqlx::QueryBuilder;

use super::Store;

/// One stored series row.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct SeriesRow {
    pub lat_e4: i64,
    pub lon_e4: i64,
    pub fetched_at_ms: i64,
    pub series: String,
}

/// Weighted calls spent since each window start (see `weather_usage`).
#[derive(Debug, Clone, Copy, Default, PartialEq, sqlx::FromRow)]
pub struct Spent {
    pub minute: f64,
    pub hour: f64,
    pub day: f64,
}

/// Settings key of the "no upstream call before" instant (unix ms).
const HOLD_KEY: &str = "weather_hold_until_ms";
/// Rows per multi-row statement (4 columns).
const BATCH: usize = 5000;

impl Store {
    /// Every stored series.
    pub async fn all_series(&self) -> anyhow::Result<Vec<SeriesRow>> {
        with_pool!(self, |pool| {
            sqlx::query_as::<_, SeriesRow>(
                "SELECT lat_e4, lon_e4, fetched_at_ms, series FROM forecast_series",
            )
            .fetch_all(pool)
            .await
            .context("reading forecast series")
        })
    }

    /// One cell's series, if stored.
    pub async fn series_of(&self, lat_e4: i64, lon_e4: i64) -> anyhow::Result<Option<SeriesRow>> {
        with_pool!(self, |pool| {
            sqlx::query_as::<_, SeriesRow>(
                "SELECT lat_e4, lon_e4, fetched_at_ms, series FROM forecast_series
             WHERE lat_e4 = $1 AND lon_e4 = $2",
            )
            .bind(lat_e4)
            .bind(lon_e4)
            .fetch_optional(pool)
            .await
            .context("reading a forecast series")
        })
    }

    /// Stores (replacing) these series in one transaction.
    pub async fn save_series(&self, rows: &[SeriesRow]) -> anyhow::Result<()> {
        with_pool!(self, |pool| {
            if rows.is_empty() {
                return Ok(());
            }
            let mut tx = pool.begin_write().await.context("series: begin")?;
            for chunk in rows.chunks(BATCH) {
                let mut q = QueryBuilder::new(
                    "INSERT INTO forecast_series (lat_e4, lon_e4, fetched_at_ms, series) ",
                );
                q.push_values(chunk, |mut row, s| {
                    row.push_bind(s.lat_e4)
                        .push_bind(s.lon_e4)
                        .push_bind(s.fetched_at_ms)
                        .push_bind(s.series.as_str());
                });
                q.push(
                " ON CONFLICT (lat_e4, lon_e4) DO UPDATE SET fetched_at_ms = excluded.fetched_at_ms,
                  series = excluded.series",
            );
                q.build()
                    .execute(&mut *tx)
                    .await
                    .context("writing forecast series")?;
            }
            tx.commit().await.context("series: commit")
        })
    }

    /// Deletes series fetched before `before_ms` whose cell no active
    /// subscription uses any more (`in_use` lists the cells still watched).
    pub async fn prune_series(&self, in_use: &[(i64, i64)], before_ms: i64) -> anyhow::Result<u64> {
        with_pool!(self, |pool| {
            let stored: Vec<(i64, i64, i64)> =
                sqlx::query_as("SELECT lat_e4, lon_e4, fetched_at_ms FROM forecast_series")
                    .fetch_all(pool)
                    .await
                    .context("listing forecast series")?;
            let keep: std::collections::HashSet<(i64, i64)> = in_use.iter().copied().collect();
            let mut deleted = 0;
            for (lat, lon, at) in stored {
                if at < before_ms && !keep.contains(&(lat, lon)) {
                    deleted += sqlx::query(
                        "DELETE FROM forecast_series WHERE lat_e4 = $1 AND lon_e4 = $2",
                    )
                    .bind(lat)
                    .bind(lon)
                    .execute(pool)
                    .await
                    .context("pruning a forecast series")?
                    .rows_affected();
                }
            }
            Ok(deleted)
        })
    }

    /// Records weighted upstream calls made at `at_ms` (before the request
    /// goes out: a call that fails may still count upstream).
    pub async fn record_weather_calls(&self, at_ms: i64, weight: f64) -> anyhow::Result<()> {
        with_pool!(self, |pool| {
            sqlx::query("INSERT INTO weather_calls (at_ms, weight) VALUES ($1, $2)")
                .bind(at_ms)
                .bind(weight)
                .execute(pool)
                .await
                .context("recording weather calls")?;
            Ok(())
        })
    }

    /// Weighted calls spent since each of the three window starts (unix ms).
    pub async fn weather_spent(
        &self,
        minute_start_ms: i64,
        hour_start_ms: i64,
        day_start_ms: i64,
    ) -> anyhow::Result<Spent> {
        with_pool!(self, |pool| {
            sqlx::query_as::<_, Spent>(
                "SELECT COALESCE(SUM(CASE WHEN at_ms >= $1 THEN weight END), 0.0) AS minute,
                    COALESCE(SUM(CASE WHEN at_ms >= $2 THEN weight END), 0.0) AS hour,
                    COALESCE(SUM(weight), 0.0) AS day
             FROM weather_calls WHERE at_ms >= $3",
            )
            .bind(minute_start_ms)
            .bind(hour_start_ms)
            .bind(day_start_ms)
            .fetch_one(pool)
            .await
            .context("reading weather calls spent")
        })
    }

    /// Forgets calls older than `before_ms` (only today's count).
    pub async fn prune_weather_calls(&self, before_ms: i64) -> anyhow::Result<u64> {
        with_pool!(self, |pool| {
            let done = sqlx::query("DELETE FROM weather_calls WHERE at_ms < $1")
                .bind(before_ms)
                .execute(pool)
                .await
                .context("pruning weather calls")?;
            Ok(done.rows_affected())
        })
    }

    /// The provider's "not before" instant after a rate-limit answer.
    pub async fn weather_hold_until_ms(&self) -> anyhow::Result<Option<i64>> {
        Ok(self
            .setting(HOLD_KEY)
            .await?
            .and_then(|value| value.parse().ok()))
    }

    pub async fn set_weather_hold_until_ms(&self, until_ms: i64) -> anyhow::Result<()> {
        with_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO settings (key, value) VALUES ($1, $2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )
            .bind(HOLD_KEY)
            .bind(until_ms.to_string())
            .execute(pool)
            .await
            .context("writing the weather hold")?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::temp_store;

    fn row(lat: i64, at: i64, text: &str) -> SeriesRow {
        SeriesRow {
            lat_e4: lat,
            lon_e4: 125_000,
            fetched_at_ms: at,
            series: text.into(),
        }
    }

    #[tokio::test]
    async fn series_are_replaced_and_pruned_when_unused() {
        let (store, _dir) = temp_store().await;
        store
            .save_series(&[row(1, 10, "a"), row(2, 10, "b")])
            .await
            .unwrap();
        store.save_series(&[row(1, 20, "a2")]).await.unwrap();
        let mut all = store.all_series().await.unwrap();
        all.sort_by_key(|r| r.lat_e4);
        assert_eq!(all, vec![row(1, 20, "a2"), row(2, 10, "b")]);
        assert_eq!(
            store.series_of(2, 125_000).await.unwrap(),
            Some(row(2, 10, "b"))
        );
        assert_eq!(store.prune_series(&[(1, 125_000)], 100).await.unwrap(), 1);
        assert_eq!(store.all_series().await.unwrap(), vec![row(1, 20, "a2")]);
    }

    #[tokio::test]
    async fn calls_are_summed_per_window_and_the_hold_survives() {
        let (store, _dir) = temp_store().await;
        store.record_weather_calls(1_000, 100.0).await.unwrap();
        store.record_weather_calls(5_000, 20.0).await.unwrap();
        store.record_weather_calls(9_000, 1.5).await.unwrap();
        let spent = store.weather_spent(8_000, 4_000, 0).await.unwrap();
        assert_eq!(
            spent,
            Spent {
                minute: 1.5,
                hour: 21.5,
                day: 121.5
            }
        );
        assert_eq!(store.prune_weather_calls(4_000).await.unwrap(), 1);
        assert_eq!(store.weather_spent(0, 0, 0).await.unwrap().day, 21.5);
        assert_eq!(store.weather_hold_until_ms().await.unwrap(), None);
        store.set_weather_hold_until_ms(77).await.unwrap();
        store.set_weather_hold_until_ms(88).await.unwrap();
        assert_eq!(store.weather_hold_until_ms().await.unwrap(), Some(88));
    }
}
