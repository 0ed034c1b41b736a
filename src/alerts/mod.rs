//! The alert engine's deciding half: rules, the per-subscription state
//! machine, and the poller that applies them to live weather. It never sends:
//! its decisions go to the outbox, in the transaction that records them.

mod poller;
pub mod rules;
pub mod state;

pub use poller::{PollReport, Poller};
pub use rules::{Breach, Rule};
pub use state::{AlertState, Event};
