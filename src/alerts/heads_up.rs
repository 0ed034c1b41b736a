//! Reading the forecast ahead: when does a condition first break within a
//! lead time, and how bad does it get. Pure functions over a series'
//! timeline.

use chrono::{DateTime, TimeDelta, Utc};

use super::rules::{Condition, Rule};
use crate::weather::{Series, Step};

/// A predicted start may move this much and still be the same episode.
pub const SAME_EPISODE: TimeDelta = TimeDelta::hours(1);

/// A forecast breach of one condition.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    /// The first step that breaks the condition.
    pub start: DateTime<Utc>,
    /// The most extreme temperature of the predicted episode (hottest for
    /// heat, coldest for cold; the start's for rain and snow) and when.
    pub peak_c: f64,
    pub peak_at: DateTime<Utc>,
    /// The highest precipitation probability of the episode, if known.
    pub probability: Option<u8>,
}

/// The first predicted breach of `condition` after `now` and no later than
/// `until`, with the extent of its run of breaking steps (within the window).
pub fn first_hit(
    series: &Series,
    rule: &Rule,
    condition: Condition,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
    min_probability: u8,
) -> Option<Hit> {
    let steps = series.timeline(now, until);
    let breaks = |s: &Step| rule.forecast_breaks(condition, s, min_probability);
    let start_index = steps
        .iter()
        .position(|s| s.at > now.timestamp() && breaks(s))?;
    let run = steps[start_index..].iter().take_while(|s| breaks(s));
    let mut hit: Option<Hit> = None;
    for step in run {
        let at = DateTime::from_timestamp(step.at, 0)?;
        let t = f64::from(step.temperature_c);
        let current = hit.get_or_insert(Hit {
            start: at,
            peak_c: t,
            peak_at: at,
            probability: step.probability,
        });
        let more_extreme = match condition {
            Condition::Hot => t > current.peak_c,
            Condition::Cold => t < current.peak_c,
            Condition::Rain | Condition::Snow => false,
        };
        if more_extreme {
            current.peak_c = t;
            current.peak_at = at;
        }
        current.probability = match (current.probability, step.probability) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }
    hit
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_800_000_000;

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(T0 + minutes * 60, 0).unwrap()
    }

    fn hourly(values: &[(f32, f32, u8)]) -> Series {
        Series {
            fetched_at: at(0),
            utc_offset_seconds: 0,
            timezone: None,
            fine: Vec::new(),
            coarse: values
                .iter()
                .enumerate()
                .map(|(h, &(t, rain, p))| Step {
                    at: T0 + h as i64 * 3600,
                    temperature_c: t,
                    rain_mm: rain,
                    snow_cm: 0.0,
                    probability: Some(p),
                    code: None,
                })
                .collect(),
        }
    }

    const RULE: Rule = Rule {
        t_min: Some(0.0),
        t_max: Some(30.0),
        rain: true,
        snow: false,
    };

    #[test]
    fn rain_within_the_window_is_found_with_its_probability() {
        let s = hourly(&[
            (20.0, 0.0, 0),
            (20.0, 0.0, 10),
            (20.0, 1.0, 60),
            (20.0, 2.0, 80),
            (20.0, 0.0, 20),
        ]);
        let hit = first_hit(&s, &RULE, Condition::Rain, at(0), at(180), 50).unwrap();
        assert_eq!(hit.start, at(120));
        assert_eq!(hit.probability, Some(80));
        assert_eq!(
            first_hit(&s, &RULE, Condition::Rain, at(0), at(60), 50),
            None
        );
        // Unlikely rain is no heads-up.
        assert_eq!(
            first_hit(&s, &RULE, Condition::Rain, at(0), at(180), 90),
            None
        );
    }

    #[test]
    fn heat_reports_the_peak_of_its_run() {
        let s = hourly(&[
            (25.0, 0.0, 0),
            (31.0, 0.0, 0),
            (36.0, 0.0, 0),
            (33.0, 0.0, 0),
            (20.0, 0.0, 0),
            (40.0, 0.0, 0),
        ]);
        let hit = first_hit(&s, &RULE, Condition::Hot, at(0), at(600), 50).unwrap();
        assert_eq!(
            (hit.start, hit.peak_c, hit.peak_at),
            (at(60), 36.0, at(120))
        );
        let cold = hourly(&[(5.0, 0.0, 0), (-1.0, 0.0, 0), (-3.0, 0.0, 0), (2.0, 0.0, 0)]);
        let hit = first_hit(&cold, &RULE, Condition::Cold, at(0), at(600), 50).unwrap();
        assert_eq!((hit.start, hit.peak_c), (at(60), -3.0));
    }

    #[test]
    fn the_present_step_is_not_a_prediction() {
        let s = hourly(&[(35.0, 0.0, 0), (20.0, 0.0, 0)]);
        assert_eq!(
            first_hit(&s, &RULE, Condition::Hot, at(0), at(120), 50),
            None
        );
    }
}
