//! What a digest says, as data (the words are `text::digest`'s): the local
//! day it covers, each place's outlook read from its stored series, and
//! which of the place's subscription limits that day is expected to cross.
//! Pure functions of their inputs.

use chrono::{DateTime, Days, NaiveDate, TimeDelta, Utc};

use crate::domain::{ChatZone, LocalTime};
use crate::weather::{Series, Step};

/// From this local time (18:00) on, a digest is about the next day: an
/// evening digest that covered the few hours left would say little.
pub const EVENING_MINUTES: u16 = 18 * 60;

/// The stretch of time a digest covers, in the chat's zone.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    /// The local day reported on.
    pub day: NaiveDate,
    /// `day` is tomorrow (an evening digest).
    pub tomorrow: bool,
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
}

/// Before 18:00 local, the rest of today (from `now` to the next local
/// midnight); from 18:00 on, the whole of tomorrow. Days are local, so a
/// daylight-saving day is 23 or 25 hours long.
pub fn window(zone: ChatZone, now: DateTime<Utc>) -> Window {
    let midnight = LocalTime::from_minutes(0).expect("00:00");
    let next = |day: NaiveDate| day.checked_add_days(Days::new(1)).unwrap_or(day);
    let today = zone.date(now);
    let tomorrow = next(today);
    if zone.time_of_day(now).minutes() < EVENING_MINUTES {
        Window {
            day: today,
            tomorrow: false,
            from: now,
            until: zone.at(tomorrow, midnight),
        }
    } else {
        Window {
            day: tomorrow,
            tomorrow: true,
            from: zone.at(tomorrow, midnight),
            until: zone.at(next(tomorrow), midnight),
        }
    }
}

/// A stretch of rain or snow: from the start of its first wet step's
/// interval to the end of its last one, with the highest probability given.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Period {
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub probability: Option<u8>,
}

/// A place's weather over a window.
#[derive(Debug, Clone, PartialEq)]
pub struct Outlook {
    pub min_c: f64,
    pub min_at: DateTime<Utc>,
    pub max_c: f64,
    pub max_at: DateTime<Utc>,
    pub rain: Vec<Period>,
    pub snow: Vec<Period>,
}

/// The outlook over `[from, until]`: the lowest and highest temperature (at
/// `from` interpolated, then at every step inside) and the wet periods
/// (a step is wet as the alerts judge it: an amount or a WMO code). `None`
/// when the series covers none of the window.
pub fn outlook(series: &Series, from: DateTime<Utc>, until: DateTime<Utc>) -> Option<Outlook> {
    // The step before `from` bounds the interval of the first step inside.
    let line = series.timeline(from - TimeDelta::hours(6), until);
    let mut temperatures: Vec<(DateTime<Utc>, f64)> = Vec::new();
    if let Some(sample) = series.sample(from) {
        temperatures.push((from, sample.temperature_c));
    }
    temperatures.extend(
        line.iter()
            .filter(|s| s.at > from.timestamp())
            .filter_map(|s| Some((instant(s.at)?, f64::from(s.temperature_c)))),
    );
    let first = *temperatures.first()?;
    let (mut min, mut max) = (first, first);
    for &(at, t) in &temperatures[1..] {
        if t < min.1 {
            min = (at, t);
        }
        if t > max.1 {
            max = (at, t);
        }
    }
    Some(Outlook {
        min_c: min.1,
        min_at: min.0,
        max_c: max.1,
        max_at: max.0,
        rain: periods(&line, from, until, Step::raining),
        snow: periods(&line, from, until, Step::snowing),
    })
}

fn instant(unix: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(unix, 0)
}

/// Wet steps inside the window, merged where their intervals touch. A
/// step's amounts cover the interval that ends at it and starts at the
/// step before (for the very first step, one step length back).
fn periods(
    line: &[Step],
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    wet: fn(&Step) -> bool,
) -> Vec<Period> {
    let mut out: Vec<Period> = Vec::new();
    for (i, step) in line.iter().enumerate() {
        if step.at <= from.timestamp() || !wet(step) {
            continue;
        }
        let start = match i {
            0 => step.at - line.get(1).map_or(3600, |next| next.at - step.at),
            _ => line[i - 1].at,
        };
        let (Some(start), Some(end)) = (instant(start), instant(step.at)) else {
            continue;
        };
        let (start, end) = (start.max(from), end.min(until));
        match out.last_mut() {
            Some(last) if last.until >= start => {
                last.until = end;
                last.probability = last.probability.max(step.probability);
            }
            _ => out.push(Period {
                from: start,
                until: end,
                probability: step.probability,
            }),
        }
    }
    out
}

/// What one subscription watches.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Limits {
    pub t_min: Option<f64>,
    pub t_max: Option<f64>,
    pub rain: bool,
    pub snow: bool,
}

/// A limit the day is expected to cross (the alerts' rules: at or beyond
/// the bound, any rain or snow that is watched).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Crossing {
    Above(f64),
    Below(f64),
    Rain,
    Snow,
}

/// The limits of a place's subscriptions that `outlook` crosses, once each:
/// maxima, minima, rain, snow.
pub fn crossings(outlook: &Outlook, limits: &[Limits]) -> Vec<Crossing> {
    let mut out: Vec<Crossing> = Vec::new();
    let mut add = |c: Crossing| {
        if !out.contains(&c) {
            out.push(c);
        }
    };
    for max in limits.iter().filter_map(|l| l.t_max) {
        if outlook.max_c >= max {
            add(Crossing::Above(max));
        }
    }
    for min in limits.iter().filter_map(|l| l.t_min) {
        if outlook.min_c <= min {
            add(Crossing::Below(min));
        }
    }
    if !outlook.rain.is_empty() && limits.iter().any(|l| l.rain) {
        add(Crossing::Rain);
    }
    if !outlook.snow.is_empty() && limits.iter().any(|l| l.snow) {
        add(Crossing::Snow);
    }
    out
}

/// One place of a digest.
#[derive(Debug, Clone, PartialEq)]
pub struct PlaceDigest {
    /// "Rome, IT".
    pub label: String,
    pub forecast: PlaceForecast,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PlaceForecast {
    Known {
        outlook: Outlook,
        crossings: Vec<Crossing>,
        /// The series' age when it is older than `WEATHER_MAX_AGE` (no
        /// fresher one could be fetched).
        stale_for: Option<TimeDelta>,
    },
    /// No series, or none covering the window.
    Unknown,
}

/// A whole digest; an empty `places` is the "no places yet" digest.
#[derive(Debug, Clone, PartialEq)]
pub struct Digest {
    pub zone: ChatZone,
    pub window: Window,
    pub places: Vec<PlaceDigest>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rome() -> ChatZone {
        ChatZone::parse("Europe/Rome").unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn step(at: DateTime<Utc>, t: f32, rain: f32, p: Option<u8>) -> Step {
        Step {
            at: at.timestamp(),
            temperature_c: t,
            rain_mm: rain,
            snow_cm: 0.0,
            probability: p,
            code: None,
        }
    }

    #[test]
    fn the_rest_of_today_then_tomorrow_from_the_evening() {
        // 07:30 in Rome (UTC+2).
        let w = window(rome(), utc("2026-06-01T05:30:00Z"));
        assert_eq!(w.day, NaiveDate::from_ymd_opt(2026, 6, 1).unwrap());
        assert!(!w.tomorrow);
        assert_eq!(
            (w.from, w.until),
            (utc("2026-06-01T05:30:00Z"), utc("2026-06-01T22:00:00Z"))
        );
        // 18:00 in Rome: tomorrow, midnight to midnight.
        let w = window(rome(), utc("2026-06-01T16:00:00Z"));
        assert!(w.tomorrow);
        assert_eq!(
            (w.from, w.until),
            (utc("2026-06-01T22:00:00Z"), utc("2026-06-02T22:00:00Z"))
        );
        // The spring change's day is 23 hours long.
        let w = window(rome(), utc("2026-03-28T18:00:00Z"));
        assert_eq!(w.until - w.from, TimeDelta::hours(23));
    }

    #[test]
    fn extremes_and_wet_periods() {
        let t0 = utc("2026-06-01T06:00:00Z");
        let h = |n: i64| t0 + TimeDelta::hours(n);
        let series = Series {
            fetched_at: t0,
            utc_offset_seconds: 7200,
            timezone: Some("Europe/Rome".into()),
            fine: vec![],
            coarse: vec![
                step(h(0), 14.0, 0.0, None),
                step(h(1), 16.0, 0.0, Some(10)),
                step(h(2), 22.0, 1.0, Some(40)),
                step(h(3), 19.0, 0.5, Some(70)),
                step(h(4), 18.0, 0.0, Some(20)),
                step(h(5), 12.0, 0.3, None),
            ],
        };
        let o = outlook(&series, t0 + TimeDelta::minutes(30), h(5)).unwrap();
        assert_eq!((o.min_c, o.min_at), (12.0, h(5)));
        assert_eq!((o.max_c, o.max_at), (22.0, h(2)));
        assert_eq!(
            o.rain,
            vec![
                Period {
                    from: h(1),
                    until: h(3),
                    probability: Some(70)
                },
                Period {
                    from: h(4),
                    until: h(5),
                    probability: None
                },
            ]
        );
        assert!(o.snow.is_empty());
        let limits = [
            Limits {
                t_max: Some(20.0),
                rain: true,
                ..Limits::default()
            },
            Limits {
                t_min: Some(5.0),
                t_max: Some(20.0),
                ..Limits::default()
            },
            Limits {
                snow: true,
                ..Limits::default()
            },
        ];
        assert_eq!(
            crossings(&o, &limits),
            vec![Crossing::Above(20.0), Crossing::Rain]
        );
        // Nothing of the window covered: no outlook.
        assert_eq!(outlook(&series, h(10), h(20)), None);
    }
}
