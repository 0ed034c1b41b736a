//! Weather providers: geocoding (city name → places) and forecast series for
//! many points at once. One trait, two HTTP implementations (Open-Meteo,
//! OpenWeatherMap), every base URL from configuration so tests use a fake.
//! Beside them: the grid that lets nearby points share a series, and the call
//! budget that keeps us in the free plan.

pub mod budget;
mod conditions;
pub mod grid;
mod http;
mod instrumented;
mod open_meteo;
mod owm;
mod pacer;
pub mod series;

use std::time::Duration;

use async_trait::async_trait;

pub use conditions::{wmo_is_raining, wmo_is_snowing};
pub use http::http_client;
pub use instrumented::{Instrumented, error_kind};
pub use open_meteo::OpenMeteo;
pub use owm::{DEFAULT_CALLS_PER_MINUTE, OpenWeatherMap};
pub use series::{Sample, Series, SeriesError, Step};

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
    /// The place's IANA time zone (Open-Meteo's geocoding gives it;
    /// OpenWeatherMap's does not): a chat's first place sets the chat's.
    pub timezone: Option<String>,
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
    RateLimited {
        retry_after: Option<Duration>,
        /// Which of the provider's quotas ran out, when its answer says so
        /// (Open-Meteo: "Minutely / Hourly / Daily API request limit exceeded").
        window: Option<QuotaWindow>,
    },
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

/// A provider quota's period; limits reset at the start of the next UTC one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QuotaWindow {
    Minute,
    Hour,
    Day,
}

/// A provider's call limits, in its own weighted calls.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quota {
    pub per_minute: f64,
    pub per_hour: f64,
    pub per_day: f64,
}

#[async_trait]
pub trait WeatherProvider: Send + Sync {
    /// Provider label for logs and metrics ("open-meteo", "openweathermap").
    fn name(&self) -> &'static str;

    /// Places matching a free-text city name, best match first. An unknown
    /// name is `Ok(vec![])`, not an error.
    async fn geocode(&self, query: &str) -> Result<Vec<Place>, WeatherError>;

    /// The free plan's limits, in the provider's own weighted calls.
    fn free_quota(&self) -> Quota;

    /// What one forecast refresh of `points` places costs against the quota,
    /// counted the way the provider counts (Open-Meteo: every location of a
    /// batched request is one call, more if it asks for more than 10
    /// variables or 14 days; OpenWeatherMap: the forecast and the current
    /// weather, two calls per place).
    fn forecast_weight(&self, points: usize) -> f64;

    /// How many places one forecast HTTP request may carry.
    fn forecast_batch(&self) -> usize {
        1
    }

    /// How many HTTP requests one forecast refresh of `points` places makes
    /// (the requests metric; the budget counts [`Self::forecast_weight`]).
    fn forecast_requests(&self, points: usize) -> usize {
        points.div_ceil(self.forecast_batch().max(1))
    }

    /// A forecast series for every point, in the same order as `points`
    /// (validated: see [`Series::validated`]); one failure costs only the
    /// points it concerns.
    async fn forecast(&self, points: &[Coordinates]) -> Vec<Result<Series, WeatherError>>;
}
