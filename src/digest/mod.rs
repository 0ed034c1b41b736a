//! The daily digest: `/digest 07:30` asks for one message a day, at that
//! local time in the chat's zone (UTC until one is known), with the day's
//! forecast for each of the chat's places (see [`compose`]).
//!
//! A worker steps every minute (supervised like the poller). Each step reads
//! the reachable chats with a digest time, keeps those `daily_due` says are
//! due (daylight-saving rules included: a time the spring change skips is
//! sent at the first valid minute after it, a repeated one once), and for at
//! most a batch of them composes the digest from the stored forecast series:
//! no upstream call while a place's series is fresh; a missing or stale one
//! is refreshed once through [`Forecasts::for_point`], which keeps the call
//! budget. Each digest is written with its chat's `digest_last_day` in one
//! transaction, so a chat gets exactly one per local day, across restarts;
//! then the notifier is woken. A chat that is down when its time comes gets
//! its digest when the worker runs again the same local day.
//!
//! A chat without active subscriptions gets a short "no places yet" digest
//! (it asked for one; the message says how to add a place or stop it).
//! Inactive chats (blocked the bot) get none. Inside the chat's quiet hours
//! a digest is neither held nor dropped (its time was chosen) but sent
//! without sound.

pub mod compose;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use tokio::sync::Notify;

use crate::clock::SharedClock;
use crate::domain::daily_due;
use crate::forecasts::{ForecastError, Forecasts};
use crate::metrics::Metrics;
use crate::shutdown::ShutdownListener;
use crate::store::{DigestChat, DigestPlace, Store};
use crate::text::{self, Language, Units};
use crate::weather::grid::Cell;
use crate::weather::{Coordinates, Series};
use compose::{Digest, Limits, PlaceDigest, PlaceForecast};

/// How the worker paces itself.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DigestSettings {
    /// Time between steps: a minute, so a digest goes out within a minute
    /// of its time.
    pub every: Duration,
    /// Digests composed per step at most; the rest wait for the next step.
    pub batch: usize,
    /// Places refreshed from upstream per step at most (each may take up to
    /// `WEATHER_TIMEOUT`); a chat that would need more waits for the next
    /// step.
    pub refreshes: usize,
}

impl Default for DigestSettings {
    fn default() -> Self {
        Self {
            every: Duration::from_secs(60),
            batch: 500,
            refreshes: 20,
        }
    }
}

/// What one step did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DigestReport {
    /// Chats whose digest was due.
    pub due: usize,
    /// Digests written to the outbox.
    pub written: usize,
    /// Due chats left for the next step (batch or refresh limit).
    pub deferred: usize,
    /// Places refreshed from upstream (attempts, failed ones included).
    pub refreshed: usize,
}

pub struct DigestWorker {
    store: Store,
    forecasts: Forecasts,
    metrics: Metrics,
    settings: DigestSettings,
    /// Pinged after digests were written, so the notifier starts at once.
    wake: Arc<Notify>,
    clock: SharedClock,
    /// Steps run only while this replica is the leader; `None`: always.
    leader: Option<crate::store::Leader>,
}

/// A place's series as this step got it.
type Got = Option<Arc<Series>>;

impl DigestWorker {
    pub fn new(store: Store, forecasts: Forecasts, metrics: Metrics, wake: Arc<Notify>) -> Self {
        Self {
            store,
            forecasts,
            metrics,
            settings: DigestSettings::default(),
            wake,
            clock: crate::clock::system(),
            leader: None,
        }
    }

    /// Steps only while this replica holds the leader lease (several
    /// replicas on one database; `crate::store::Leader`).
    pub fn with_leader(mut self, leader: crate::store::Leader) -> Self {
        self.leader = Some(leader);
        self
    }

    pub fn with_settings(mut self, settings: DigestSettings) -> Self {
        self.settings = settings;
        self
    }

    /// Runs [`Self::run`]'s steps at `clock`'s time.
    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    pub fn settings(&self) -> DigestSettings {
        self.settings
    }

    /// Steps every `settings.every` until shutdown; a failed step is logged
    /// and the next one runs on schedule (nothing was acknowledged).
    pub async fn run(self, shutdown: ShutdownListener) {
        let (leader, every) = (self.leader.as_ref(), self.settings.every);
        crate::store::every_as_leader(leader, shutdown, every, "digest step", || async {
            self.step(self.clock.now()).await.map(drop)
        })
        .await;
    }

    /// One step at `now`: every due digest, up to the batch.
    pub async fn step(&self, now: DateTime<Utc>) -> anyhow::Result<DigestReport> {
        let due: Vec<(DigestChat, NaiveDate)> = self
            .store
            .digest_chats()
            .await?
            .into_iter()
            .filter_map(|chat| {
                let at = chat.settings.digest_at?;
                let zone = chat.settings.zone_or_utc();
                let day = daily_due(now, zone, at, chat.settings.digest_last_day)?;
                Some((chat, day))
            })
            .collect();
        let mut report = DigestReport {
            due: due.len(),
            ..DigestReport::default()
        };
        if due.is_empty() {
            return Ok(report);
        }
        let batch = &due[..due.len().min(self.settings.batch)];
        let ids: Vec<i64> = batch.iter().map(|(c, _)| c.chat_id).collect();
        let mut places: HashMap<i64, Vec<DigestPlace>> = HashMap::new();
        for place in self.store.digest_places(&ids).await? {
            places.entry(place.chat_id).or_default().push(place);
        }
        let snapshot = self.forecasts.snapshot().await?;
        // Per cell, what this step uses: the stored series when fresh, else
        // the one refresh's outcome.
        let mut got: HashMap<Cell, Got> = HashMap::new();
        let mut refreshes_left = self.settings.refreshes;
        let mut attempted = 0;
        for (chat, day) in batch {
            let chat_places = places.remove(&chat.chat_id).unwrap_or_default();
            let mut wanted: Vec<(Cell, Coordinates)> = Vec::new();
            for place in &chat_places {
                let point = Coordinates {
                    latitude: place.latitude,
                    longitude: place.longitude,
                };
                let cell = self.forecasts.cell_of(point);
                if got.contains_key(&cell) || wanted.iter().any(|(c, _)| *c == cell) {
                    continue;
                }
                match snapshot.get(&cell) {
                    Some(series) if !self.forecasts.is_stale(series, now) => {
                        got.insert(cell, Some(Arc::clone(series)));
                    }
                    _ => wanted.push((cell, point)),
                }
            }
            // Over the step's refreshes: next step (chats whose places are
            // fresh still go now). The first chat of a step goes ahead
            // whatever it needs, so one with more places than the limit is
            // not put off forever.
            if wanted.len() > refreshes_left && attempted > 0 {
                continue;
            }
            attempted += 1;
            for (cell, point) in wanted {
                refreshes_left = refreshes_left.saturating_sub(1);
                report.refreshed += 1;
                let series = match self.forecasts.for_point(point, now).await {
                    Ok(fresh) => Some(fresh.series),
                    Err(ForecastError::Internal(e)) => return Err(e),
                    Err(e) => {
                        tracing::debug!(error = %e, "no forecast for a digest's place");
                        snapshot.get(&cell).cloned()
                    }
                };
                got.insert(cell, series);
            }
            let text = self.compose(chat, &chat_places, &got, now);
            // Quiet hours hold alerts or make them silent; a digest comes
            // at the time the chat chose, but without sound inside them.
            let zone = chat.settings.zone_or_utc();
            let silent = chat.settings.quiet.is_some_and(|q| q.contains(zone, now));
            if self
                .store
                .record_digest(chat.chat_id, *day, &text, silent, now.timestamp_millis())
                .await?
            {
                report.written += 1;
                self.metrics
                    .alerts_decided
                    .with_label_values(&["digest"])
                    .inc();
                // Each written row is acknowledged: the notifier may start.
                self.wake.notify_one();
            }
        }
        report.deferred = report.due - attempted;
        if report.written > 0 {
            tracing::info!(
                written = report.written,
                deferred = report.deferred,
                refreshed = report.refreshed,
                "digests written"
            );
        }
        Ok(report)
    }

    /// The digest text of one chat from the series this step got.
    fn compose(
        &self,
        chat: &DigestChat,
        places: &[DigestPlace],
        got: &HashMap<Cell, Got>,
        now: DateTime<Utc>,
    ) -> String {
        let zone = chat.settings.zone_or_utc();
        let window = compose::window(zone, now);
        // One section per place (city and cell), its subscriptions' limits
        // together, in the order the chat subscribed.
        let mut by_place: BTreeMap<(usize, String), (Cell, Vec<Limits>)> = BTreeMap::new();
        let mut order: HashMap<(String, Cell), usize> = HashMap::new();
        for place in places {
            let cell = self.forecasts.cell_of(Coordinates {
                latitude: place.latitude,
                longitude: place.longitude,
            });
            let label = text::place(&place.city, &place.country);
            let next = order.len();
            let rank = *order.entry((label.clone(), cell)).or_insert(next);
            by_place
                .entry((rank, label))
                .or_insert_with(|| (cell, Vec::new()))
                .1
                .push(Limits {
                    t_min: place.t_min,
                    t_max: place.t_max,
                    rain: place.rain,
                    snow: place.snow,
                });
        }
        let places = by_place
            .into_iter()
            .map(|((_, label), (cell, limits))| {
                let series = got.get(&cell).cloned().flatten();
                let forecast = series
                    .and_then(|series| {
                        let outlook = compose::outlook(&series, window.from, window.until)?;
                        let crossings = compose::crossings(&outlook, &limits);
                        let stale_for = self
                            .forecasts
                            .is_stale(&series, now)
                            .then(|| series.age(now));
                        Some(PlaceForecast::Known {
                            outlook,
                            crossings,
                            stale_for,
                        })
                    })
                    .unwrap_or(PlaceForecast::Unknown);
                PlaceDigest { label, forecast }
            })
            .collect();
        let digest = Digest {
            zone,
            window,
            places,
        };
        text::digest_text(
            &digest,
            Language::from_code(&chat.language),
            Units::from_code(&chat.units),
        )
    }
}
