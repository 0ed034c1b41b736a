//! Weather providers: geocoding (city name → places) and current observations
//! for many points at once. One trait, two HTTP implementations (Open-Meteo,
//! OpenWeatherMap), every base URL from configuration so tests use a fake.

mod conditions;
mod http;
mod instrumented;
mod open_meteo;
mod owm;
mod pacer;

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

pub use conditions::{owm_is_raining, owm_is_snowing, wmo_is_raining, wmo_is_snowing};
pub use http::http_client;
pub use instrumented::{Instrumented, error_kind};
pub use open_meteo::OpenMeteo;
pub use owm::{DEFAULT_CALLS_PER_MINUTE, OpenWeatherMap};

/// A point on Earth, in decimal degrees (WGS84).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Coordinates {
    pub latitude: f64,
    pub longitude: f64,
}

/// One geocoding match.
#[derive(Debug, Clone, PartialEq)]
pub struct Place {
    pub name: String,
    /// ISO 3166-1 alpha-2 code ("IT"); empty when the provider gave none.
    pub country: String,
    /// First-level region ("Lazio"), used to tell same-named places apart.
    pub region: Option<String>,
    pub coordinates: Coordinates,
    /// Open-Meteo gives it; OpenWeatherMap does not.
    pub population: Option<u64>,
}

/// The current weather at one point, already judged for rain and snow by the
/// rules of DESIGN.md.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub temperature_c: f64,
    pub raining: bool,
    pub snowing: bool,
    pub observed_at: DateTime<Utc>,
    /// Short human summary from the provider when it has one ("light rain").
    pub description: Option<String>,
}

/// Why a provider call failed. Messages never carry the request URL (it may
/// hold an API key) nor anything secret.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WeatherError {
    #[error("not found upstream")]
    NotFound,
    #[error("the weather provider refused our credentials")]
    Unauthorized,
    #[error("the weather provider is rate limiting us")]
    RateLimited { retry_after: Option<Duration> },
    #[error("the weather provider answered HTTP {status}: {message}")]
    UpstreamStatus { status: u16, message: String },
    #[error("the weather provider answered something unreadable: {0}")]
    Malformed(String),
    #[error("the weather provider did not answer in time")]
    Timeout,
    #[error("could not reach the weather provider: {0}")]
    Network(String),
}

impl WeatherError {
    /// Failures that say nothing about the request itself: retrying later may work.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            Self::Timeout | Self::Network(_) | Self::RateLimited { .. }
        )
    }
}

#[async_trait]
pub trait WeatherProvider: Send + Sync {
    /// Provider label for logs and metrics ("open-meteo", "openweathermap").
    fn name(&self) -> &'static str;

    /// How many HTTP requests `current` makes for `points` locations (for the
    /// calls metric): one per location unless the provider batches.
    fn requests_for(&self, points: usize) -> usize {
        points
    }

    /// Places matching a free-text city name, best match first. An unknown
    /// name is `Ok(vec![])`, not an error.
    async fn geocode(&self, query: &str) -> Result<Vec<Place>, WeatherError>;

    /// Current weather for every point, in the same order as `points`; one
    /// failure costs only the points it concerns.
    async fn current(&self, points: &[Coordinates]) -> Vec<Result<Observation, WeatherError>>;
}
