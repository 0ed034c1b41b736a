//! What the provider allows: the calls spent per UTC window, and the holds
//! a rate-limit answer puts on refreshes (one episode told once).

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use crate::weather::QuotaWindow;
use crate::weather::budget::{self, Usage};

use super::{Forecasts, RateLimit};

impl Forecasts {
    /// Weighted calls spent in the current UTC minute, hour and day.
    pub async fn usage(&self, now: DateTime<Utc>) -> anyhow::Result<Usage> {
        let (minute, hour, day) = budget::window_starts_ms(now);
        let spent = self.inner.store.weather_spent(minute, hour, day).await?;
        Ok(Usage {
            minute: spent.minute,
            hour: spent.hour,
            day: spent.day,
        })
    }

    pub(super) async fn hold_until(&self) -> anyhow::Result<Option<DateTime<Utc>>> {
        Ok(self
            .inner
            .store
            .weather_hold_until_ms()
            .await?
            .and_then(DateTime::from_timestamp_millis))
    }

    /// Stops refreshes until the window named by a 429 ends (without one:
    /// `Retry-After`, else the next minute), and says whether this starts an
    /// episode.
    pub(super) async fn hold(
        &self,
        window: Option<QuotaWindow>,
        retry_after: Option<Duration>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<RateLimit> {
        let until = match (window, retry_after) {
            (Some(window), _) => budget::window_end(window, now),
            (None, Some(wait)) => now + TimeDelta::from_std(wait).unwrap_or(TimeDelta::hours(1)),
            (None, None) => budget::window_end(QuotaWindow::Minute, now),
        };
        self.inner
            .store
            .set_weather_hold_until_ms(until.timestamp_millis())
            .await?;
        let new_episode = {
            let mut limited = self.inner.limited.lock().expect("episode lock");
            !std::mem::replace(&mut *limited, true)
        };
        if new_episode {
            self.inner.metrics.weather_rate_limited.inc();
            tracing::warn!(provider = self.inner.provider.name(), ?window, until = %until,
                "the weather provider's rate limit was reached: refreshes stop until then, \
                 alerts go on from the stored series");
        }
        let limit = RateLimit {
            window,
            until,
            new_episode,
        };
        if new_episode {
            *self.inner.untold.lock().expect("episode lock") = Some(limit);
        }
        Ok(limit)
    }

    pub(super) fn end_episode(&self) {
        let mut limited = self.inner.limited.lock().expect("episode lock");
        if std::mem::replace(&mut *limited, false) {
            tracing::info!("weather refreshes work again after the rate limit");
        }
    }
}
