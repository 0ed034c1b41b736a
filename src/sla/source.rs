//! Where SLA values come from: one trait, two implementations — a Prometheus
//! server (`PROMETHEUS_URL`) or the process's own registry.

use std::time::Duration;

use async_trait::async_trait;

use super::{JobName, MetricName};

/// A metric's value now, or the fact that it has none.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Reading {
    Value(f64),
    /// No series carries the job (or the value is NaN): nothing to judge.
    NoData,
}

/// Why a source could not answer. Messages never quote the source's URL (it
/// may carry credentials) and are clipped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    #[error("the metrics source did not answer in time")]
    Timeout,
    #[error("could not reach the metrics source: {0}")]
    Unreachable(String),
    #[error("the metrics source answered HTTP {status}: {message}")]
    Status { status: u16, message: String },
    #[error("the metrics source answered something unreadable: {0}")]
    Malformed(String),
    /// The query itself is wrong (bad PromQL, or an expression without Prometheus).
    #[error("the metric query was refused: {0}")]
    BadQuery(String),
}

impl SourceError {
    /// A short label for the errors metric and logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Timeout => "timeout",
            Self::Unreachable(_) => "unreachable",
            Self::Status { .. } => "status",
            Self::Malformed(_) => "malformed",
            Self::BadQuery(_) => "bad_query",
        }
    }

    /// The source is down or overloaded: asking later may work.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Timeout | Self::Unreachable(_))
            || matches!(self, Self::Status { status, .. } if *status >= 500)
    }
}

/// `(unix ms, value)` points of one metric, oldest first.
pub type History = Vec<(i64, f64)>;

#[async_trait]
pub trait MetricSource: Send + Sync {
    /// For logs: `prometheus` or `registry`.
    fn name(&self) -> &'static str;

    /// The value of `metric` for `job` now.
    async fn current(&self, metric: &MetricName, job: &JobName) -> Result<Reading, SourceError>;

    /// Points in `[start_ms, end_ms]` every `step`, when the source keeps a
    /// history of its own; `None` means "use the stored samples".
    async fn history(
        &self,
        _metric: &MetricName,
        _job: &JobName,
        _start_ms: i64,
        _end_ms: i64,
        _step: Duration,
    ) -> Result<Option<History>, SourceError> {
        Ok(None)
    }
}

/// Upstream texts in errors are clipped: enough to diagnose, never a body dump.
pub(crate) fn clip(text: &str) -> String {
    const MAX: usize = 200;
    let text = text.trim();
    if text.chars().count() <= MAX {
        text.to_owned()
    } else {
        format!("{}…", text.chars().take(MAX).collect::<String>())
    }
}
