//! SLA test helpers: a wiremock Prometheus with the HTTP API's answer shapes,
//! and a bare store + evaluator + service without the whole app.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use meteobot::metrics::Metrics;
use meteobot::sla::{
    Bound, Evaluator, MetricSource, MetricSyntax, PrometheusSource, RegistrySource, SlaService,
};
use meteobot::store::{SlaSample, Store};
use serde_json::{Value, json};
use tempfile::TempDir;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub const RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);
pub const EVAL_INTERVAL: Duration = Duration::from_secs(60);

/// An instant-query `vector` result: `(labels, value)` per series.
pub fn vector(series: &[(&[(&str, &str)], &str)]) -> Value {
    let result: Vec<Value> = series
        .iter()
        .map(|(labels, value)| {
            let metric: serde_json::Map<String, Value> = labels
                .iter()
                .map(|(k, v)| (k.to_string(), json!(v)))
                .collect();
            json!({ "metric": metric, "value": [1_700_000_000.123, value] })
        })
        .collect();
    json!({ "status": "success", "data": { "resultType": "vector", "result": result } })
}

/// Answers every instant query for `query` with `body` (status 200).
pub async fn answer_query(prometheus: &MockServer, query: &str, body: Value) {
    Mock::given(method("GET"))
        .and(path("/api/v1/query"))
        .and(query_param("query", query))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(prometheus)
        .await;
}

/// Answers every instant query with `status` and a raw `body`.
pub async fn answer_any_query(prometheus: &MockServer, status: u16, body: &str) {
    Mock::given(method("GET"))
        .and(path("/api/v1/query"))
        .respond_with(ResponseTemplate::new(status).set_body_string(body.to_owned()))
        .mount(prometheus)
        .await;
}

/// A migrated store on a temp file, with metrics and the pieces the SLA
/// manager is made of, over either source.
pub struct SlaRig {
    pub store: Store,
    pub metrics: Metrics,
    pub evaluator: Evaluator,
    pub service: SlaService,
    _dir: TempDir,
}

impl SlaRig {
    /// Values from a Prometheus at `url` (PromQL allowed).
    pub async fn prometheus(url: &str) -> Self {
        let source = PrometheusSource::new(url.parse().unwrap(), Duration::from_secs(2));
        Self::build(Arc::new(source), MetricSyntax::PromQl, None).await
    }

    /// Values from the rig's own registry, as job `meteobot`.
    pub async fn registry() -> Self {
        let metrics = Metrics::new();
        let source = RegistrySource::new(
            metrics.registry().clone(),
            meteobot::sla::JobName::parse("meteobot").unwrap(),
        );
        Self::build(Arc::new(source), MetricSyntax::Name, Some(metrics)).await
    }

    async fn build(
        source: Arc<dyn MetricSource>,
        syntax: MetricSyntax,
        metrics: Option<Metrics>,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = meteobot::store::scratch::database_url(dir.path(), "sla").await;
        let store = Store::connect(&url).await.unwrap();
        let metrics = metrics.unwrap_or_default();
        let service = SlaService::new(store.clone(), source, syntax, EVAL_INTERVAL);
        let evaluator = service.evaluator(metrics.clone(), RETENTION);
        Self {
            store,
            metrics,
            evaluator,
            service,
            _dir: dir,
        }
    }

    /// Adds an SLA; returns its id.
    pub async fn add(&self, metric: &str, job: &str, max: f64, min: Option<f64>) -> i64 {
        add_sla(&self.store, metric, job, max, min).await
    }

    pub async fn samples(&self, id: i64) -> Vec<(i64, f64)> {
        self.store.sla_samples_since(id, 0, 10_000).await.unwrap()
    }
}

pub async fn add_sla(store: &Store, metric: &str, job: &str, max: f64, min: Option<f64>) -> i64 {
    store
        .upsert_sla(metric, job, max, min, Utc::now().timestamp_millis())
        .await
        .unwrap();
    store.sla(metric, job).await.unwrap().unwrap().id
}

/// Stores `(at, value)` samples of SLA `id`, a violation of `max` when above it.
pub async fn store_samples(store: &Store, id: i64, max: f64, points: &[(DateTime<Utc>, f64)]) {
    let samples: Vec<SlaSample> = points
        .iter()
        .map(|(at, value)| SlaSample {
            sla_id: id,
            at_ms: at.timestamp_millis(),
            value: *value,
            violation: (*value > max).then_some((Bound::Max, max)),
        })
        .collect();
    store.record_sla_samples(&samples, 0).await.unwrap();
}

/// The value of a sample line (`name value`) in Prometheus text.
pub fn metric_value(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}
