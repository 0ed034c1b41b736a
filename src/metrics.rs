//! Prometheus metrics of one `App`: its own registry (not the global one), so
//! several apps in one test process never share counters. Names follow the
//! reference system where it had one.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts, Registry, TextEncoder,
};

#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    pub registered_users: IntCounter,
    pub logged_users: IntCounter,
    pub city_requests: IntCounter,
    /// Weather API response time by provider and call (`geocode`, `current`).
    pub api_response_time: HistogramVec,
    /// Weather API failures by provider and error kind.
    pub weather_errors: IntCounterVec,
    /// Admin HTTP request duration by method, route template and status.
    pub http_request_duration: HistogramVec,
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        let registered_users = IntCounter::with_opts(Opts::new(
            "registered_users_total",
            "Accounts created over REST or in chat",
        ))
        .expect("valid metric");
        let logged_users =
            IntCounter::with_opts(Opts::new("logged_users_total", "Successful logins"))
                .expect("valid metric");
        let city_requests = IntCounter::with_opts(Opts::new(
            "users_city_request_total",
            "Subscription requests for a city",
        ))
        .expect("valid metric");
        let api_response_time = HistogramVec::new(
            HistogramOpts::new("api_response_time_seconds", "Weather API response time")
                .buckets(vec![0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]),
            &["provider", "call"],
        )
        .expect("valid metric");
        let weather_errors = IntCounterVec::new(
            Opts::new("weather_api_errors_total", "Failed weather API calls"),
            &["provider", "kind"],
        )
        .expect("valid metric");
        let http_request_duration = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "Admin HTTP request duration by route",
            )
            .buckets(vec![
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
            &["method", "route", "status"],
        )
        .expect("valid metric");
        let metrics = Self {
            registry,
            registered_users,
            logged_users,
            city_requests,
            api_response_time,
            weather_errors,
            http_request_duration,
        };
        metrics.register_all();
        metrics
    }

    fn register_all(&self) {
        let collectors: Vec<Box<dyn prometheus::core::Collector>> = vec![
            Box::new(self.registered_users.clone()),
            Box::new(self.logged_users.clone()),
            Box::new(self.city_requests.clone()),
            Box::new(self.api_response_time.clone()),
            Box::new(self.weather_errors.clone()),
            Box::new(self.http_request_duration.clone()),
        ];
        for c in collectors {
            self.registry.register(c).expect("metric names are unique");
        }
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut buf)
            .expect("text encoding into a Vec cannot fail");
        String::from_utf8(buf).expect("Prometheus text is UTF-8")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_the_reference_names() {
        let m = Metrics::new();
        m.registered_users.inc();
        m.http_request_duration
            .with_label_values(&["GET", "/healthz", "200"])
            .observe(0.01);
        m.api_response_time
            .with_label_values(&["open-meteo", "geocode"])
            .observe(0.2);
        let text = m.render();
        for name in [
            "registered_users_total 1",
            "logged_users_total 0",
            "users_city_request_total 0",
            "api_response_time_seconds_bucket",
            "http_request_duration_seconds_bucket",
        ] {
            assert!(text.contains(name), "missing {name} in\n{text}");
        }
    }
}
