//! What a subscription is told about: the conditions it watches and the
//! ways the weather breaks them. Shared by the alert engine, the texts and
//! the store, so it lives below all of them.

/// One thing a subscription can be told about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Condition {
    Hot,
    Cold,
    Rain,
    Snow,
}

impl Condition {
    pub const ALL: [Condition; 4] = [
        Condition::Hot,
        Condition::Cold,
        Condition::Rain,
        Condition::Snow,
    ];

    /// The store's name for it.
    pub fn code(self) -> &'static str {
        match self {
            Condition::Hot => "hot",
            Condition::Cold => "cold",
            Condition::Rain => "rain",
            Condition::Snow => "snow",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.code() == code)
    }
}

/// One way the weather is outside what the user asked for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Breach {
    AboveMax { observed: f64, max: f64 },
    BelowMin { observed: f64, min: f64 },
    Rain,
    Snow,
}

impl Breach {
    pub fn condition(&self) -> Condition {
        match self {
            Breach::AboveMax { .. } => Condition::Hot,
            Breach::BelowMin { .. } => Condition::Cold,
            Breach::Rain => Condition::Rain,
            Breach::Snow => Condition::Snow,
        }
    }
}
