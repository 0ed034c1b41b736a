//! The range an SLA keeps a metric in: a maximum (the reference's
//! `desired_value`) and an optional minimum, both finite, min < max.

use std::fmt;

pub use crate::domain::Bound;
use crate::domain::ParseError;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MetricRange {
    max: f64,
    min: Option<f64>,
}

impl MetricRange {
    pub fn new(max: f64, min: Option<f64>) -> Result<Self, ParseError> {
        if !max.is_finite() {
            return Err(ParseError::new("the maximum must be a finite number"));
        }
        if let Some(min) = min {
            if !min.is_finite() {
                return Err(ParseError::new("the minimum must be a finite number"));
            }
            if min >= max {
                return Err(ParseError::new(format!(
                    "the minimum ({min}) must be below the maximum ({max})"
                )));
            }
        }
        Ok(Self { max, min })
    }

    /// From text fields: `max` is required; an empty, `-`, `none` or `null` minimum
    /// means "no minimum".
    pub fn parse(max: &str, min: Option<&str>) -> Result<Self, ParseError> {
        let max = parse_number("maximum", max)?;
        let min = match min.map(str::trim) {
            None | Some("" | "-") => None,
            Some(s) if s.eq_ignore_ascii_case("none") || s.eq_ignore_ascii_case("null") => None,
            Some(s) => Some(parse_number("minimum", s)?),
        };
        Self::new(max, min)
    }

    pub fn max(&self) -> f64 {
        self.max
    }

    pub fn min(&self) -> Option<f64> {
        self.min
    }

    /// The same range with another maximum (a "what if" forecast).
    pub fn with_max(&self, max: f64) -> Result<Self, ParseError> {
        Self::new(max, self.min)
    }

    /// The bound `value` crossed: above the maximum or below the minimum.
    /// A value equal to a bound is still inside.
    pub fn violation(&self, value: f64) -> Option<Bound> {
        if value > self.max {
            Some(Bound::Max)
        } else if self.min.is_some_and(|min| value < min) {
            Some(Bound::Min)
        } else {
            None
        }
    }

    pub fn bound_value(&self, bound: Bound) -> Option<f64> {
        match bound {
            Bound::Max => Some(self.max),
            Bound::Min => self.min,
        }
    }
}

impl fmt::Display for MetricRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.min {
            Some(min) => write!(f, "[{min}, {}]", self.max),
            None => write!(f, "≤ {}", self.max),
        }
    }
}

/// A finite decimal number; `,` is accepted as the decimal separator.
pub fn parse_number(what: &str, raw: &str) -> Result<f64, ParseError> {
    let text = raw.trim().replace(',', ".");
    match text.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(ParseError::new(format!(
            "the {what} '{}' is not a number",
            raw.trim()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_and_orders() {
        let r = MetricRange::parse("80", Some("10")).unwrap();
        assert_eq!((r.max(), r.min()), (80.0, Some(10.0)));
        assert_eq!(MetricRange::parse(" 0,5 ", None).unwrap().max(), 0.5);
        assert_eq!(MetricRange::parse("5", Some("")).unwrap().min(), None);
        assert_eq!(MetricRange::parse("5", Some("none")).unwrap().min(), None);
        assert!(MetricRange::parse("10", Some("10")).is_err());
        assert!(MetricRange::parse("10", Some("20")).is_err());
        assert!(MetricRange::parse("abc", None).is_err());
        assert!(MetricRange::parse("inf", None).is_err());
        assert!(MetricRange::parse("NaN", None).is_err());
        assert!(MetricRange::parse("1", Some("-inf")).is_err());
        assert!(MetricRange::new(f64::NAN, None).is_err());
    }

    #[test]
    fn bounds_are_inclusive() {
        let r = MetricRange::new(10.0, Some(2.0)).unwrap();
        assert_eq!(r.violation(10.0), None);
        assert_eq!(r.violation(2.0), None);
        assert_eq!(r.violation(10.5), Some(Bound::Max));
        assert_eq!(r.violation(1.9), Some(Bound::Min));
        let open = MetricRange::new(10.0, None).unwrap();
        assert_eq!(open.violation(-1e9), None);
        assert_eq!(open.bound_value(Bound::Min), None);
        assert_eq!(Bound::from_stored(Bound::Max.as_str()), Some(Bound::Max));
        assert_eq!(r.to_string(), "[2, 10]");
    }

    proptest! {
        #[test]
        fn accepted_ranges_are_ordered_and_finite(max in proptest::num::f64::ANY, min in proptest::option::of(proptest::num::f64::ANY)) {
            match MetricRange::new(max, min) {
                Ok(r) => {
                    prop_assert!(r.max().is_finite());
                    if let Some(lo) = r.min() {
                        prop_assert!(lo.is_finite() && lo < r.max());
                    }
                }
                Err(_) => prop_assert!(!max.is_finite() || min.is_some_and(|m| !m.is_finite() || m >= max)),
            }
        }

        #[test]
        fn text_round_trips(max in -1e9f64..1e9, gap in 0.001f64..1e6) {
            let min = max - gap;
            let r = MetricRange::parse(&max.to_string(), Some(&min.to_string())).unwrap();
            prop_assert_eq!((r.max(), r.min()), (max, Some(min)));
            prop_assert_eq!(r.violation(max), None);
            prop_assert_eq!(r.violation(min), None);
        }

        #[test]
        fn any_text_is_handled(max in "\\PC{0,12}", min in proptest::option::of("\\PC{0,12}")) {
            let _ = MetricRange::parse(&max, min.as_deref());
        }
    }
}
