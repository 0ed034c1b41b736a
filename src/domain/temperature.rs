//! A temperature threshold in °C, inside what weather can plausibly reach.

use std::fmt;

use super::ParseError;

/// Coldest and hottest values accepted as a threshold (records: −89.2 / 56.7 °C).
pub const MIN_C: f64 = -90.0;
pub const MAX_C: f64 = 60.0;

#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Temperature(f64);

impl Temperature {
    pub fn new(celsius: f64) -> Result<Self, ParseError> {
        if !celsius.is_finite() || !(MIN_C..=MAX_C).contains(&celsius) {
            return Err(ParseError::new(format!(
                "{celsius} °C is outside {MIN_C}..{MAX_C} °C"
            )));
        }
        Ok(Self(celsius))
    }

    /// `""`, `-`, `none` (and `nessuno`) mean "no bound" → `Ok(None)`.
    /// Accepts a decimal comma (`12,5`) and a trailing `°`/`°C`/`C`.
    pub fn parse_optional(raw: &str) -> Result<Option<Self>, ParseError> {
        let text = raw.trim();
        let lower = text.to_lowercase();
        if matches!(
            lower.as_str(),
            "" | "-" | "none" | "nessuno" | "nessuna" | "null"
        ) {
            return Ok(None);
        }
        let number = lower
            .trim_end_matches('c')
            .trim_end_matches('°')
            .trim()
            .replace(',', ".");
        let value: f64 = number.parse().map_err(|_| {
            ParseError::new(format!(
                "'{text}' is not a temperature (write e.g. 5 or -3.5)"
            ))
        })?;
        Self::new(value).map(Some)
    }

    pub fn celsius(self) -> f64 {
        self.0
    }
}

impl fmt::Display for Temperature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} °C", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn spellings() {
        assert_eq!(
            Temperature::parse_optional("30")
                .unwrap()
                .unwrap()
                .celsius(),
            30.0
        );
        assert_eq!(
            Temperature::parse_optional(" -3.5 ")
                .unwrap()
                .unwrap()
                .celsius(),
            -3.5
        );
        assert_eq!(
            Temperature::parse_optional("12,5")
                .unwrap()
                .unwrap()
                .celsius(),
            12.5
        );
        assert_eq!(
            Temperature::parse_optional("20°C")
                .unwrap()
                .unwrap()
                .celsius(),
            20.0
        );
        for none in ["", "-", "none", "None", "nessuno"] {
            assert_eq!(Temperature::parse_optional(none), Ok(None), "{none}");
        }
        for bad in ["hot", "NaN", "inf", "1e400", "61", "-91", "5 5"] {
            assert!(Temperature::parse_optional(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn every_plausible_value_round_trips(v in MIN_C..=MAX_C) {
            let parsed = Temperature::parse_optional(&v.to_string()).unwrap().unwrap();
            prop_assert_eq!(parsed.celsius(), v);
        }

        #[test]
        fn out_of_range_is_refused(v in prop_oneof![-1e9..MIN_C - 0.001, MAX_C + 0.001..1e9]) {
            prop_assert!(Temperature::parse_optional(&v.to_string()).is_err());
        }

        #[test]
        fn arbitrary_text_never_panics(s in "\\PC{0,16}") {
            let _ = Temperature::parse_optional(&s);
        }
    }
}
