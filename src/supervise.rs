//! Supervised workers: a worker built by a factory runs as its own task; if
//! it panics (or returns before shutdown) it is logged, counted in
//! `worker_restarts_total{worker}`, shown as not running on `/readyz`, and
//! built and started again after a backoff (1 s doubling to 60 s; a run that
//! lasted a while starts the backoff over).

use std::any::Any;
use std::future::Future;
use std::time::Duration;

use prometheus::IntCounterVec;

use crate::health::Heartbeat;
use crate::shutdown::ShutdownListener;

#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    pub initial: Duration,
    pub max: Duration,
    /// A run at least this long resets the delay to `initial`.
    pub reset_after: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(60),
            reset_after: Duration::from_secs(300),
        }
    }
}

/// Runs `make()` until shutdown, restarting it when it panics or returns
/// early. A worker is never raced against shutdown: it sees the signal
/// itself and finishes its unit of work, and the supervisor waits for it.
pub async fn supervise<F, Fut>(
    heartbeat: Heartbeat,
    restarts: IntCounterVec,
    mut shutdown: ShutdownListener,
    backoff: Backoff,
    mut make: F,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let worker = heartbeat.name();
    let mut delay = backoff.initial;
    loop {
        heartbeat.started();
        let started = tokio::time::Instant::now();
        let why = match tokio::spawn(make()).await {
            Ok(()) if shutdown.is_stopped() => break,
            Ok(()) => "returned before shutdown".to_owned(),
            Err(e) if e.is_panic() => format!("panicked: {}", panic_message(&*e.into_panic())),
            Err(e) => format!("task failed: {e}"),
        };
        if started.elapsed() >= backoff.reset_after {
            delay = backoff.initial;
        }
        heartbeat.stopped(format!("{why}; restarting in {} s", delay.as_secs()));
        tracing::error!(
            worker,
            reason = %why,
            restart_in_s = delay.as_secs(),
            "worker stopped unexpectedly; restarting"
        );
        tokio::select! {
            _ = shutdown.stopped() => break,
            _ = tokio::time::sleep(delay) => {}
        }
        delay = (delay * 2).min(backoff.max);
        restarts.with_label_values(&[worker]).inc();
        heartbeat.restarted();
        tracing::info!(worker, "worker restarted");
    }
    heartbeat.stopped("shut down");
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a non-text panic".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use crate::health::Health;
    use crate::metrics::Metrics;

    async fn settle() {
        for _ in 0..50 {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_panicking_worker_is_restarted_with_backoff_and_counted() {
        let metrics = Metrics::new();
        let health = Health::new();
        let hb = health.register("poller", None);
        let (trigger, listener) = crate::shutdown::channel();
        let builds = Arc::new(AtomicU32::new(0));
        let counted = Arc::clone(&builds);
        let worker_listener = listener.clone();
        let supervisor = tokio::spawn(supervise(
            hb,
            metrics.worker_restarts.clone(),
            listener,
            Backoff::default(),
            move || {
                let n = counted.fetch_add(1, Ordering::SeqCst);
                let mut stop = worker_listener.clone();
                async move {
                    if n < 2 {
                        panic!("worker bug #{n}");
                    }
                    stop.stopped().await;
                }
            },
        ));
        settle().await;
        assert_eq!(builds.load(Ordering::SeqCst), 1);
        let w = health.report()[0].clone();
        assert!(!w.running);
        assert!(
            w.problem
                .as_deref()
                .is_some_and(|p| p.contains("panicked: worker bug #0")),
            "{w:?}"
        );
        // First restart after 1 s, not before.
        tokio::time::advance(Duration::from_millis(900)).await;
        settle().await;
        assert_eq!(builds.load(Ordering::SeqCst), 1);
        tokio::time::advance(Duration::from_millis(200)).await;
        settle().await;
        assert_eq!(builds.load(Ordering::SeqCst), 2);
        // It panicked again: the next delay is 2 s.
        tokio::time::advance(Duration::from_millis(1_900)).await;
        settle().await;
        assert_eq!(builds.load(Ordering::SeqCst), 2);
        tokio::time::advance(Duration::from_millis(200)).await;
        settle().await;
        assert_eq!(builds.load(Ordering::SeqCst), 3);
        let w = health.report()[0].clone();
        assert!(w.ok && w.running, "{w:?}");
        assert_eq!(w.restarts, 2);
        assert_eq!(
            metrics.worker_restarts.with_label_values(&["poller"]).get(),
            2
        );
        trigger.trigger();
        supervisor
            .await
            .expect("the supervisor returns on shutdown");
        assert_eq!(builds.load(Ordering::SeqCst), 3);
        assert!(!health.report()[0].running);
    }

    #[tokio::test(start_paused = true)]
    async fn shutdown_during_the_backoff_ends_the_supervisor() {
        let metrics = Metrics::new();
        let health = Health::new();
        let hb = health.register("notifier", None);
        let (trigger, listener) = crate::shutdown::channel();
        let supervisor = tokio::spawn(supervise(
            hb,
            metrics.worker_restarts.clone(),
            listener,
            Backoff::default(),
            || async { panic!("always") },
        ));
        settle().await;
        trigger.trigger();
        supervisor.await.expect("ends");
        assert_eq!(
            metrics
                .worker_restarts
                .with_label_values(&["notifier"])
                .get(),
            0
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_worker_returning_early_is_restarted_too() {
        let metrics = Metrics::new();
        let health = Health::new();
        let hb = health.register("dispatcher", None);
        let (trigger, listener) = crate::shutdown::channel();
        let builds = Arc::new(AtomicU32::new(0));
        let counted = Arc::clone(&builds);
        let worker_listener = listener.clone();
        let supervisor = tokio::spawn(supervise(
            hb,
            metrics.worker_restarts.clone(),
            listener,
            Backoff::default(),
            move || {
                let n = counted.fetch_add(1, Ordering::SeqCst);
                let mut stop = worker_listener.clone();
                async move {
                    if n > 0 {
                        stop.stopped().await;
                    }
                }
            },
        ));
        settle().await;
        assert!(
            health.report()[0]
                .problem
                .as_deref()
                .is_some_and(|p| p.contains("returned before shutdown"))
        );
        tokio::time::advance(Duration::from_secs(2)).await;
        settle().await;
        assert_eq!(builds.load(Ordering::SeqCst), 2);
        assert!(health.report()[0].ok);
        trigger.trigger();
        supervisor.await.expect("ends");
    }
}
