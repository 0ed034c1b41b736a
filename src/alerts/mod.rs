//! The alert engine's deciding half: rules per condition, the per-condition
//! episode state machine, the forecast look-ahead for heads-ups, and the
//! poller that applies them to the stored forecast series. It never sends:
//! its decisions go to the outbox, in the transaction that records them.

pub mod compose;
pub mod decide;
pub mod heads_up;
mod judge;
mod poller;
pub mod quiet;
pub mod rules;
pub mod snooze;
pub mod state;

pub use poller::{PollReport, Poller, PollerSettings};
pub use rules::{Breach, Condition, Rule};
pub use state::{Episode, Happening};
