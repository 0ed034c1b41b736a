//! The poller: every `POLL_INTERVAL`, fetch each distinct location of the
//! active subscriptions once, judge every subscription there, and write the
//! new alert states with their messages in one transaction.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tokio::sync::Notify;

use super::rules::Rule;
use super::state::{AlertState, Event, step};
use crate::metrics::Metrics;
use crate::shutdown::ShutdownListener;
use crate::store::{MessageContext, NewMessage, StateChange, Store, Watched};
use crate::text::{self, Language, Units};
use crate::weather::{Coordinates, Observation, WeatherError, WeatherProvider};

/// What one cycle did (for tests, logs and the benchmark).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PollReport {
    /// Where the time went: reading subscriptions, fetching weather,
    /// deciding (with message texts), writing.
    pub read: Duration,
    pub fetch: Duration,
    pub decide: Duration,
    pub write: Duration,
    pub subscriptions: usize,
    pub locations: usize,
    pub failed_locations: usize,
    pub changes: usize,
    pub messages: usize,
    /// SQL statements of the cycle: the read plus the batched writes.
    pub statements: usize,
}

pub struct Poller {
    store: Store,
    provider: Arc<dyn WeatherProvider>,
    metrics: Metrics,
    remind_every: Duration,
    /// Pinged after messages were written, so the notifier starts at once.
    wake: Arc<Notify>,
}

impl Poller {
    pub fn new(
        store: Store,
        provider: Arc<dyn WeatherProvider>,
        metrics: Metrics,
        remind_every: Duration,
        wake: Arc<Notify>,
    ) -> Self {
        Self {
            store,
            provider,
            metrics,
            remind_every,
            wake,
        }
    }

    /// One cycle at time `now`. A failed location costs only its own
    /// subscriptions' cycle; only a store failure is an error.
    pub async fn poll_once(&self, now: DateTime<Utc>) -> anyhow::Result<PollReport> {
        let started = Instant::now();
        let watched = self.store.watched_subscriptions().await?;
        let read = started.elapsed();
        let (points, point_of) = distinct_points(&watched);
        self.metrics.poll_locations.set(points.len() as i64);
        let observations = self.provider.current(&points).await;
        let fetch = started.elapsed() - read;

        let mut report = PollReport {
            subscriptions: watched.len(),
            locations: points.len(),
            statements: 1,
            read,
            fetch,
            ..PollReport::default()
        };
        for (point, result) in points.iter().zip(&observations) {
            if let Err(err) = result {
                report.failed_locations += 1;
                log_failure(self.provider.name(), point, err);
            }
        }
        let decisions: Vec<(StateChange, Option<Event>, f64)> = watched
            .iter()
            .zip(&point_of)
            .filter_map(|(w, &p)| observations.get(p)?.as_ref().ok().map(|obs| (w, obs)))
            .filter_map(|(w, obs)| decide(w, obs, now, self.remind_every))
            .collect();
        let (changes, context_reads) = self.attach_messages(decisions, now).await?;
        report.decide = started.elapsed() - read - fetch;
        report.statements += context_reads;
        report.changes = changes.len();
        report.messages = changes.iter().filter(|c| c.message.is_some()).count();
        report.statements += self
            .store
            .apply_alert_changes(&changes, now.timestamp_millis())
            .await?;
        report.write = started.elapsed() - read - fetch - report.decide;

        for change in &changes {
            if let Some(m) = &change.message {
                self.metrics
                    .alerts_decided
                    .with_label_values(&[m.kind])
                    .inc();
            }
        }
        if report.messages > 0 {
            self.wake.notify_one();
        }
        self.metrics
            .poll_cycle_duration
            .observe(started.elapsed().as_secs_f64());
        tracing::info!(
            subscriptions = report.subscriptions,
            locations = report.locations,
            failed_locations = report.failed_locations,
            messages = report.messages,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "poll cycle done"
        );
        Ok(report)
    }

    /// Polls every `interval` until shutdown; a failed cycle is logged and the
    /// next one runs on schedule.
    pub async fn run(self, interval: Duration, shutdown: ShutdownListener) {
        shutdown
            .every(interval, "poll cycle", || async {
                self.poll_once(Utc::now()).await.map(drop)
            })
            .await;
    }

    /// Writes the text of every decided message, in the chat's language.
    /// Returns the changes and the number of statements used to read names.
    async fn attach_messages(
        &self,
        decisions: Vec<(StateChange, Option<Event>, f64)>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<(Vec<StateChange>, usize)> {
        let ids: Vec<i64> = decisions
            .iter()
            .filter(|(_, event, _)| event.is_some())
            .map(|(c, _, _)| c.subscription_id)
            .collect();
        let contexts: HashMap<i64, MessageContext> = self
            .store
            .message_contexts(&ids)
            .await?
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
        let changes = decisions
            .into_iter()
            .map(|(mut change, event, observed)| {
                if let (Some(event), Some(ctx)) = (event, contexts.get(&change.subscription_id)) {
                    change.message = Some(message(change.chat_id, ctx, &event, observed, now));
                }
                change
            })
            .collect();
        Ok((changes, ids.len().div_ceil(2000)))
    }
}

/// The state change (without its message yet), the event, and the observed
/// temperature — or `None` when nothing changes.
fn decide(
    w: &Watched,
    obs: &Observation,
    now: DateTime<Utc>,
    remind_every: Duration,
) -> Option<(StateChange, Option<Event>, f64)> {
    let rule = Rule {
        t_min: w.t_min,
        t_max: w.t_max,
        rain: w.rain,
        snow: w.snow,
    };
    let (next, event) = step(previous_state(w), &rule, obs, now, remind_every)?;
    let (violated, since, last_notified_at) = match next {
        AlertState::Ok => (false, now.timestamp(), w.last_notified_at),
        AlertState::Violated {
            since,
            last_notified,
        } => (true, since.timestamp(), Some(last_notified.timestamp())),
    };
    let change = StateChange {
        subscription_id: w.id,
        chat_id: w.chat_id,
        violated,
        since,
        last_notified_at,
        message: None,
    };
    Some((change, event, obs.temperature_c))
}

fn message(
    chat_id: i64,
    ctx: &MessageContext,
    event: &Event,
    observed: f64,
    now: DateTime<Utc>,
) -> NewMessage {
    let lang = ctx
        .language
        .as_deref()
        .map(Language::from_code)
        .unwrap_or_default();
    let units = ctx
        .units
        .as_deref()
        .map(Units::from_code)
        .unwrap_or_default();
    let (city, country) = (ctx.city.as_str(), ctx.country.as_str());
    let text = match event {
        Event::Alert(b) => text::alert_text(city, country, b, lang, units),
        Event::Reminder(b) => text::reminder_text(city, country, b, lang, units),
        Event::AllClear => text::all_clear_text(city, country, observed, lang, units),
    };
    NewMessage {
        chat_id,
        subscription_id: Some(ctx.id),
        kind: event.kind(),
        text,
        // One decision per subscription, kind and poll instant.
        dedup_key: format!("{}:{}:{}", ctx.id, event.kind(), now.timestamp_millis()),
    }
}

fn previous_state(w: &Watched) -> AlertState {
    let at = |secs: Option<i64>| secs.and_then(|s| DateTime::from_timestamp(s, 0));
    match (w.violated, at(w.since), at(w.last_notified_at)) {
        (Some(true), Some(since), last) => AlertState::Violated {
            since,
            last_notified: last.unwrap_or(since),
        },
        _ => AlertState::Ok,
    }
}

/// The distinct points, and for each watched subscription the index of its point.
fn distinct_points(watched: &[Watched]) -> (Vec<Coordinates>, Vec<usize>) {
    let mut index: HashMap<(u64, u64), usize> = HashMap::new();
    let mut points = Vec::new();
    let point_of = watched
        .iter()
        .map(|w| {
            *index
                .entry((w.latitude.to_bits(), w.longitude.to_bits()))
                .or_insert_with(|| {
                    points.push(Coordinates {
                        latitude: w.latitude,
                        longitude: w.longitude,
                    });
                    points.len() - 1
                })
        })
        .collect();
    (points, point_of)
}

fn log_failure(provider: &str, point: &Coordinates, err: &WeatherError) {
    tracing::warn!(
        provider,
        latitude = point.latitude,
        longitude = point.longitude,
        error = %err,
        "weather fetch failed; this location skips one cycle"
    );
}
