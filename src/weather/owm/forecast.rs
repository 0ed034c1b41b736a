//! OpenWeatherMap forecast series, from two answers per place: the 5 day /
//! 3 hour forecast (`/data/2.5/forecast`) gives the coarse steps, the
//! current weather (`/data/2.5/weather`) the single fine step.
//!
//! The forecast's first step is the next 3-hour mark, up to 3 h away, so the
//! observation is also put first in the coarse part when it is older than
//! that step: `Series::sample` then interpolates "now" between what was
//! observed and what is forecast (`timeline` still shows it once, as the
//! fine step). Without a current answer the series has coarse steps only
//! and no value before the first of them.
//!
//! Snow comes in mm of water; steps carry cm of fresh snow. The ratio is
//! Open-Meteo's own (it derives snowfall as 0.7 cm per mm of water
//! equivalent), so both providers' steps mean the same thing.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::super::conditions::owm_id_to_wmo;
use super::super::http::malformed;
use super::super::{Series, Step, WeatherError};
use super::{Condition, CurrentAnswer, Main, Precipitation};

/// cm of fresh snow per mm of water equivalent.
const SNOW_CM_PER_MM: f64 = 0.7;

/// `/data/2.5/forecast` (its `cod` is the string `"200"` on success).
#[derive(Deserialize)]
pub(super) struct ForecastAnswer {
    list: Vec<Item>,
    city: Option<City>,
}

#[derive(Deserialize)]
struct City {
    /// The place's offset from UTC, seconds.
    timezone: Option<i64>,
}

/// One 3-hourly step: `rain.3h` / `snow.3h` are the last 3 hours' volumes,
/// `pop` the probability of precipitation, 0–1.
#[derive(Deserialize)]
struct Item {
    dt: i64,
    main: Main,
    #[serde(default)]
    weather: Vec<Condition>,
    pop: Option<f64>,
    rain: Option<Precipitation>,
    snow: Option<Precipitation>,
}

/// The series of one place, its current weather if that call worked.
pub(super) fn series(
    outlook: ForecastAnswer,
    current: Option<CurrentAnswer>,
    fetched_at: DateTime<Utc>,
) -> Result<Series, WeatherError> {
    if outlook.list.is_empty() {
        return Err(malformed(&"the forecast list is empty"));
    }
    let offset = outlook
        .city
        .and_then(|city| city.timezone)
        .or_else(|| current.as_ref().and_then(|c| c.timezone))
        .unwrap_or(0);
    let utc_offset_seconds = i32::try_from(offset)
        .ok()
        .filter(|offset| offset.abs() <= 24 * 3600)
        .ok_or_else(|| malformed(&"the city's timezone offset is out of range"))?;
    let mut coarse: Vec<Step> = outlook.list.iter().map(Item::step).collect();
    let fine: Vec<Step> = current
        .map(|current| current.step())
        .filter(|step| plausible(*step, fetched_at))
        .into_iter()
        .collect();
    if let (Some(observed), Some(first)) = (fine.first(), coarse.first())
        && observed.at < first.at
    {
        coarse.insert(0, *observed);
    }
    Series {
        fetched_at,
        utc_offset_seconds,
        timezone: None,
        fine,
        coarse,
    }
    .validated()
    .map_err(|err| malformed(&err))
}

/// An observation the series can hold: one that would not fail the whole
/// series' validation (the current weather is a bonus, never a reason to
/// lose the forecast).
fn plausible(step: Step, fetched_at: DateTime<Utc>) -> bool {
    let alone = Series {
        fetched_at,
        utc_offset_seconds: 0,
        timezone: None,
        fine: vec![step],
        coarse: Vec::new(),
    };
    alone.validated().is_ok()
}

impl Item {
    fn step(&self) -> Step {
        Step {
            at: self.dt,
            temperature_c: self.main.temp as f32,
            rain_mm: amount(&self.rain, |p| p.last_3_hours),
            snow_cm: snow_cm(amount(&self.snow, |p| p.last_3_hours)),
            probability: self.pop.and_then(percent),
            code: code(&self.weather),
        }
    }
}

impl CurrentAnswer {
    /// The observation as a step: the last hour's amounts, no probability.
    fn step(&self) -> Step {
        Step {
            at: self.dt,
            temperature_c: self.main.temp as f32,
            rain_mm: amount(&self.rain, |p| p.last_hour),
            snow_cm: snow_cm(amount(&self.snow, |p| p.last_hour)),
            probability: None,
            code: code(&self.weather),
        }
    }
}

/// A volume in mm; an absent block or key is none.
fn amount(block: &Option<Precipitation>, key: impl Fn(&Precipitation) -> Option<f64>) -> f32 {
    block.as_ref().and_then(key).unwrap_or(0.0) as f32
}

fn snow_cm(water_mm: f32) -> f32 {
    (f64::from(water_mm) * SNOW_CM_PER_MM) as f32
}

/// `pop` 0–1 as percent; anything else is unknown.
fn percent(pop: f64) -> Option<u8> {
    (0.0..=1.0)
        .contains(&pop)
        .then(|| (pop * 100.0).round() as u8)
}

/// The primary (first) condition's WMO code: from its id, else from its
/// group so a rain group without an id still reads as rain.
fn code(weather: &[Condition]) -> Option<u8> {
    let primary = weather.first()?;
    let from_id = primary
        .id
        .and_then(|id| u16::try_from(id).ok())
        .and_then(owm_id_to_wmo);
    from_id.or(match primary.main.as_str() {
        "Thunderstorm" => Some(95),
        "Drizzle" => Some(53),
        "Rain" => Some(63),
        "Snow" => Some(73),
        "Clear" => Some(0),
        "Clouds" => Some(2),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    /// 2022-08-30T15:00Z, the first step of OpenWeatherMap's example.
    const T0: i64 = 1_661_871_600;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(T0 - 1800, 0).unwrap()
    }

    fn item(dt: i64, temp: f64, id: u16, main: &str, pop: f64) -> Value {
        json!({
            "dt": dt,
            "main": {
                "temp": temp, "feels_like": temp, "temp_min": temp, "temp_max": temp,
                "pressure": 1015, "sea_level": 1015, "grnd_level": 933, "humidity": 69,
                "temp_kf": -1.11
            },
            "weather": [{ "id": id, "main": main, "description": "d", "icon": "10d" }],
            "clouds": { "all": 100 },
            "wind": { "speed": 0.62, "deg": 349, "gust": 1.18 },
            "visibility": 10000, "pop": pop, "sys": { "pod": "d" },
            "dt_txt": "2022-08-30 15:00:00"
        })
    }

    /// Shaped like the documented answer (metric units), three steps.
    fn outlook() -> Value {
        let mut rainy = item(T0, 23.6, 500, "Rain", 0.32);
        rainy["rain"] = json!({ "3h": 0.26 });
        let mut snowy = item(T0 + 3 * 3600, 0.5, 601, "Snow", 0.7);
        snowy["snow"] = json!({ "3h": 2.0 });
        json!({
            "cod": "200", "message": 0, "cnt": 3,
            "list": [rainy, snowy, item(T0 + 6 * 3600, 21.8, 804, "Clouds", 0.0)],
            "city": {
                "id": 3163858, "name": "Zocca", "coord": { "lat": 44.34, "lon": 10.99 },
                "country": "IT", "population": 4593, "timezone": 7200,
                "sunrise": 1661834187, "sunset": 1661882248
            }
        })
    }

    fn current(dt: i64) -> Value {
        json!({
            "coord": { "lon": 10.99, "lat": 44.34 },
            "weather": [{ "id": 501, "main": "Rain", "description": "moderate rain", "icon": "10d" }],
            "main": { "temp": 22.1, "feels_like": 22.0, "pressure": 1015, "humidity": 64 },
            "rain": { "1h": 2.73 },
            "dt": dt, "timezone": 7200, "id": 3163858, "name": "Zocca", "cod": 200
        })
    }

    fn build(outlook: Value, current: Option<Value>) -> Result<Series, WeatherError> {
        let outlook: ForecastAnswer = serde_json::from_value(outlook).unwrap();
        let current = current.map(|c| serde_json::from_value::<CurrentAnswer>(c).unwrap());
        series(outlook, current, now())
    }

    #[test]
    fn the_list_becomes_the_coarse_steps() {
        let series = build(outlook(), None).unwrap();
        assert!(series.fine.is_empty());
        assert_eq!(series.utc_offset_seconds, 7200);
        assert_eq!(series.timezone, None);
        assert_eq!(series.fetched_at, now());
        assert_eq!(
            series.coarse[0],
            Step {
                at: T0,
                temperature_c: 23.6,
                rain_mm: 0.26,
                snow_cm: 0.0,
                probability: Some(32),
                code: Some(61),
            }
        );
        let snowy = series.coarse[1];
        assert!((snowy.snow_cm - 1.4).abs() < 1e-6, "2 mm of water, 1.4 cm");
        assert_eq!((snowy.probability, snowy.code), (Some(70), Some(73)));
        assert!(snowy.snowing() && !snowy.raining());
        assert_eq!(series.coarse[2].code, Some(3));
        assert_eq!(series.coarse[2].probability, Some(0));
        // Before the first 3-hour mark there is nothing to say.
        assert_eq!(series.sample(now()), None);
    }

    #[test]
    fn the_observation_is_the_fine_step_and_leads_the_coarse_ones() {
        let observed_at = T0 - 2400;
        let series = build(outlook(), Some(current(observed_at))).unwrap();
        let observed = Step {
            at: observed_at,
            temperature_c: 22.1,
            rain_mm: 2.73,
            snow_cm: 0.0,
            probability: None,
            code: Some(63),
        };
        assert_eq!(series.fine, [observed]);
        assert_eq!(series.coarse.len(), 4);
        assert_eq!(series.coarse[0], observed);
        // Now (10 minutes after the observation) is between it and 15:00.
        let sample = series.sample(now()).unwrap();
        assert!(sample.temperature_c > 22.1 && sample.temperature_c < 23.6);
        let line = series.timeline(
            now() - chrono::TimeDelta::hours(1),
            now() + chrono::TimeDelta::hours(4),
        );
        let times: Vec<i64> = line.iter().map(|s| s.at).collect();
        assert_eq!(times, [observed_at, T0, T0 + 3 * 3600]);
    }

    #[test]
    fn an_observation_after_the_first_step_is_not_repeated() {
        let series = build(outlook(), Some(current(T0 + 60))).unwrap();
        assert_eq!(series.fine.len(), 1);
        assert_eq!(series.coarse.len(), 3);
        assert_eq!(series.coarse[0].at, T0);
    }

    #[test]
    fn an_implausible_observation_is_left_out() {
        let mut hot = current(T0 - 600);
        hot["main"]["temp"] = json!(500.0);
        let series = build(outlook(), Some(hot)).unwrap();
        assert!(series.fine.is_empty());
        assert_eq!(series.coarse.len(), 3);
    }

    #[test]
    fn an_empty_or_broken_list_is_malformed() {
        let mut empty = outlook();
        empty["list"] = json!([]);
        assert!(matches!(
            build(empty, Some(current(T0))),
            Err(WeatherError::Malformed(_))
        ));
        let mut backwards = outlook();
        backwards["list"][2]["dt"] = json!(T0);
        assert!(matches!(
            build(backwards, None),
            Err(WeatherError::Malformed(_))
        ));
        let mut negative = outlook();
        negative["list"][0]["rain"] = json!({ "3h": -1.0 });
        assert!(matches!(
            build(negative, None),
            Err(WeatherError::Malformed(_))
        ));
        let mut absurd_offset = outlook();
        absurd_offset["city"]["timezone"] = json!(1_000_000);
        assert!(matches!(
            build(absurd_offset, None),
            Err(WeatherError::Malformed(_))
        ));
        for (field, value) in [("dt", json!("soon")), ("main", json!({}))] {
            let mut answer = outlook();
            answer["list"][1][field] = value;
            assert!(serde_json::from_value::<ForecastAnswer>(answer).is_err());
        }
    }

    #[test]
    fn the_offset_falls_back_to_the_observation_then_zero() {
        let mut without_city = outlook();
        without_city.as_object_mut().unwrap().remove("city");
        let mut observed = current(T0 - 600);
        observed["timezone"] = json!(-18000);
        assert_eq!(
            build(without_city.clone(), Some(observed))
                .unwrap()
                .utc_offset_seconds,
            -18000
        );
        assert_eq!(build(without_city, None).unwrap().utc_offset_seconds, 0);
    }

    #[test]
    fn probabilities_and_codes_are_read_leniently() {
        assert_eq!(percent(0.0), Some(0));
        assert_eq!(percent(0.326), Some(33));
        assert_eq!(percent(1.0), Some(100));
        assert_eq!(percent(1.5), None);
        assert_eq!(percent(-0.1), None);
        assert_eq!(percent(f64::NAN), None);
        let condition = |id: Option<i64>, main: &str| Condition {
            id,
            main: main.into(),
        };
        assert_eq!(code(&[condition(Some(522), "Rain")]), Some(82));
        assert_eq!(code(&[condition(None, "Rain")]), Some(63));
        assert_eq!(code(&[condition(Some(99_999), "Snow")]), Some(73));
        assert_eq!(code(&[condition(Some(-1), "Mist")]), None);
        assert_eq!(
            code(&[condition(Some(800), "Clear"), condition(Some(500), "Rain")]),
            Some(0),
            "the first condition is the primary one"
        );
        assert_eq!(code(&[]), None);
    }
}
