//! The reference SLA_Manager routes (`/add_metric`, `/remove_metric`,
//! `/sla_current_state`, `/sla_past_violations`, `/sla_probability_violations`)
//! plus `GET /sla`. With `ADMIN_TOKEN` set they need `Authorization: Bearer`.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use super::form::Fields;
use crate::domain::ParseError;
use crate::sla::{
    Horizon, MetricRange, Objective, SlaError, SlaKey, SlaOverview, SlaState, SourceError,
    parse_number,
};
use crate::store::SlaUpsert;

pub fn router(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/add_metric", post(add_metric))
        .route("/remove_metric", post(remove_metric))
        .route("/sla_current_state", post(current_state))
        .route("/sla_past_violations", post(past_violations))
        .route("/sla_probability_violations", post(probability))
        .route("/sla", get(list))
        .route("/sla_budget", post(super::slo::budget))
        .route("/sla/chart.png", get(super::sla_chart::chart_png))
        .route_layer(middleware::from_fn_with_state(state, require_admin))
}

/// Lets a request through when no `ADMIN_TOKEN` is configured, or when it
/// carries that token as a bearer.
async fn require_admin(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if let Some(expected) = &state.admin_token {
        let given = super::bearer(req.headers());
        if !given.is_some_and(|t| constant_time_eq(t.as_bytes(), expected.expose().as_bytes())) {
            return ApiError::unauthorized(
                "the SLA routes need Authorization: Bearer <ADMIN_TOKEN>",
            )
            .into_response();
        }
    }
    next.run(req).await
}

/// Compares without an early exit, so timing does not reveal how much of a
/// guess was right (the length is not secret).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

pub(super) fn key(state: &AppState, fields: &Fields) -> Result<SlaKey, ApiError> {
    let metric = fields.required("metric_name")?;
    let job = fields.required("job_name")?;
    Ok(state.sla.parse_key(metric, job)?)
}

async fn add_metric(
    State(state): State<AppState>,
    fields: Fields,
) -> Result<Json<Value>, ApiError> {
    let key = key(&state, &fields)?;
    let range = MetricRange::parse(
        fields.required("desired_value")?,
        fields.first_of(&["min_value"]),
    )
    .map_err(|e| ApiError::invalid(e.0))?;
    // Optional; a window without an objective is a mistake worth saying.
    let objective = match (fields.get("objective"), fields.get("slo_window")) {
        (Some(objective), window) => Some(Objective::parse(objective, window)),
        (None, Some(_)) => Some(Err(ParseError::new(
            "slo_window needs an objective (e.g. objective=99.5)",
        ))),
        (None, None) => None,
    }
    .transpose()
    .map_err(|e| ApiError::invalid(e.0))?;
    let outcome = state.sla.define(&key, range, objective).await?;
    let (message, result) = match outcome {
        SlaUpsert::Added => (0, "added"),
        SlaUpsert::Updated => (0, "updated"),
        SlaUpsert::Unchanged => (1, "identical SLA already present"),
    };
    Ok(Json(json!({ "message": message, "result": result })))
}

async fn remove_metric(
    State(state): State<AppState>,
    fields: Fields,
) -> Result<Response, ApiError> {
    let key = key(&state, &fields)?;
    if state.sla.remove(&key).await? {
        return Ok(Json(json!({ "message": 0, "result": "removed" })).into_response());
    }
    let body = json!({
        "message": 1,
        "result": format!("no SLA for metric '{}' and job '{}'", key.metric, key.job),
    });
    Ok((StatusCode::NOT_FOUND, Json(body)).into_response())
}

async fn current_state(
    State(state): State<AppState>,
    fields: Fields,
) -> Result<Json<Value>, ApiError> {
    let key = key(&state, &fields)?;
    let (sla, sla_state) = state.sla.current_state(&key).await?;
    let mut body = state_json(&sla_state);
    body["desired_value"] = json!(sla.range.max());
    body["min_value"] = json!(sla.range.min());
    Ok(Json(body))
}

async fn past_violations(
    State(state): State<AppState>,
    fields: Fields,
) -> Result<Json<Value>, ApiError> {
    let key = key(&state, &fields)?;
    let (sla, counts) = state.sla.past_violations(&key, Utc::now()).await?;
    Ok(Json(json!({
        "state": 0,
        "desired_value": sla.range.max(),
        "min_value": sla.range.min(),
        "violations_count_last_hour": counts.last_hour,
        "violations_count_last_3_hours": counts.last_3_hours,
        "violations_count_last_6_hours": counts.last_6_hours,
    })))
}

async fn probability(
    State(state): State<AppState>,
    fields: Fields,
) -> Result<Json<Value>, ApiError> {
    let key = key(&state, &fields)?;
    let horizon =
        Horizon::parse(fields.required("minutes")?).map_err(|e| ApiError::invalid(e.0))?;
    let desired = fields
        .first_of(&["desired_value"])
        .map(|v| parse_number("desired value", v))
        .transpose()
        .map_err(|e| ApiError::invalid(e.0))?;
    let (_, range, prevision) = state
        .sla
        .forecast(&key, horizon, desired, Utc::now())
        .await?;
    Ok(Json(json!({
        "state": 0,
        "prevision": prevision.probability,
        "samples": prevision.samples,
        "minutes": horizon.minutes(),
        "desired_value": range.max(),
        "min_value": range.min(),
        "model": prevision.model,
        "step_seconds": prevision.step.as_secs_f64(),
    })))
}

async fn list(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let slas: Vec<Value> = state.sla.list().await?.iter().map(overview_json).collect();
    Ok(Json(json!({ "state": 0, "slas": slas })))
}

fn overview_json(o: &SlaOverview) -> Value {
    let mut body = match &o.state {
        Ok(s) => state_json(s),
        Err(e) => json!({ "state": 3, "message": e.to_string() }),
    };
    body["metric_name"] = json!(o.sla.metric.as_str());
    body["job_name"] = json!(o.sla.job.as_str());
    body["desired_value"] = json!(o.sla.range.max());
    body["min_value"] = json!(o.sla.range.min());
    body["objective"] = json!(o.sla.objective.map(|o| o.percent()));
    body["slo_window"] = json!(
        o.sla
            .objective
            .map(|o| crate::text::slo::window(o.window()))
    );
    body
}

/// `{state:0, current_value, violation}` or `{state:2}` for no data.
fn state_json(state: &SlaState) -> Value {
    match state {
        SlaState::Value { value, violation } => json!({
            "state": 0,
            "current_value": value,
            "violation": violation.is_some(),
            "violated_bound": violation.map(|b| b.as_str()),
        }),
        SlaState::NoData => json!({
            "state": 2,
            "message": "no data: the metric has no value for this job right now",
        }),
    }
}

impl From<SlaError> for ApiError {
    fn from(err: SlaError) -> Self {
        match err {
            SlaError::Invalid(e) => Self::invalid(e.0),
            e @ (SlaError::Unknown { .. } | SlaError::NoObjective { .. }) => {
                Self::not_found(e.to_string())
            }
            e @ SlaError::TooMany(_) => Self::new(StatusCode::CONFLICT, 1, e.to_string()),
            SlaError::Forecast(e) => Self::new(StatusCode::UNPROCESSABLE_ENTITY, 2, e.to_string()),
            SlaError::Source(e) => source_failed(e),
            SlaError::Internal(e) => Self::internal(e),
        }
    }
}

/// 503 when the metrics source may come back, 502 when it answered wrongly,
/// 422 when the SLA's own query is at fault.
fn source_failed(err: SourceError) -> ApiError {
    tracing::warn!(kind = err.kind(), error = %err, "metrics source failed during a request");
    let status = match &err {
        SourceError::BadQuery(_) => StatusCode::UNPROCESSABLE_ENTITY,
        e if e.is_unavailable() => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_GATEWAY,
    };
    ApiError::new(status, 3, err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_eq_is_eq() {
        assert!(constant_time_eq(b"token", b"token"));
        assert!(!constant_time_eq(b"token", b"tokem"));
        assert!(!constant_time_eq(b"token", b"token2"));
        assert!(constant_time_eq(b"", b""));
    }
}
