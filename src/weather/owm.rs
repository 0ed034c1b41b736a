//! OpenWeatherMap (API key in the `appid` query parameter): geocoding via
//! `/geo/1.0/direct`, forecast series from `/data/2.5/forecast` plus the
//! current weather `/data/2.5/weather` (see `forecast`), one point per
//! request (the free API has no batch endpoint), a few requests in flight at
//! once.

mod forecast;

use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::Utc;
use reqwest::{Client, Url};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::task::JoinSet;

use super::pacer::Pacer;

use super::http::{endpoint, get_body, malformed, parse_json, status_error};
use super::{Coordinates, Place, Quota, Series, WeatherError, WeatherProvider};

/// The free plan: 60 calls a minute and 1,000,000 a month (about 32,000 a day).
pub const FREE_QUOTA: Quota = Quota {
    per_minute: 60.0,
    per_hour: 60.0 * 60.0,
    per_day: 32_000.0,
};
use crate::secret::Secret;

/// Enough to poll a few hundred places in seconds, few enough not to trip the
/// free plan's per-minute limit in a burst.
const MAX_IN_FLIGHT: usize = 8;
const GEOCODING_RESULTS: &str = "5";
/// Error bodies look like `{"cod":"404","message":"city not found"}`.
const MESSAGE_FIELD: &str = "message";

pub struct OpenWeatherMap {
    client: Client,
    base: Url,
    api_key: Secret,
    /// `None`: unpaced (tests); the app always sets the configured budget.
    pacer: Option<Arc<Pacer>>,
    /// The per-minute cap the budget plans with: the pacing rate when set.
    calls_per_minute: Option<u32>,
}

/// OpenWeatherMap's free plan allows 60 calls per minute.
pub const DEFAULT_CALLS_PER_MINUTE: u32 = 60;

impl OpenWeatherMap {
    pub fn new(client: Client, base: Url, api_key: Secret) -> Self {
        Self {
            client,
            base,
            api_key,
            pacer: None,
            calls_per_minute: None,
        }
    }

    /// Paces every request (geocoding included) under this budget.
    pub fn with_calls_per_minute(mut self, calls_per_minute: u32) -> Self {
        self.pacer = Some(Arc::new(Pacer::per_minute(calls_per_minute)));
        self.calls_per_minute = Some(calls_per_minute);
        self
    }

    /// Every OpenWeatherMap URL carries the key: such a URL must not be
    /// logged or put in an error.
    fn keyed_url(&self, path: &str, params: &[(&str, &str)]) -> Url {
        let mut url = endpoint(&self.base, path);
        url.query_pairs_mut()
            .extend_pairs(params)
            .append_pair("appid", self.api_key.expose());
        url
    }

    fn weather_url(&self, point: Coordinates) -> Url {
        self.point_url("data/2.5/weather", point)
    }

    /// The 5 day / 3 hour forecast.
    fn forecast_url(&self, point: Coordinates) -> Url {
        self.point_url("data/2.5/forecast", point)
    }

    fn point_url(&self, path: &str, point: Coordinates) -> Url {
        let lat = format!("{:.4}", point.latitude);
        let lon = format!("{:.4}", point.longitude);
        // Without `units=metric` the temperature would come in Kelvin.
        let params = [
            ("lat", lat.as_str()),
            ("lon", lon.as_str()),
            ("units", "metric"),
        ];
        self.keyed_url(path, &params)
    }

    /// A self-contained task for one point, ready to spawn: the forecast then
    /// the current weather, each call paced. A failed forecast fails the
    /// point (and saves the second call); a failed current weather only
    /// leaves the series without its fine step.
    fn forecast_task(
        &self,
        index: usize,
        point: Coordinates,
    ) -> impl Future<Output = (usize, Result<Series, WeatherError>)> + Send + 'static {
        let client = self.client.clone();
        let forecast_url = self.forecast_url(point);
        let weather_url = self.weather_url(point);
        let pacer = self.pacer.clone();
        async move {
            pace(pacer.as_deref()).await;
            let outlook = match get_json::<forecast::ForecastAnswer>(&client, forecast_url).await {
                Ok(outlook) => outlook,
                Err(err) => return (index, Err(err)),
            };
            pace(pacer.as_deref()).await;
            let current = get_json::<CurrentAnswer>(&client, weather_url).await.ok();
            (index, forecast::series(outlook, current, Utc::now()))
        }
    }

    /// Runs one task per point, at most `MAX_IN_FLIGHT` at once, and gives
    /// the results in the order of `points`, key scrubbed from every error.
    async fn run_bounded<T, Task, Fut>(
        &self,
        points: &[Coordinates],
        task: Task,
    ) -> Vec<Result<T, WeatherError>>
    where
        T: Send + 'static,
        Task: Fn(usize, Coordinates) -> Fut + Send + Sync,
        Fut: Future<Output = (usize, Result<T, WeatherError>)> + Send + 'static,
    {
        let mut results: Vec<Option<Result<T, WeatherError>>> =
            points.iter().map(|_| None).collect();
        let mut queue = points.iter().copied().enumerate();
        // A JoinSet aborts its tasks when dropped, so a cancelled poll does
        // not leave requests running behind it.
        let mut in_flight = JoinSet::new();
        for (index, point) in queue.by_ref().take(MAX_IN_FLIGHT) {
            in_flight.spawn(task(index, point));
        }
        while let Some(joined) = in_flight.join_next().await {
            // A task that panicked loses its index; its slot stays empty below.
            if let Ok((index, result)) = joined {
                results[index] = Some(result);
            }
            if let Some((index, point)) = queue.next() {
                in_flight.spawn(task(index, point));
            }
        }
        results
            .into_iter()
            .map(|slot| {
                let result = slot.unwrap_or_else(|| {
                    Err(WeatherError::Network("the request task failed".into()))
                });
                result.map_err(|err| self.hide_key(err))
            })
            .collect()
    }

    /// Last line of defence: the key is scrubbed from any text an upstream
    /// might have echoed back (serde quotes offending values, messages vary).
    fn hide_key(&self, err: WeatherError) -> WeatherError {
        let key = self.api_key.expose();
        if key.is_empty() {
            return err;
        }
        let hide = |text: String| text.replace(key, "***");
        match err {
            WeatherError::Network(text) => WeatherError::Network(hide(text)),
            WeatherError::Malformed(text) => WeatherError::Malformed(hide(text)),
            WeatherError::UpstreamStatus { status, message } => WeatherError::UpstreamStatus {
                status,
                message: hide(message),
            },
            other => other,
        }
    }
}

#[async_trait]
impl WeatherProvider for OpenWeatherMap {
    fn name(&self) -> &'static str {
        "openweathermap"
    }

    async fn geocode(&self, query: &str) -> Result<Vec<Place>, WeatherError> {
        let query = query.trim();
        if query.is_empty() {
            return Ok(Vec::new());
        }
        let url = self.keyed_url(
            "geo/1.0/direct",
            &[("q", query), ("limit", GEOCODING_RESULTS)],
        );
        pace(self.pacer.as_deref()).await;
        let matches: Vec<GeoMatch> = get_json(&self.client, url)
            .await
            .map_err(|err| self.hide_key(err))?;
        Ok(matches.into_iter().map(Place::from).collect())
    }

    /// The free plan, with the per-minute limit lowered to
    /// `OWM_CALLS_PER_MINUTE` when the operator paces below it: the budget
    /// then plans no more per minute than the pacer lets out.
    fn free_quota(&self) -> Quota {
        match self.calls_per_minute {
            Some(rate) => Quota {
                per_minute: FREE_QUOTA.per_minute.min(f64::from(rate)),
                ..FREE_QUOTA
            },
            None => FREE_QUOTA,
        }
    }

    fn forecast_requests(&self, points: usize) -> usize {
        // The forecast and the current weather, per place.
        2 * points
    }

    fn forecast_weight(&self, points: usize) -> f64 {
        2.0 * points as f64
    }

    async fn forecast(&self, points: &[Coordinates]) -> Vec<Result<Series, WeatherError>> {
        self.run_bounded(points, |index, point| self.forecast_task(index, point))
            .await
    }
}

async fn pace(pacer: Option<&Pacer>) {
    if let Some(pacer) = pacer {
        pacer.wait().await;
    }
}

/// GET and parse, also catching the error `cod` OpenWeatherMap may put in a
/// 200 answer.
async fn get_json<T: DeserializeOwned>(client: &Client, url: Url) -> Result<T, WeatherError> {
    let body = get_body(client, url, MESSAGE_FIELD).await?;
    let value: Value = parse_json(&body)?;
    if let Some(code) = error_cod(&value) {
        return Err(status_error(code, None, &body, MESSAGE_FIELD));
    }
    serde_json::from_value(value).map_err(|err| malformed(&err))
}

/// The `cod` of an error answer. It is a number on some endpoints and a
/// string on others (`401` vs `"404"`), so both are read; anything below 400
/// or unreadable is not an error.
fn error_cod(value: &Value) -> Option<u16> {
    let code = match value.get("cod")? {
        Value::Number(number) => number.as_u64()?,
        Value::String(text) => text.trim().parse().ok()?,
        _ => return None,
    };
    u16::try_from(code).ok().filter(|code| *code >= 400)
}

/// One `/geo/1.0/direct` match.
#[derive(Deserialize)]
struct GeoMatch {
    name: String,
    lat: f64,
    lon: f64,
    country: Option<String>,
    state: Option<String>,
}

impl From<GeoMatch> for Place {
    fn from(found: GeoMatch) -> Self {
        Place {
            name: found.name,
            country: found.country.unwrap_or_default().to_uppercase(),
            region: found.state.filter(|state| !state.trim().is_empty()),
            coordinates: Coordinates {
                latitude: found.lat,
                longitude: found.lon,
            },
            population: None,
            timezone: None,
        }
    }
}

/// The parts of `/data/2.5/weather` a forecast series' fine step needs.
#[derive(Deserialize)]
struct CurrentAnswer {
    main: Main,
    #[serde(default)]
    weather: Vec<Condition>,
    rain: Option<Precipitation>,
    snow: Option<Precipitation>,
    dt: i64,
    /// The place's offset from UTC, seconds.
    #[serde(default)]
    timezone: Option<i64>,
}

#[derive(Deserialize)]
struct Main {
    temp: f64,
}

#[derive(Deserialize)]
struct Condition {
    /// The condition id (500 "light rain"); mapped onto a WMO code.
    #[serde(default)]
    id: Option<i64>,
    main: String,
}

/// `rain` / `snow` blocks appear only when it falls, with `1h` and/or `3h`
/// (mm; for snow, mm of water).
#[derive(Deserialize)]
struct Precipitation {
    #[serde(rename = "1h")]
    last_hour: Option<f64>,
    #[serde(rename = "3h")]
    last_3_hours: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cod_is_read_as_number_or_string() {
        assert_eq!(error_cod(&json!({ "cod": 401, "message": "x" })), Some(401));
        assert_eq!(
            error_cod(&json!({ "cod": "404", "message": "x" })),
            Some(404)
        );
        assert_eq!(error_cod(&json!({ "cod": 200 })), None);
        assert_eq!(error_cod(&json!({ "cod": "200" })), None);
        assert_eq!(error_cod(&json!({ "cod": "oops" })), None);
        assert_eq!(error_cod(&json!({ "cod": null })), None);
        assert_eq!(error_cod(&json!([{ "cod": 500 }])), None);
    }

    #[test]
    fn the_budget_plans_with_the_configured_pace_and_counts_two_requests_a_place() {
        let provider = || {
            OpenWeatherMap::new(
                Client::new(),
                Url::parse("http://h").unwrap(),
                Secret::new("k"),
            )
        };
        assert_eq!(provider().free_quota(), FREE_QUOTA);
        let slow = provider().with_calls_per_minute(20);
        assert_eq!(slow.free_quota().per_minute, 20.0);
        assert_eq!(slow.free_quota().per_day, FREE_QUOTA.per_day);
        // Pacing above the free plan does not raise its limit.
        assert_eq!(
            provider()
                .with_calls_per_minute(600)
                .free_quota()
                .per_minute,
            60.0
        );
        assert_eq!(slow.forecast_requests(3), 6);
        assert_eq!(slow.forecast_weight(3), 6.0);
    }

    #[test]
    fn hide_key_scrubs_every_text() {
        let provider = OpenWeatherMap::new(
            Client::new(),
            Url::parse("http://h").unwrap(),
            Secret::new("k3y"),
        );
        let err = provider.hide_key(WeatherError::Malformed("bad value \"k3y\"".into()));
        assert_eq!(err, WeatherError::Malformed("bad value \"***\"".into()));
        let url = provider.weather_url(Coordinates {
            latitude: 1.0,
            longitude: -2.5,
        });
        assert_eq!(
            url.as_str(),
            "http://h/data/2.5/weather?lat=1.0000&lon=-2.5000&units=metric&appid=k3y"
        );
    }
}
