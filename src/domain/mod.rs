//! Domain values parsed at the edge (REST fields, chat arguments): once built
//! they are valid, so the rest of the code never re-checks them. Every parser
//! returns a [`ParseError`] whose message can be shown to the user as is.

mod account;
mod band;
mod bound;
mod city;
mod condition;
mod flag;
mod lead;
mod local_time;
mod preferences;
mod temperature;

pub use account::{CHAT_ID_MAX, ChatId, Password, Username, username_key};
pub use band::TemperatureBand;
pub use bound::Bound;
pub use city::CityName;
pub use condition::{Breach, Condition};
pub use flag::parse_flag;
pub use lead::LeadTime;
pub use local_time::{ChatZone, LocalTime, QuietHours, QuietMode, daily_due};
pub use preferences::{Language, Units};
pub use temperature::Temperature;

/// A rejected value, with a sentence saying what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

impl ParseError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// True for characters that have no business in a name: control characters
/// (including newlines and NUL).
pub(crate) fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}
