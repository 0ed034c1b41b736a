//! Delivers outbox messages to Telegram: claims due rows, sends them paced
//! (≤ 30/s overall, ≤ 1/s per chat, a 429 holds everything back), records
//! each outcome, retries what may work later. The poller decides, this only
//! delivers; the outbox table is the hand-off (DESIGN.md).
//!
//! [`Notifier::step`] is one unit of work and returns only when every send it
//! started is answered and recorded, so tests drain the queue by calling it;
//! [`Notifier::run`] adds the idle schedule and shutdown.

mod classify;
mod limits;
mod outcome;
mod pacing;

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::Context;
use teloxide::Bot;
use teloxide::prelude::Requester;
use teloxide::types::ChatId;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;

pub use limits::Limits;
use outcome::{Outcome, Verdict};
use pacing::Pacer;

use crate::metrics::Metrics;
use crate::secret::redact_url;
use crate::shutdown::ShutdownListener;
use crate::store::{OutboxMessage, Store, now_ms};

/// What one [`Notifier::step`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepOutcome {
    /// Rows were sent (or attempted); every outcome is recorded.
    Worked(StepReport),
    /// Nothing may be sent now. `next_due_ms` (unix ms) is when something
    /// may be; `None` when nothing is pending.
    Idle { next_due_ms: Option<i64> },
}

/// Outcomes of one step's sends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StepReport {
    /// Accepted by Telegram, marked sent.
    pub sent: usize,
    /// Still pending, due again later (429, network, 5xx).
    pub retried: usize,
    /// Refused for good (e.g. text too long), marked failed.
    pub failed: usize,
    /// The chat is unreachable: stopped, its subscriptions paused.
    pub stopped: usize,
}

impl StepReport {
    fn count(&mut self, verdict: &Verdict) {
        match verdict {
            Verdict::Sent { .. } => self.sent += 1,
            Verdict::FloodWait { .. } | Verdict::Retry { .. } => self.retried += 1,
            Verdict::Refused { .. } => self.failed += 1,
            Verdict::ChatUnreachable { .. } => self.stopped += 1,
        }
    }
}

pub struct Notifier {
    deps: Deps,
    /// The poller rings it after writing rows.
    wake: Arc<Notify>,
    /// Outcomes Telegram gave whose write to the store failed. They are
    /// written before anything else is sent: a message Telegram accepted
    /// must never look pending (and be sent again) because of a DB hiccup.
    unrecorded: Vec<Outcome>,
    /// Set by `run`: a step stops starting sends once shutdown begins.
    shutdown: Option<ShutdownListener>,
}

/// What a send task needs; cheap clones of shared handles.
#[derive(Clone)]
struct Deps {
    store: Store,
    bot: Bot,
    metrics: Metrics,
    limits: Limits,
    // A std Mutex: held for a few instructions, never across an await.
    pacer: Arc<Mutex<Pacer>>,
}

impl Deps {
    fn pacer(&self) -> std::sync::MutexGuard<'_, Pacer> {
        // The pacer stays consistent even if a holder panicked.
        self.pacer.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Notifier {
    pub fn new(store: Store, bot: Bot, metrics: Metrics, wake: Arc<Notify>) -> Self {
        Self {
            deps: Deps {
                store,
                bot,
                metrics,
                limits: Limits::default(),
                pacer: Arc::new(Mutex::new(pacer_for(&Limits::default()))),
            },
            wake,
            unrecorded: Vec::new(),
            shutdown: None,
        }
    }

    /// Replaces the default limits (tests use short times).
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.deps.pacer = Arc::new(Mutex::new(pacer_for(&limits)));
        self.deps.limits = limits;
        self
    }

    /// One unit of work: sends the due rows (at most one per chat, each
    /// chat's oldest), paced and concurrently, and records every outcome.
    /// An `Err` is a store failure; nothing is marked sent that Telegram did
    /// not accept, and accepted sends whose write failed are kept and written
    /// at the next step before anything else is sent.
    pub async fn step(&mut self) -> anyhow::Result<StepOutcome> {
        self.flush_unrecorded().await?;
        let outcome = self.send_due().await;
        let depth = self.deps.store.pending_count().await?;
        self.deps.metrics.outbox_depth.set(depth);
        outcome
    }

    /// Steps until shutdown. Idle, it sleeps until the next row is due, a
    /// wake-up, or `idle_poll` (rows may come from elsewhere than the
    /// poller). On shutdown the current step finishes the sends it started,
    /// records them, and the loop returns.
    pub async fn run(mut self, mut shutdown: ShutdownListener) {
        self.shutdown = Some(shutdown.clone());
        tracing::info!("notifier started");
        while !shutdown.is_stopped() {
            let pause = match self.step().await {
                Ok(StepOutcome::Worked(_)) => continue,
                Ok(StepOutcome::Idle { next_due_ms }) => self.idle_pause(next_due_ms),
                Err(err) => {
                    let error = redact_url(&format!("{err:#}"));
                    tracing::error!(%error, "notifier step failed");
                    self.deps.limits.idle_poll
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = self.wake.notified() => {}
                _ = shutdown.stopped() => {}
            }
        }
        // Last chance for outcomes whose write failed: unwritten, their rows
        // stay pending and would be sent again after a restart.
        if let Err(err) = self.flush_unrecorded().await {
            let error = redact_url(&format!("{err:#}"));
            tracing::error!(%error, lost = self.unrecorded.len(), "send outcomes not recorded");
        }
        tracing::info!("notifier stopped");
    }

    fn idle_pause(&self, next_due_ms: Option<i64>) -> Duration {
        let cap = self.deps.limits.idle_poll;
        next_due_ms.map_or(cap, |due| {
            let ms = u64::try_from(due.saturating_sub(now_ms())).unwrap_or(0);
            Duration::from_millis(ms).min(cap)
        })
    }

    async fn flush_unrecorded(&mut self) -> anyhow::Result<()> {
        while let Some(outcome) = self.unrecorded.last() {
            outcome
                .record(&self.deps.store, &self.deps.metrics)
                .await
                .with_context(|| {
                    format!("recording the outcome of outbox row {}", outcome.row_id)
                })?;
            self.unrecorded.pop();
        }
        Ok(())
    }

    async fn send_due(&mut self) -> anyhow::Result<StepOutcome> {
        let now = Instant::now();
        let (held, cooling) = {
            let mut pacer = self.deps.pacer();
            (pacer.held_until(now), pacer.cooling_chats(now))
        };
        if let Some(until) = held {
            return Ok(StepOutcome::Idle {
                next_due_ms: Some(wall_ms(until, now)),
            });
        }
        // Chats still cooling down come back from the query too; ask for
        // enough rows that they cannot crowd out the ones we may send.
        let batch = self.deps.limits.batch;
        let limit = batch.saturating_add(u32::try_from(cooling).unwrap_or(u32::MAX));
        let due = self.deps.store.due_messages(now_ms(), limit).await?;
        let mut ready = Vec::new();
        let mut cooled_at: Option<Instant> = None;
        {
            let pacer = self.deps.pacer();
            for row in due {
                match pacer.chat_ready_at(row.chat_id, now) {
                    Some(at) => cooled_at = Some(cooled_at.map_or(at, |t| t.min(at))),
                    None if ready.len() < batch as usize => ready.push(row),
                    None => {}
                }
            }
        }
        if ready.is_empty() {
            // With chats cooling down, a head due in the past is one of
            // theirs: what counts then is when they cool, or a later head.
            let cooled_ms = cooled_at.map(|at| wall_ms(at, now));
            let wall_now = now_ms();
            let head_due = (self.deps.store.next_head_due_ms().await?)
                .filter(|due| cooled_ms.is_none() || *due > wall_now);
            let next_due_ms = head_due.into_iter().chain(cooled_ms).min();
            return Ok(StepOutcome::Idle { next_due_ms });
        }
        self.dispatch(ready).await
    }

    /// Starts one send per row, each at its paced slot, at most
    /// `max_in_flight` at once; stops starting on shutdown or a flood wait
    /// (the rows not started stay pending, untouched). Then waits for every
    /// started send and its record.
    async fn dispatch(&mut self, rows: Vec<OutboxMessage>) -> anyhow::Result<StepOutcome> {
        let permits = Arc::new(Semaphore::new(self.deps.limits.max_in_flight.max(1)));
        let mut shutdown = self.shutdown.clone();
        let mut tasks = JoinSet::new();
        for row in rows {
            let permit = tokio::select! {
                biased;
                _ = stopped(&mut shutdown) => break,
                permit = Arc::clone(&permits).acquire_owned() => permit.expect("semaphore never closed"),
            };
            let Some(slot) = self.reserve_slot() else {
                break;
            };
            tokio::select! {
                biased;
                _ = stopped(&mut shutdown) => break,
                _ = tokio::time::sleep_until(slot) => {}
            }
            // A 429 may have come back while we waited for the slot.
            if self.deps.pacer().held_until(Instant::now()).is_some() {
                break;
            }
            self.deps.pacer().started(row.chat_id, slot);
            tasks.spawn(deliver(self.deps.clone(), row, permit));
        }

        let mut report = StepReport::default();
        let mut write_error = None;
        while let Some(joined) = tasks.join_next().await {
            let (outcome, written) = match joined {
                Ok(done) => done,
                Err(err) => {
                    // Not expected; the row stays pending and is retried.
                    tracing::error!(error = %err, "a send task failed");
                    continue;
                }
            };
            report.count(&outcome.verdict);
            if let Err(err) = written {
                write_error.get_or_insert(err);
                self.unrecorded.push(outcome);
            }
        }
        match write_error {
            Some(err) => Err(err.context("recording send outcomes")),
            None => Ok(StepOutcome::Worked(report)),
        }
    }

    /// The next global slot, or `None` during a flood wait.
    fn reserve_slot(&self) -> Option<Instant> {
        let now = Instant::now();
        let mut pacer = self.deps.pacer();
        match pacer.held_until(now) {
            Some(_) => None,
            None => Some(pacer.reserve(now)),
        }
    }
}

/// One send: ask Telegram, classify the answer, hold every send on a 429,
/// log, record. The permit bounds the requests in flight.
async fn deliver(
    deps: Deps,
    row: OutboxMessage,
    permit: OwnedSemaphorePermit,
) -> (Outcome, anyhow::Result<()>) {
    let result = deps
        .bot
        .send_message(ChatId(row.chat_id), row.text.clone())
        .await;
    drop(permit);
    let outcome = Outcome::new(&row, result, &deps.limits, now_ms());
    if let Verdict::FloodWait { wait, .. } = &outcome.verdict {
        deps.pacer().hold(Instant::now() + *wait);
    }
    outcome.log();
    let written = outcome.record(&deps.store, &deps.metrics).await;
    if let Err(err) = &written {
        tracing::error!(
            chat_id = row.chat_id,
            row_id = row.id,
            error = %format!("{err:#}"),
            "could not record a send outcome; will write it again"
        );
    }
    (outcome, written)
}

fn pacer_for(limits: &Limits) -> Pacer {
    Pacer::new(limits.spacing, limits.chat_spacing)
}

/// Resolves on shutdown; never without a listener (a bare `step` in tests).
async fn stopped(shutdown: &mut Option<ShutdownListener>) {
    match shutdown {
        Some(listener) => listener.stopped().await,
        None => std::future::pending().await,
    }
}

/// The wall-clock unix ms of a monotonic instant.
fn wall_ms(at: Instant, now: Instant) -> i64 {
    let ahead =
        i64::try_from(at.saturating_duration_since(now).as_millis()).unwrap_or(i64::MAX / 2);
    now_ms().saturating_add(ahead)
}
