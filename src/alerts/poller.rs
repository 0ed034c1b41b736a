//! The poller: every `POLL_INTERVAL`, refresh the forecast series that are
//! due under the call budget, judge every subscription against the weather
//! *at now* interpolated from its cell's stored series, and write the changed
//! episodes with their messages in one transaction. A series older than
//! `WEATHER_MAX_AGE` decides nothing: its subscriptions keep their state.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::Notify;

use super::decide::DecideSettings;
use super::judge::{PollWrite, judge};
use super::quiet::{Held, HeldKind, HeldOf, summary};
use super::rules::Condition;
use super::state::Episode;
use crate::clock::SharedClock;
use crate::domain::ChatZone;
use crate::forecasts::{Forecasts, RateLimit};
use crate::metrics::Metrics;
use crate::shutdown::ShutdownListener;
use crate::store::{AlertWrite, EpisodeRow, HeldRow, NewMessage, Store, Watched};
use crate::text::{self, Language};
use crate::weather::grid::Cell;
use crate::weather::{Coordinates, Sample, Series};

/// What one cycle did (for tests, logs and the benchmark).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct PollReport {
    /// Where the time went: reading subscriptions, refreshing forecasts
    /// (upstream calls), deciding (with message texts), writing.
    pub read: Duration,
    pub fetch: Duration,
    pub decide: Duration,
    pub write: Duration,
    pub subscriptions: usize,
    /// Distinct grid cells in use.
    pub locations: usize,
    /// Cells refreshed from upstream this cycle, and those that failed.
    pub refreshed: usize,
    pub failed_locations: usize,
    /// Subscriptions not judged: no series, or one older than the max age.
    pub stale: usize,
    pub changes: usize,
    pub messages: usize,
    /// SQL statements of the cycle's reads and writes (forecast cache excluded).
    pub statements: usize,
}

/// The poller's settings.
#[derive(Debug, Clone)]
pub struct PollerSettings {
    pub remind_every: Duration,
    pub heads_up_probability: u8,
    /// Chats told once per episode when the weather provider rate-limits us.
    pub admin_chats: Vec<i64>,
}

pub struct Poller {
    store: Store,
    forecasts: Forecasts,
    metrics: Metrics,
    settings: PollerSettings,
    /// Pinged after messages were written, so the notifier starts at once.
    wake: Arc<Notify>,
    /// What is watched, kept between cycles (see [`Watching`]).
    watching: tokio::sync::Mutex<Option<Watching>>,
    /// Each loop's cycle time.
    clock: SharedClock,
    /// Cycles run only while this replica is the leader; `None`: always.
    leader: Option<crate::store::Leader>,
}

/// The subscriptions and episodes as of a `watch_generation`. Reading 100,000
/// subscriptions costs a few hundred milliseconds, so they are re-read only
/// when a subscription or chat changed; the episodes are written only by the
/// poller, so its own writes keep this copy true (a failed write drops it).
struct Watching {
    generation: i64,
    watched: Vec<Watched>,
    cell_of: Vec<Cell>,
    cells: Vec<Cell>,
    episodes: HashMap<(i64, Condition), Episode>,
}

/// The weather a cell's subscriptions are judged against.
struct Judgeable {
    series: Arc<Series>,
    sample: Sample,
}

impl Poller {
    pub fn new(
        store: Store,
        forecasts: Forecasts,
        metrics: Metrics,
        settings: PollerSettings,
        wake: Arc<Notify>,
    ) -> Self {
        Self {
            store,
            forecasts,
            metrics,
            settings,
            wake,
            watching: tokio::sync::Mutex::new(None),
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

    /// Runs [`Self::run`]'s cycles at `clock`'s time.
    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// The watched subscriptions, re-read when the generation moved. The
    /// generation is read first: a change racing the read moves it again.
    async fn watching<'a>(
        &self,
        slot: &'a mut Option<Watching>,
    ) -> anyhow::Result<(&'a mut Watching, usize)> {
        let generation = self.store.watch_generation().await?;
        let mut statements = 1;
        if slot.as_ref().is_none_or(|w| w.generation != generation) {
            let watched = self.store.watched_subscriptions().await?;
            let episodes = self.episodes().await?;
            statements += 2;
            let cell_of: Vec<Cell> = watched
                .iter()
                .map(|w| {
                    self.forecasts.cell_of(Coordinates {
                        latitude: w.latitude,
                        longitude: w.longitude,
                    })
                })
                .collect();
            let mut cells = cell_of.clone();
            cells.sort_unstable();
            cells.dedup();
            *slot = Some(Watching {
                generation,
                watched,
                cell_of,
                cells,
                episodes,
            });
        }
        Ok((slot.as_mut().expect("filled above"), statements))
    }

    /// One cycle at time `now`. A failed refresh costs only its cells'
    /// freshness; only a store failure is an error.
    pub async fn poll_once(&self, now: DateTime<Utc>) -> anyhow::Result<PollReport> {
        let started = Instant::now();
        let mut slot = self.watching.lock().await;
        let result = self.cycle(&mut slot, now, started).await;
        if result.is_err() {
            // A write may have failed half-way: trust only the store next time.
            *slot = None;
        }
        result
    }

    async fn cycle(
        &self,
        slot: &mut Option<Watching>,
        now: DateTime<Utc>,
        started: Instant,
    ) -> anyhow::Result<PollReport> {
        let (watching, read_statements) = self.watching(slot).await?;
        let Watching {
            watched,
            cell_of,
            cells,
            episodes,
            ..
        } = watching;
        let read = started.elapsed();

        let refresh = self.forecasts.refresh(cells, now).await?;
        let mut notices = Vec::new();
        if let Some(limit) = refresh.rate_limited.filter(|l| l.new_episode) {
            notices = self.rate_limit_notices(&limit, now);
        }
        let fetch = started.elapsed() - read;

        let snapshot = self.forecasts.snapshot().await?;
        let judgeable: HashMap<Cell, Judgeable> = cells
            .iter()
            .filter_map(|cell| {
                let series = snapshot.get(cell)?;
                if self.forecasts.is_stale(series, now) {
                    return None;
                }
                let sample = series.sample(now)?;
                Some((
                    *cell,
                    Judgeable {
                        series: Arc::clone(series),
                        sample,
                    },
                ))
            })
            .collect();
        let settings = DecideSettings {
            remind_every: self.settings.remind_every,
            heads_up_probability: self.settings.heads_up_probability,
        };
        let mut report = PollReport {
            subscriptions: watched.len(),
            locations: cells.len(),
            refreshed: refresh.fetched,
            failed_locations: refresh.failed,
            statements: read_statements,
            read,
            fetch,
            ..PollReport::default()
        };
        let mut out = PollWrite {
            messages: notices,
            ..PollWrite::default()
        };
        for (w, cell) in watched.iter().zip(cell_of.iter()) {
            let Some(j) = judgeable.get(cell) else {
                report.stale += 1;
                continue;
            };
            let previous = |c: Condition| episodes.get(&(w.id, c)).copied().unwrap_or_default();
            judge(w, &j.series, &j.sample, previous, now, settings, &mut out);
        }
        let PollWrite {
            changes,
            mut messages,
            held,
            woke,
            zones,
        } = out;
        let zones: Vec<(i64, String)> = zones.into_iter().map(|(chat, _, z)| (chat, z)).collect();
        report.decide = started.elapsed() - read - fetch;
        report.changes = changes.len();
        report.messages = messages.len();
        report.statements += self
            .store
            .apply_alert_changes(&AlertWrite {
                changes: &changes,
                messages: &messages,
                held: &held,
                woke: &woke,
                zones: &zones,
                now_ms: now.timestamp_millis(),
            })
            .await?;
        // Committed: the kept copy follows.
        for change in &changes {
            let Some(condition) = Condition::from_code(change.condition) else {
                continue;
            };
            let key = (change.subscription_id, condition);
            match &change.row {
                Some(row) => {
                    episodes.insert(key, episode_of(row));
                }
                None => {
                    episodes.remove(&key);
                }
            }
        }
        // Quiet hours that ended: one summary per chat.
        let summaries = self.release_held(now).await?;
        report.messages += summaries.len();
        messages.extend(summaries);
        report.write = started.elapsed() - read - fetch - report.decide;

        for m in &messages {
            self.metrics
                .alerts_decided
                .with_label_values(&[m.kind])
                .inc();
        }
        if !messages.is_empty() {
            self.wake.notify_one();
        }
        self.metrics.poll_locations.set(cells.len() as i64);
        self.metrics
            .poll_cycle_duration
            .observe(started.elapsed().as_secs_f64());
        tracing::info!(
            subscriptions = report.subscriptions,
            cells = report.locations,
            refreshed = report.refreshed,
            failed = report.failed_locations,
            stale = report.stale,
            messages = report.messages,
            interval_s = refresh.interval.as_secs(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "poll cycle done"
        );
        if !woke.is_empty() || !zones.is_empty() {
            // Their snooze ended, or their chat got a zone: re-read next cycle.
            *slot = None;
        }
        Ok(report)
    }

    /// Polls every `interval` until shutdown; a failed cycle is logged and the
    /// next one runs on schedule.
    pub async fn run(self, interval: Duration, shutdown: ShutdownListener) {
        let leader = self.leader.as_ref();
        crate::store::every_as_leader(leader, shutdown, interval, "poll cycle", || async {
            self.poll_once(self.clock.now()).await.map(drop)
        })
        .await;
    }

    async fn episodes(&self) -> anyhow::Result<HashMap<(i64, Condition), Episode>> {
        Ok(self
            .store
            .alert_episodes()
            .await?
            .into_iter()
            .filter_map(|row| {
                let condition = Condition::from_code(&row.condition)?;
                Some(((row.subscription_id, condition), episode_of(&row)))
            })
            .collect())
    }

    /// One message per admin chat when a rate-limit episode starts.
    fn rate_limit_notices(&self, limit: &RateLimit, now: DateTime<Utc>) -> Vec<NewMessage> {
        let text = text::rate_limit_notice(limit.window, limit.until);
        self.settings
            .admin_chats
            .iter()
            .map(|chat| NewMessage {
                chat_id: *chat,
                subscription_id: None,
                kind: "notice",
                text: text.clone(),
                dedup_key: format!("rate_limit:{chat}:{}", now.timestamp_millis()),
                ..NewMessage::default()
            })
            .collect()
    }

    /// Writes one summary per chat whose quiet hours ended with happenings
    /// held (at most `RELEASE_BATCH` chats per cycle; the rest next time),
    /// each in its own transaction with the deletion of what it sums up.
    async fn release_held(&self, now: DateTime<Utc>) -> anyhow::Result<Vec<NewMessage>> {
        const RELEASE_BATCH: u32 = 500;
        let rows = self
            .store
            .due_held_events(now.timestamp(), RELEASE_BATCH)
            .await?;
        let mut written = Vec::new();
        for chat in rows.chunk_by(|a, b| a.chat_id == b.chat_id) {
            let first = &chat[0];
            let lang = first
                .language
                .as_deref()
                .map(Language::from_code)
                .unwrap_or_default();
            let zone = first
                .timezone
                .as_deref()
                .and_then(|z| ChatZone::parse(z).ok())
                .unwrap_or(ChatZone::UTC);
            let events: Vec<HeldOf> = chat.iter().filter_map(held_of).collect();
            let message = summary(&events, zone, lang).map(|text| NewMessage {
                chat_id: first.chat_id,
                subscription_id: None,
                kind: "quiet_summary",
                text,
                dedup_key: format!("quiet:{}:{}", first.chat_id, first.id),
                ..NewMessage::default()
            });
            let ids: Vec<i64> = chat.iter().map(|r| r.id).collect();
            self.store
                .release_held(&ids, message.as_ref(), now.timestamp_millis())
                .await?;
            written.extend(message);
        }
        Ok(written)
    }
}

fn held_of(row: &HeldRow) -> Option<HeldOf> {
    Some(HeldOf {
        subscription_id: row.subscription_id,
        place: row.place.clone(),
        held: Held {
            condition: Condition::from_code(&row.condition)?,
            kind: HeldKind::from_code(&row.event)?,
            at: DateTime::from_timestamp(row.at, 0)?,
            limit: row.detail.clone(),
        },
    })
}

fn episode_of(row: &EpisodeRow) -> Episode {
    let at = |secs: Option<i64>| secs.and_then(|s| DateTime::from_timestamp(s, 0));
    Episode {
        since: at(row.since),
        last_notified: at(row.last_notified_at),
        heads_up_start: at(row.heads_up_start),
    }
}
