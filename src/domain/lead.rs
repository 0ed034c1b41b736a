//! A heads-up lead time: how long before the weather turns a subscription
//! wants to hear about it. Written as a humantime duration (`40m`, `3h`,
//! `1h 30m`) or a number of minutes (`90`), or `off`.

use std::time::Duration;

use super::ParseError;

/// At most this far ahead: the stored hourly forecast covers 48 h.
pub const MAX_LEAD: Duration = Duration::from_secs(48 * 3600);
/// Less than a minute is not a warning.
pub const MIN_LEAD: Duration = Duration::from_secs(60);

/// A valid lead time, between [`MIN_LEAD`] and [`MAX_LEAD`], whole seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LeadTime(Duration);

impl LeadTime {
    pub fn new(duration: Duration) -> Result<Self, ParseError> {
        if duration < MIN_LEAD {
            return Err(ParseError::new(
                "a heads-up lead time must be at least 1 minute (or off)",
            ));
        }
        if duration > MAX_LEAD {
            return Err(ParseError::new(
                "a heads-up lead time can be at most 48 h (the forecast ends there)",
            ));
        }
        Ok(Self(Duration::from_secs(duration.as_secs())))
    }

    /// From stored seconds.
    pub fn from_secs(seconds: i64) -> Result<Self, ParseError> {
        let seconds = u64::try_from(seconds)
            .map_err(|_| ParseError::new("a heads-up lead time cannot be negative"))?;
        Self::new(Duration::from_secs(seconds))
    }

    /// `off` / `no` / `none` / `-` (and an empty field) mean no heads-up:
    /// `Ok(None)`. A bare number is minutes.
    pub fn parse_optional(raw: &str) -> Result<Option<Self>, ParseError> {
        let raw = raw.trim();
        match raw.to_lowercase().as_str() {
            "" | "off" | "no" | "none" | "-" | "never" => return Ok(None),
            _ => {}
        }
        if raw.starts_with('-') {
            return Err(ParseError::new(format!(
                "'{raw}': a heads-up lead time cannot be negative"
            )));
        }
        let duration = if raw.bytes().all(|b| b.is_ascii_digit()) {
            let minutes: u64 = raw
                .parse()
                .map_err(|_| ParseError::new(format!("'{raw}' is too many minutes")))?;
            Duration::from_secs(minutes.saturating_mul(60))
        } else {
            humantime::parse_duration(raw).map_err(|_| {
                ParseError::new(format!(
                    "'{raw}' is not a lead time (write e.g. 40m, 3h, 1h30m, or off)"
                ))
            })?
        };
        if duration.is_zero() {
            return Err(ParseError::new(
                "a lead time of zero is not a heads-up: write off to turn it off",
            ));
        }
        Self::new(duration).map(Some)
    }

    pub fn get(self) -> Duration {
        self.0
    }

    pub fn as_secs(self) -> i64 {
        self.0.as_secs() as i64
    }

    /// Short human form: `40m`, `3h`, `1h30m`.
    pub fn label(self) -> String {
        let minutes = self.0.as_secs() / 60;
        match (minutes / 60, minutes % 60) {
            (0, m) => format!("{m}m"),
            (h, 0) => format!("{h}h"),
            (h, m) => format!("{h}h{m}m"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(raw: &str) -> Result<Option<Duration>, ParseError> {
        LeadTime::parse_optional(raw).map(|l| l.map(LeadTime::get))
    }

    #[test]
    fn durations_minutes_and_off() {
        assert_eq!(parse("3h"), Ok(Some(Duration::from_secs(3 * 3600))));
        assert_eq!(parse(" 40m "), Ok(Some(Duration::from_secs(2400))));
        assert_eq!(parse("1h 30m"), Ok(Some(Duration::from_secs(5400))));
        assert_eq!(parse("90"), Ok(Some(Duration::from_secs(5400))));
        assert_eq!(parse("48h"), Ok(Some(MAX_LEAD)));
        for off in ["off", "OFF", "none", "-", "", "no"] {
            assert_eq!(parse(off), Ok(None), "{off}");
        }
    }

    #[test]
    fn bad_lead_times_say_why() {
        for (raw, why) in [
            ("soon", "not a lead time"),
            ("-3h", "negative"),
            ("0", "zero"),
            ("0s", "zero"),
            ("49h", "at most 48 h"),
            ("30s", "at least 1 minute"),
            ("99999999999999999999", "too many minutes"),
        ] {
            let err = parse(raw).unwrap_err();
            assert!(err.0.contains(why), "{raw}: {err}");
        }
        assert!(LeadTime::from_secs(-60).is_err());
        assert_eq!(LeadTime::from_secs(3600).unwrap().label(), "1h");
    }

    #[test]
    fn labels_are_short() {
        let label = |s: u64| LeadTime::new(Duration::from_secs(s)).unwrap().label();
        assert_eq!(label(2400), "40m");
        assert_eq!(label(3 * 3600), "3h");
        assert_eq!(label(5400), "1h30m");
    }

    proptest! {
        #[test]
        fn minutes_in_range_round_trip(minutes in 1u64..=2880) {
            let lead = LeadTime::parse_optional(&minutes.to_string()).unwrap().unwrap();
            prop_assert_eq!(lead.get(), Duration::from_secs(minutes * 60));
            let again = LeadTime::parse_optional(&lead.label()).unwrap().unwrap();
            prop_assert_eq!(again, lead);
        }

        #[test]
        fn any_text_is_parsed_or_refused_without_panic(raw in "\\PC{0,20}") {
            let _ = LeadTime::parse_optional(&raw);
        }
    }
}
