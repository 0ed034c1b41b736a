//! The Prometheus source: instant queries (`/api/v1/query`) for the current
//! value and range queries (`/api/v1/query_range`) for the forecast history.
//!
//! A plain metric name is queried as `name{job="…"}`; an expression is sent
//! as written. Of the answer, the series whose `job` label is the SLA's job
//! count (summed when several instances match). An expression that aggregates
//! the `job` label away selects its job itself: when no series carries a
//! `job` label at all, all of them count.

use std::collections::BTreeMap;
use std::error::Error as _;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::{Client, Url};
use serde::Deserialize;
use serde_json::Value;

use super::source::{History, MetricSource, Reading, SourceError, clip};
use super::{JobName, MetricName};

/// Past this a host is not coming; the rest of the budget is for slow queries.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

pub struct PrometheusSource {
    client: Client,
    base: Url,
}

impl PrometheusSource {
    /// `timeout` bounds each whole query, connecting included.
    pub fn new(base: Url, timeout: Duration) -> Self {
        let client = Client::builder()
            .connect_timeout(timeout.min(CONNECT_TIMEOUT))
            .timeout(timeout)
            .user_agent(concat!("meteobot/", env!("CARGO_PKG_VERSION")))
            .build()
            // Fails only when the TLS backend cannot start: a broken build.
            .expect("the HTTP client (rustls) could not be initialised");
        Self { client, base }
    }

    async fn get(&self, path: &str, params: &[(&str, String)]) -> Result<Data, SourceError> {
        let mut url = self.base.clone();
        let prefix = url.path().trim_end_matches('/').to_owned();
        url.set_path(&format!("{prefix}{path}"));
        let response = self
            .client
            .get(url)
            .query(params)
            .send()
            .await
            .map_err(transport)?;
        let status = response.status();
        let body = response.text().await.map_err(transport)?;
        let envelope: Option<Envelope> = serde_json::from_str(&body).ok();
        match envelope {
            Some(Envelope {
                status: s,
                data: Some(data),
                ..
            }) if status.is_success() && s == "success" => Ok(data),
            // 400 bad_data / 422 execution: the query is at fault, not the server.
            Some(e) if e.status == "error" && matches!(status.as_u16(), 400 | 422) => Err(
                SourceError::BadQuery(clip(e.error.as_deref().unwrap_or("no reason given"))),
            ),
            Some(e) if !status.is_success() => Err(SourceError::Status {
                status: status.as_u16(),
                message: clip(e.error.as_deref().unwrap_or("")),
            }),
            _ if !status.is_success() => Err(SourceError::Status {
                status: status.as_u16(),
                message: clip(&body),
            }),
            _ => Err(SourceError::Malformed(
                "not a Prometheus API answer with data".into(),
            )),
        }
    }
}

#[async_trait]
impl MetricSource for PrometheusSource {
    fn name(&self) -> &'static str {
        "prometheus"
    }

    async fn current(&self, metric: &MetricName, job: &JobName) -> Result<Reading, SourceError> {
        let data = self
            .get("/api/v1/query", &[("query", query(metric, job))])
            .await?;
        let values = match data.result_type.as_str() {
            "vector" => {
                let series: Vec<Instant> = parse(data.result)?;
                let labels: Vec<_> = series.iter().map(|s| &s.metric).collect();
                pick(&labels, job)
                    .into_iter()
                    .map(|i| sample_value(&series[i].value))
                    .collect::<Result<Vec<_>, _>>()?
            }
            "scalar" => vec![sample_value(&parse(data.result)?)?],
            other => {
                return Err(SourceError::Malformed(format!(
                    "expected a vector or scalar, got a {}",
                    clip(other)
                )));
            }
        };
        Ok(total(values.into_iter()))
    }

    async fn history(
        &self,
        metric: &MetricName,
        job: &JobName,
        start_ms: i64,
        end_ms: i64,
        step: Duration,
    ) -> Result<Option<History>, SourceError> {
        let secs = |ms: i64| format!("{:.3}", ms as f64 / 1000.0);
        let params = [
            ("query", query(metric, job)),
            ("start", secs(start_ms)),
            ("end", secs(end_ms)),
            ("step", format!("{:.3}", step.as_secs_f64().max(0.001))),
        ];
        let data = self.get("/api/v1/query_range", &params).await?;
        if data.result_type != "matrix" {
            return Err(SourceError::Malformed(format!(
                "expected a matrix, got a {}",
                clip(&data.result_type)
            )));
        }
        let series: Vec<Range> = parse(data.result)?;
        let labels: Vec<_> = series.iter().map(|s| &s.metric).collect();
        // Several matching series are summed per instant, like `current`.
        let mut points: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
        for i in pick(&labels, job) {
            for point in &series[i].values {
                let at_ms = (timestamp(point)? * 1000.0).round() as i64;
                points.entry(at_ms).or_default().push(sample_value(point)?);
            }
        }
        let history = points
            .into_iter()
            .filter_map(|(at, values)| match total(values.into_iter()) {
                Reading::Value(v) => Some((at, v)),
                Reading::NoData => None,
            })
            .collect();
        Ok(Some(history))
    }
}

#[derive(Deserialize)]
struct Envelope {
    status: String,
    data: Option<Data>,
    error: Option<String>,
}

#[derive(Deserialize)]
struct Data {
    #[serde(rename = "resultType")]
    result_type: String,
    result: Value,
}

#[derive(Deserialize)]
struct Instant {
    #[serde(default)]
    metric: BTreeMap<String, String>,
    value: Value,
}

#[derive(Deserialize)]
struct Range {
    #[serde(default)]
    metric: BTreeMap<String, String>,
    values: Vec<Value>,
}

/// The PromQL sent for `metric`: a plain name gets the job matcher, so
/// Prometheus filters instead of shipping every job's series.
fn query(metric: &MetricName, job: &JobName) -> String {
    if metric.is_plain_name() {
        let escaped = job.as_str().replace('\\', "\\\\").replace('"', "\\\"");
        format!("{}{{job=\"{escaped}\"}}", metric.as_str())
    } else {
        metric.as_str().to_owned()
    }
}

/// Indices of the series that count for `job` (see the module comment).
fn pick(labels: &[&BTreeMap<String, String>], job: &JobName) -> Vec<usize> {
    let matching: Vec<usize> = (0..labels.len())
        .filter(|&i| labels[i].get("job").map(String::as_str) == Some(job.as_str()))
        .collect();
    if matching.is_empty() && labels.iter().all(|l| !l.contains_key("job")) {
        return (0..labels.len()).collect();
    }
    matching
}

fn parse<T: serde::de::DeserializeOwned>(value: Value) -> Result<T, SourceError> {
    serde_json::from_value(value).map_err(|e| SourceError::Malformed(clip(&e.to_string())))
}

/// A `[timestamp, "value"]` pair's value. `NaN` and infinities are kept here
/// and dropped by [`total`].
fn sample_value(pair: &Value) -> Result<f64, SourceError> {
    pair.get(1)
        .and_then(Value::as_str)
        .and_then(|s| s.parse::<f64>().ok())
        .ok_or_else(|| SourceError::Malformed("a sample is not [time, \"number\"]".into()))
}

fn timestamp(pair: &Value) -> Result<f64, SourceError> {
    pair.get(0)
        .and_then(Value::as_f64)
        .filter(|t| t.is_finite())
        .ok_or_else(|| SourceError::Malformed("a sample has no timestamp".into()))
}

/// The sum of the finite values; nothing finite is "no data" (a `0/0` rate
/// has no value to judge).
fn total(values: impl Iterator<Item = f64>) -> Reading {
    let finite: Vec<f64> = values.filter(|v| v.is_finite()).collect();
    if finite.is_empty() {
        Reading::NoData
    } else {
        Reading::Value(finite.iter().sum())
    }
}

/// A failure to talk HTTP at all. The URL is stripped: it may hold basic-auth
/// credentials.
fn transport(err: reqwest::Error) -> SourceError {
    if err.is_timeout() {
        return SourceError::Timeout;
    }
    let err = err.without_url();
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    SourceError::Unreachable(clip(&text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn plain_names_get_a_job_matcher() {
        let job = JobName::parse("we\"ird").unwrap();
        let name = MetricName::parse_name("up").unwrap();
        assert_eq!(query(&name, &job), r#"up{job="we\"ird"}"#);
        let expr = MetricName::parse_expression("sum(rate(x[5m]))").unwrap();
        assert_eq!(query(&expr, &job), "sum(rate(x[5m]))");
    }

    #[test]
    fn series_are_picked_by_job() {
        let job = JobName::parse("meteobot").unwrap();
        let a = labels(&[("job", "meteobot"), ("instance", "a")]);
        let b = labels(&[("job", "node")]);
        let c = labels(&[("job", "meteobot"), ("instance", "c")]);
        assert_eq!(pick(&[&a, &b, &c], &job), vec![0, 2]);
        assert!(pick(&[&b], &job).is_empty());
        let aggregated = labels(&[("instance", "x")]);
        assert_eq!(pick(&[&aggregated], &job), vec![0]);
        assert!(pick(&[], &job).is_empty());
    }

    #[test]
    fn values_and_totals() {
        let pair: Value = serde_json::json!([1.5, "2.25"]);
        assert_eq!(sample_value(&pair).unwrap(), 2.25);
        assert_eq!(timestamp(&pair).unwrap(), 1.5);
        assert!(sample_value(&serde_json::json!([1, 2])).is_err());
        assert_eq!(total([1.0, f64::NAN, 2.0].into_iter()), Reading::Value(3.0));
        assert_eq!(total([f64::NAN].into_iter()), Reading::NoData);
        assert_eq!(total(std::iter::empty()), Reading::NoData);
    }
}
