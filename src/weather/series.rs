//! A stored forecast series for one place: 15-minute steps for the next hours
//! and coarser (hourly, or OpenWeatherMap's 3-hourly) steps after them. The
//! poller judges every subscription against the value *at now*, interpolated
//! from it, so between refreshes no upstream call is needed.
//!
//! Time semantics follow the providers: a step's temperature is the value at
//! its instant; its precipitation amounts (and weather code) describe the
//! interval that *ends* at its instant (Open-Meteo: "preceding 15 minutes /
//! hour sum"; OpenWeatherMap: `rain.3h`, "volume for the last 3 hours").

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use super::conditions::{wmo_is_raining, wmo_is_snowing};

/// Less than this (mm of rain, cm of snow) is no precipitation: models
/// report traces like 0.01 that nobody would call rain.
pub const MIN_AMOUNT: f32 = 0.1;
/// Snowfall is reported in cm of fresh snow; ~7 mm of water make 1 cm, so a
/// trace of 0.1 mm of water is about 0.01 cm.
pub const MIN_SNOW_CM: f32 = 0.01;

/// One forecast step.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// Unix seconds (UTC).
    #[serde(rename = "t")]
    pub at: i64,
    #[serde(rename = "c")]
    pub temperature_c: f32,
    /// Rain and showers in the interval ending here, mm.
    #[serde(rename = "r")]
    pub rain_mm: f32,
    /// Snowfall in the interval ending here, cm.
    #[serde(rename = "s")]
    pub snow_cm: f32,
    /// Probability of precipitation, percent, when the provider gives one.
    #[serde(rename = "p", default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<u8>,
    /// WMO weather code (OpenWeatherMap's groups are mapped onto it).
    #[serde(rename = "w", default, skip_serializing_if = "Option::is_none")]
    pub code: Option<u8>,
}

impl Step {
    pub fn raining(&self) -> bool {
        self.rain_mm >= MIN_AMOUNT || self.code.is_some_and(|c| wmo_is_raining(u16::from(c)))
    }

    pub fn snowing(&self) -> bool {
        self.snow_cm >= MIN_SNOW_CM || self.code.is_some_and(|c| wmo_is_snowing(u16::from(c)))
    }
}

/// A place's forecast as fetched at `fetched_at`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    pub fetched_at: DateTime<Utc>,
    /// The place's offset from UTC at fetch time (for local times in texts).
    pub utc_offset_seconds: i32,
    /// IANA name of the place's time zone when the provider gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// 15-minute steps (OpenWeatherMap: the current observation only).
    pub fine: Vec<Step>,
    /// Hourly steps (OpenWeatherMap: 3-hourly).
    pub coarse: Vec<Step>,
}

/// The weather at one instant, interpolated from a series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub at: DateTime<Utc>,
    pub temperature_c: f64,
    pub raining: bool,
    pub snowing: bool,
    pub rain_mm: f32,
    pub snow_cm: f32,
    pub probability: Option<u8>,
    pub code: Option<u8>,
}

/// Why a provider's answer cannot be a series.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SeriesError(pub String);

impl Series {
    /// Checks what the interpolation relies on: at least one step, finite
    /// values, strictly increasing times in each part.
    pub fn validated(self) -> Result<Self, SeriesError> {
        if self.fine.is_empty() && self.coarse.is_empty() {
            return Err(SeriesError("the forecast has no steps".into()));
        }
        for (part, steps) in [("15-minute", &self.fine), ("hourly", &self.coarse)] {
            for step in steps {
                let finite = step.temperature_c.is_finite()
                    && step.rain_mm.is_finite()
                    && step.snow_cm.is_finite();
                if !finite || step.rain_mm < 0.0 || step.snow_cm < 0.0 {
                    return Err(SeriesError(format!(
                        "{part} step at {} has a value that is not a number",
                        step.at
                    )));
                }
                if !(-100.0..=70.0).contains(&step.temperature_c) {
                    return Err(SeriesError(format!(
                        "{part} step at {} has an impossible temperature",
                        step.at
                    )));
                }
            }
            if steps.windows(2).any(|w| w[1].at <= w[0].at) {
                return Err(SeriesError(format!("{part} times are not increasing")));
            }
        }
        Ok(self)
    }

    /// How old the data is at `now` (zero if fetched "in the future").
    pub fn age(&self, now: DateTime<Utc>) -> TimeDelta {
        (now - self.fetched_at).max(TimeDelta::zero())
    }

    /// The last instant the series covers.
    pub fn end(&self) -> Option<DateTime<Utc>> {
        let last = self.coarse.last().or(self.fine.last())?;
        DateTime::from_timestamp(last.at, 0)
    }

    /// The weather at `at`: from the 15-minute steps where they cover it,
    /// else from the coarse ones; `None` before the first or after the last
    /// step. Temperature is linear between the neighbouring steps;
    /// precipitation and code come from the step whose interval holds `at`.
    pub fn sample(&self, at: DateTime<Utc>) -> Option<Sample> {
        interpolate(&self.fine, at).or_else(|| interpolate(&self.coarse, at))
    }

    /// The steps from `from` to `until` (inclusive) in one timeline: 15-minute
    /// steps where they exist, coarse ones after them. Fine steps without a
    /// probability take that of the coarse step whose interval holds them.
    pub fn timeline(&self, from: DateTime<Utc>, until: DateTime<Utc>) -> Vec<Step> {
        let (from, until) = (from.timestamp(), until.timestamp());
        let fine_end = self.fine.last().map_or(i64::MIN, |s| s.at);
        let fine = self.fine.iter().map(|step| {
            let mut step = *step;
            if step.probability.is_none() {
                step.probability = covering(&self.coarse, step.at).and_then(|c| c.probability);
            }
            step
        });
        let coarse = self.coarse.iter().copied().filter(|s| s.at > fine_end);
        fine.chain(coarse)
            .filter(|s| s.at >= from && s.at <= until)
            .collect()
    }

    /// The place's local time of an instant (fixed offset of fetch time).
    pub fn local_offset(&self) -> chrono::FixedOffset {
        chrono::FixedOffset::east_opt(self.utc_offset_seconds)
            .unwrap_or_else(|| chrono::FixedOffset::east_opt(0).expect("zero offset"))
    }
}

/// The first step at or after `at` (its interval holds `at`).
fn covering(steps: &[Step], at: i64) -> Option<&Step> {
    let index = steps.partition_point(|s| s.at < at);
    steps.get(index)
}

fn interpolate(steps: &[Step], at: DateTime<Utc>) -> Option<Sample> {
    let t = at.timestamp();
    let first = steps.first()?;
    let last = steps.last()?;
    if t < first.at || t > last.at {
        return None;
    }
    let index = steps.partition_point(|s| s.at < t);
    let next = steps[index];
    let temperature_c = if next.at == t || index == 0 {
        f64::from(next.temperature_c)
    } else {
        let prev = steps[index - 1];
        let span = (next.at - prev.at) as f64;
        let weight = (t - prev.at) as f64 / span;
        f64::from(prev.temperature_c)
            + (f64::from(next.temperature_c) - f64::from(prev.temperature_c)) * weight
    };
    Some(Sample {
        at,
        temperature_c,
        raining: next.raining(),
        snowing: next.snowing(),
        rain_mm: next.rain_mm,
        snow_cm: next.snow_cm,
        probability: next.probability,
        code: next.code,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const T0: i64 = 1_800_000_000;

    fn step(at: i64, t: f32, rain: f32) -> Step {
        Step {
            at,
            temperature_c: t,
            rain_mm: rain,
            snow_cm: 0.0,
            probability: None,
            code: None,
        }
    }

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).unwrap()
    }

    fn series(fine: Vec<Step>, coarse: Vec<Step>) -> Series {
        Series {
            fetched_at: at(T0),
            utc_offset_seconds: 3600,
            timezone: Some("Europe/Rome".into()),
            fine,
            coarse,
        }
    }

    #[test]
    fn at_a_step_the_value_is_the_step() {
        let s = series(vec![step(T0, 10.0, 0.0), step(T0 + 900, 12.0, 0.5)], vec![]);
        assert_eq!(s.sample(at(T0)).unwrap().temperature_c, 10.0);
        let later = s.sample(at(T0 + 900)).unwrap();
        assert_eq!(later.temperature_c, 12.0);
        assert!(later.raining);
    }

    #[test]
    fn between_steps_temperature_is_linear_and_rain_is_the_covering_interval() {
        let s = series(vec![step(T0, 10.0, 0.0), step(T0 + 900, 12.0, 0.5)], vec![]);
        let mid = s.sample(at(T0 + 300)).unwrap();
        assert!((mid.temperature_c - (10.0 + 2.0 / 3.0)).abs() < 1e-9);
        assert!(mid.raining, "the rain of (T0, T0+900] holds at T0+300");
    }

    #[test]
    fn fine_steps_first_then_coarse_where_they_end() {
        let s = series(
            vec![step(T0, 10.0, 0.0), step(T0 + 900, 11.0, 0.0)],
            vec![
                step(T0, 99.0, 0.0),
                step(T0 + 3600, 20.0, 0.0),
                step(T0 + 7200, 30.0, 2.0),
            ],
        );
        assert_eq!(s.sample(at(T0 + 900)).unwrap().temperature_c, 11.0);
        let coarse = s.sample(at(T0 + 5400)).unwrap();
        assert_eq!(coarse.temperature_c, 25.0);
        assert!(coarse.raining);
        assert_eq!(s.end(), Some(at(T0 + 7200)));
    }

    #[test]
    fn beyond_the_steps_there_is_no_value() {
        let s = series(vec![step(T0, 10.0, 0.0), step(T0 + 900, 11.0, 0.0)], vec![]);
        assert_eq!(s.sample(at(T0 - 1)), None);
        assert_eq!(s.sample(at(T0 + 901)), None);
        assert_eq!(series(vec![], vec![]).sample(at(T0)), None);
    }

    #[test]
    fn timeline_merges_and_borrows_probability() {
        let mut hourly = step(T0 + 3600, 20.0, 1.0);
        hourly.probability = Some(70);
        let s = series(
            vec![step(T0 + 900, 10.0, 0.0), step(T0 + 1800, 11.0, 0.3)],
            vec![step(T0, 9.0, 0.0), hourly, step(T0 + 7200, 21.0, 0.0)],
        );
        let line = s.timeline(at(T0), at(T0 + 7200));
        let times: Vec<i64> = line.iter().map(|s| s.at - T0).collect();
        assert_eq!(times, vec![900, 1800, 3600, 7200]);
        assert_eq!(line[1].probability, Some(70));
        assert_eq!(s.timeline(at(T0 + 2000), at(T0 + 4000)).len(), 1);
    }

    #[test]
    fn validation_refuses_what_cannot_be_interpolated() {
        let ok = series(vec![step(T0, 1.0, 0.0)], vec![step(T0, 1.0, 0.0)]);
        assert!(ok.clone().validated().is_ok());
        assert!(series(vec![], vec![]).validated().is_err());
        let backwards = series(vec![step(T0, 1.0, 0.0), step(T0, 2.0, 0.0)], vec![]);
        assert!(backwards.validated().is_err());
        let nan = series(vec![], vec![step(T0, f32::NAN, 0.0)]);
        assert!(nan.validated().is_err());
        let negative = series(vec![], vec![step(T0, 1.0, -1.0)]);
        assert!(negative.validated().is_err());
        let absurd = series(vec![], vec![step(T0, 400.0, 0.0)]);
        assert!(absurd.validated().is_err());
    }

    #[test]
    fn a_series_round_trips_through_json() {
        let s = series(vec![step(T0, 1.5, 0.0)], vec![step(T0, 1.5, 0.2)]);
        let text = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<Series>(&text).unwrap(), s);
    }

    proptest! {
        /// Between two steps the interpolated temperature stays between their values.
        #[test]
        fn interpolation_is_bounded(a in -50.0f32..50.0, b in -50.0f32..50.0, offset in 0i64..=3600) {
            let s = series(vec![], vec![step(T0, a, 0.0), step(T0 + 3600, b, 0.0)]);
            let t = s.sample(at(T0 + offset)).unwrap().temperature_c;
            let (lo, hi) = (f64::from(a.min(b)), f64::from(a.max(b)));
            prop_assert!(t >= lo - 1e-6 && t <= hi + 1e-6);
        }
    }
}
