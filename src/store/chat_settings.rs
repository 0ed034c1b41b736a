//! A chat's time zone, quiet hours and digest time, and snoozed
//! subscriptions (issue 10). Values are parsed at the edge (domain types);
//! a stored value this build cannot read is treated as unset and logged.

use anyhow::Context;
use chrono::NaiveDate;

use super::{Store, now_unix};
use crate::domain::{ChatZone, LocalTime, QuietHours, QuietMode};

/// What a chat chose; `None` is "not set".
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChatSettings {
    pub zone: Option<ChatZone>,
    pub quiet: Option<QuietHours>,
    pub digest_at: Option<LocalTime>,
    /// The local day of the last digest.
    pub digest_last_day: Option<NaiveDate>,
}

impl ChatSettings {
    /// The chat's zone, UTC until one is known.
    pub fn zone_or_utc(&self) -> ChatZone {
        self.zone.unwrap_or(ChatZone::UTC)
    }
}

/// The columns of `chats` read into [`ChatSettings`].
#[derive(sqlx::FromRow)]
pub(crate) struct SettingsRow {
    pub timezone: Option<String>,
    pub quiet_start: Option<i64>,
    pub quiet_end: Option<i64>,
    pub quiet_hold: bool,
    pub digest_at: Option<i64>,
    pub digest_last_day: Option<String>,
}

impl SettingsRow {
    pub(crate) fn settings(&self, chat_id: i64) -> ChatSettings {
        let zone = self.timezone.as_deref().and_then(|name| {
            ChatZone::parse(name)
                .inspect_err(|e| tracing::warn!(chat_id, error = e, "stored time zone ignored"))
                .ok()
        });
        let minutes = |m: Option<i64>| {
            m.and_then(|m| u16::try_from(m).ok())
                .and_then(LocalTime::from_minutes)
        };
        let quiet = match (minutes(self.quiet_start), minutes(self.quiet_end)) {
            (Some(start), Some(end)) if start != end => Some(QuietHours {
                start,
                end,
                mode: if self.quiet_hold {
                    QuietMode::Hold
                } else {
                    QuietMode::Silent
                },
            }),
            _ => None,
        };
        ChatSettings {
            zone,
            quiet,
            digest_at: minutes(self.digest_at),
            digest_last_day: self
                .digest_last_day
                .as_deref()
                .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()),
        }
    }
}

/// Which subscriptions a snooze applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnoozeTarget {
    One(i64),
    All,
}

impl Store {
    /// The chat's settings (all unset for a chat never seen).
    pub async fn chat_settings(&self, chat_id: i64) -> anyhow::Result<ChatSettings> {
        with_pool!(self, |pool| {
            let row: Option<SettingsRow> = sqlx::query_as(
                "SELECT timezone, quiet_start, quiet_end, quiet_hold, digest_at, digest_last_day
             FROM chats WHERE chat_id = $1",
            )
            .bind(chat_id)
            .fetch_optional(pool)
            .await
            .context("reading a chat's settings")?;
            Ok(row.map(|r| r.settings(chat_id)).unwrap_or_default())
        })
    }

    /// `/timezone`: sets the chat's zone.
    pub async fn set_chat_timezone(&self, chat_id: i64, zone: ChatZone) -> anyhow::Result<()> {
        with_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO chats (chat_id, timezone, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (chat_id) DO UPDATE SET timezone = $2, updated_at = $3",
            )
            .bind(chat_id)
            .bind(zone.name())
            .bind(now_unix())
            .execute(pool)
            .await
            .context("setting a chat's time zone")?;
            Ok(())
        })
    }

    /// The zone of the chat's first subscribed place: set only when the
    /// chat has none yet. `true` when it was set.
    pub async fn adopt_chat_timezone(&self, chat_id: i64, zone: ChatZone) -> anyhow::Result<bool> {
        with_pool!(self, |pool| {
            let done = sqlx::query(
                "INSERT INTO chats (chat_id, timezone, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (chat_id) DO UPDATE SET timezone = $2, updated_at = $3
             WHERE chats.timezone IS NULL",
            )
            .bind(chat_id)
            .bind(zone.name())
            .bind(now_unix())
            .execute(pool)
            .await
            .context("adopting a place's time zone")?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// `/quiet`: sets or (with `None`) clears the quiet hours.
    pub async fn set_quiet_hours(
        &self,
        chat_id: i64,
        quiet: Option<QuietHours>,
    ) -> anyhow::Result<()> {
        with_pool!(self, |pool| {
            let (start, end, hold) = match quiet {
                Some(q) => (
                    Some(i64::from(q.start.minutes())),
                    Some(i64::from(q.end.minutes())),
                    q.mode == QuietMode::Hold,
                ),
                None => (None, None, false),
            };
            sqlx::query(
                "INSERT INTO chats (chat_id, quiet_start, quiet_end, quiet_hold, updated_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (chat_id) DO UPDATE SET quiet_start = $2, quiet_end = $3,
                 quiet_hold = $4, updated_at = $5",
            )
            .bind(chat_id)
            .bind(start)
            .bind(end)
            .bind(hold)
            .bind(now_unix())
            .execute(pool)
            .await
            .context("setting a chat's quiet hours")?;
            Ok(())
        })
    }

    /// `/digest`: sets or (with `None`) clears the digest time. The last
    /// sent day is kept, so turning it off and on again the same day sends
    /// no second digest.
    pub async fn set_digest(&self, chat_id: i64, at: Option<LocalTime>) -> anyhow::Result<()> {
        with_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO chats (chat_id, digest_at, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (chat_id) DO UPDATE SET digest_at = $2, updated_at = $3",
            )
            .bind(chat_id)
            .bind(at.map(|t| i64::from(t.minutes())))
            .bind(now_unix())
            .execute(pool)
            .await
            .context("setting a chat's digest time")?;
            Ok(())
        })
    }

    /// Snoozes (`until` unix s) or wakes (`None`) the chat's subscriptions
    /// `target`; how many it changed (0: none of the chat's).
    pub async fn snooze(
        &self,
        chat_id: i64,
        target: SnoozeTarget,
        until: Option<i64>,
    ) -> anyhow::Result<u64> {
        with_pool!(self, |pool| {
            let query = match target {
                SnoozeTarget::One(id) => sqlx::query(
                    "UPDATE subscriptions SET snoozed_until = $1 WHERE chat_id = $2 AND id = $3",
                )
                .bind(until)
                .bind(chat_id)
                .bind(id),
                SnoozeTarget::All => {
                    sqlx::query("UPDATE subscriptions SET snoozed_until = $1 WHERE chat_id = $2")
                        .bind(until)
                        .bind(chat_id)
                }
            };
            let done = query
                .execute(pool)
                .await
                .context("snoozing subscriptions")?;
            Ok(done.rows_affected())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::temp_store;

    #[tokio::test]
    async fn settings_round_trip_and_start_unset() {
        let (store, _dir) = temp_store().await;
        assert_eq!(
            store.chat_settings(5).await.unwrap(),
            ChatSettings::default()
        );
        let rome = ChatZone::parse("Europe/Rome").unwrap();
        assert!(store.adopt_chat_timezone(5, rome).await.unwrap());
        // The first place's zone sticks; /timezone overrides it.
        let ny = ChatZone::parse("America/New_York").unwrap();
        assert!(!store.adopt_chat_timezone(5, ny).await.unwrap());
        assert_eq!(store.chat_settings(5).await.unwrap().zone, Some(rome));
        store.set_chat_timezone(5, ny).await.unwrap();
        let quiet = QuietHours::parse("22:00-07:00 hold").unwrap();
        store.set_quiet_hours(5, Some(quiet)).await.unwrap();
        let at = LocalTime::parse("07:30").unwrap();
        store.set_digest(5, Some(at)).await.unwrap();
        let s = store.chat_settings(5).await.unwrap();
        assert_eq!(
            (s.zone, s.quiet, s.digest_at),
            (Some(ny), Some(quiet), Some(at))
        );
        store.set_quiet_hours(5, None).await.unwrap();
        store.set_digest(5, None).await.unwrap();
        let s = store.chat_settings(5).await.unwrap();
        assert_eq!((s.quiet, s.digest_at), (None, None));
    }
}
