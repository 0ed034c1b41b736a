//! DESIGN.md's violation rule, as pure functions: inclusive thresholds, rain
//! and snow flags, and the 0.5 °C hysteresis before a temperature clears.

use crate::weather::Observation;

/// A temperature violation clears only this far back inside the band.
pub const HYSTERESIS_C: f64 = 0.5;

/// What one subscription watches.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rule {
    pub t_min: Option<f64>,
    pub t_max: Option<f64>,
    pub rain: bool,
    pub snow: bool,
}

/// One way the weather is outside what the user asked for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Breach {
    AboveMax { observed: f64, max: f64 },
    BelowMin { observed: f64, min: f64 },
    Rain,
    Snow,
}

impl Rule {
    /// Every breach right now; empty means inside the limits.
    pub fn breaches(&self, obs: &Observation) -> Vec<Breach> {
        let t = obs.temperature_c;
        let mut out = Vec::new();
        if let Some(max) = self.t_max
            && t >= max
        {
            out.push(Breach::AboveMax { observed: t, max });
        }
        if let Some(min) = self.t_min
            && t <= min
        {
            out.push(Breach::BelowMin { observed: t, min });
        }
        if self.rain && obs.raining {
            out.push(Breach::Rain);
        }
        if self.snow && obs.snowing {
            out.push(Breach::Snow);
        }
        out
    }

    /// Whether a subscription *already in violation* may be declared clear:
    /// no breach, and the temperature at least [`HYSTERESIS_C`] inside each
    /// bound, so a value hovering on a threshold does not flap.
    pub fn is_clear(&self, obs: &Observation) -> bool {
        let t = obs.temperature_c;
        let below_max = self.t_max.is_none_or(|max| t <= max - HYSTERESIS_C);
        let above_min = self.t_min.is_none_or(|min| t >= min + HYSTERESIS_C);
        below_max && above_min && !(self.rain && obs.raining) && !(self.snow && obs.snowing)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    pub fn obs(t: f64, raining: bool, snowing: bool) -> Observation {
        Observation {
            temperature_c: t,
            raining,
            snowing,
            observed_at: chrono::Utc::now(),
            description: None,
        }
    }

    const BAND: Rule = Rule {
        t_min: Some(5.0),
        t_max: Some(30.0),
        rain: false,
        snow: false,
    };

    #[test]
    fn thresholds_are_inclusive() {
        assert_eq!(
            BAND.breaches(&obs(30.0, false, false)),
            vec![Breach::AboveMax {
                observed: 30.0,
                max: 30.0
            }]
        );
        assert_eq!(
            BAND.breaches(&obs(5.0, false, false)),
            vec![Breach::BelowMin {
                observed: 5.0,
                min: 5.0
            }]
        );
        assert!(BAND.breaches(&obs(29.99, false, false)).is_empty());
        assert!(BAND.breaches(&obs(5.01, false, false)).is_empty());
    }

    #[test]
    fn missing_bounds_never_breach() {
        let rule = Rule {
            t_min: None,
            t_max: None,
            rain: true,
            snow: false,
        };
        assert!(rule.breaches(&obs(-80.0, false, true)).is_empty());
        assert!(rule.breaches(&obs(55.0, false, false)).is_empty());
        assert_eq!(rule.breaches(&obs(10.0, true, false)), vec![Breach::Rain]);
        let max_only = Rule {
            t_min: None,
            t_max: Some(0.0),
            rain: false,
            snow: true,
        };
        assert_eq!(
            max_only.breaches(&obs(1.0, true, true)),
            vec![
                Breach::AboveMax {
                    observed: 1.0,
                    max: 0.0
                },
                Breach::Snow
            ]
        );
    }

    #[test]
    fn flags_off_ignore_precipitation() {
        assert!(BAND.breaches(&obs(20.0, true, true)).is_empty());
    }

    #[test]
    fn clearing_needs_half_a_degree() {
        assert!(!BAND.is_clear(&obs(29.8, false, false)));
        assert!(BAND.is_clear(&obs(29.5, false, false)));
        assert!(!BAND.is_clear(&obs(5.3, false, false)));
        assert!(BAND.is_clear(&obs(5.5, false, false)));
        let rain = Rule {
            t_min: None,
            t_max: None,
            rain: true,
            snow: false,
        };
        assert!(!rain.is_clear(&obs(10.0, true, false)));
        assert!(rain.is_clear(&obs(10.0, false, false)));
    }

    proptest! {
        #[test]
        fn clear_implies_no_breach(t in -90.0f64..60.0, lo in -90.0f64..60.0, span in 0.1f64..50.0,
                                   rain in any::<bool>(), snow in any::<bool>(),
                                   raining in any::<bool>(), snowing in any::<bool>()) {
            let rule = Rule { t_min: Some(lo), t_max: Some(lo + span), rain, snow };
            let o = obs(t, raining, snowing);
            if rule.is_clear(&o) {
                prop_assert!(rule.breaches(&o).is_empty());
            }
        }

        #[test]
        fn breach_iff_outside_closed_band(t in -90.0f64..60.0, lo in -90.0f64..60.0, span in 0.1f64..50.0) {
            let rule = Rule { t_min: Some(lo), t_max: Some(lo + span), rain: false, snow: false };
            let outside = t <= lo || t >= lo + span;
            prop_assert_eq!(!rule.breaches(&obs(t, false, false)).is_empty(), outside);
        }
    }
}
