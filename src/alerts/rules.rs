//! The violation rules as pure functions. A subscription watches up to four
//! conditions — too hot, too cold, rain, snow — and each is judged (and
//! notified) on its own: inclusive thresholds, and a 0.5 °C hysteresis before
//! a temperature condition counts as over.

// The values rules speak of are domain types (the texts use them too).
pub use crate::domain::{Breach, Condition};
use crate::weather::{Sample, Step};

/// A temperature condition ends only this far back inside the band.
pub const HYSTERESIS_C: f64 = 0.5;

/// What one subscription watches.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rule {
    pub t_min: Option<f64>,
    pub t_max: Option<f64>,
    pub rain: bool,
    pub snow: bool,
}

impl Rule {
    /// The conditions this rule watches, in a fixed order.
    pub fn conditions(&self) -> impl Iterator<Item = Condition> + '_ {
        Condition::ALL.into_iter().filter(|c| self.watches(*c))
    }

    pub fn watches(&self, condition: Condition) -> bool {
        match condition {
            Condition::Hot => self.t_max.is_some(),
            Condition::Cold => self.t_min.is_some(),
            Condition::Rain => self.rain,
            Condition::Snow => self.snow,
        }
    }

    /// The breach of `condition` in these readings, if any.
    pub fn breach(&self, condition: Condition, sample: &Sample) -> Option<Breach> {
        let t = sample.temperature_c;
        match condition {
            Condition::Hot => self
                .t_max
                .filter(|max| t >= *max)
                .map(|max| Breach::AboveMax { observed: t, max }),
            Condition::Cold => self
                .t_min
                .filter(|min| t <= *min)
                .map(|min| Breach::BelowMin { observed: t, min }),
            Condition::Rain => (self.rain && sample.raining).then_some(Breach::Rain),
            Condition::Snow => (self.snow && sample.snowing).then_some(Breach::Snow),
        }
    }

    /// Every breach right now; empty means inside the limits.
    pub fn breaches(&self, sample: &Sample) -> Vec<Breach> {
        self.conditions()
            .filter_map(|c| self.breach(c, sample))
            .collect()
    }

    /// Whether an episode of `condition` in progress may be declared over: no
    /// breach, and for temperatures at least [`HYSTERESIS_C`] inside the
    /// bound, so a value hovering on a threshold does not flap.
    pub fn is_clear(&self, condition: Condition, sample: &Sample) -> bool {
        let t = sample.temperature_c;
        match condition {
            Condition::Hot => self.t_max.is_none_or(|max| t <= max - HYSTERESIS_C),
            Condition::Cold => self.t_min.is_none_or(|min| t >= min + HYSTERESIS_C),
            Condition::Rain => !sample.raining,
            Condition::Snow => !sample.snowing,
        }
    }

    /// Whether a forecast step breaks `condition` for a heads-up: a
    /// temperature over a limit, or rain / snow with at least `probability`
    /// percent and a real amount (a step without a probability is judged on
    /// its amount alone).
    pub fn forecast_breaks(&self, condition: Condition, step: &Step, probability: u8) -> bool {
        let likely = step.probability.is_none_or(|p| p >= probability);
        let t = f64::from(step.temperature_c);
        match condition {
            Condition::Hot => self.t_max.is_some_and(|max| t >= max),
            Condition::Cold => self.t_min.is_some_and(|min| t <= min),
            Condition::Rain => {
                self.rain && likely && step.rain_mm >= crate::weather::series::MIN_AMOUNT
            }
            Condition::Snow => {
                self.snow && likely && step.snow_cm >= crate::weather::series::MIN_SNOW_CM
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    pub fn sample(t: f64, raining: bool, snowing: bool) -> Sample {
        Sample {
            at: chrono::Utc::now(),
            temperature_c: t,
            raining,
            snowing,
            rain_mm: if raining { 1.0 } else { 0.0 },
            snow_cm: if snowing { 1.0 } else { 0.0 },
            probability: None,
            code: None,
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
            BAND.breaches(&sample(30.0, false, false)),
            vec![Breach::AboveMax {
                observed: 30.0,
                max: 30.0
            }]
        );
        assert_eq!(
            BAND.breaches(&sample(5.0, false, false)),
            vec![Breach::BelowMin {
                observed: 5.0,
                min: 5.0
            }]
        );
        assert!(BAND.breaches(&sample(29.99, false, false)).is_empty());
        assert!(BAND.breaches(&sample(5.01, false, false)).is_empty());
    }

    #[test]
    fn missing_bounds_never_breach() {
        let rule = Rule {
            t_min: None,
            t_max: None,
            rain: true,
            snow: false,
        };
        assert!(rule.breaches(&sample(-80.0, false, true)).is_empty());
        assert_eq!(
            rule.breaches(&sample(10.0, true, false)),
            vec![Breach::Rain]
        );
        assert_eq!(rule.conditions().collect::<Vec<_>>(), vec![Condition::Rain]);
        let max_only = Rule {
            t_min: None,
            t_max: Some(0.0),
            rain: false,
            snow: true,
        };
        assert_eq!(
            max_only.breaches(&sample(1.0, true, true)),
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
        assert!(BAND.breaches(&sample(20.0, true, true)).is_empty());
    }

    #[test]
    fn clearing_needs_half_a_degree_per_condition() {
        let hot = Condition::Hot;
        assert!(!BAND.is_clear(hot, &sample(29.8, false, false)));
        assert!(BAND.is_clear(hot, &sample(29.5, false, false)));
        assert!(!BAND.is_clear(Condition::Cold, &sample(5.3, false, false)));
        assert!(BAND.is_clear(Condition::Cold, &sample(5.5, false, false)));
        // Heat being over says nothing about rain, and the reverse.
        let both = Rule { rain: true, ..BAND };
        assert!(both.is_clear(hot, &sample(20.0, true, false)));
        assert!(!both.is_clear(Condition::Rain, &sample(20.0, true, false)));
    }

    #[test]
    fn forecast_steps_need_probability_and_amount() {
        let rule = Rule {
            t_min: None,
            t_max: Some(30.0),
            rain: true,
            snow: true,
        };
        let step = |t: f32, rain: f32, snow: f32, p: Option<u8>| Step {
            at: 0,
            temperature_c: t,
            rain_mm: rain,
            snow_cm: snow,
            probability: p,
            code: None,
        };
        assert!(rule.forecast_breaks(Condition::Rain, &step(20.0, 0.4, 0.0, Some(70)), 50));
        assert!(!rule.forecast_breaks(Condition::Rain, &step(20.0, 0.4, 0.0, Some(40)), 50));
        assert!(!rule.forecast_breaks(Condition::Rain, &step(20.0, 0.05, 0.0, Some(90)), 50));
        assert!(rule.forecast_breaks(Condition::Rain, &step(20.0, 0.1, 0.0, None), 50));
        assert!(rule.forecast_breaks(Condition::Snow, &step(-2.0, 0.0, 0.2, Some(50)), 50));
        assert!(rule.forecast_breaks(Condition::Hot, &step(30.0, 0.0, 0.0, None), 50));
        assert!(!rule.forecast_breaks(Condition::Cold, &step(-30.0, 0.0, 0.0, None), 50));
    }

    proptest! {
        #[test]
        fn clear_implies_no_breach(t in -90.0f64..60.0, lo in -90.0f64..60.0, span in 0.1f64..50.0,
                                   rain in any::<bool>(), snow in any::<bool>(),
                                   raining in any::<bool>(), snowing in any::<bool>()) {
            let rule = Rule { t_min: Some(lo), t_max: Some(lo + span), rain, snow };
            let s = sample(t, raining, snowing);
            for c in rule.conditions() {
                if rule.is_clear(c, &s) {
                    prop_assert!(rule.breach(c, &s).is_none());
                }
            }
        }

        #[test]
        fn breach_iff_outside_closed_band(t in -90.0f64..60.0, lo in -90.0f64..60.0, span in 0.1f64..50.0) {
            let rule = Rule { t_min: Some(lo), t_max: Some(lo + span), rain: false, snow: false };
            let outside = t <= lo || t >= lo + span;
            prop_assert_eq!(!rule.breaches(&sample(t, false, false)).is_empty(), outside);
        }
    }
}
