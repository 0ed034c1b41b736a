//! The embedded source: the process's own Prometheus registry, read the way
//! Prometheus would see it after scraping us as job `METRICS_JOB`.
//!
//! Every in-process metric carries that one job. A counter or gauge reads as
//! the sum of its series (all label combinations); a histogram or summary is
//! reachable as `<name>_sum` and `<name>_count`, like in PromQL.

use async_trait::async_trait;
use prometheus::Registry;
use prometheus::proto::{Metric, MetricFamily, MetricType};

use super::source::{MetricSource, Reading, SourceError};
use super::{JobName, MetricName};

pub struct RegistrySource {
    registry: Registry,
    job: JobName,
}

impl RegistrySource {
    pub fn new(registry: Registry, job: JobName) -> Self {
        Self { registry, job }
    }
}

#[async_trait]
impl MetricSource for RegistrySource {
    fn name(&self) -> &'static str {
        "registry"
    }

    async fn current(&self, metric: &MetricName, job: &JobName) -> Result<Reading, SourceError> {
        if !metric.is_plain_name() {
            return Err(SourceError::BadQuery(
                "PromQL expressions need PROMETHEUS_URL; the in-process registry knows only names"
                    .into(),
            ));
        }
        if job != &self.job {
            return Ok(Reading::NoData);
        }
        Ok(read(&self.registry.gather(), metric.as_str()))
    }
}

/// The value of `name` among `families`, as PromQL `sum(name)` would give it.
fn read(families: &[MetricFamily], name: &str) -> Reading {
    if let Some(family) = families.iter().find(|f| f.name() == name)
        && let Some(value) = sum(family.get_metric(), plain_value(family.get_field_type()))
    {
        return Reading::Value(value);
    }
    for (suffix, pick) in [("_sum", Part::Sum), ("_count", Part::Count)] {
        let Some(base) = name.strip_suffix(suffix) else {
            continue;
        };
        let Some(family) = families.iter().find(|f| f.name() == base) else {
            continue;
        };
        if let Some(value) = sum(
            family.get_metric(),
            aggregate(family.get_field_type(), pick),
        ) {
            return Reading::Value(value);
        }
    }
    Reading::NoData
}

#[derive(Clone, Copy)]
enum Part {
    Sum,
    Count,
}

type Extract = fn(&Metric) -> f64;

/// Counters and gauges have a series under their own name. (The crate
/// cannot make untyped metrics without protobuf, so none are here.)
fn plain_value(kind: MetricType) -> Option<Extract> {
    match kind {
        MetricType::COUNTER => Some(|m| m.get_counter().get_value()),
        MetricType::GAUGE => Some(|m| m.get_gauge().get_value()),
        MetricType::UNTYPED | MetricType::HISTOGRAM | MetricType::SUMMARY => None,
    }
}

fn aggregate(kind: MetricType, part: Part) -> Option<Extract> {
    match (kind, part) {
        (MetricType::HISTOGRAM, Part::Sum) => Some(|m| m.get_histogram().get_sample_sum()),
        (MetricType::HISTOGRAM, Part::Count) => {
            Some(|m| m.get_histogram().get_sample_count() as f64)
        }
        (MetricType::SUMMARY, Part::Sum) => Some(|m| m.get_summary().sample_sum()),
        (MetricType::SUMMARY, Part::Count) => Some(|m| m.get_summary().sample_count() as f64),
        _ => None,
    }
}

/// The sum over a family's series; `None` without any series (a labelled
/// metric never touched yet: Prometheus would return nothing either).
fn sum(series: &[Metric], extract: Option<Extract>) -> Option<f64> {
    let extract = extract?;
    if series.is_empty() {
        return None;
    }
    let total: f64 = series.iter().map(extract).sum();
    total.is_finite().then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Metrics;

    fn source(metrics: &Metrics) -> RegistrySource {
        RegistrySource::new(
            metrics.registry().clone(),
            JobName::parse("meteobot").unwrap(),
        )
    }

    async fn value(src: &RegistrySource, name: &str, job: &str) -> Reading {
        src.current(
            &MetricName::parse_name(name).unwrap(),
            &JobName::parse(job).unwrap(),
        )
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn counters_gauges_and_histograms() {
        let m = Metrics::new();
        let src = source(&m);
        m.registered_users.inc_by(3);
        m.outbox_depth.set(7);
        m.weather_calls.with_label_values(&["a"]).inc_by(2);
        m.weather_calls.with_label_values(&["b"]).inc_by(5);
        m.poll_cycle_duration.observe(0.5);
        m.poll_cycle_duration.observe(1.5);
        assert_eq!(
            value(&src, "registered_users_total", "meteobot").await,
            Reading::Value(3.0)
        );
        assert_eq!(
            value(&src, "outbox_depth", "meteobot").await,
            Reading::Value(7.0)
        );
        assert_eq!(
            value(&src, "weather_api_calls_total", "meteobot").await,
            Reading::Value(7.0)
        );
        assert_eq!(
            value(&src, "poll_cycle_duration_seconds_sum", "meteobot").await,
            Reading::Value(2.0)
        );
        assert_eq!(
            value(&src, "poll_cycle_duration_seconds_count", "meteobot").await,
            Reading::Value(2.0)
        );
    }

    #[tokio::test]
    async fn no_data_cases() {
        let m = Metrics::new();
        let src = source(&m);
        m.registered_users.inc();
        // Another job, an unknown name, a histogram's bare name, an untouched vector.
        assert_eq!(
            value(&src, "registered_users_total", "node").await,
            Reading::NoData
        );
        assert_eq!(
            value(&src, "no_such_metric", "meteobot").await,
            Reading::NoData
        );
        assert_eq!(
            value(&src, "poll_cycle_duration_seconds", "meteobot").await,
            Reading::NoData
        );
        assert_eq!(
            value(&src, "weather_api_errors_total", "meteobot").await,
            Reading::NoData
        );
        assert_eq!(
            value(&src, "registered_users_total_count", "meteobot").await,
            Reading::NoData
        );
    }

    #[tokio::test]
    async fn expressions_are_refused() {
        let m = Metrics::new();
        let expr = MetricName::parse_expression("rate(x[5m])").unwrap();
        let err = source(&m)
            .current(&expr, &JobName::parse("meteobot").unwrap())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), "bad_query");
    }
}
