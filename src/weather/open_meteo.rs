//! Open-Meteo (no API key): geocoding from its geocoding API, and forecast
//! series for many points per request (comma-separated coordinates). The
//! forecast query and its parsing live in `forecast`.

mod forecast;

use async_trait::async_trait;
use chrono::Utc;
use reqwest::{Client, Url};
use serde::Deserialize;
use serde_json::Value;

use super::http::{endpoint, get_body, malformed, parse_json};
use super::{Coordinates, Place, Quota, Series, WeatherError, WeatherProvider};

/// The free plan: 600 calls a minute, 5,000 an hour, 10,000 a day.
pub const FREE_QUOTA: Quota = Quota {
    per_minute: 600.0,
    per_hour: 5_000.0,
    per_day: 10_000.0,
};

/// Open-Meteo accepts long coordinate lists, but the URL grows with them and
/// the free tier bills every location anyway; 100 keeps URLs around 2 KB.
const MAX_POINTS_PER_REQUEST: usize = 100;
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

    /// `/v1/forecast` for `points` with the rest of the query (the
    /// forecast's variables and ranges). Written by hand so the commas stay literal, as in
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
    /// Every series of the chunk is stamped with the time its answer arrived.
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
        // Sequential on purpose: a few large requests per refresh, and one at
        // a time is the polite rate for a free API. After a rate-limit answer
        // the other chunks are not even tried: they would only be refused too.
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
    timezone: Option<String>,
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
            timezone: found.timezone.filter(|zone| !zone.trim().is_empty()),
        }
    }
}

/// A WMO weather code sent as a float (the schema's type): `None` unless it
/// is a whole number in range.
fn wmo_code(value: f64) -> Option<u16> {
    let integral = value.fract() == 0.0 && (0.0..=f64::from(u16::MAX)).contains(&value);
    integral.then_some(value as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let url = provider("http://h/om/").forecast_url(&points, "hourly=a,b");
        assert_eq!(
            url.as_str(),
            "http://h/om/v1/forecast?latitude=52.5200,-33.8688&longitude=13.4100,151.2093\
             &hourly=a,b"
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
    fn odd_weather_codes_are_ignored() {
        assert_eq!(wmo_code(61.0), Some(61));
        assert_eq!(wmo_code(61.5), None);
        assert_eq!(wmo_code(-1.0), None);
        assert_eq!(wmo_code(1e9), None);
    }
}
