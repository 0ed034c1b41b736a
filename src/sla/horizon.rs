//! How far a forecast looks: whole minutes, from one to a day (further
//! than that, six hours of history say nothing).

use std::time::Duration;

use crate::domain::ParseError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Horizon(u32);

impl Horizon {
    pub const MAX_MINUTES: u32 = 1440;

    pub fn from_minutes(minutes: u32) -> Result<Self, ParseError> {
        if (1..=Self::MAX_MINUTES).contains(&minutes) {
            Ok(Self(minutes))
        } else {
            Err(ParseError::new(format!(
                "minutes must be between 1 and {}",
                Self::MAX_MINUTES
            )))
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let minutes: u32 = raw.trim().parse().map_err(|_| {
            ParseError::new(format!("'{}' is not a whole number of minutes", raw.trim()))
        })?;
        Self::from_minutes(minutes)
    }

    pub fn minutes(self) -> u32 {
        self.0
    }

    pub fn duration(self) -> Duration {
        Duration::from_secs(u64::from(self.0) * 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn horizons() {
        assert_eq!(
            Horizon::parse(" 30 ").unwrap().duration(),
            Duration::from_secs(1800)
        );
        for bad in ["0", "-5", "1.5", "abc", "", "1441"] {
            assert!(Horizon::parse(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn any_text_is_a_horizon_or_an_error(raw in "\\PC{0,8}") {
            if let Ok(h) = Horizon::parse(&raw) {
                prop_assert!((1..=Horizon::MAX_MINUTES).contains(&h.minutes()));
                prop_assert_eq!(h.duration().as_secs(), u64::from(h.minutes()) * 60);
            }
        }
    }
}
