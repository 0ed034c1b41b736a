//! One shutdown signal for every task. `Shutdown::new()` gives the trigger and
//! a listener; listeners are cheap clones, each task awaits `stopped()` between
//! units of work so it finishes what it started.

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
}

/// Resolves on Ctrl-C or SIGTERM (what `docker stop` and systemd send).
pub async fn os_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sig) => {
                sig.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => tracing::info!("Ctrl-C received, shutting down"),
        _ = term => tracing::info!("SIGTERM received, shutting down"),
    }
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
