//! Leases: several replicas on one database behave as one bot (issue 11).
//!
//! A lease is a row `(name, holder, until_ms)`. [`Store::try_lease`] takes
//! it when it is free or expired and renews it when it is ours, in one
//! conditional upsert, so two contenders can never both hold it. [`Leader`]
//! keeps the lease `leader` for one replica: a keeper task renews it every
//! `renew_every` (period / 3), and the poller, the SLA evaluator and the
//! digest worker run their step only while it is held ([`Gate`]). A replica
//! that is not leader stays alive and ready (its workers keep beating) but
//! does no work; when the leader dies (`kill -9`, no release), its lease
//! expires after at most one period and the next renewal of another replica
//! takes it: within `period + renew_every` < two periods.
//!
//! Store-agnostic: the upsert is plain SQL that PostgreSQL runs unchanged
//! (`INSERT … ON CONFLICT … DO UPDATE … WHERE`).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::Context;
use prometheus::IntGauge;

use super::Store;
use crate::clock::SharedClock;
use crate::shutdown::ShutdownListener;

/// The lease of the replica that polls, evaluates SLAs and composes digests.
pub const LEADER: &str = "leader";
/// How long a lease lasts without renewal.
pub const LEASE_PERIOD: Duration = Duration::from_secs(30);

impl Store {
    /// Takes the lease `name` for `holder` until `now_ms + period_ms` when it
    /// is free, expired (`until_ms <= now_ms`) or already `holder`'s (a
    /// renewal). Returns whether `holder` holds it now. One statement.
    pub async fn try_lease(
        &self,
        name: &str,
        holder: &str,
        now_ms: i64,
        period_ms: i64,
    ) -> anyhow::Result<bool> {
        with_pool!(self, |pool| {
            let done = sqlx::query(
                "INSERT INTO leases (name, holder, until_ms) VALUES ($1, $2, $3 + $4)
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until_ms = excluded.until_ms
             WHERE leases.holder = excluded.holder OR leases.until_ms <= $3",
            )
            .bind(name)
            .bind(holder)
            .bind(now_ms)
            .bind(period_ms)
            .execute(pool)
            .await
            .with_context(|| format!("taking the lease {name}"))?;
            Ok(done.rows_affected() == 1)
        })
    }

    /// Gives the lease up if `holder` has it (a clean shutdown): another
    /// replica takes it at its next renewal instead of after the period.
    pub async fn release_lease(&self, name: &str, holder: &str) -> anyhow::Result<()> {
        with_pool!(self, |pool| {
            sqlx::query("UPDATE leases SET until_ms = 0 WHERE name = $1 AND holder = $2")
                .bind(name)
                .bind(holder)
                .execute(pool)
                .await
                .with_context(|| format!("releasing the lease {name}"))?;
            Ok(())
        })
    }

    /// Who holds the lease `name` and until when (tests, inspection).
    pub async fn lease(&self, name: &str) -> anyhow::Result<Option<(String, i64)>> {
        with_pool!(self, |pool| {
            sqlx::query_as("SELECT holder, until_ms FROM leases WHERE name = $1")
                .bind(name)
                .fetch_optional(pool)
                .await
                .with_context(|| format!("reading the lease {name}"))
        })
    }
}

/// One replica's hold on the lease [`LEADER`]; cheap to clone (shared state).
#[derive(Clone)]
pub struct Leader {
    store: Store,
    holder: String,
    clock: SharedClock,
    period: Duration,
    /// Until when (unix ms, on `clock`) this replica holds the lease, as
    /// of its last renewal; 0 when it does not.
    held_until_ms: Arc<Mutex<i64>>,
    gauge: Option<IntGauge>,
}

impl Leader {
    /// `holder` names this replica: `INSTANCE_NAME` plus a random suffix
    /// ([`holder_name`]), so two replicas of one name still differ.
    pub fn new(store: Store, holder: impl Into<String>, clock: SharedClock) -> Self {
        Self {
            store,
            holder: holder.into(),
            clock,
            period: LEASE_PERIOD,
            held_until_ms: Arc::new(Mutex::new(0)),
            gauge: None,
        }
    }

    pub fn with_period(mut self, period: Duration) -> Self {
        self.period = period;
        self
    }

    /// Sets `gauge` (the `leader` metric) to 1 while held, 0 otherwise.
    pub fn with_gauge(mut self, gauge: IntGauge) -> Self {
        gauge.set(0);
        self.gauge = Some(gauge);
        self
    }

    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// How often the keeper renews: a third of the period, so two renewals
    /// may fail before the lease runs out.
    pub fn renew_every(&self) -> Duration {
        self.period / 3
    }

    /// Takes or renews the lease at the clock's now. A store failure keeps
    /// what was known: a lease held stays held until its end, no longer.
    pub async fn renew(&self) -> anyhow::Result<bool> {
        let now_ms = self.clock.now().timestamp_millis();
        let period_ms = i64::try_from(self.period.as_millis()).unwrap_or(i64::MAX / 4);
        let held = self
            .store
            .try_lease(LEADER, &self.holder, now_ms, period_ms)
            .await?;
        let was = self.holds();
        *self.lock() = if held { now_ms + period_ms } else { 0 };
        if held != was {
            if held {
                tracing::info!(holder = %self.holder, "this replica is the leader now");
            } else {
                tracing::info!(holder = %self.holder, "this replica is no longer the leader");
            }
        }
        self.show();
        Ok(held)
    }

    /// Whether this replica holds the lease at the clock's now.
    pub fn holds(&self) -> bool {
        *self.lock() > self.clock.now().timestamp_millis()
    }

    /// Renews every [`Self::renew_every`] until shutdown, then releases.
    pub async fn keep(self, mut shutdown: ShutdownListener) {
        while !shutdown.is_stopped() {
            shutdown.beat();
            if let Err(err) = self.renew().await {
                tracing::warn!(error = %format!("{err:#}"), "renewing the leader lease failed");
                self.show();
            }
            tokio::select! {
                _ = tokio::time::sleep(self.renew_every()) => {}
                _ = shutdown.stopped() => {}
            }
        }
        if self.holds() {
            *self.lock() = 0;
            if let Err(err) = self.store.release_lease(LEADER, &self.holder).await {
                tracing::warn!(error = %format!("{err:#}"), "releasing the leader lease failed");
            }
        }
        self.show();
    }

    /// A gate for a worker that steps every `interval` while leader.
    pub fn gate(&self, interval: Duration) -> Gate {
        Gate {
            leader: self.clone(),
            interval,
            last: None,
        }
    }

    fn show(&self) {
        if let Some(gauge) = &self.gauge {
            gauge.set(i64::from(self.holds()));
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, i64> {
        self.held_until_ms
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Decides, at each tick of a gated worker, whether it steps: only while
/// leader, every `interval`, and at once when it has just become leader (a
/// replica taking over does not wait a whole `POLL_INTERVAL`). The worker
/// ticks every [`Gate::tick`] (its own interval, at most the renewal
/// period) and beats at every tick, stepping or not.
pub struct Gate {
    leader: Leader,
    interval: Duration,
    last: Option<tokio::time::Instant>,
}

impl Gate {
    /// How often the gated worker should tick.
    pub fn tick(&self) -> Duration {
        self.interval
            .min(self.leader.renew_every())
            .max(Duration::from_millis(1))
    }

    /// Whether to step now; counts it as the last step when so. Not
    /// holding the lease, it first tries to take it (the keeper renews
    /// between steps; this makes a step after a long pause or a jump of
    /// the clock see the lease as it is). Intervals are measured on tokio's
    /// clock, as the worker's ticks.
    pub async fn due(&mut self) -> bool {
        if !self.leader.holds()
            && let Err(err) = self.leader.renew().await
        {
            tracing::warn!(error = %format!("{err:#}"), "taking the leader lease failed");
        }
        if !self.leader.holds() {
            self.last = None;
            return false;
        }
        let now = tokio::time::Instant::now();
        // Half a tick of slack: ticks come every `tick`, a step starts a
        // little after its tick.
        let slack = self.tick() / 2;
        if self
            .last
            .is_some_and(|last| now.saturating_duration_since(last) + slack < self.interval)
        {
            return false;
        }
        self.last = Some(now);
        true
    }
}

/// [`ShutdownListener::every`] for a worker that runs only on the leader:
/// without a `leader` exactly that; with one, it ticks every [`Gate::tick`],
/// beats at every tick (a follower stays ready) and steps only when the
/// [`Gate`] says so.
pub async fn every_as_leader<F, Fut>(
    leader: Option<&Leader>,
    shutdown: ShutdownListener,
    interval: Duration,
    what: &'static str,
    mut step: F,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let Some(leader) = leader else {
        return shutdown.every(interval, what, step).await;
    };
    let gate = leader.gate(interval);
    let tick = gate.tick();
    let gate = tokio::sync::Mutex::new(gate);
    let gate = &gate;
    shutdown
        .every(tick, what, || {
            // Not polled unless the gate opens.
            let work = step();
            async move {
                if gate.lock().await.due().await {
                    work.await
                } else {
                    Ok(())
                }
            }
        })
        .await;
}

/// A lease holder name: `instance` (or "meteobot") and a random suffix.
pub fn holder_name(instance: &str) -> String {
    let suffix = uuid::Uuid::new_v4().simple().to_string();
    let instance = if instance.is_empty() {
        "meteobot"
    } else {
        instance
    };
    format!("{instance}-{}", &suffix[..8])
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::clock::{Clock, ManualClock};
    use crate::store::test_support::temp_store;

    #[tokio::test]
    async fn the_lease_rule_acquire_renew_expire_and_contend() {
        let (store, _dir) = temp_store().await;
        // Free: taken.
        assert!(store.try_lease(LEADER, "a", 1_000, 30_000).await.unwrap());
        assert_eq!(
            store.lease(LEADER).await.unwrap(),
            Some(("a".to_owned(), 31_000))
        );
        // Held by a: b is refused, and the row is unchanged.
        assert!(!store.try_lease(LEADER, "b", 2_000, 30_000).await.unwrap());
        assert_eq!(
            store.lease(LEADER).await.unwrap(),
            Some(("a".to_owned(), 31_000))
        );
        // a renews.
        assert!(store.try_lease(LEADER, "a", 11_000, 30_000).await.unwrap());
        assert!(!store.try_lease(LEADER, "b", 40_999, 30_000).await.unwrap());
        // Expired: b takes over; a's late renewal is refused.
        assert!(store.try_lease(LEADER, "b", 41_000, 30_000).await.unwrap());
        assert!(!store.try_lease(LEADER, "a", 41_001, 30_000).await.unwrap());
        assert_eq!(
            store.lease(LEADER).await.unwrap(),
            Some(("b".to_owned(), 71_000))
        );
        // Released: taken at once.
        store.release_lease(LEADER, "a").await.unwrap(); // not a's: no effect
        assert!(!store.try_lease(LEADER, "a", 42_000, 30_000).await.unwrap());
        store.release_lease(LEADER, "b").await.unwrap();
        assert!(store.try_lease(LEADER, "a", 42_000, 30_000).await.unwrap());
    }

    #[tokio::test]
    async fn two_contenders_at_once_one_wins() {
        let (store, _dir) = temp_store().await;
        for round in 0..20_i64 {
            let name = format!("race{round}");
            let (a, b) = tokio::join!(
                store.try_lease(&name, "a", 0, 30_000),
                store.try_lease(&name, "b", 0, 30_000)
            );
            assert!(a.unwrap() ^ b.unwrap(), "exactly one holds {name}");
        }
    }

    #[tokio::test]
    async fn a_dead_leader_is_replaced_within_two_periods() {
        let (store, _dir) = temp_store().await;
        let clock = ManualClock::default();
        let shared: SharedClock = Arc::new(clock.clone());
        let gauge_a = IntGauge::new("leader_a", "a").unwrap();
        let gauge_b = IntGauge::new("leader_b", "b").unwrap();
        let a = Leader::new(store.clone(), "a", Arc::clone(&shared)).with_gauge(gauge_a.clone());
        let b = Leader::new(store.clone(), "b", Arc::clone(&shared)).with_gauge(gauge_b.clone());
        let mut gate_a = a.gate(Duration::from_secs(600));
        let mut gate_b = b.gate(Duration::from_secs(600));
        assert!(a.renew().await.unwrap());
        assert!(!b.renew().await.unwrap());
        assert_eq!((gauge_a.get(), gauge_b.get()), (1, 0));
        assert!(gate_a.due().await, "a new leader steps at once");
        assert!(!gate_a.due().await, "then every interval");
        assert!(!gate_b.due().await, "a follower never steps");
        // a renews every 10 s; b keeps trying.
        for _ in 0..3 {
            clock.advance(a.renew_every());
            assert!(a.renew().await.unwrap());
            assert!(!b.renew().await.unwrap());
        }
        let died_at = clock.now();
        // a dies (kill -9: no release, no more renewals). b renews every 10 s.
        let mut took_over = None;
        for tick in 1..=6 {
            clock.advance(b.renew_every());
            if b.renew().await.unwrap() {
                took_over = Some(tick);
                break;
            }
            assert!(!gate_b.due().await);
        }
        let took_over = took_over.expect("b takes over");
        let after = clock.now() - died_at;
        assert!(
            after <= chrono::TimeDelta::seconds(60),
            "took over after {after}, more than two periods"
        );
        assert!(took_over >= 3, "not before a's lease ran out");
        assert!(gate_b.due().await, "the new leader steps at once");
        assert!(!a.holds(), "a's own view expired too");
        assert!(!gate_a.due().await);
        assert_eq!(gauge_b.get(), 1);
        // a comes back: it is refused and knows it.
        assert!(!a.renew().await.unwrap());
        assert_eq!(gauge_a.get(), 0);
    }
}
