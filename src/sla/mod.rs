//! The SLA manager: SLAs on metrics (`names`, `range`), the sources their
//! values come from, the evaluator that samples them and records violations,
//! the violation forecast, and [`SlaService`], the one API that REST and the
//! bot call.

mod burn;
pub mod chart;
mod chart_data;
mod evaluator;
pub mod forecast;
mod horizon;
mod names;
mod passage;
mod prometheus;
mod range;
mod registry;
pub mod rules;
mod service;
pub mod slo;
mod source;

/// What `SlaService::add` did.
pub use crate::store::SlaUpsert;
pub use chart_data::{CHART_HORIZON, ChartData, ChartHours};
pub use evaluator::{EvaluationReport, Evaluator};
pub use forecast::{BandPoint, ForecastBand, ForecastError, MIN_SAMPLES, Prevision};
pub use horizon::Horizon;
pub use names::{JobName, MetricName, MetricSyntax};
pub use prometheus::PrometheusSource;
pub use range::{Bound, MetricRange, parse_number};
pub use registry::RegistrySource;
pub use service::{SlaError, SlaKey, SlaOverview, SlaService, SlaState, ViolationCounts};
pub use slo::{Budget, Objective};
pub use source::{History, MetricSource, Reading, SourceError};

use crate::store::SlaRow;

/// A stored SLA, its fields parsed again.
#[derive(Debug, Clone, PartialEq)]
pub struct Sla {
    pub id: i64,
    pub metric: MetricName,
    pub job: JobName,
    pub range: MetricRange,
    /// The share of evaluations promised inside the range, if any.
    pub objective: Option<Objective>,
}

impl Sla {
    /// Stored names are taken as expressions: an SLA written while
    /// `PROMETHEUS_URL` was set stays readable after it is unset (its source
    /// then answers "bad query", which is the truth).
    pub fn from_row(row: SlaRow) -> anyhow::Result<Self> {
        let broken =
            |e: crate::domain::ParseError| anyhow::anyhow!("stored SLA {} is invalid: {e}", row.id);
        Ok(Self {
            id: row.id,
            metric: MetricName::parse_expression(&row.metric_name).map_err(broken)?,
            job: JobName::parse(&row.job_name).map_err(broken)?,
            range: MetricRange::new(row.max_value, row.min_value).map_err(broken)?,
            objective: match (row.objective, row.slo_window_ms) {
                (Some(percent), Some(window_ms)) => {
                    let window =
                        std::time::Duration::from_millis(u64::try_from(window_ms).unwrap_or(0));
                    Some(Objective::new(percent, window).map_err(broken)?)
                }
                _ => None,
            },
        })
    }
}
