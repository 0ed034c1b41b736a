//! A temperature threshold in °C, inside what weather can plausibly reach.

use std::fmt;

use super::{ParseError, Units};

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

    /// A threshold in °C unless it says otherwise: what REST reads (see
    /// [`Temperature::parse_with_units`]).
    pub fn parse_optional(raw: &str) -> Result<Option<Self>, ParseError> {
        Self::parse_with_units(raw, Units::Celsius)
    }

    /// A threshold as people type it. `""`, `-`, `none` (and `nessuno`) mean
    /// "no bound" → `Ok(None)`. The whole text must be one number — an
    /// optional sign, digits, a decimal point or comma (`12,5`) — followed
    /// by at most one unit: `C`/`°C`/`℃` or `F`/`°F`/`℉` (space before it
    /// allowed, `°` alone means `units`). Without a unit the number is in
    /// `units`. `30ccc`, `1e3`, `5 5`, `inf` are refused.
    pub fn parse_with_units(raw: &str, units: Units) -> Result<Option<Self>, ParseError> {
        let text = raw.trim();
        let lower = text.to_lowercase();
        if matches!(
            lower.as_str(),
            "" | "-" | "none" | "nessuno" | "nessuna" | "null"
        ) {
            return Ok(None);
        }
        let not_a_temperature = || {
            ParseError::new(format!(
                "'{text}' is not a temperature (write e.g. 5, -3.5, 30C or 86F)"
            ))
        };
        let (number, units) = split_unit(&lower, units).ok_or_else(not_a_temperature)?;
        let value = parse_decimal(number).ok_or_else(not_a_temperature)?;
        match units {
            Units::Celsius => Self::new(value),
            // Rounded to µ°C: the conversion leaves float noise (29.999…96).
            Units::Fahrenheit => {
                Self::new((units.to_celsius(value) * 1e6).round() / 1e6).map_err(|_| {
                    ParseError::new(format!(
                        "{value} °F is outside {}..{} °F",
                        Units::Fahrenheit.from_celsius(MIN_C),
                        Units::Fahrenheit.from_celsius(MAX_C)
                    ))
                })
            }
        }
        .map(Some)
    }

    pub fn celsius(self) -> f64 {
        self.0
    }
}

/// `"86 °f"` → `("86", Fahrenheit)`; `"20"` → `("20", default)`. Only one
/// unit, only at the end; `None` when what is left is empty.
fn split_unit(lower: &str, default: Units) -> Option<(&str, Units)> {
    let (rest, units) = if let Some(rest) = lower.strip_suffix(['c', '℃']) {
        (rest, Units::Celsius)
    } else if let Some(rest) = lower.strip_suffix(['f', '℉']) {
        (rest, Units::Fahrenheit)
    } else {
        (lower, default)
    };
    let rest = rest.strip_suffix(['°', 'º']).unwrap_or(rest).trim_end();
    (!rest.is_empty()).then_some((rest, units))
}

/// A plain decimal: `[+-]digits[(.|,)digits]`, at least one digit; no
/// exponent, no `inf`/`NaN`, nothing else around it.
fn parse_decimal(number: &str) -> Option<f64> {
    let unsigned = number.strip_prefix(['+', '-']).unwrap_or(number);
    let mut separators = 0;
    let mut digits = 0;
    for c in unsigned.chars() {
        match c {
            '0'..='9' => digits += 1,
            '.' | ',' => separators += 1,
            _ => return None,
        }
    }
    if digits == 0 || separators > 1 {
        return None;
    }
    number.replace(',', ".").parse().ok()
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

    fn celsius(raw: &str) -> f64 {
        Temperature::parse_optional(raw).unwrap().unwrap().celsius()
    }

    #[test]
    fn spellings() {
        assert_eq!(celsius("30"), 30.0);
        assert_eq!(celsius(" -3.5 "), -3.5);
        assert_eq!(celsius("12,5"), 12.5);
        assert_eq!(celsius("20°C"), 20.0);
        assert_eq!(celsius("+7"), 7.0);
        assert_eq!(celsius(".5"), 0.5);
        for none in ["", "-", "none", "None", "nessuno"] {
            assert_eq!(Temperature::parse_optional(none), Ok(None), "{none}");
        }
        for bad in ["hot", "NaN", "inf", "1e400", "61", "-91", "5 5"] {
            assert!(Temperature::parse_optional(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_number_is_the_whole_field() {
        for bad in [
            "30ccc", "30cc", "30 c c", "30°°C", "30x", "1e1", "30.5.1", "3,0,0", "--3", "+", ".",
            "°C", "C", "F", "30CF", "0x1e", "30 C!",
        ] {
            assert!(Temperature::parse_optional(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_explicit_unit_wins() {
        assert_eq!(celsius("86F"), 30.0);
        assert_eq!(celsius("86 °F"), 30.0);
        assert_eq!(celsius("86℉"), 30.0);
        assert_eq!(celsius("30C"), 30.0);
        assert_eq!(celsius("30 °C"), 30.0);
        assert_eq!(celsius("30℃"), 30.0);
        assert_eq!(celsius("-40f"), -40.0);
        assert_eq!(celsius("41F"), 5.0);
        let f = Temperature::parse_with_units("86", Units::Fahrenheit)
            .unwrap()
            .unwrap();
        assert_eq!(f.celsius(), 30.0);
        let c = Temperature::parse_with_units("30C", Units::Fahrenheit)
            .unwrap()
            .unwrap();
        assert_eq!(c.celsius(), 30.0);
        assert_eq!(
            Temperature::parse_with_units("50°", Units::Fahrenheit)
                .unwrap()
                .unwrap()
                .celsius(),
            10.0
        );
        let err = Temperature::parse_with_units("200", Units::Fahrenheit).unwrap_err();
        assert!(err.0.contains("°F"), "{err}");
        assert!(Temperature::parse_optional("141F").is_err());
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
            let _ = Temperature::parse_with_units(&s, Units::Fahrenheit);
        }
    }
}
