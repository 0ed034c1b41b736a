//! Prometheus metrics of one `App`: its own registry (not the global one), so
//! several apps in one test process never share counters. Names follow the
//! reference system where it had one.

use prometheus::{
    Counter, Encoder, Gauge, GaugeVec, Histogram, HistogramOpts, HistogramVec, IntCounter,
    IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};

#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    pub registered_users: IntCounter,
    pub logged_users: IntCounter,
    pub city_requests: IntCounter,
    /// Weather API response time by provider and call (`geocode`, `forecast`).
    pub api_response_time: HistogramVec,
    /// Weather API failures by provider and error kind.
    pub weather_errors: IntCounterVec,
    /// Admin HTTP request duration by method, route template and status.
    pub http_request_duration: HistogramVec,
    /// Weather API calls by provider (one per location with OWM, one per
    /// chunk of ≤ 100 locations with Open-Meteo).
    pub weather_calls: IntCounterVec,
    pub poll_cycle_duration: Histogram,
    /// Forecast calls as the provider's quota counts them (weighted).
    pub weather_weighted_calls: Counter,
    /// What the daily call budget still allows today (UTC).
    pub weather_budget_left: Gauge,
    /// The refresh interval the budget allows every cell.
    pub weather_refresh_interval: Gauge,
    /// Age of the oldest series in use.
    pub weather_oldest_series_age: Gauge,
    /// Rate-limit episodes of the weather provider.
    pub weather_rate_limited: IntCounter,
    /// Distinct locations fetched in the last poll cycle.
    pub poll_locations: IntGauge,
    /// Alert-state transitions that produced a message, by kind.
    pub alerts_decided: IntCounterVec,
    /// Pending outbox rows.
    pub outbox_depth: IntGauge,
    pub outbox_unrecorded: IntGauge,
    pub messages_sent: IntCounter,
    /// Messages Telegram refused for good, or whose chat became unreachable.
    pub messages_failed: IntCounter,
    /// Failed attempts scheduled again (network, 5xx, 429).
    pub messages_retried: IntCounter,
    pub telegram_429: IntCounter,
    /// SLA metric reads that failed (source down, garbage, bad query).
    pub sla_evaluation_errors: IntCounter,
    /// Samples found outside their SLA's range.
    pub sla_violations: IntCounter,
    /// Error budget left per SLA with an objective (%; negative when
    /// overspent), by `sla_id`, `metric_name`, `job_name`: one series per
    /// stored SLA, set by the leader's evaluator.
    pub sla_budget_remaining: GaugeVec,
    /// Burn rate per SLA with an objective and `window` (5m … 3d).
    pub sla_burn_rate: GaugeVec,
    /// This process's CPU use, % of the CPUs it may run on (`sysmetrics`).
    pub cpu_usage: Gauge,
    /// Resident memory, % of the memory available to the process.
    pub memory_usage: Gauge,
    /// Bytes of the SQLite database file, its WAL and shared-memory index.
    pub disk_space_used: IntGauge,
    /// Connections handed out by the database pool.
    pub db_connections: IntCounter,
    /// Supervised workers restarted after a panic or an early return, by
    /// worker name (a fixed set: dispatcher, poller, notifier, sla_evaluator).
    pub worker_restarts: IntCounterVec,
    /// 1 while this replica holds the leader lease (it polls, evaluates
    /// SLAs, composes digests), else 0.
    pub leader: IntGauge,
}

fn counter(name: &str, help: &str) -> IntCounter {
    IntCounter::with_opts(Opts::new(name, help)).expect("valid metric")
}

fn counter_vec(name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric")
}

fn gauge(name: &str, help: &str) -> IntGauge {
    IntGauge::with_opts(Opts::new(name, help)).expect("valid metric")
}

fn float_gauge(name: &str, help: &str) -> Gauge {
    Gauge::with_opts(Opts::new(name, help)).expect("valid metric")
}

/// What every Prometheus client exports beside its own metrics: the build's
/// version as `meteobot_build_info{version="…"} 1` (joined on `instance` to
/// tell which replica runs which build), and on Linux the process collector's
/// `process_*` (CPU seconds, resident and virtual memory, open and maximum
/// fds, threads, start time), read from /proc at every scrape.
fn standard_collectors() -> Vec<Box<dyn prometheus::core::Collector>> {
    let build_info = IntGauge::with_opts(
        Opts::new("meteobot_build_info", "1, labelled with the running build")
            .const_label("version", env!("CARGO_PKG_VERSION")),
    )
    .expect("valid metric");
    build_info.set(1);
    #[cfg_attr(not(target_os = "linux"), allow(unused_mut))] // No process collector.
    let mut collectors: Vec<Box<dyn prometheus::core::Collector>> = vec![Box::new(build_info)];
    #[cfg(target_os = "linux")]
    collectors.push(Box::new(
        prometheus::process_collector::ProcessCollector::for_self(),
    ));
    collectors
}

impl Metrics {
    /// Metrics without an `instance` label (unit tests, tools).
    pub fn new() -> Self {
        Self::for_instance(None)
    }

    /// Metrics whose every sample carries `instance="<name>"` (a const
    /// label of the registry): the replica's `INSTANCE_NAME`, so the series
    /// of several replicas stay apart wherever they are collected. `None`
    /// or an empty name: no label.
    pub fn for_instance(instance: Option<&str>) -> Self {
        let labels = instance.filter(|name| !name.is_empty()).map(|name| {
            std::collections::HashMap::from([("instance".to_owned(), name.to_owned())])
        });
        let registry = Registry::new_custom(None, labels).expect("a valid instance label");
        let api_response_time = HistogramVec::new(
            HistogramOpts::new("api_response_time_seconds", "Weather API response time")
                .buckets(vec![0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]),
            &["provider", "call"],
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
        let poll_cycle_duration = Histogram::with_opts(
            HistogramOpts::new(
                "poll_cycle_duration_seconds",
                "One poll: fetch, evaluate, write",
            )
            .buckets(vec![
                0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
            ]),
        )
        .expect("valid metric");
        let metrics = Self {
            registry,
            registered_users: counter(
                "registered_users_total",
                "Accounts created over REST or in chat",
            ),
            logged_users: counter("logged_users_total", "Successful logins"),
            city_requests: counter(
                "users_city_request_total",
                "Subscription requests for a city",
            ),
            api_response_time,
            weather_errors: counter_vec(
                "weather_api_errors_total",
                "Failed weather API calls",
                &["provider", "kind"],
            ),
            http_request_duration,
            weather_calls: counter_vec(
                "weather_api_calls_total",
                "Weather API requests",
                &["provider"],
            ),
            poll_cycle_duration,
            weather_weighted_calls: Counter::with_opts(Opts::new(
                "weather_api_weighted_calls_total",
                "Forecast calls as the provider's quota counts them",
            ))
            .expect("valid metric"),
            weather_budget_left: float_gauge(
                "weather_budget_left_today",
                "Weighted weather calls the daily budget still allows today (UTC)",
            ),
            weather_refresh_interval: float_gauge(
                "weather_refresh_interval_seconds",
                "Refresh interval of every forecast series under the budget",
            ),
            weather_oldest_series_age: float_gauge(
                "weather_oldest_series_age_seconds",
                "Age of the oldest forecast series in use",
            ),
            weather_rate_limited: counter(
                "weather_rate_limited_total",
                "Rate-limit episodes of the weather provider",
            ),
            poll_locations: gauge(
                "poll_locations",
                "Distinct forecast cells the last poll judged",
            ),
            alerts_decided: counter_vec(
                "alerts_decided_total",
                "Messages decided by the poller",
                &["kind"],
            ),
            outbox_depth: gauge("outbox_depth", "Messages waiting to be sent"),
            outbox_unrecorded: gauge(
                "outbox_unrecorded",
                "Sends answered by Telegram whose outcome the database has not taken yet",
            ),
            messages_sent: counter("messages_sent_total", "Messages Telegram accepted"),
            messages_failed: counter(
                "messages_failed_total",
                "Messages given up (refused or chat unreachable)",
            ),
            messages_retried: counter("messages_retried_total", "Send attempts scheduled again"),
            telegram_429: counter(
                "telegram_rate_limited_total",
                "Telegram 429 Too Many Requests answers",
            ),
            sla_evaluation_errors: counter(
                "sla_evaluation_errors_total",
                "SLA metric reads that failed",
            ),
            sla_violations: counter("sla_violations_total", "SLA samples outside their range"),
            sla_budget_remaining: GaugeVec::new(
                Opts::new(
                    "sla_error_budget_remaining_percent",
                    "Error budget left over the SLO window, % (negative: overspent)",
                ),
                &["sla_id", "metric_name", "job_name"],
            )
            .expect("valid metric"),
            sla_burn_rate: GaugeVec::new(
                Opts::new(
                    "sla_burn_rate",
                    "Bad evaluations over the window divided by the share the objective allows",
                ),
                &["sla_id", "metric_name", "job_name", "window"],
            )
            .expect("valid metric"),
            cpu_usage: float_gauge(
                "cpu_usage_percent",
                "Process CPU use, % of the CPUs available to it",
            ),
            memory_usage: float_gauge(
                "memory_usage_percent",
                "Process resident memory, % of the memory available to it",
            ),
            disk_space_used: gauge(
                "disk_space_used",
                "Bytes of the SQLite database file with its -wal and -shm files",
            ),
            db_connections: counter(
                "db_connections_total",
                "Connections acquired from the database pool",
            ),
            worker_restarts: counter_vec(
                "worker_restarts_total",
                "Supervised workers restarted after a panic or an early return",
                &["worker"],
            ),
            leader: gauge(
                "leader",
                "1 while this replica holds the leader lease, else 0",
            ),
        };
        // The kinds of message the poller and the digest decide, touched so
        // that rate() sees a 0 rather than no series before the first one (a
        // kind added later still appears at its first use).
        for kind in [
            "alert",
            "reminder",
            "all_clear",
            "heads_up",
            "heads_up_cancelled",
            "quiet_summary",
            "notice",
            "digest",
        ] {
            metrics.alerts_decided.with_label_values(&[kind]);
        }
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
            Box::new(self.weather_calls.clone()),
            Box::new(self.poll_cycle_duration.clone()),
            Box::new(self.weather_weighted_calls.clone()),
            Box::new(self.weather_budget_left.clone()),
            Box::new(self.weather_refresh_interval.clone()),
            Box::new(self.weather_oldest_series_age.clone()),
            Box::new(self.weather_rate_limited.clone()),
            Box::new(self.poll_locations.clone()),
            Box::new(self.alerts_decided.clone()),
            Box::new(self.outbox_depth.clone()),
            Box::new(self.outbox_unrecorded.clone()),
            Box::new(self.messages_sent.clone()),
            Box::new(self.messages_failed.clone()),
            Box::new(self.messages_retried.clone()),
            Box::new(self.telegram_429.clone()),
            Box::new(self.sla_evaluation_errors.clone()),
            Box::new(self.sla_violations.clone()),
            Box::new(self.sla_budget_remaining.clone()),
            Box::new(self.sla_burn_rate.clone()),
            Box::new(self.cpu_usage.clone()),
            Box::new(self.memory_usage.clone()),
            Box::new(self.disk_space_used.clone()),
            Box::new(self.db_connections.clone()),
            Box::new(self.worker_restarts.clone()),
            Box::new(self.leader.clone()),
        ];
        for c in collectors.into_iter().chain(standard_collectors()) {
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

    #[test]
    fn an_instance_name_labels_every_sample() {
        let m = Metrics::for_instance(Some("replica-2"));
        m.registered_users.inc();
        m.leader.set(1);
        let text = m.render();
        assert!(
            text.contains("registered_users_total{instance=\"replica-2\"} 1"),
            "{text}"
        );
        assert!(text.contains("leader{instance=\"replica-2\"} 1"), "{text}");
        let unlabelled = Metrics::for_instance(Some("")).render();
        assert!(!unlabelled.contains("instance="), "{unlabelled}");
    }

    #[test]
    fn renders_the_standard_metrics() {
        let text = Metrics::for_instance(Some("replica-2")).render();
        let version = env!("CARGO_PKG_VERSION");
        let build_info = text
            .lines()
            .find(|l| l.starts_with("meteobot_build_info{"))
            .unwrap_or_else(|| panic!("no meteobot_build_info in\n{text}"));
        // The registry appends its instance label after the gauge's own.
        let (labels, value) = build_info.rsplit_once(' ').unwrap();
        let mut labels: Vec<_> = labels["meteobot_build_info{".len()..]
            .trim_end_matches('}')
            .split(',')
            .collect();
        labels.sort_unstable();
        let version = format!("version=\"{version}\"");
        assert_eq!(labels, ["instance=\"replica-2\"", &version], "{build_info}");
        assert_eq!(value, "1", "{build_info}");
        if cfg!(target_os = "linux") {
            for name in [
                "process_cpu_seconds_total",
                "process_resident_memory_bytes",
                "process_open_fds",
                "process_max_fds",
            ] {
                let sample = format!("\n{name}{{instance=\"replica-2\"}} ");
                assert!(text.contains(&sample), "no {sample:?} in\n{text}");
            }
            let rss = sample_value(&text, "process_resident_memory_bytes");
            assert!(
                rss > 1_000_000.0,
                "a test binary's resident memory: {rss} bytes"
            );
            let fds = sample_value(&text, "process_open_fds");
            assert!(fds >= 3.0, "stdin, stdout and stderr at least: {fds}");
        }
    }

    /// The value of the one sample of `name` in a text exposition.
    fn sample_value(text: &str, name: &str) -> f64 {
        let line = text
            .lines()
            .find(|l| l.starts_with(name) && !l.starts_with('#'))
            .unwrap_or_else(|| panic!("no sample of {name}"));
        let value = line.rsplit(' ').next().unwrap();
        value.parse().unwrap_or_else(|_| panic!("{line}"))
    }

    /// The SLA manager's registry source finds labelled metrics by name.
    #[tokio::test]
    async fn slas_read_a_labelled_registry() {
        use crate::sla::{JobName, MetricName, MetricSource, Reading, RegistrySource};
        let m = Metrics::for_instance(Some("replica-2"));
        m.leader.set(1);
        m.messages_sent.inc_by(3);
        let job = JobName::parse("meteobot").unwrap();
        let src = RegistrySource::new(m.registry().clone(), job.clone());
        for (name, want) in [("leader", 1.0), ("messages_sent_total", 3.0)] {
            let metric = MetricName::parse_name(name).unwrap();
            let got = src.current(&metric, &job).await.unwrap();
            assert_eq!(got, Reading::Value(want), "{name}");
        }
    }
}
