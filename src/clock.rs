//! Time, injected. Every schedule (polls, SLA evaluations, the outbox,
//! readiness, and the chat-facing times) asks a [`Clock`] instead of the
//! system, so tests set or advance time instead of sleeping.
//!
//! Two readings: the wall clock (`now`, what is stored and shown, what
//! schedules are computed from) and the monotonic one (`instant`, for
//! "how long since"). Production reads the system's wall clock and tokio's
//! monotonic clock (so `tokio::time::pause` moves `instant` in unit tests);
//! [`ManualClock`] moves only when told. Loops that talk to SQLite cannot run
//! under paused tokio time (the pool's timeouts would fire while a query
//! waits on SQLite's thread), so their tests give them a `ManualClock`.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};

pub trait Clock: Send + Sync + 'static {
    /// The wall clock (UTC).
    fn now(&self) -> DateTime<Utc>;
    /// The monotonic clock.
    fn instant(&self) -> Instant;
}

/// A clock shared by the app's parts.
pub type SharedClock = Arc<dyn Clock>;

/// The system's wall clock and tokio's monotonic clock (production).
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn instant(&self) -> Instant {
        tokio::time::Instant::now().into_std()
    }
}

/// The system clock, shared.
pub fn system() -> SharedClock {
    Arc::new(SystemClock)
}

/// A clock that moves only when told (unit tests); clones share it.
#[derive(Clone)]
pub struct ManualClock(Arc<Mutex<(DateTime<Utc>, Instant)>>);

impl ManualClock {
    pub fn starting_at(wall: DateTime<Utc>) -> Self {
        Self(Arc::new(Mutex::new((wall, Instant::now()))))
    }

    pub fn advance(&self, by: Duration) {
        let mut time = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        time.0 += delta(by);
        time.1 += by;
    }

    /// Moves the wall clock to `wall` (either way; the monotonic clock
    /// follows forwards only, as a real one would).
    pub fn set(&self, wall: DateTime<Utc>) {
        let mut time = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Ok(forward) = (wall - time.0).to_std() {
            time.1 += forward;
        }
        time.0 = wall;
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::starting_at(Utc::now())
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).0
    }

    fn instant(&self) -> Instant {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).1
    }
}

fn delta(d: Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    #[test]
    fn a_manual_clock_moves_only_when_told() {
        let clock = ManualClock::starting_at(t0());
        let (wall, mono) = (clock.now(), clock.instant());
        assert_eq!(wall, t0());
        clock.advance(Duration::from_secs(90));
        assert_eq!(clock.now(), t0() + TimeDelta::seconds(90));
        assert_eq!(clock.instant() - mono, Duration::from_secs(90));
        clock.set(t0() + TimeDelta::hours(1));
        assert_eq!(clock.instant() - mono, Duration::from_secs(3600));
        // Back in time: the wall clock goes, the monotonic one stays.
        clock.set(t0());
        assert_eq!(clock.now(), t0());
        assert_eq!(clock.instant() - mono, Duration::from_secs(3600));
    }
}
