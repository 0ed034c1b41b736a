//! The SLA routes' bodies: the fields they read (documentation of the
//! request) and the JSON they answer, as types the handlers build.

use serde::Serialize;
use utoipa::ToSchema;

use crate::sla::{SlaOverview, SlaState};

/// The two fields naming one SLA.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct SlaKeyForm {
    /// A metric name (or, with PROMETHEUS_URL, a PromQL expression).
    #[schema(example = "cpu_usage_percent", min_length = 1, pattern = r"\S")]
    metric_name: String,
    #[schema(example = "meteobot", min_length = 1, pattern = r"\S")]
    job_name: String,
}

/// The fields `/add_metric` reads.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct AddMetricForm {
    #[schema(example = "cpu_usage_percent", min_length = 1, pattern = r"\S")]
    metric_name: String,
    #[schema(example = "meteobot", min_length = 1, pattern = r"\S")]
    job_name: String,
    /// The highest value within the SLA.
    #[schema(example = 80.0)]
    desired_value: f64,
    /// The lowest value within the SLA, if any.
    #[schema(nullable = false)]
    min_value: Option<f64>,
    /// The percentage of evaluations that must be inside the range over
    /// `slo_window` (an objective; without it an existing one is dropped).
    #[schema(
        nullable = false,
        exclusive_minimum = 0.0,
        exclusive_maximum = 100.0,
        example = 99.5
    )]
    objective: Option<f64>,
    /// The objective's rolling window, 1h to 90d (only with `objective`).
    #[schema(nullable = false, default = "30d", example = "30d")]
    slo_window: Option<String>,
}

/// The fields `/sla_probability_violations` reads.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct ProbabilityForm {
    #[schema(example = "cpu_usage_percent", min_length = 1, pattern = r"\S")]
    metric_name: String,
    #[schema(example = "meteobot", min_length = 1, pattern = r"\S")]
    job_name: String,
    /// How far ahead to look.
    #[schema(minimum = 1, maximum = 1440, example = 60)]
    minutes: u32,
    /// Another maximum to ask about than the SLA's own.
    #[schema(nullable = false)]
    desired_value: Option<f64>,
}

/// `/add_metric` and `/remove_metric`: the reference's `message` code.
#[derive(Serialize, ToSchema)]
pub struct MetricChanged {
    /// 0: added, updated or removed; 1: already identical, or not found.
    pub message: u8,
    /// `added`, `updated`, `removed`, or why nothing changed.
    pub result: String,
}

/// The live state of an SLA's metric.
#[derive(Serialize, ToSchema)]
pub struct SlaReading {
    /// 0: read; 2: the metric has no value for this job now; 3: the metrics
    /// source failed (`/sla` only).
    pub state: u8,
    /// The current value (`state` 0); `null` when it is not a number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_value: Option<Option<f64>>,
    /// Whether the value is outside the range (`state` 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub violation: Option<bool>,
    /// `max` or `min` when violated, `null` when not (`state` 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub violated_bound: Option<Option<&'static str>>,
    /// Why there is no value (`state` 2 and 3).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl From<&SlaState> for SlaReading {
    fn from(state: &SlaState) -> Self {
        match state {
            SlaState::Value { value, violation } => Self {
                state: 0,
                // serde_json writes a NaN as null; say so in the type.
                current_value: Some(value.is_finite().then_some(*value)),
                violation: Some(violation.is_some()),
                violated_bound: Some(violation.map(|b| b.as_str())),
                message: None,
            },
            SlaState::NoData => Self {
                state: 2,
                current_value: None,
                violation: None,
                violated_bound: None,
                message: Some("no data: the metric has no value for this job right now".into()),
            },
        }
    }
}

/// `/sla_current_state`.
#[derive(Serialize, ToSchema)]
pub struct CurrentState {
    #[serde(flatten)]
    pub reading: SlaReading,
    pub desired_value: f64,
    pub min_value: Option<f64>,
}

/// `/sla_past_violations`.
#[derive(Serialize, ToSchema)]
pub struct PastViolations {
    /// Always 0.
    pub state: u8,
    pub desired_value: f64,
    pub min_value: Option<f64>,
    pub violations_count_last_hour: u64,
    pub violations_count_last_3_hours: u64,
    pub violations_count_last_6_hours: u64,
}

/// `/sla_probability_violations`.
#[derive(Serialize, ToSchema)]
pub struct Probability {
    /// Always 0.
    pub state: u8,
    /// P(the value leaves the range within `minutes`), in [0, 1].
    #[schema(minimum = 0.0, maximum = 1.0)]
    pub prevision: f64,
    /// Samples the forecast was fitted on.
    pub samples: usize,
    pub minutes: u32,
    pub desired_value: f64,
    pub min_value: Option<f64>,
    /// The model chosen, e.g. `ETS(A,Ad,N)`, or `constant`.
    pub model: String,
    pub step_seconds: f64,
}

/// One SLA in `GET /sla`.
#[derive(Serialize, ToSchema)]
pub struct SlaItem {
    pub metric_name: String,
    pub job_name: String,
    pub desired_value: f64,
    pub min_value: Option<f64>,
    /// The objective in percent, if the SLA has one.
    pub objective: Option<f64>,
    /// The objective's window ("30d"), if the SLA has one.
    pub slo_window: Option<String>,
    #[serde(flatten)]
    pub reading: SlaReading,
}

impl From<&SlaOverview> for SlaItem {
    fn from(o: &SlaOverview) -> Self {
        let reading = match &o.state {
            Ok(s) => SlaReading::from(s),
            Err(e) => SlaReading {
                state: 3,
                current_value: None,
                violation: None,
                violated_bound: None,
                message: Some(e.to_string()),
            },
        };
        Self {
            metric_name: o.sla.metric.as_str().to_owned(),
            job_name: o.sla.job.as_str().to_owned(),
            desired_value: o.sla.range.max(),
            min_value: o.sla.range.min(),
            objective: o.sla.objective.map(|o| o.percent()),
            slo_window: o
                .sla
                .objective
                .map(|o| crate::text::slo::window(o.window())),
            reading,
        }
    }
}

/// `GET /sla`.
#[derive(Serialize, ToSchema)]
pub struct SlaList {
    /// Always 0.
    pub state: u8,
    pub slas: Vec<SlaItem>,
}
