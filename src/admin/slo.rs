//! `POST /sla_budget` (bare and under `/sla_manager`): an SLA's objective,
//! SLI, error budget left, burn rates and the burn-rate rules firing.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use chrono::Utc;
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;
use super::error::ApiError;
use super::form::Fields;
use super::sla_bodies::SlaKeyForm;
use crate::sla::slo::{BURN_WINDOWS, Rule};
use crate::text::slo::window;

/// An SLA's error budget. Ratios are `null` where their window holds no
/// evaluation yet (nothing measured is not "all fine").
#[derive(Serialize, ToSchema)]
pub struct SlaBudget {
    /// 0: answered.
    state: u8,
    metric_name: String,
    job_name: String,
    /// Percent of evaluations that must be inside the range.
    objective: f64,
    /// The objective's window, e.g. "30d".
    slo_window: String,
    slo_window_seconds: u64,
    /// Evaluations (with a value) in the window.
    evaluations: u64,
    /// Of those, outside the range.
    bad_evaluations: u64,
    /// Good / total over the window, percent.
    sli: Option<f64>,
    /// 100 − the share of the budget spent; negative when overspent.
    budget_remaining_percent: Option<f64>,
    /// Burn rate per window ("5m", "30m", "1h", "2h", "6h", "1d", "3d").
    burn_rates: BTreeMap<String, Option<f64>>,
    /// The burn-rate rules firing now.
    firing: Vec<FiringRule>,
}

#[derive(Serialize, ToSchema)]
pub struct FiringRule {
    /// "page-1h", "page-6h", "ticket-1d" or "ticket-3d".
    rule: String,
    /// "page" or "ticket".
    severity: Option<&'static str>,
    factor: Option<f64>,
    long_window: Option<&'static str>,
    short_window: Option<&'static str>,
    /// When it started firing (unix ms).
    since_ms: i64,
}

/// An SLA's objective, error budget, burn rates and firing rules.
#[utoipa::path(
    post, path = "/sla_budget", tag = "sla",
    request_body = SlaKeyForm,
    security((), ("admin_token" = [])),
    responses(
        (status = 200, description = "The budget", body = SlaBudget),
        (status = 400, description = "A field is missing or invalid"),
        (status = 401, description = "ADMIN_TOKEN is set and the bearer is not it"),
        (status = 404, description = "No such SLA, or it has no objective"),
        (status = 413, description = "The body is over 64 KiB"),
        (status = 503, description = "The database is unavailable"),
    )
)]
pub async fn budget(
    State(state): State<AppState>,
    fields: Fields,
) -> Result<Json<SlaBudget>, ApiError> {
    let key = super::sla::key(&state, &fields)?;
    let (sla, budget, firing) = state.sla.budget(&key, Utc::now()).await?;
    let burn_rates = BURN_WINDOWS
        .iter()
        .zip(budget.burn)
        .map(|(w, rate)| (w.name.to_owned(), rate.filter(|r| r.is_finite())))
        .collect();
    let firing = firing
        .into_iter()
        .map(|(name, since_ms)| {
            let rule = Rule::by_name(&name);
            FiringRule {
                severity: rule.map(|r| r.severity.as_str()),
                factor: rule.map(|r| r.factor),
                long_window: rule.map(|r| r.long_window().name),
                short_window: rule.map(|r| r.short_window().name),
                rule: name,
                since_ms,
            }
        })
        .collect();
    let finite = |v: Option<f64>| v.filter(|v| v.is_finite());
    Ok(Json(SlaBudget {
        state: 0,
        metric_name: sla.metric.as_str().to_owned(),
        job_name: sla.job.as_str().to_owned(),
        objective: budget.objective.percent(),
        slo_window: window(budget.objective.window()),
        slo_window_seconds: budget.objective.window().as_secs(),
        evaluations: budget.counts.total,
        bad_evaluations: budget.counts.bad,
        sli: finite(budget.sli_percent),
        budget_remaining_percent: finite(budget.remaining_percent),
        burn_rates,
        firing,
    }))
}
