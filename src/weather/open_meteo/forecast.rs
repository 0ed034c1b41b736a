//! Open-Meteo forecast series: the query (15-minute steps for the next 8
//! hours, hourly ones for the next 48) and the parsing of one location of
//! its answer into a [`Series`].
//!
//! Null policy: Open-Meteo writes `null` where a model has no value. A null
//! temperature drops its step (nothing to interpolate); null rain, showers
//! or snowfall count as none, a null probability or weather code as
//! unknown. A part left without steps is empty; a series with no steps at
//! all is malformed (see [`Series::validated`]). Missing arrays, arrays
//! whose length differs from `time`'s, times that do not increase and values
//! that are not numbers make the location's answer malformed.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::super::http::malformed;
use super::super::{Series, Step, WeatherError};
use super::wmo_code;

/// `minutely_15` offers no `showers` (Open-Meteo's documented 15-minute
/// variables: temperature_2m, rain, snowfall, weather_code, …): its rain is
/// large-scale rain only, convective showers show in the weather code
/// (80–82) and in the hourly steps.
pub(super) const MINUTELY_15_FIELDS: [&str; 4] =
    ["temperature_2m", "rain", "snowfall", "weather_code"];
pub(super) const HOURLY_FIELDS: [&str; 6] = [
    "temperature_2m",
    "rain",
    "showers",
    "snowfall",
    "precipitation_probability",
    "weather_code",
];
/// 32 quarter hours = 8 h of fine steps (6 h are needed), from the current
/// quarter hour.
pub(super) const MINUTELY_15_STEPS: u32 = 32;
/// 49 hours: the current hour and 48 after it.
pub(super) const HOURLY_STEPS: u32 = 49;
/// Open-Meteo counts every 10 variables (summed over all sections) as one
/// call per location, and every 14 days as one more; we ask for 10 over the
/// default 7 days. See `OpenMeteo::forecast_weight`.
pub(super) const WEIGHT_PER_LOCATION: f64 = 1.0;
/// The variables one call per location may carry.
const VARIABLES_PER_CALL: usize = 10;
const _: () = assert!(MINUTELY_15_FIELDS.len() + HOURLY_FIELDS.len() <= VARIABLES_PER_CALL);
// 8 h of quarter hours (≥ the 6 h needed), 48 h of hours after the current one.
const _: () = assert!(MINUTELY_15_STEPS * 15 >= 6 * 60 && HOURLY_STEPS > 48);

/// Everything after the coordinates. `timezone=auto` gives each location's
/// offset and zone name; `timeformat=unixtime` makes every step time UTC
/// unix seconds, so no local-time arithmetic is needed to read them.
pub(super) fn query() -> String {
    format!(
        "minutely_15={}&hourly={}&forecast_minutely_15={MINUTELY_15_STEPS}\
         &forecast_hours={HOURLY_STEPS}&timezone=auto&timeformat=unixtime",
        MINUTELY_15_FIELDS.join(","),
        HOURLY_FIELDS.join(","),
    )
}

/// One location of the answer.
#[derive(Deserialize)]
struct Location {
    #[serde(default)]
    utc_offset_seconds: i64,
    timezone: Option<String>,
    minutely_15: Option<Block>,
    hourly: Option<Block>,
}

/// A section: `time` and one array per requested variable, index by index.
#[derive(Deserialize)]
struct Block {
    time: Vec<i64>,
    #[serde(flatten)]
    columns: HashMap<String, Vec<Option<f64>>>,
}

/// The series of one location of an answer that arrived at `fetched_at`.
pub(super) fn series(location: Value, fetched_at: DateTime<Utc>) -> Result<Series, WeatherError> {
    let location: Location = serde_json::from_value(location).map_err(|err| malformed(&err))?;
    let utc_offset_seconds = i32::try_from(location.utc_offset_seconds)
        .ok()
        .filter(|offset| offset.abs() <= 24 * 3600)
        .ok_or_else(|| malformed(&"utc_offset_seconds out of range"))?;
    let fine = steps(location.minutely_15, "minutely_15", &MINUTELY_15_FIELDS)?;
    let coarse = steps(location.hourly, "hourly", &HOURLY_FIELDS)?;
    Series {
        fetched_at,
        utc_offset_seconds,
        timezone: location.timezone.filter(|zone| !zone.trim().is_empty()),
        fine,
        coarse,
    }
    .validated()
    .map_err(|err| malformed(&err))
}

/// The steps of one section, which must carry every field asked for.
fn steps(block: Option<Block>, part: &str, fields: &[&str]) -> Result<Vec<Step>, WeatherError> {
    let block = block.ok_or_else(|| malformed(&format!("no {part} in the answer")))?;
    let len = block.time.len();
    let mut columns = HashMap::new();
    for field in fields {
        let column = block
            .columns
            .get(*field)
            .ok_or_else(|| malformed(&format!("no {part}.{field} in the answer")))?;
        if column.len() != len {
            return Err(malformed(&format!(
                "{part}.{field} has {} values for {len} times",
                column.len()
            )));
        }
        columns.insert(*field, column.as_slice());
    }
    // The value of `field` at step `i`; a field not asked for in this
    // section (showers in minutely_15) reads as null.
    let at = |field: &str, i: usize| columns.get(field).and_then(|column| column[i]);
    let amount = |field: &str, i: usize| at(field, i).unwrap_or(0.0) as f32;
    Ok(block
        .time
        .iter()
        .enumerate()
        .filter_map(|(i, &time)| {
            let temperature = at("temperature_2m", i)?;
            Some(Step {
                at: time,
                temperature_c: temperature as f32,
                rain_mm: amount("rain", i) + amount("showers", i),
                snow_cm: amount("snowfall", i),
                probability: at("precipitation_probability", i).and_then(percent),
                code: at("weather_code", i)
                    .and_then(wmo_code)
                    .and_then(|code| u8::try_from(code).ok()),
            })
        })
        .collect())
}

/// A probability in percent; anything outside 0–100 is unknown.
fn percent(value: f64) -> Option<u8> {
    (0.0..=100.0).contains(&value).then(|| value.round() as u8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// 2024-06-01T12:00Z.
    const T0: i64 = 1_717_243_200;

    fn fetched() -> DateTime<Utc> {
        DateTime::from_timestamp(T0 + 420, 0).unwrap()
    }

    /// One location shaped like Open-Meteo's answer to [`query`] (abridged:
    /// 4 quarter hours, 3 hours), for Rome in summer.
    fn location() -> Value {
        json!({
            "latitude": 41.9, "longitude": 12.5, "generationtime_ms": 0.08,
            "utc_offset_seconds": 7200, "timezone": "Europe/Rome",
            "timezone_abbreviation": "GMT+2", "elevation": 21.0,
            "minutely_15_units": {
                "time": "unixtime", "temperature_2m": "°C", "rain": "mm",
                "snowfall": "cm", "weather_code": "wmo code"
            },
            "minutely_15": {
                "time": [T0, T0 + 900, T0 + 1800, T0 + 2700],
                "temperature_2m": [21.5, 21.7, 22.0, 22.1],
                "rain": [0.0, 0.0, 0.4, 1.1],
                "snowfall": [0.0, 0.0, 0.0, 0.0],
                "weather_code": [2, 3, 61, 63]
            },
            "hourly_units": {
                "time": "unixtime", "temperature_2m": "°C", "rain": "mm", "showers": "mm",
                "snowfall": "cm", "precipitation_probability": "%", "weather_code": "wmo code"
            },
            "hourly": {
                "time": [T0, T0 + 3600, T0 + 7200],
                "temperature_2m": [21.5, 22.1, 20.0],
                "rain": [0.0, 1.5, 0.2],
                "showers": [0.0, 0.3, 0.0],
                "snowfall": [0.0, 0.0, 0.0],
                "precipitation_probability": [5, 80, 40],
                "weather_code": [2, 63, 80]
            }
        })
    }

    fn parse(location: Value) -> Result<Series, WeatherError> {
        series(location, fetched())
    }

    fn assert_malformed(location: Value, why: &str) {
        let result = parse(location);
        assert!(
            matches!(result, Err(WeatherError::Malformed(_))),
            "{why}: {result:?}"
        );
    }

    #[test]
    fn the_query_stays_within_one_call_per_location() {
        assert_eq!(
            query(),
            "minutely_15=temperature_2m,rain,snowfall,weather_code\
             &hourly=temperature_2m,rain,showers,snowfall,precipitation_probability,weather_code\
             &forecast_minutely_15=32&forecast_hours=49&timezone=auto&timeformat=unixtime"
        );
    }

    #[test]
    fn reads_both_parts() {
        let series = parse(location()).unwrap();
        assert_eq!(series.fetched_at, fetched());
        assert_eq!(series.utc_offset_seconds, 7200);
        assert_eq!(series.timezone.as_deref(), Some("Europe/Rome"));
        assert_eq!(series.fine.len(), 4);
        assert_eq!(
            series.fine[2],
            Step {
                at: T0 + 1800,
                temperature_c: 22.0,
                rain_mm: 0.4,
                snow_cm: 0.0,
                probability: None,
                code: Some(61),
            }
        );
        assert_eq!(series.coarse.len(), 3);
        let hour = series.coarse[1];
        assert_eq!(hour.at, T0 + 3600);
        assert!((hour.rain_mm - 1.8).abs() < 1e-6, "rain and showers add up");
        assert_eq!((hour.probability, hour.code), (Some(80), Some(63)));
        // From now (12:07) the quarter hour ending 12:15 holds: dry.
        let now = series.sample(fetched()).unwrap();
        assert!(!now.raining);
        assert!(
            series
                .sample(fetched() + chrono::TimeDelta::minutes(30))
                .unwrap()
                .raining
        );
    }

    #[test]
    fn nulls_drop_steps_or_count_as_nothing() {
        let mut answer = location();
        answer["minutely_15"]["temperature_2m"] = json!([21.5, null, 22.0, null]);
        answer["minutely_15"]["rain"] = json!([null, 0.0, null, 1.1]);
        answer["minutely_15"]["weather_code"] = json!([null, 3, null, 63]);
        answer["hourly"]["precipitation_probability"] = json!([null, 80, null]);
        answer["hourly"]["showers"] = json!([null, null, null]);
        let series = parse(answer).unwrap();
        let times: Vec<i64> = series.fine.iter().map(|s| s.at - T0).collect();
        assert_eq!(times, [0, 1800]);
        assert_eq!((series.fine[1].rain_mm, series.fine[1].code), (0.0, None));
        assert_eq!(series.coarse[0].probability, None);
        assert_eq!(series.coarse[1].rain_mm, 1.5);
    }

    #[test]
    fn a_part_without_temperatures_is_empty_and_both_empty_is_malformed() {
        let mut answer = location();
        answer["minutely_15"]["temperature_2m"] = json!([null, null, null, null]);
        let series = parse(answer.clone()).unwrap();
        assert!(series.fine.is_empty());
        assert_eq!(series.coarse.len(), 3);

        answer["hourly"]["temperature_2m"] = json!([null, null, null]);
        assert_malformed(answer, "no temperature anywhere");

        let mut empty = location();
        for part in ["minutely_15", "hourly"] {
            for (_, column) in empty[part].as_object_mut().unwrap() {
                *column = json!([]);
            }
        }
        assert_malformed(empty, "no steps at all");
    }

    #[test]
    fn missing_sections_or_arrays_are_malformed() {
        for (part, field) in [
            ("minutely_15", "temperature_2m"),
            ("minutely_15", "rain"),
            ("minutely_15", "time"),
            ("hourly", "showers"),
            ("hourly", "precipitation_probability"),
            ("hourly", "weather_code"),
        ] {
            let mut answer = location();
            answer[part].as_object_mut().unwrap().remove(field);
            assert_malformed(answer, &format!("{part}.{field} missing"));
        }
        for part in ["minutely_15", "hourly"] {
            let mut answer = location();
            answer.as_object_mut().unwrap().remove(part);
            assert_malformed(answer, &format!("{part} missing"));
        }
        assert_malformed(json!("a string"), "not an object");
    }

    #[test]
    fn arrays_of_the_wrong_length_are_malformed() {
        let mut short = location();
        short["minutely_15"]["rain"] = json!([0.0, 0.0, 0.4]);
        assert_malformed(short, "a value missing");
        let mut long = location();
        long["hourly"]["weather_code"] = json!([2, 63, 80, 80]);
        assert_malformed(long, "a value too many");
    }

    #[test]
    fn times_must_increase_and_be_unix_seconds() {
        let mut backwards = location();
        backwards["hourly"]["time"] = json!([T0, T0 + 7200, T0 + 3600]);
        assert_malformed(backwards, "times going back");
        let mut repeated = location();
        repeated["minutely_15"]["time"] = json!([T0, T0 + 900, T0 + 900, T0 + 2700]);
        assert_malformed(repeated, "a time repeated");
        let mut iso = location();
        iso["hourly"]["time"] = json!(["2024-06-01T14:00", "2024-06-01T15:00", "2024-06-01T16:00"]);
        assert_malformed(iso, "ISO times");
        let mut null_time = location();
        null_time["hourly"]["time"] = json!([T0, null, T0 + 7200]);
        assert_malformed(null_time, "a null time");
    }

    #[test]
    fn values_that_are_not_numbers_are_malformed() {
        for (part, field, values) in [
            (
                "minutely_15",
                "temperature_2m",
                json!([21.5, "warm", 22.0, 22.1]),
            ),
            ("hourly", "rain", json!([0.0, true, 0.2])),
            ("hourly", "temperature_2m", json!([21.5, 1e300, 20.0])),
            ("hourly", "temperature_2m", json!([21.5, 999.0, 20.0])),
            ("minutely_15", "rain", json!([0.0, -3.0, 0.4, 1.1])),
            ("hourly", "snowfall", json!([0.0, 1e300, 0.0])),
        ] {
            let mut answer = location();
            answer[part][field] = values.clone();
            assert_malformed(answer, &format!("{part}.{field} = {values}"));
        }
    }

    #[test]
    fn odd_probabilities_and_codes_are_unknown() {
        let mut answer = location();
        answer["hourly"]["precipitation_probability"] = json!([-5, 101, 33.4]);
        answer["hourly"]["weather_code"] = json!([2.5, 300, 80]);
        let series = parse(answer).unwrap();
        let read: Vec<_> = series
            .coarse
            .iter()
            .map(|s| (s.probability, s.code))
            .collect();
        assert_eq!(read, [(None, None), (None, None), (Some(33), Some(80))]);
    }

    #[test]
    fn offset_and_zone_are_optional_but_sane() {
        let mut answer = location();
        answer.as_object_mut().unwrap().remove("utc_offset_seconds");
        answer["timezone"] = json!("");
        let series = parse(answer).unwrap();
        assert_eq!((series.utc_offset_seconds, series.timezone), (0, None));
        let mut absurd = location();
        absurd["utc_offset_seconds"] = json!(1_000_000_000_000_i64);
        assert_malformed(absurd, "offset out of range");
    }
}
