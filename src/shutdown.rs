//! One shutdown signal for every task. `Shutdown::new()` gives the trigger and
//! a listener; listeners are cheap clones, each task awaits `stopped()` between
//! units of work so it finishes what it started.
//!
//! A listener may carry a worker's [`Heartbeat`]: [`ShutdownListener::every`]
//! beats after each step that succeeded, and a hand-written loop calls
//! [`ShutdownListener::beat`] once per turn.

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;

use crate::health::Heartbeat;

#[derive(Clone)]
pub struct ShutdownListener {
    stop: watch::Receiver<bool>,
    heartbeat: Option<Heartbeat>,
}

pub struct ShutdownTrigger(watch::Sender<bool>);

pub fn channel() -> (ShutdownTrigger, ShutdownListener) {
    let (tx, rx) = watch::channel(false);
    (
        ShutdownTrigger(tx),
        ShutdownListener {
            stop: rx,
            heartbeat: None,
        },
    )
}

impl ShutdownTrigger {
    pub fn trigger(&self) {
        // send_replace works even when no listener is left.
        self.0.send_replace(true);
    }
}

impl ShutdownListener {
    pub fn is_stopped(&self) -> bool {
        *self.stop.borrow()
    }

    /// Resolves once shutdown was triggered (or the trigger was dropped).
    pub async fn stopped(&mut self) {
        let _ = self.stop.wait_for(|stop| *stop).await;
    }

    /// This listener, carrying `heartbeat` (its clones carry it too).
    pub fn with_heartbeat(mut self, heartbeat: Heartbeat) -> Self {
        self.heartbeat = Some(heartbeat);
        self
    }

    /// The worker holding this listener made progress (no-op without a
    /// heartbeat).
    pub fn beat(&self) {
        if let Some(heartbeat) = &self.heartbeat {
            heartbeat.beat();
        }
    }

    /// Sets (`None`: clears) a problem that keeps the worker unready (no-op
    /// without a heartbeat).
    pub fn set_problem(&self, problem: Option<String>) {
        if let Some(heartbeat) = &self.heartbeat {
            heartbeat.set_problem(problem);
        }
    }

    /// Runs `step` every `interval` (the first at once) until shutdown. A
    /// started step is not raced against shutdown: it finishes and commits,
    /// then the loop sees the signal. A failed step is logged and the next one
    /// runs on schedule; `what` names the work in those log lines. A step
    /// that succeeded is progress: it beats the listener's heartbeat.
    pub async fn every<F, Fut>(mut self, interval: Duration, what: &'static str, mut step: F)
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = anyhow::Result<()>>,
    {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = self.stopped() => break,
                _ = ticks.tick() => {}
            }
            match step().await {
                Ok(()) => self.beat(),
                Err(e) => tracing::error!(error = format!("{e:#}"), "{what} failed"),
            }
        }
        tracing::info!("{what}: stopped");
    }
}

/// Ctrl-C or SIGTERM (what `docker stop` and systemd send). The handlers are
/// installed *now*, before the returned future is polled, so a signal that
/// arrives right after start-up is not lost to the default action.
pub fn os_signal() -> std::io::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => tracing::info!("Ctrl-C received, shutting down"),
            _ = terminate.recv() => tracing::info!("SIGTERM received, shutting down"),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_listener_sees_the_trigger() {
        let (trigger, listener) = channel();
        let mut a = listener.clone();
        let mut b = listener;
        assert!(!a.is_stopped());
        trigger.trigger();
        a.stopped().await;
        b.stopped().await;
        assert!(b.is_stopped());
    }

    #[tokio::test(start_paused = true)]
    async fn every_beats_after_each_successful_step() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicU32, Ordering};

        let clock = crate::clock::ManualClock::default();
        let health = crate::health::Health::with_clock(Arc::new(clock.clone()));
        let hb = health.register("poller", Some(Duration::from_secs(30)));
        hb.started();
        let (trigger, listener) = channel();
        let steps = Arc::new(AtomicU32::new(0));
        let counted = Arc::clone(&steps);
        let task = tokio::spawn(listener.with_heartbeat(hb).every(
            Duration::from_secs(10),
            "test step",
            move || {
                let n = counted.fetch_add(1, Ordering::SeqCst);
                async move {
                    if n == 0 {
                        Ok(())
                    } else {
                        Err(anyhow::anyhow!("store down"))
                    }
                }
            },
        ));
        // Paused time: sleeping lets the clock jump to the next tick.
        while steps.load(Ordering::SeqCst) == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let report = &health.report()[0];
        assert_eq!(report.last_progress_s, Some(0), "{report:?}");
        assert!(report.ok);
        // Failed steps are no progress: the period passes without a beat.
        clock.advance(Duration::from_secs(31));
        while steps.load(Ordering::SeqCst) < 3 {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        let report = &health.report()[0];
        assert!(!report.ok, "{report:?}");
        assert_eq!(report.last_progress_s, Some(31));
        trigger.trigger();
        task.await.expect("the loop ends");
    }

    #[tokio::test]
    async fn a_dropped_trigger_also_stops() {
        let (trigger, mut listener) = channel();
        drop(trigger);
        listener.stopped().await;
    }
}
