//! `POST /sla_budget` (bare and under `/sla_manager`): an SLA's objective,
//! SLI, error budget left, burn rates and the burn-rate rules firing.

use axum::Json;
use axum::extract::State;
use chrono::Utc;
use serde_json::{Map, Value, json};

use super::AppState;
use super::error::ApiError;
use super::form::Fields;
use crate::sla::slo::{BURN_WINDOWS, Rule};
use crate::text::slo::window;

pub async fn budget(
    State(state): State<AppState>,
    fields: Fields,
) -> Result<Json<Value>, ApiError> {
    let key = super::sla::key(&state, &fields)?;
    let (sla, budget, firing) = state.sla.budget(&key, Utc::now()).await?;
    let burn: Map<String, Value> = BURN_WINDOWS
        .iter()
        .zip(budget.burn)
        .map(|(w, rate)| (w.name.to_owned(), json!(rate)))
        .collect();
    let firing: Vec<Value> = firing
        .iter()
        .map(|(name, since_ms)| {
            let rule = Rule::by_name(name);
            json!({
                "rule": name,
                "severity": rule.map(|r| r.severity.as_str()),
                "factor": rule.map(|r| r.factor),
                "long_window": rule.map(|r| r.long_window().name),
                "short_window": rule.map(|r| r.short_window().name),
                "since_ms": since_ms,
            })
        })
        .collect();
    Ok(Json(json!({
        "state": 0,
        "metric_name": sla.metric.as_str(),
        "job_name": sla.job.as_str(),
        "objective": budget.objective.percent(),
        "slo_window": window(budget.objective.window()),
        "slo_window_seconds": budget.objective.window().as_secs(),
        "evaluations": budget.counts.total,
        "bad_evaluations": budget.counts.bad,
        "sli": budget.sli_percent,
        "budget_remaining_percent": budget.remaining_percent,
        "burn_rates": burn,
        "firing": firing,
    })))
}
