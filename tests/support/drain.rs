//! Stepping a notifier until its outbox is empty, sleeping while idle as its
//! own loop would (bounded: a minute at most).

use std::time::Duration;

use meteobot::notifier::{Notifier, StepOutcome, StepReport};
use meteobot::store::now_ms;
use tokio::time::Instant;

/// Steps until nothing is pending; idle pauses last until the next row is
/// due, at most `max_pause` (short when another notifier shares the rows).
pub async fn drain(notifier: &mut Notifier, max_pause: Duration) -> StepReport {
    let deadline = Instant::now() + Duration::from_secs(60);
    let max_ms = i64::try_from(max_pause.as_millis())
        .unwrap_or(i64::MAX)
        .max(1);
    let mut total = StepReport::default();
    loop {
        assert!(Instant::now() < deadline, "the outbox did not drain");
        match notifier.step().await.expect("step") {
            StepOutcome::Worked(r) => {
                total.sent += r.sent;
                total.retried += r.retried;
                total.failed += r.failed;
                total.stopped += r.stopped;
            }
            StepOutcome::Idle { next_due_ms: None } => return total,
            StepOutcome::Idle {
                next_due_ms: Some(due),
            } => {
                let wait = (due - now_ms()).clamp(1, max_ms);
                tokio::time::sleep(Duration::from_millis(wait as u64)).await;
            }
            StepOutcome::TokenRejected => panic!("the bot token was rejected"),
        }
    }
}
