//! The notifier's health, shared with whoever reports readiness.
//!
//! [`WorkerStatus`] is a cheap clone of one shared state. The notifier
//! writes it; `/readyz` (or anything else) reads it:
//!
//! - [`WorkerStatus::healthy`] is `false` once Telegram rejected the bot
//!   token (401 Unauthorized / "Not Found"): the notifier has stopped sending
//!   and only a new token and a restart help. It never turns true again.
//! - [`WorkerStatus::problem`] says why, in one line without the token.
//! - [`WorkerStatus::last_progress_ms`] is the wall-clock time (unix ms) of
//!   the last step that completed, idle steps included: a running notifier
//!   steps at least every `Limits::idle_poll` (1 s by default), so an old
//!   value means the loop is stuck or gone.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

#[derive(Debug, Clone)]
pub struct WorkerStatus {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    healthy: AtomicBool,
    /// Unix ms of the last completed step; 0: none yet.
    last_progress_ms: AtomicI64,
    problem: Mutex<Option<String>>,
}

impl Default for WorkerStatus {
    fn default() -> Self {
        Self {
            inner: Arc::new(Inner {
                healthy: AtomicBool::new(true),
                last_progress_ms: AtomicI64::new(0),
                problem: Mutex::new(None),
            }),
        }
    }
}

impl WorkerStatus {
    pub fn new() -> Self {
        Self::default()
    }

    /// `false` once the notifier stopped for good (the bot token was rejected).
    pub fn healthy(&self) -> bool {
        self.inner.healthy.load(Ordering::Acquire)
    }

    /// Why it is unhealthy; `None` while healthy.
    pub fn problem(&self) -> Option<String> {
        self.inner
            .problem
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// When the last step completed (unix ms); `None` before the first.
    pub fn last_progress_ms(&self) -> Option<i64> {
        match self.inner.last_progress_ms.load(Ordering::Acquire) {
            0 => None,
            at => Some(at),
        }
    }

    /// Marks the worker unhealthy for good; the first reason is kept.
    /// `true` the first time (the caller logs it then, once).
    pub(crate) fn fail(&self, reason: &str) -> bool {
        let mut problem = self
            .inner
            .problem
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let first = problem.is_none();
        if first {
            *problem = Some(reason.to_owned());
        }
        self.inner.healthy.store(false, Ordering::Release);
        first
    }

    pub(crate) fn progressed(&self, at_ms: i64) {
        self.inner
            .last_progress_ms
            .fetch_max(at_ms.max(1), Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_healthy_and_a_failure_sticks_with_its_first_reason() {
        let status = WorkerStatus::new();
        let seen_by_readiness = status.clone();
        assert!(seen_by_readiness.healthy());
        assert_eq!(seen_by_readiness.problem(), None);
        assert_eq!(seen_by_readiness.last_progress_ms(), None);
        status.progressed(1_000);
        status.progressed(500);
        assert_eq!(seen_by_readiness.last_progress_ms(), Some(1_000));
        assert!(status.fail("bot token rejected"));
        assert!(!status.fail("something else"));
        assert!(!seen_by_readiness.healthy());
        assert_eq!(
            seen_by_readiness.problem().as_deref(),
            Some("bot token rejected")
        );
    }
}
