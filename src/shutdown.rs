//! One shutdown signal for every task. `Shutdown::new()` gives the trigger and
//! a listener; listeners are cheap clones, each task awaits `stopped()` between
//! units of work so it finishes what it started.

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;

#[derive(Clone)]
pub struct ShutdownListener(watch::Receiver<bool>);

pub struct ShutdownTrigger(watch::Sender<bool>);

pub fn channel() -> (ShutdownTrigger, ShutdownListener) {
    let (tx, rx) = watch::channel(false);
    (ShutdownTrigger(tx), ShutdownListener(rx))
}

impl ShutdownTrigger {
    pub fn trigger(&self) {
        // send_replace works even when no listener is left.
        self.0.send_replace(true);
    }
}

impl ShutdownListener {
    pub fn is_stopped(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves once shutdown was triggered (or the trigger was dropped).
    pub async fn stopped(&mut self) {
        let _ = self.0.wait_for(|stop| *stop).await;
    }

    /// Runs `step` every `interval` (the first at once) until shutdown. A
    /// started step is not raced against shutdown: it finishes and commits,
    /// then the loop sees the signal. A failed step is logged and the next one
    /// runs on schedule; `what` names the work in those log lines.
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
            if let Err(e) = step().await {
                tracing::error!(error = format!("{e:#}"), "{what} failed");
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

    #[tokio::test]
    async fn a_dropped_trigger_also_stops() {
        let (trigger, mut listener) = channel();
        drop(trigger);
        listener.stopped().await;
    }
}
