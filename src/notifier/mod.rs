//! Delivers outbox messages to Telegram: claims due rows, sends them paced
//! (≤ 30/s overall, ≤ 1/s per chat, ≤ 20/min per group, a 429 holds
//! everything back; one [`SendPace`] shared with the bot's replies), records
//! each outcome, retries what may work later. The poller decides, this only
//! delivers; the outbox table is the hand-off (DESIGN.md).
//!
//! [`Notifier::step`] is one unit of work and returns only when every send it
//! started is answered and recorded, so tests drain the queue by calling it;
//! [`Notifier::step_at`] is the same at an injected wall-clock time;
//! [`Notifier::run`] adds the idle schedule and shutdown.
//!
//! It finishes what it starts (issue 9): a row that keeps failing is given
//! up after `NOTIFY_MAX_ATTEMPTS` attempts or `NOTIFY_MAX_AGE` ([`Policy`]);
//! a rejected bot token (401) stops all sending and makes [`WorkerStatus`]
//! unhealthy; news that ended before delivery is dropped with its ending
//! ([`Store::drop_superseded`]); a group that became a supergroup is moved
//! to its new id and its message resent there; sent rows and idle dialogues
//! are pruned.
//!
//! Several replicas (issue 11): a step sends only the rows it claimed
//! ([`Store::claim_messages`], for `CLAIM_LEASE`), so two notifiers over one
//! database never send a row twice; rows it claimed but did not start are
//! released at the end of the step; a dead replica's claims expire and
//! another takes the rows over. A 429 is also stored
//! ([`Store::set_telegram_hold_until_ms`]) and read before sends (at most
//! once a second), so a flood wait on one replica holds all of them.

mod classify;
mod limits;
mod outcome;
mod pacing;
mod status;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use teloxide::Bot;
use teloxide::payloads::SendMessageSetters;
use teloxide::prelude::Requester;
use teloxide::types::{ChatId, InlineKeyboardMarkup};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;

pub use limits::{DEFAULT_MAX_AGE, DEFAULT_MAX_ATTEMPTS, DEFAULT_OUTBOX_RETENTION, Limits, Policy};
use outcome::{Outcome, Verdict};
use pacing::Pacer;
pub use pacing::SendPace;
pub use status::WorkerStatus;

use crate::clock::SharedClock;
use crate::metrics::Metrics;
use crate::secret::redact_url;
use crate::shutdown::ShutdownListener;
use crate::store::{OutboxMessage, Store};

/// What one [`Notifier::step`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepOutcome {
    /// Rows were sent (or attempted); every outcome is recorded.
    Worked(StepReport),
    /// Nothing may be sent now. `next_due_ms` (unix ms) is when something
    /// may be; `None` when nothing is pending.
    Idle { next_due_ms: Option<i64> },
    /// Telegram rejected the bot token (401): nothing more is sent, the rows
    /// stay pending, [`Notifier::status`] is unhealthy. Every later step
    /// returns this at once; `run` stops stepping.
    TokenRejected,
}

/// Outcomes of one step's sends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StepReport {
    /// Accepted by Telegram, marked sent.
    pub sent: usize,
    /// Still pending, due again later (429, network, 5xx).
    pub retried: usize,
    /// Refused for good (e.g. text too long) or given up after too many
    /// attempts, marked failed.
    pub failed: usize,
    /// The chat is unreachable: stopped, its subscriptions paused.
    pub stopped: usize,
}

impl StepReport {
    fn count(&mut self, verdict: &Verdict) {
        match verdict {
            Verdict::Sent { .. } => self.sent += 1,
            Verdict::FloodWait { .. } | Verdict::Retry { .. } => self.retried += 1,
            Verdict::Refused { .. } | Verdict::GaveUp { .. } => self.failed += 1,
            Verdict::ChatUnreachable { .. } => self.stopped += 1,
            Verdict::Migrated { .. } => self.retried += 1,
            Verdict::TokenRejected => {}
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
    /// When the next prune is due (unix ms); `None`: at the next step.
    next_prune_ms: Option<i64>,
    /// The wall clock of `step` and `run` (due times, ages, pruning).
    clock: SharedClock,
    /// How long a claim on rows lasts (a dead replica's rows wait this long).
    claim_lease: Duration,
    /// When the shared flood wait was last read from the store (monotonic).
    hold_read_at: Option<Instant>,
}

/// How long a notifier's claim on the rows of one step lasts: longer than a
/// step takes (a batch of paced sends and their answers), short enough that
/// a dead replica's rows are soon sent by another.
pub const CLAIM_LEASE: Duration = Duration::from_secs(60);

/// The window of Telegram's overall limit (30 messages a second).
const WINDOW_MS: i64 = 1_000;
/// Added to the window: wall-clock ms are truncated, and replicas' clocks
/// agree only within a few ms (NTP).
const WINDOW_SLACK_MS: i64 = 10;

/// How often the flood wait stored by any replica is read.
const HOLD_READ_EVERY: Duration = Duration::from_secs(1);

/// What a send task needs; cheap clones of shared handles.
#[derive(Clone)]
struct Deps {
    store: Store,
    bot: Bot,
    metrics: Metrics,
    limits: Limits,
    policy: Policy,
    status: WorkerStatus,
    /// Shared with the bot's replies ([`Notifier::with_pace`]).
    pace: SendPace,
    /// Who claims rows: this replica's lease holder name.
    holder: Arc<str>,
}

impl Deps {
    fn pacer(&self) -> std::sync::MutexGuard<'_, Pacer> {
        self.pace.lock()
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
                policy: Policy::default(),
                status: WorkerStatus::new(),
                pace: pace_for(&Limits::default()),
                holder: crate::store::holder_name("notifier").into(),
            },
            wake,
            unrecorded: Vec::new(),
            shutdown: None,
            next_prune_ms: None,
            clock: crate::clock::system(),
            claim_lease: CLAIM_LEASE,
            hold_read_at: None,
        }
    }

    /// Claims rows as `holder` (this replica's name; default: a random one).
    pub fn with_holder(mut self, holder: impl Into<String>) -> Self {
        self.deps.holder = holder.into().into();
        self
    }

    /// Replaces [`CLAIM_LEASE`].
    pub fn with_claim_lease(mut self, lease: Duration) -> Self {
        self.claim_lease = lease;
        self
    }

    /// Steps at `clock`'s time instead of the system's.
    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    /// Replaces the default give-up and pruning policy
    /// ([`Policy::from_config`] in the application).
    pub fn with_policy(mut self, policy: Policy) -> Self {
        self.deps.policy = policy;
        self
    }

    /// The notifier's health, for readiness: a handle on shared state that
    /// stays valid after `run` took the notifier.
    pub fn status(&self) -> WorkerStatus {
        self.deps.status.clone()
    }

    /// Reports to `status` instead of a fresh one: a supervisor that builds
    /// the notifier again after a panic keeps one handle for readiness.
    pub fn with_status(mut self, status: WorkerStatus) -> Self {
        self.deps.status = status;
        self
    }

    /// Replaces the default limits (tests use short times).
    /// A pace of its own follows the limits' spacings (a group's is three
    /// times `chat_spacing`); [`Self::with_pace`] after this shares one.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.deps.pace = pace_for(&limits);
        self.deps.limits = limits;
        self
    }

    /// Paces its sends with `pace`, shared with the bot's replies: together
    /// they keep to Telegram's limits, and a 429 on either holds both.
    pub fn with_pace(mut self, pace: SendPace) -> Self {
        self.deps.pace = pace;
        self
    }

    /// One unit of work: sends the due rows (at most one per chat, each
    /// chat's oldest), paced and concurrently, and records every outcome.
    /// An `Err` is a store failure; nothing is marked sent that Telegram did
    /// not accept, and accepted sends whose write failed are kept and written
    /// at the next step before anything else is sent.
    pub async fn step(&mut self) -> anyhow::Result<StepOutcome> {
        self.step_at(self.clock.now().timestamp_millis()).await
    }

    /// [`Self::step`] at wall-clock time `now_ms` (unix ms): which rows are
    /// due, how old a failing row is, what is pruned, and the times written
    /// (answer times are `now_ms` plus the time the step took). Pacing keeps
    /// to the monotonic clock.
    pub async fn step_at(&mut self, now_ms: i64) -> anyhow::Result<StepOutcome> {
        // Paired with the monotonic now at once: the times written later
        // (`sent_at_ms`, from which a chat cools down on every replica) are
        // `now_ms` plus the time elapsed since *here*, not since the
        // maintenance below.
        let clock = Clock::at(now_ms);
        if !self.deps.status.healthy() {
            return Ok(StepOutcome::TokenRejected);
        }
        self.flush_unrecorded().await?;
        self.maintain(now_ms).await?;
        let outcome = self.send_due(clock).await;
        let depth = self.deps.store.pending_count().await?;
        self.deps.metrics.outbox_depth.set(depth);
        if matches!(
            outcome,
            Ok(StepOutcome::Worked(_) | StepOutcome::Idle { .. })
        ) {
            self.deps.status.progressed(now_ms);
        }
        outcome
    }

    /// Drops superseded news (every step) and prunes sent rows and idle
    /// dialogues (every `prune_every`, at most `prune_batch` of each; a full
    /// batch prunes again at the next step).
    async fn maintain(&mut self, now_ms: i64) -> anyhow::Result<()> {
        let store = &self.deps.store;
        let dropped = store.drop_superseded().await?;
        if dropped > 0 {
            tracing::info!(
                dropped,
                "news that ended before delivery dropped with its ending"
            );
        }
        if self.next_prune_ms.is_some_and(|at| now_ms < at) {
            return Ok(());
        }
        let policy = &self.deps.policy;
        let sent_before = now_ms.saturating_sub(millis(policy.outbox_retention));
        let sent = store
            .prune_sent_messages(sent_before, policy.prune_batch)
            .await?;
        let idle_before = (now_ms / 1000).saturating_sub(secs(policy.dialogue_idle));
        let dialogues = store
            .prune_dialogues(idle_before, policy.prune_batch)
            .await?;
        if sent > 0 || dialogues > 0 {
            tracing::info!(
                sent,
                dialogues,
                "pruned old sent messages and idle dialogues"
            );
        }
        let full =
            sent >= u64::from(policy.prune_batch) || dialogues >= u64::from(policy.prune_batch);
        let every = if full { 0 } else { millis(policy.prune_every) };
        self.next_prune_ms = Some(now_ms.saturating_add(every));
        Ok(())
    }

    /// Steps until shutdown. Idle, it sleeps until the next row is due, a
    /// wake-up, or `idle_poll` (rows may come from elsewhere than the
    /// poller). On shutdown the current step finishes the sends it started,
    /// records them, and the loop returns.
    pub async fn run(mut self, mut shutdown: ShutdownListener) {
        self.shutdown = Some(shutdown.clone());
        tracing::info!("notifier started");
        while !shutdown.is_stopped() {
            shutdown.beat(); // readiness: the loop turns (health.rs)
            let pause = match self.step().await {
                Ok(StepOutcome::Worked(_)) => continue,
                Ok(StepOutcome::TokenRejected) => {
                    // Logged once when it happened. Nothing can be sent with
                    // this token: stay stopped (and unhealthy) until shutdown.
                    shutdown.stopped().await;
                    break;
                }
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
            let now_ms = self.clock.now().timestamp_millis();
            let ms = u64::try_from(due.saturating_sub(now_ms)).unwrap_or(0);
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
            self.count_unrecorded();
        }
        Ok(())
    }

    fn count_unrecorded(&self) {
        let n = i64::try_from(self.unrecorded.len()).unwrap_or(i64::MAX);
        self.deps.metrics.outbox_unrecorded.set(n);
    }

    async fn send_due(&mut self, clock: Clock) -> anyhow::Result<StepOutcome> {
        let now = clock.instant;
        self.read_shared_hold(clock).await?;
        let (held, cooling) = {
            let mut pacer = self.deps.pacer();
            (pacer.held_until(now), pacer.cooling_chats(now))
        };
        if let Some(until) = held {
            return Ok(StepOutcome::Idle {
                next_due_ms: Some(clock.wall_ms(until)),
            });
        }
        // Chats still cooling down come back from the query too; ask for
        // enough rows that they cannot crowd out the ones we may send.
        let batch = self.deps.limits.batch;
        let limit = batch.saturating_add(u32::try_from(cooling).unwrap_or(u32::MAX));
        let cooling = self.deps.pace.cooling();
        let due = (self.deps.store)
            .due_messages(clock.ms, limit, cooling)
            .await?;
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
        // Only the rows claimed are ours to send (another replica may have
        // claimed some since they were read).
        let ids: Vec<i64> = ready.iter().map(|row| row.id).collect();
        let until_ms = clock.ms.saturating_add(millis(self.claim_lease));
        let ready = (self.deps.store)
            .claim_messages(&ids, &self.deps.holder, clock.ms, until_ms)
            .await?;
        if ready.is_empty() {
            // With chats cooling down, a head due in the past is one of
            // theirs: what counts then is when they cool, or a later head.
            let cooled_ms = cooled_at.map(|at| clock.wall_ms(at));
            let wall_now = clock.ms;
            let head_due = (self.deps.store.next_head_due_ms(cooling).await?)
                .filter(|due| cooled_ms.is_none() || *due > wall_now);
            let next_due_ms = head_due.into_iter().chain(cooled_ms).min();
            return Ok(StepOutcome::Idle { next_due_ms });
        }
        // A send starts only in the first half of its claim, so that it is
        // answered and recorded before the claim ends and another replica
        // may take the row (the Bot API client gives up well within it).
        let start_by = clock.instant + self.claim_lease / 2;
        self.dispatch(ready, clock, start_by).await
    }

    /// A 429 any replica stored holds this one's sends too: read at most
    /// every [`HOLD_READ_EVERY`], applied to the shared pace.
    async fn read_shared_hold(&mut self, clock: Clock) -> anyhow::Result<()> {
        let now = clock.instant;
        if self
            .hold_read_at
            .is_some_and(|at| now.saturating_duration_since(at) < HOLD_READ_EVERY)
        {
            return Ok(());
        }
        self.hold_read_at = Some(now);
        if let Some(until_ms) = self.deps.store.telegram_hold_until_ms().await?
            && until_ms > clock.ms
        {
            let wait = Duration::from_millis(u64::try_from(until_ms - clock.ms).unwrap_or(0));
            self.deps.pacer().hold(now + wait);
        }
        Ok(())
    }

    /// Starts one send per row, each at its paced slot, at most
    /// `max_in_flight` at once; stops starting on shutdown, a flood wait or
    /// at `start_by` (the rows not started stay pending, their claims
    /// released). Then waits for every started send and its record.
    async fn dispatch(
        &mut self,
        rows: Vec<OutboxMessage>,
        clock: Clock,
        start_by: Instant,
    ) -> anyhow::Result<StepOutcome> {
        let shared = match self.shared_slots(rows.len(), clock, start_by).await? {
            Ok(shared) => shared,
            // The other replicas hold the slots until then: ours later.
            Err(room_ms) => {
                let ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
                (self.deps.store)
                    .release_claims(&ids, &self.deps.holder)
                    .await?;
                return Ok(StepOutcome::Idle {
                    next_due_ms: Some(room_ms),
                });
            }
        };
        let permits = Arc::new(Semaphore::new(self.deps.limits.max_in_flight.max(1)));
        let mut shutdown = self.shutdown.clone();
        let mut tasks = JoinSet::new();
        // Claimed rows not started: released at the end of the step.
        let mut unstarted = Vec::new();
        // A store failure before a start: nothing more starts, but the sends
        // already started are still awaited and recorded.
        let mut start_error = None;
        let mut rows = rows.into_iter().enumerate();
        for (i, row) in rows.by_ref() {
            let permit = tokio::select! {
                biased;
                _ = stopped(&mut shutdown) => { unstarted.push(row.id); break },
                permit = Arc::clone(&permits).acquire_owned() => permit.expect("semaphore never closed"),
            };
            let slot = match self.reserve_slot(row.chat_id) {
                Slot::At(slot) if slot.max(shared.at(i)) <= start_by => slot.max(shared.at(i)),
                // Too late in the claim (a long queue of slots ahead): this
                // and the rest are released for a later step.
                Slot::At(_) => {
                    unstarted.push(row.id);
                    break;
                }
                Slot::Held => {
                    unstarted.push(row.id);
                    break;
                }
                // A reply took the chat since the rows were chosen: the row
                // stays pending for a later step.
                Slot::ChatBusy => {
                    unstarted.push(row.id);
                    continue;
                }
            };
            tokio::select! {
                biased;
                _ = stopped(&mut shutdown) => { unstarted.push(row.id); break },
                _ = tokio::time::sleep_until(slot) => {}
            }
            // A 429 or a rejected token may have come back while we waited.
            if self.deps.pacer().held_until(Instant::now()).is_some() || !self.deps.status.healthy()
            {
                unstarted.push(row.id);
                break;
            }
            let place = match self.window_place(clock, start_by, &mut shutdown).await {
                Ok(Some(place)) => place,
                Ok(None) => {
                    unstarted.push(row.id);
                    break;
                }
                Err(err) => {
                    unstarted.push(row.id);
                    start_error = Some(err.context("recording a send start"));
                    break;
                }
            };
            tasks.spawn(deliver(self.deps.clone(), row, permit, clock, place));
        }
        unstarted.extend(rows.map(|(_, row)| row.id));

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
        self.count_unrecorded();
        // Unreleased (store down), they are free again when the claim ends.
        if let Err(err) = (self.deps.store)
            .release_claims(&unstarted, &self.deps.holder)
            .await
        {
            tracing::warn!(error = %format!("{err:#}"), "releasing claimed rows failed");
        }
        match (write_error, start_error) {
            (Some(err), _) => Err(err.context("recording send outcomes")),
            (None, Some(err)) => Err(err),
            (None, None) if !self.deps.status.healthy() => Ok(StepOutcome::TokenRejected),
            (None, None) => Ok(StepOutcome::Worked(report)),
        }
    }

    /// Reserves one shared start slot per row (`Store::reserve_send_slots`):
    /// with the other replicas' reservations, every send of the bot starts
    /// at least the pace's spacing after the one before.
    /// Only slots that start by `start_by` are reserved: at most as many as
    /// fit, and none when the other replicas' reservations reach past it;
    /// then `Err` is when (unix ms) there is room again.
    async fn shared_slots(
        &self,
        rows: usize,
        clock: Clock,
        start_by: Instant,
    ) -> anyhow::Result<Result<SharedSlots, i64>> {
        let spacing = self.deps.pace.spacing();
        // Now, not the step's start: a slot "free" since then is in the
        // past, and sends at past slots would start all at once.
        let (now, now_ms) = (Instant::now(), clock.now_ms());
        if spacing.is_zero() || rows == 0 {
            return Ok(Ok(SharedSlots {
                first: now,
                spacing,
            }));
        }
        let window = millis(start_by.saturating_duration_since(now));
        let fit = usize::try_from(window / millis(spacing))
            .unwrap_or(0)
            .max(1);
        let n = u32::try_from(rows.min(fit)).unwrap_or(u32::MAX);
        let horizon = (window - millis(spacing) * i64::from(n)).max(0);
        let reserved = (self.deps.store)
            .reserve_send_slots(now_ms, millis(spacing), n, horizon)
            .await?;
        Ok(match reserved {
            Ok(first_ms) => {
                let ahead = u64::try_from(first_ms.saturating_sub(now_ms)).unwrap_or(0);
                Ok(SharedSlots {
                    first: now + Duration::from_millis(ahead),
                    spacing,
                })
            }
            Err(free_ms) => Err(free_ms.saturating_sub(horizon)),
        })
    }

    /// Records this send's start in the shared window (`send_starts`) once
    /// fewer than Telegram's 30 sends may arrive within the last second,
    /// waiting for room until `start_by`; returns the place to mark answered
    /// (`None` without a shared window: no pace). Slots space the starts;
    /// this holds when a timer fired late, two replicas' sends came close
    /// together, or requests were delayed on their way (see
    /// [`Store::try_start_send`]). `Ok(None)` is also no room in time, or
    /// shutdown: then nothing was recorded.
    async fn window_place(
        &self,
        clock: Clock,
        start_by: Instant,
        shutdown: &mut Option<ShutdownListener>,
    ) -> anyhow::Result<Option<Place>> {
        let spacing = millis(self.deps.pace.spacing());
        if spacing == 0 {
            return Ok(Some(Place::Unpaced));
        }
        // As many as the spacing allows started in a window (30 at 34 ms:
        // Telegram's limit; the window counts every send that may arrive in
        // it, so no margin is needed in the count).
        let max = u32::try_from((WINDOW_MS + spacing - 1) / spacing)
            .unwrap_or(u32::MAX)
            .max(1);
        loop {
            let retry_ms = match self
                .deps
                .store
                .try_start_send(
                    || clock.now_ms(),
                    WINDOW_MS + WINDOW_SLACK_MS,
                    max,
                    spacing / 2,
                )
                .await?
            {
                Ok(id) => return Ok(Some(Place::Shared(id))),
                Err(retry_ms) => retry_ms,
            };
            let (now, now_ms) = (Instant::now(), clock.now_ms());
            let wait = Duration::from_millis(u64::try_from(retry_ms - now_ms).unwrap_or(0));
            if now + wait > start_by {
                return Ok(None);
            }
            tokio::select! {
                biased;
                _ = stopped(shutdown) => return Ok(None),
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// The next global slot, the chat taken from it on; not during a flood
    /// wait or while the chat cools down.
    fn reserve_slot(&self, chat: i64) -> Slot {
        let now = Instant::now();
        let mut pacer = self.deps.pacer();
        if pacer.held_until(now).is_some() {
            return Slot::Held;
        }
        match pacer.claim(chat, now) {
            Ok(slot) => Slot::At(slot),
            Err(_) => Slot::ChatBusy,
        }
    }
}

/// One send: ask Telegram, classify the answer, hold every send on a 429,
/// log, record. The permit bounds the requests in flight.
async fn deliver(
    deps: Deps,
    row: OutboxMessage,
    permit: OwnedSemaphorePermit,
    clock: Clock,
    place: Place,
) -> (Outcome, anyhow::Result<()>) {
    let mut request = deps
        .bot
        .send_message(ChatId(row.chat_id), row.text.clone())
        .disable_notification(row.silent);
    // Written by the poller from a typed keyboard; one that does not read
    // back (never expected) costs the buttons, not the message.
    if let Some(markup) = row.reply_markup.as_deref() {
        match serde_json::from_str::<InlineKeyboardMarkup>(markup) {
            Ok(markup) => request = request.reply_markup(markup),
            Err(e) => tracing::warn!(row_id = row.id, error = %e, "unreadable buttons dropped"),
        }
    }
    let result = request.await;
    drop(permit);
    // It has arrived (or never will): its place in the window ends a second
    // from now, not from the in-flight bound.
    if let Place::Shared(id) = place
        && let Err(err) = deps.store.send_answered(id, clock.now_ms()).await
    {
        tracing::warn!(error = %format!("{err:#}"), "recording a send's answer failed");
    }
    // The chat cools down from Telegram's answer (see `Pacer::answered`).
    deps.pacer().answered(row.chat_id, Instant::now());
    let outcome = Outcome::new(&row, result, &deps.limits, &deps.policy, clock.now_ms());
    match &outcome.verdict {
        Verdict::FloodWait { wait, .. } => {
            deps.pacer().hold(Instant::now() + *wait);
            // Every replica holds: they read it before sending.
            let until_ms = clock.now_ms().saturating_add(millis(*wait));
            if let Err(err) = deps.store.set_telegram_hold_until_ms(until_ms).await {
                tracing::warn!(error = %format!("{err:#}"), "storing the flood wait failed");
            }
        }
        Verdict::TokenRejected => token_rejected(&deps.status),
        _ => {}
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

/// A send's place in the shared window of Telegram's 30/s.
#[derive(Debug, Clone, Copy)]
enum Place {
    /// Recorded in `send_starts` under this id.
    Shared(i64),
    /// No pace (tests with zero spacing): nothing recorded.
    Unpaced,
}

enum Slot {
    At(Instant),
    Held,
    ChatBusy,
}

fn pace_for(limits: &Limits) -> SendPace {
    SendPace::scaled(limits.spacing, limits.chat_spacing)
}

/// Resolves on shutdown; never without a listener (a bare `step` in tests).
async fn stopped(shutdown: &mut Option<ShutdownListener>) {
    match shutdown {
        Some(listener) => listener.stopped().await,
        None => std::future::pending().await,
    }
}

/// Telegram rejected the bot token: stop, say so once (never the token).
fn token_rejected(status: &WorkerStatus) {
    const REASON: &str = "Telegram rejected the bot token (401 Unauthorized): \
        the notifier stopped sending and keeps its pending messages; \
        set a valid TELOXIDE_TOKEN and restart";
    if status.fail(REASON) {
        tracing::error!(outcome = "token_rejected", "{REASON}");
    }
}

/// A step's time: the wall clock it was given, read against the monotonic
/// clock so later moments of the step (answers, flood-wait ends) follow it.
#[derive(Debug, Clone, Copy)]
struct Clock {
    ms: i64,
    instant: Instant,
}

impl Clock {
    fn at(ms: i64) -> Self {
        Self {
            ms,
            instant: Instant::now(),
        }
    }

    /// Now, on the step's wall clock.
    fn now_ms(&self) -> i64 {
        self.wall_ms(Instant::now())
    }

    /// The wall-clock unix ms of a monotonic instant.
    fn wall_ms(&self, at: Instant) -> i64 {
        self.ms
            .saturating_add(millis(at.saturating_duration_since(self.instant)))
    }
}

/// The shared start slots a step reserved: the i-th row's send starts no
/// sooner than `first + i × spacing`.
struct SharedSlots {
    first: Instant,
    spacing: Duration,
}

impl SharedSlots {
    fn at(&self, i: usize) -> Instant {
        self.first + self.spacing * u32::try_from(i).unwrap_or(u32::MAX)
    }
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 2)
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX / 2)
}
