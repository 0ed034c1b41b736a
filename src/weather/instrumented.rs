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
        // Touch the series so /metrics shows them (at 0) before the first call.
        for call in ["geocode", "forecast"] {
            metrics
                .api_response_time
                .with_label_values(&[inner.name(), call]);
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

/// A low-cardinality label for an error.
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
