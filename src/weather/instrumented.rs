//! A provider decorator that times every call and counts failures, so each
//! provider implementation stays free of metrics code.

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;

use super::{Coordinates, Place, Quota, Series, WeatherError, WeatherProvider};
use crate::metrics::Metrics;

pub struct Instrumented {
    inner: Arc<dyn WeatherProvider>,
    metrics: Metrics,
}

impl Instrumented {
    pub fn new(inner: Arc<dyn WeatherProvider>, metrics: Metrics) -> Self {
        // Touch the series so /metrics shows them (at 0) before the first
        // call: rate() and dashboards then see a 0, not a missing series.
        let provider = inner.name();
        for call in ["geocode", "forecast"] {
            metrics
                .api_response_time
                .with_label_values(&[provider, call]);
        }
        metrics.weather_calls.with_label_values(&[provider]);
        for kind in ERROR_KINDS {
            metrics.weather_errors.with_label_values(&[provider, kind]);
        }
        Self { inner, metrics }
    }

    fn count_error(&self, err: &WeatherError) {
        self.metrics
            .weather_errors
            .with_label_values(&[self.inner.name(), error_kind(err)])
            .inc();
    }
}

/// Every value `error_kind` returns (the `kind` label's whole range).
const ERROR_KINDS: [&str; 7] = [
    "not_found",
    "unauthorized",
    "rate_limited",
    "upstream_status",
    "malformed",
    "timeout",
    "network",
];

/// A low-cardinality label for an error (one of `ERROR_KINDS`).
pub fn error_kind(err: &WeatherError) -> &'static str {
    match err {
        WeatherError::NotFound => "not_found",
        WeatherError::Unauthorized => "unauthorized",
        WeatherError::RateLimited { .. } => "rate_limited",
        WeatherError::UpstreamStatus { .. } => "upstream_status",
        WeatherError::Malformed(_) => "malformed",
        WeatherError::Timeout => "timeout",
        WeatherError::Network(_) => "network",
    }
}

#[async_trait]
impl WeatherProvider for Instrumented {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    async fn geocode(&self, query: &str) -> Result<Vec<Place>, WeatherError> {
        self.metrics
            .weather_calls
            .with_label_values(&[self.inner.name()])
            .inc();
        let started = Instant::now();
        let result = self.inner.geocode(query).await;
        self.metrics
            .api_response_time
            .with_label_values(&[self.inner.name(), "geocode"])
            .observe(started.elapsed().as_secs_f64());
        if let Err(e) = &result {
            self.count_error(e);
        }
        result
    }

    fn free_quota(&self) -> Quota {
        self.inner.free_quota()
    }

    fn forecast_weight(&self, points: usize) -> f64 {
        self.inner.forecast_weight(points)
    }

    fn forecast_batch(&self) -> usize {
        self.inner.forecast_batch()
    }

    fn forecast_requests(&self, points: usize) -> usize {
        self.inner.forecast_requests(points)
    }

    async fn forecast(&self, points: &[Coordinates]) -> Vec<Result<Series, WeatherError>> {
        if points.is_empty() {
            return Vec::new();
        }
        let requests = self.inner.forecast_requests(points.len());
        self.metrics
            .weather_calls
            .with_label_values(&[self.inner.name()])
            .inc_by(requests as u64);
        let started = Instant::now();
        let results = self.inner.forecast(points).await;
        self.metrics
            .api_response_time
            .with_label_values(&[self.inner.name(), "forecast"])
            .observe(started.elapsed().as_secs_f64());
        for err in results.iter().filter_map(|r| r.as_ref().err()) {
            self.count_error(err);
        }
        results
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::weather::open_meteo::OpenMeteo;

    /// Every error is counted under a series that exists from the start.
    #[test]
    fn the_series_errors_count_into_exist_before_the_first_call() {
        let metrics = Metrics::new();
        // A closed loopback port: the constructor makes no call anyway.
        let url = reqwest::Url::parse("http://127.0.0.1:9").unwrap();
        let inner = OpenMeteo::new(reqwest::Client::new(), url.clone(), url);
        let _instrumented = Instrumented::new(Arc::new(inner), metrics.clone());
        let text = metrics.render();
        assert!(
            text.contains("weather_api_calls_total{provider=\"open-meteo\"} 0\n"),
            "{text}"
        );
        let errors = [
            WeatherError::NotFound,
            WeatherError::Unauthorized,
            WeatherError::RateLimited {
                retry_after: None,
                window: None,
            },
            WeatherError::UpstreamStatus {
                status: 500,
                message: String::new(),
            },
            WeatherError::Malformed(String::new()),
            WeatherError::Timeout,
            WeatherError::Network(String::new()),
        ];
        let mut kinds: Vec<_> = errors.iter().map(error_kind).collect();
        kinds.sort_unstable();
        let mut listed = ERROR_KINDS;
        listed.sort_unstable();
        assert_eq!(kinds, listed, "ERROR_KINDS is error_kind's range");
        for kind in ERROR_KINDS {
            let series =
                format!("weather_api_errors_total{{kind=\"{kind}\",provider=\"open-meteo\"}} 0\n");
            assert!(text.contains(&series), "no {series:?} in\n{text}");
        }
    }
}
