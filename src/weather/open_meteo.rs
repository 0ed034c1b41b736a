//! Open-Meteo (no API key): geocoding from its geocoding API, and current
//! weather and forecast series for many points per request (comma-separated
//! coordinates). The forecast query and its parsing live in `forecast`.

mod forecast;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use reqwest::{Client, Url};
use serde::Deserialize;
use serde_json::Value;

use super::conditions::{wmo_description, wmo_is_raining, wmo_is_snowing};
use super::http::{endpoint, get_body, malformed, parse_json};
use super::{Coordinates, Observation, Place, Quota, Series, WeatherError, WeatherProvider};

/// The free plan: 600 calls a minute, 5,000 an hour, 10,000 a day.
pub const FREE_QUOTA: Quota = Quota {
    per_minute: 600.0,
    per_hour: 5_000.0,
    per_day: 10_000.0,
};

/// Open-Meteo accepts long coordinate lists, but the URL grows with them and
/// the free tier bills every location anyway; 100 keeps URLs around 2 KB.
const MAX_POINTS_PER_REQUEST: usize = 100;
const CURRENT_FIELDS: &str = "temperature_2m,rain,showers,snowfall,weather_code";
const GEOCODING_RESULTS: &str = "10";
/// Error bodies look like `{"error":true,"reason":"..."}`.
const MESSAGE_FIELD: &str = "reason";

pub struct OpenMeteo {
    client: Client,
    forecast_base: Url,
    geocoding_base: Url,
}

impl OpenMeteo {
    pub fn new(client: Client, forecast_base: Url, geocoding_base: Url) -> Self {
        Self {
            client,
            forecast_base,
            geocoding_base,
        }
    }

    fn search_url(&self, query: &str) -> Url {
        let mut url = endpoint(&self.geocoding_base, "v1/search");
        url.query_pairs_mut()
            .append_pair("name", query)
            .append_pair("count", GEOCODING_RESULTS)
            .append_pair("language", "en")
            .append_pair("format", "json");
        url
    }

    /// `/v1/forecast` for `points` with the rest of the query (`current=…`
    /// or the forecast's). Written by hand so the commas stay literal, as in
    /// Open-Meteo's documentation; numbers and field names need no escaping.
    fn forecast_url(&self, points: &[Coordinates], query: &str) -> Url {
        let latitudes = join_degrees(points.iter().map(|p| p.latitude));
        let longitudes = join_degrees(points.iter().map(|p| p.longitude));
        let mut url = endpoint(&self.forecast_base, "v1/forecast");
        url.set_query(Some(&format!(
            "latitude={latitudes}&longitude={longitudes}&{query}"
        )));
        url
    }

    /// One request for the whole chunk: its failure is every point's failure.
    async fn current_chunk(
        &self,
        points: &[Coordinates],
    ) -> Vec<Result<Observation, WeatherError>> {
        let query = format!("current={CURRENT_FIELDS}");
        match self.fetch_chunk(points, &query).await {
            Ok(locations) => locations.into_iter().map(observation).collect(),
            Err(err) => vec![Err(err); points.len()],
        }
    }

    /// Same for the forecast; every series of the chunk is stamped with the
    /// time its answer arrived.
    async fn forecast_chunk(&self, points: &[Coordinates]) -> Vec<Result<Series, WeatherError>> {
        match self.fetch_chunk(points, &forecast::query()).await {
            Ok(locations) => {
                let fetched_at = Utc::now();
                locations
                    .into_iter()
                    .map(|location| forecast::series(location, fetched_at))
                    .collect()
            }
            Err(err) => vec![Err(err); points.len()],
        }
    }

    /// The per-location JSON values, one per point, in order. A single point
    /// is answered with an object, several with an array; both are accepted
    /// whatever the count, and the count must match.
    async fn fetch_chunk(
        &self,
        points: &[Coordinates],
        query: &str,
    ) -> Result<Vec<Value>, WeatherError> {
        let url = self.forecast_url(points, query);
        let body = get_body(&self.client, url, MESSAGE_FIELD).await?;
        let locations = match parse_json(&body)? {
            Value::Array(locations) => locations,
            location @ Value::Object(_) => vec![location],
            _ => return Err(malformed(&"expected a JSON object or array")),
        };
        if locations.len() != points.len() {
            return Err(malformed(&format!(
                "{} locations answered for {} requested",
                locations.len(),
                points.len()
            )));
        }
        Ok(locations)
    }
}

#[async_trait]
impl WeatherProvider for OpenMeteo {
    fn name(&self) -> &'static str {
        "open-meteo"
    }

    fn requests_for(&self, points: usize) -> usize {
        points.div_ceil(MAX_POINTS_PER_REQUEST)
    }

    async fn geocode(&self, query: &str) -> Result<Vec<Place>, WeatherError> {
        let query = query.trim();
        if query.is_empty() {
            return Ok(Vec::new());
        }
        let body = get_body(&self.client, self.search_url(query), MESSAGE_FIELD).await?;
        let answer: SearchAnswer = parse_json(&body)?;
        Ok(answer
            .results
            .unwrap_or_default()
            .into_iter()
            .map(Place::from)
            .collect())
    }

    fn free_quota(&self) -> Quota {
        FREE_QUOTA
    }

    /// Open-Meteo bills a location `max(1, variables / 10 × max(1, days / 14))`
    /// calls (open-meteo `ForecastapiResult.calculateQueryWeight`, "10
    /// weather variables are a weight of 1, 14 days of data are a weight of
    /// 1"; variables counted over `hourly`, `minutely_15`, `current` and
    /// `daily` together; days are the 7 of the daily range unless
    /// `forecast_days` says otherwise). The forecast asks for 4 + 6 = 10
    /// variables over 7 days: exactly one call per location.
    fn forecast_weight(&self, points: usize) -> f64 {
        points as f64 * forecast::WEIGHT_PER_LOCATION
    }

    fn forecast_batch(&self) -> usize {
        MAX_POINTS_PER_REQUEST
    }

    async fn forecast(&self, points: &[Coordinates]) -> Vec<Result<Series, WeatherError>> {
        let mut series = Vec::with_capacity(points.len());
        // Sequential, like `current`. After a rate-limit answer the other
        // chunks are not even tried: they would only be refused too.
        for chunk in points.chunks(MAX_POINTS_PER_REQUEST) {
            let limited = series
                .last()
                .and_then(|last: &Result<Series, WeatherError>| last.as_ref().err())
                .filter(|err| matches!(err, WeatherError::RateLimited { .. }))
                .cloned();
            match limited {
                Some(err) => series.extend(chunk.iter().map(|_| Err(err.clone()))),
                None => series.extend(self.forecast_chunk(chunk).await),
            }
        }
        series
    }

    async fn current(&self, points: &[Coordinates]) -> Vec<Result<Observation, WeatherError>> {
        let mut observations = Vec::with_capacity(points.len());
        // Sequential on purpose: a few large requests per poll, and one at a
        // time is the polite rate for a free API.
        for chunk in points.chunks(MAX_POINTS_PER_REQUEST) {
            observations.extend(self.current_chunk(chunk).await);
        }
        observations
    }
}

/// Four decimals is about 11 m: finer than any forecast grid.
fn join_degrees(values: impl Iterator<Item = f64>) -> String {
    values
        .map(|value| format!("{value:.4}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// `/v1/search`: without a match the `results` key is simply absent.
#[derive(Deserialize)]
struct SearchAnswer {
    results: Option<Vec<SearchResult>>,
}

#[derive(Deserialize)]
struct SearchResult {
    name: String,
    latitude: f64,
    longitude: f64,
    country_code: Option<String>,
    admin1: Option<String>,
    population: Option<u64>,
}

impl From<SearchResult> for Place {
    fn from(found: SearchResult) -> Self {
        Place {
            name: found.name,
            country: found.country_code.unwrap_or_default().to_uppercase(),
            region: found.admin1.filter(|region| !region.trim().is_empty()),
            coordinates: Coordinates {
                latitude: found.latitude,
                longitude: found.longitude,
            },
            population: found.population,
        }
    }
}

/// One location of a `/v1/forecast` answer.
#[derive(Deserialize)]
struct Location {
    current: Current,
    /// Local times are shifted by this; zero unless a `timezone` is requested.
    #[serde(default)]
    utc_offset_seconds: i64,
}

/// Every value may be `null` for a point the model does not cover; only the
/// temperature is indispensable, missing precipitation counts as none.
#[derive(Deserialize)]
struct Current {
    time: Time,
    temperature_2m: Option<f64>,
    rain: Option<f64>,
    showers: Option<f64>,
    snowfall: Option<f64>,
    /// A float in the schema's eyes: parsed leniently, checked in `wmo_code`.
    weather_code: Option<f64>,
}

/// ISO local time without seconds by default; unix seconds with `timeformat=unixtime`.
#[derive(Deserialize)]
#[serde(untagged)]
enum Time {
    Unix(i64),
    Local(String),
}

fn observation(location: Value) -> Result<Observation, WeatherError> {
    let location: Location = serde_json::from_value(location).map_err(|err| malformed(&err))?;
    let current = location.current;
    let temperature_c = current
        .temperature_2m
        .ok_or_else(|| malformed(&"no current temperature_2m for this location"))?;
    let code = current.weather_code.and_then(wmo_code);
    let rain_mm = current.rain.unwrap_or(0.0) + current.showers.unwrap_or(0.0);
    Ok(Observation {
        temperature_c,
        raining: rain_mm > 0.0 || code.is_some_and(wmo_is_raining),
        snowing: current.snowfall.unwrap_or(0.0) > 0.0 || code.is_some_and(wmo_is_snowing),
        observed_at: observed_at(&current.time, location.utc_offset_seconds)?,
        description: code.and_then(wmo_description).map(str::to_owned),
    })
}

fn wmo_code(value: f64) -> Option<u16> {
    let integral = value.fract() == 0.0 && (0.0..=f64::from(u16::MAX)).contains(&value);
    integral.then_some(value as u16)
}

fn observed_at(time: &Time, utc_offset_seconds: i64) -> Result<DateTime<Utc>, WeatherError> {
    match time {
        // Unix times are always UTC, whatever the requested timezone.
        Time::Unix(seconds) => DateTime::from_timestamp(*seconds, 0)
            .ok_or_else(|| malformed(&format!("time {seconds} out of range"))),
        Time::Local(text) => {
            let local = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M")
                .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S"))
                .map_err(|err| malformed(&format!("time {text:?}: {err}")))?;
            let offset = TimeDelta::try_seconds(utc_offset_seconds)
                .ok_or_else(|| malformed(&"utc_offset_seconds out of range"))?;
            Ok(local.and_utc() - offset)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn location(current: Value) -> Value {
        json!({ "latitude": 45.0, "longitude": 9.0, "utc_offset_seconds": 0, "current": current })
    }

    fn provider(base: &str) -> OpenMeteo {
        let url = Url::parse(base).unwrap();
        OpenMeteo::new(Client::new(), url.clone(), url)
    }

    #[test]
    fn forecast_url_lists_every_point_with_literal_commas() {
        let points = [
            Coordinates {
                latitude: 52.52,
                longitude: 13.41,
            },
            Coordinates {
                latitude: -33.868_82,
                longitude: 151.209_29,
            },
        ];
        let url = provider("http://h/om/").forecast_url(&points, "current=a,b");
        assert_eq!(
            url.as_str(),
            "http://h/om/v1/forecast?latitude=52.5200,-33.8688&longitude=13.4100,151.2093\
             &current=a,b"
        );
    }

    #[test]
    fn search_url_escapes_the_name() {
        let url = provider("http://h").search_url("São Paulo & co");
        assert_eq!(
            url.as_str(),
            "http://h/v1/search?name=S%C3%A3o+Paulo+%26+co&count=10&language=en&format=json"
        );
    }

    #[test]
    fn reads_a_dry_observation() {
        let obs = observation(location(json!({
            "time": "2024-06-01T12:00", "interval": 900, "temperature_2m": 21.5,
            "rain": 0.0, "showers": 0.0, "snowfall": 0.0, "weather_code": 2
        })))
        .unwrap();
        assert_eq!(obs.temperature_c, 21.5);
        assert!(!obs.raining && !obs.snowing);
        assert_eq!(obs.observed_at.to_rfc3339(), "2024-06-01T12:00:00+00:00");
        assert_eq!(obs.description.as_deref(), Some("partly cloudy"));
    }

    #[test]
    fn rain_and_snow_come_from_amounts_or_codes() {
        let judge = |rain: f64, showers: f64, snowfall: f64, code: u16| {
            let obs = observation(location(json!({
                "time": 1_717_243_200, "temperature_2m": 1.0, "rain": rain,
                "showers": showers, "snowfall": snowfall, "weather_code": code
            })))
            .unwrap();
            (obs.raining, obs.snowing)
        };
        assert_eq!(judge(0.0, 0.0, 0.0, 3), (false, false));
        assert_eq!(judge(0.2, 0.0, 0.0, 3), (true, false));
        assert_eq!(judge(0.0, 0.1, 0.0, 3), (true, false));
        assert_eq!(judge(0.0, 0.0, 0.0, 61), (true, false));
        assert_eq!(judge(0.0, 0.0, 0.0, 95), (true, false));
        assert_eq!(judge(0.0, 0.0, 0.7, 3), (false, true));
        assert_eq!(judge(0.0, 0.0, 0.0, 86), (false, true));
    }

    #[test]
    fn unix_time_and_utc_offset_are_honoured() {
        let obs = observation(location(
            json!({ "time": 1_717_243_200, "temperature_2m": 0 }),
        ))
        .unwrap();
        assert_eq!(obs.observed_at.timestamp(), 1_717_243_200);
        let local = json!({
            "utc_offset_seconds": 7200,
            "current": { "time": "2024-06-01T14:00", "temperature_2m": 0 }
        });
        let obs = observation(local).unwrap();
        assert_eq!(obs.observed_at.to_rfc3339(), "2024-06-01T12:00:00+00:00");
    }

    #[test]
    fn missing_temperature_or_bad_time_is_malformed() {
        for current in [
            json!({ "time": "2024-06-01T12:00", "temperature_2m": null }),
            json!({ "time": "2024-06-01T12:00" }),
            json!({ "time": "yesterday", "temperature_2m": 3.0 }),
            json!({ "temperature_2m": 3.0 }),
        ] {
            let err = observation(location(current.clone())).unwrap_err();
            assert!(
                matches!(err, WeatherError::Malformed(_)),
                "{current}: {err:?}"
            );
        }
    }

    #[test]
    fn odd_weather_codes_are_ignored() {
        assert_eq!(wmo_code(61.0), Some(61));
        assert_eq!(wmo_code(61.5), None);
        assert_eq!(wmo_code(-1.0), None);
        assert_eq!(wmo_code(1e9), None);
    }
}
