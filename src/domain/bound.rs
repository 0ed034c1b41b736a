//! Which side of an SLA's allowed range a value left by; stored with each
//! violation, so the store shares it.

/// Which side of the range a value left by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    Max,
    Min,
}

impl Bound {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Max => "max",
            Self::Min => "min",
        }
    }

    pub fn from_stored(s: &str) -> Option<Self> {
        match s {
            "max" => Some(Self::Max),
            "min" => Some(Self::Min),
            _ => None,
        }
    }
}
