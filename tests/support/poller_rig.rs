//! The poller's component rig, shared by `tests/poller.rs` and
//! `tests/quiet_hours.rs`: a temp-file store, a fake Open-Meteo (wiremock)
//! serving scripted series, and a `Poller` built as `startup` builds it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, Utc};
use meteobot::alerts::{Poller, PollerSettings};
use meteobot::domain::{ChatId, LeadTime, Temperature, TemperatureBand};
use meteobot::forecasts::{ForecastSettings, Forecasts};
use meteobot::metrics::Metrics;
use meteobot::store::{NewSubscription, OutboxRow, Store};
use meteobot::weather::budget::window_starts_ms;
use meteobot::weather::{OpenMeteo, WeatherProvider, http_client};
use tokio::sync::Notify;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::fake_weather::FakeForecast;

pub const HOUR: Duration = Duration::from_secs(3600);
pub const ROME: (f64, f64) = (41.89193, 12.51133);
pub const DAILY_LIMIT: &str =
    r#"{"error":true,"reason":"Daily API request limit exceeded. Please try again tomorrow."}"#;

pub fn minutes(m: u64) -> Duration {
    Duration::from_secs(m * 60)
}

/// The defaults of issue 8: 0.05° grid, hourly refresh, 3 h max age, the
/// provider's free plan.
pub fn defaults() -> ForecastSettings {
    ForecastSettings {
        grid: 0.05,
        refresh: HOUR,
        max_age: 3 * HOUR,
        daily_budget: None,
    }
}

/// What a subscription watches.
#[derive(Clone, Copy, Default)]
pub struct Watch {
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub rain: bool,
}

pub fn max(t: f64) -> Watch {
    Watch {
        max: Some(t),
        ..Watch::default()
    }
}

pub struct Rig {
    pub store: Store,
    pub weather: MockServer,
    pub fake: FakeForecast,
    pub metrics: Metrics,
    pub _dir: tempfile::TempDir,
}

pub async fn rig() -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&meteobot::store::scratch::database_url(dir.path(), "p").await)
        .await
        .unwrap();
    let weather = MockServer::start().await;
    let fake = FakeForecast::mount(&weather).await;
    Rig {
        store,
        weather,
        fake,
        metrics: Metrics::new(),
        _dir: dir,
    }
}

impl Rig {
    pub fn provider(&self) -> Arc<dyn WeatherProvider> {
        let url = reqwest::Url::parse(&self.weather.uri()).unwrap();
        Arc::new(OpenMeteo::new(
            http_client(Duration::from_millis(800)),
            url.clone(),
            url,
        ))
    }

    pub fn forecasts(&self, settings: ForecastSettings) -> Forecasts {
        Forecasts::new(
            self.store.clone(),
            self.provider(),
            self.metrics.clone(),
            settings,
        )
    }

    /// A poller as `startup` builds it: a `Forecasts` over the provider and
    /// the same store.
    pub fn poller_with(&self, settings: ForecastSettings, admin_chats: Vec<i64>) -> Poller {
        self.poller_on(self.forecasts(settings), admin_chats)
    }

    pub fn poller_on(&self, forecasts: Forecasts, admin_chats: Vec<i64>) -> Poller {
        Poller::new(
            self.store.clone(),
            forecasts,
            self.metrics.clone(),
            PollerSettings {
                remind_every: 6 * HOUR,
                heads_up_probability: 50,
                admin_chats,
            },
            Arc::new(Notify::new()),
        )
    }

    pub fn poller(&self) -> Poller {
        self.poller_with(defaults(), Vec::new())
    }

    pub async fn subscribe(&self, chat: i64, (lat, lon): (f64, f64), watch: Watch) -> i64 {
        self.subscribe_ahead(chat, (lat, lon), watch, None).await
    }

    pub async fn subscribe_ahead(
        &self,
        chat: i64,
        (latitude, longitude): (f64, f64),
        watch: Watch,
        ahead: Option<&str>,
    ) -> i64 {
        let t = |v: Option<f64>| v.map(|v| Temperature::new(v).unwrap());
        let new = NewSubscription {
            chat_id: ChatId::new(chat).unwrap(),
            city: "Rome",
            country: "IT",
            latitude,
            longitude,
            band: TemperatureBand::new(t(watch.min), t(watch.max)).unwrap(),
            rain: watch.rain,
            snow: false,
            ahead: ahead.and_then(|a| LeadTime::parse_optional(a).unwrap()),
        };
        self.store
            .insert_subscription(new, 20)
            .await
            .unwrap()
            .unwrap()
            .id
    }

    pub async fn rows(&self) -> Vec<OutboxRow> {
        self.store.outbox_rows().await.unwrap()
    }

    pub async fn rows_of(&self, kind: &str) -> Vec<OutboxRow> {
        let mut rows = self.rows().await;
        rows.retain(|r| r.kind == kind);
        rows
    }

    /// The next forecast request is answered with Open-Meteo's daily-limit 429.
    pub async fn daily_limit_once(&self) {
        Mock::given(method("GET"))
            .and(path("/v1/forecast"))
            .respond_with(ResponseTemplate::new(429).set_body_raw(DAILY_LIMIT, "application/json"))
            .with_priority(1)
            .up_to_n_times(1)
            .mount(&self.weather)
            .await;
    }

    pub async fn kinds(&self) -> Vec<String> {
        self.rows().await.into_iter().map(|r| r.kind).collect()
    }

    pub async fn texts(&self) -> Vec<String> {
        self.rows().await.into_iter().map(|r| r.text).collect()
    }

    /// Every HTTP request wiremock received (the fake's and any other mock's).
    pub async fn requests(&self) -> usize {
        self.weather.received_requests().await.unwrap().len()
    }

    /// How many locations each forecast request carried, in order.
    pub async fn request_sizes(&self) -> Vec<usize> {
        self.weather
            .received_requests()
            .await
            .unwrap()
            .iter()
            .filter(|r| r.url.path() == "/v1/forecast")
            .map(|r| {
                r.url
                    .query_pairs()
                    .find(|(k, _)| k == "latitude")
                    .map_or(0, |(_, v)| v.split(',').count())
            })
            .collect()
    }

    /// Weighted calls recorded since the start of the UTC day holding `at`.
    pub async fn spent_on_day_of(&self, at: DateTime<Utc>) -> f64 {
        let (minute, hour, day) = window_starts_ms(at);
        self.store
            .weather_spent(minute, hour, day)
            .await
            .unwrap()
            .day
    }
}

/// An injected clock near the wall clock (the fake's series are built around
/// the wall clock of each request).
pub struct Clock(pub DateTime<Utc>);

impl Clock {
    pub fn start() -> Self {
        Self(Utc::now())
    }

    pub fn at(&self, after: Duration) -> DateTime<Utc> {
        self.0 + TimeDelta::from_std(after).unwrap()
    }
}

/// The day after the wall clock's (UTC): its instants are between 0 and 48
/// hours ahead, so a series fetched now still covers them.
pub fn tomorrow() -> NaiveDate {
    Utc::now().date_naive() + TimeDelta::days(1)
}

/// `hh:mm` UTC on `day`.
pub fn on(day: NaiveDate, hh: u32, mm: u32) -> DateTime<Utc> {
    day.and_time(NaiveTime::from_hms_opt(hh, mm, 0).unwrap())
        .and_utc()
}

/// How far the wall clock is from `at` (for scripting a change at `at`).
pub fn until(at: DateTime<Utc>) -> Duration {
    (at - Utc::now()).to_std().unwrap()
}

pub fn counts(values: impl IntoIterator<Item = (f64, f64)>) -> HashMap<(i64, i64), usize> {
    let mut counts = HashMap::new();
    for (lat, lon) in values {
        let key = ((lat * 1e4).round() as i64, (lon * 1e4).round() as i64);
        *counts.entry(key).or_default() += 1;
    }
    counts
}
