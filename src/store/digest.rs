//! The daily digest's reads and its one write: the chats that want a digest,
//! the places of a batch of chats, and "this chat's digest of this local day"
//! (its outbox row and `digest_last_day`) in one transaction.

use anyhow::Context;
use chrono::NaiveDate;

use super::Store;
use super::chat_settings::SettingsRow;
use crate::store::ChatSettings;

/// A reachable chat with a digest time, and what its digest needs.
#[derive(Debug, Clone, PartialEq)]
pub struct DigestChat {
    pub chat_id: i64,
    pub language: String,
    pub units: String,
    pub settings: ChatSettings,
}

#[derive(sqlx::FromRow)]
struct DigestChatRow {
    chat_id: i64,
    language: String,
    units: String,
    #[sqlx(flatten)]
    settings: SettingsRow,
}

/// An active subscription as a digest reports it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct DigestPlace {
    pub id: i64,
    pub chat_id: i64,
    pub city: String,
    pub country: String,
    pub latitude: f64,
    pub longitude: f64,
    pub t_min: Option<f64>,
    pub t_max: Option<f64>,
    pub rain: bool,
    pub snow: bool,
}

impl Store {
    /// Every reachable chat with a digest time, by chat id. Whether one is
    /// due depends on its zone, so the caller decides (`daily_due`).
    pub async fn digest_chats(&self) -> anyhow::Result<Vec<DigestChat>> {
        with_pool!(self, |pool| {
            let rows: Vec<DigestChatRow> = sqlx::query_as(
                "SELECT chat_id, language, units, timezone, quiet_start, quiet_end, quiet_hold,
                    digest_at, digest_last_day
             FROM chats WHERE digest_at IS NOT NULL AND active = TRUE
             ORDER BY chat_id",
            )
            .fetch_all(pool)
            .await
            .context("reading the chats with a digest")?;
            Ok(rows
                .into_iter()
                .map(|r| DigestChat {
                    chat_id: r.chat_id,
                    settings: r.settings.settings(r.chat_id),
                    language: r.language,
                    units: r.units,
                })
                .collect())
        })
    }

    /// The active subscriptions of `chats`, by chat then id.
    pub async fn digest_places(&self, chats: &[i64]) -> anyhow::Result<Vec<DigestPlace>> {
        with_pool!(self, |pool| {
            if chats.is_empty() {
                return Ok(Vec::new());
            }
            let ids = serde_json::to_string(chats).context("listing chat ids")?;
            let sql = format!(
                "SELECT id, chat_id, city, country, latitude, longitude, t_min, t_max, rain, snow
             FROM subscriptions
             WHERE active = TRUE AND chat_id IN ({})
             ORDER BY chat_id, id",
                pool.dialect().ids_in(1)
            );
            sqlx::query_as(&sql)
                .bind(ids)
                .fetch_all(pool)
                .await
                .context("reading the places of digests")
        })
    }

    /// Records the digest of local `day` for `chat_id`: its outbox row (kind
    /// `digest`, dedup key `digest:<chat>:<day>`, sent without sound when
    /// `silent`) and `digest_last_day`, in one transaction. `false` (nothing written) when that day's digest is
    /// already recorded, or the chat turned its digest off or became
    /// unreachable since it was read.
    pub async fn record_digest(
        &self,
        chat_id: i64,
        day: NaiveDate,
        text: &str,
        silent: bool,
        now_ms: i64,
    ) -> anyhow::Result<bool> {
        with_pool!(self, |pool| {
            let day_text = day.format("%Y-%m-%d").to_string();
            let mut tx = pool.begin_write().await.context("digest: begin")?;
            let claimed = sqlx::query(
                "UPDATE chats SET digest_last_day = $2
             WHERE chat_id = $1 AND digest_at IS NOT NULL AND active = TRUE
               AND (digest_last_day IS NULL OR digest_last_day < $2)",
            )
            .bind(chat_id)
            .bind(&day_text)
            .execute(&mut *tx)
            .await
            .context("marking a chat's digest day")?
            .rows_affected();
            if claimed == 0 {
                tx.rollback().await.context("digest: rollback")?;
                return Ok(false);
            }
            let inserted = sqlx::query(
            "INSERT INTO outbox (chat_id, kind, text, dedup_key, next_attempt_at_ms, created_at_ms,
                 silent)
             VALUES ($1, 'digest', $2, $3, $4, $4, $5)
             ON CONFLICT (dedup_key) DO NOTHING",
        )
        .bind(chat_id)
        .bind(text)
        .bind(format!("digest:{chat_id}:{day_text}"))
        .bind(now_ms)
        .bind(silent)
        .execute(&mut *tx)
        .await
        .context("enqueuing a digest")?
        .rows_affected();
            tx.commit().await.context("digest: commit")?;
            Ok(inserted == 1)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::LocalTime;
    use crate::store::test_support::temp_store;

    fn day(d: &str) -> NaiveDate {
        NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap()
    }

    #[tokio::test]
    async fn one_digest_per_chat_and_day() {
        let (store, _dir) = temp_store().await;
        store
            .set_digest(7, Some(LocalTime::parse("07:30").unwrap()))
            .await
            .unwrap();
        assert_eq!(store.digest_chats().await.unwrap().len(), 1);
        assert!(
            store
                .record_digest(7, day("2026-06-01"), "a", false, 1)
                .await
                .unwrap()
        );
        assert!(
            !store
                .record_digest(7, day("2026-06-01"), "b", false, 2)
                .await
                .unwrap()
        );
        // An earlier day never goes back.
        assert!(
            !store
                .record_digest(7, day("2026-05-31"), "c", false, 3)
                .await
                .unwrap()
        );
        assert!(
            store
                .record_digest(7, day("2026-06-02"), "d", true, 4)
                .await
                .unwrap()
        );
        let rows = store.outbox_rows().await.unwrap();
        let keys: Vec<&str> = rows.iter().map(|r| r.dedup_key.as_str()).collect();
        assert_eq!(keys, ["digest:7:2026-06-01", "digest:7:2026-06-02"]);
        assert!(rows.iter().all(|r| r.kind == "digest"));
        assert_eq!((rows[0].silent, rows[1].silent), (false, true));
        assert_eq!(
            store.chat_settings(7).await.unwrap().digest_last_day,
            Some(day("2026-06-02"))
        );
        // Off: no chat to report, nothing recorded.
        store.set_digest(7, None).await.unwrap();
        assert!(store.digest_chats().await.unwrap().is_empty());
        assert!(
            !store
                .record_digest(7, day("2026-06-03"), "e", false, 5)
                .await
                .unwrap()
        );
    }
}
