//! Spaces request starts evenly under a calls-per-minute budget (OpenWeather
//! Map's free plan: 60/min). Tasks reserve the next free slot, then sleep
//! until it, so concurrency never turns into a burst.

use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

#[derive(Debug)]
pub struct Pacer {
    gap: Duration,
    next: Mutex<Option<Instant>>,
}

impl Pacer {
    /// `calls_per_minute` ≥ 1.
    pub fn per_minute(calls_per_minute: u32) -> Self {
        let gap = Duration::from_secs(60) / calls_per_minute.max(1);
        Self {
            gap,
            next: Mutex::new(None),
        }
    }

    /// Waits for this caller's slot.
    pub async fn wait(&self) {
        let slot = {
            let mut next = self.next.lock().await;
            let now = Instant::now();
            let slot = next.map_or(now, |n| n.max(now));
            *next = Some(slot + self.gap);
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn slots_are_a_gap_apart() {
        let pacer = Pacer::per_minute(60);
        let start = Instant::now();
        for _ in 0..4 {
            pacer.wait().await;
        }
        // Slots at 0, 1, 2, 3 s.
        assert_eq!(Instant::now() - start, Duration::from_secs(3));
    }

    #[tokio::test(start_paused = true)]
    async fn idle_time_is_not_banked() {
        let pacer = Pacer::per_minute(120);
        pacer.wait().await;
        tokio::time::sleep(Duration::from_secs(10)).await;
        let start = Instant::now();
        pacer.wait().await;
        pacer.wait().await;
        assert_eq!(Instant::now() - start, Duration::from_millis(500));
    }
}
