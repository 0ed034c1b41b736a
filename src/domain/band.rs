//! What a subscription watches: an optional temperature band plus rain/snow.

use super::{ParseError, Temperature};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TemperatureBand {
    min: Option<Temperature>,
    max: Option<Temperature>,
}

impl TemperatureBand {
    /// The minimum must be below the maximum: an empty band would always alert.
    pub fn new(min: Option<Temperature>, max: Option<Temperature>) -> Result<Self, ParseError> {
        if let (Some(lo), Some(hi)) = (min, max)
            && lo.celsius() >= hi.celsius()
        {
            return Err(ParseError::new(format!(
                "the minimum ({lo}) must be below the maximum ({hi})"
            )));
        }
        Ok(Self { min, max })
    }

    pub fn min(&self) -> Option<Temperature> {
        self.min
    }

    pub fn max(&self) -> Option<Temperature> {
        self.max
    }

    pub fn is_unbounded(&self) -> bool {
        self.min.is_none() && self.max.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(v: f64) -> Option<Temperature> {
        Some(Temperature::new(v).unwrap())
    }

    #[test]
    fn order_is_checked() {
        assert!(TemperatureBand::new(t(5.0), t(30.0)).is_ok());
        assert!(TemperatureBand::new(t(30.0), t(5.0)).is_err());
        assert!(TemperatureBand::new(t(5.0), t(5.0)).is_err());
        assert!(TemperatureBand::new(None, t(5.0)).is_ok());
        assert!(TemperatureBand::new(None, None).unwrap().is_unbounded());
    }

    proptest! {
        #[test]
        fn accepted_bands_are_ordered(a in -90.0f64..=60.0, b in -90.0f64..=60.0) {
            match TemperatureBand::new(t(a), t(b)) {
                Ok(band) => prop_assert!(band.min().unwrap() < band.max().unwrap()),
                Err(_) => prop_assert!(a >= b),
            }
        }
    }
}
