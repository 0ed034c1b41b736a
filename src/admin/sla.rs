//! The reference SLA_Manager routes (`/add_metric`, `/remove_metric`,
//! `/sla_current_state`, `/sla_past_violations`, `/sla_probability_violations`)
//! plus `GET /sla`. With `ADMIN_TOKEN` set they need `Authorization: Bearer`.

use axum::Json;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::error::ApiError;
use super::form::Fields;
use super::sla_bodies::{
    AddMetricForm, CurrentState, MetricChanged, PastViolations, Probability, ProbabilityForm,
    SlaItem, SlaKeyForm, SlaList, SlaReading,
};
use super::sla_chart::{__path_chart_png, chart_png};
use super::slo::{__path_budget, budget};
use crate::domain::ParseError;
use crate::sla::{Horizon, MetricRange, Objective, SlaError, SlaKey, SourceError, parse_number};
use crate::store::SlaUpsert;

/// A new route: its handler with a `#[utoipa::path]`, and one `routes!`
/// line here (the document and both spellings follow).
pub fn router(state: AppState) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(add_metric))
        .routes(routes!(remove_metric))
        .routes(routes!(current_state))
        .routes(routes!(past_violations))
        .routes(routes!(probability))
        .routes(routes!(list))
        .routes(routes!(budget))
        .routes(routes!(chart_png))
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

/// Adds an SLA, or updates the range of an existing one.
#[utoipa::path(
    post, path = "/add_metric", tag = "sla",
    request_body = AddMetricForm,
    security((), ("admin_token" = [])),
    responses(
        (status = 200, description = "Added or updated (`message` 0), or already identical (1)", body = MetricChanged),
        (status = 400, description = "A field is missing or invalid"),
        (status = 401, description = "ADMIN_TOKEN is set and the bearer is not it"),
        (status = 409, description = "There are already 200 SLAs (the most kept): remove one first"),
        (status = 413, description = "The body is over 64 KiB"),
        (status = 503, description = "The database is unavailable"),
    )
)]
async fn add_metric(
    State(state): State<AppState>,
    fields: Fields,
) -> Result<Json<MetricChanged>, ApiError> {
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
    Ok(Json(MetricChanged {
        message,
        result: result.to_owned(),
    }))
}

/// Removes an SLA with its history.
#[utoipa::path(
    post, path = "/remove_metric", tag = "sla",
    request_body = SlaKeyForm,
    security((), ("admin_token" = [])),
    responses(
        (status = 200, description = "Removed (`message` 0)", body = MetricChanged),
        (status = 400, description = "A field is missing or invalid"),
        (status = 401, description = "ADMIN_TOKEN is set and the bearer is not it"),
        (status = 404, description = "No such SLA (`message` 1)", body = MetricChanged),
        (status = 413, description = "The body is over 64 KiB"),
        (status = 503, description = "The database is unavailable"),
    )
)]
async fn remove_metric(
    State(state): State<AppState>,
    fields: Fields,
) -> Result<Response, ApiError> {
    let key = key(&state, &fields)?;
    if state.sla.remove(&key).await? {
        let body = MetricChanged {
            message: 0,
            result: "removed".to_owned(),
        };
        return Ok(Json(body).into_response());
    }
    let body = MetricChanged {
        message: 1,
        result: format!("no SLA for metric '{}' and job '{}'", key.metric, key.job),
    };
    Ok((StatusCode::NOT_FOUND, Json(body)).into_response())
}

/// The metric's current value against the SLA's range.
#[utoipa::path(
    post, path = "/sla_current_state", tag = "sla",
    request_body = SlaKeyForm,
    security((), ("admin_token" = [])),
    responses(
        (status = 200, description = "The value (`state` 0), or no data now (`state` 2)", body = CurrentState),
        (status = 400, description = "A field is missing or invalid"),
        (status = 401, description = "ADMIN_TOKEN is set and the bearer is not it"),
        (status = 404, description = "No such SLA"),
        (status = 413, description = "The body is over 64 KiB"),
        (status = 422, description = "The SLA's query is not valid for the metrics source"),
        (status = 502, description = "The metrics source answered wrongly (state 3)"),
        (status = 503, description = "The metrics source or the database is unavailable"),
    )
)]
async fn current_state(
    State(state): State<AppState>,
    fields: Fields,
) -> Result<Json<CurrentState>, ApiError> {
    let key = key(&state, &fields)?;
    let (sla, sla_state) = state.sla.current_state(&key).await?;
    Ok(Json(CurrentState {
        reading: SlaReading::from(&sla_state),
        desired_value: sla.range.max(),
        min_value: sla.range.min(),
    }))
}

/// Violations recorded over the last 1, 3 and 6 hours.
#[utoipa::path(
    post, path = "/sla_past_violations", tag = "sla",
    request_body = SlaKeyForm,
    security((), ("admin_token" = [])),
    responses(
        (status = 200, description = "The counts", body = PastViolations),
        (status = 400, description = "A field is missing or invalid"),
        (status = 401, description = "ADMIN_TOKEN is set and the bearer is not it"),
        (status = 404, description = "No such SLA"),
        (status = 413, description = "The body is over 64 KiB"),
        (status = 503, description = "The database is unavailable"),
    )
)]
async fn past_violations(
    State(state): State<AppState>,
    fields: Fields,
) -> Result<Json<PastViolations>, ApiError> {
    let key = key(&state, &fields)?;
    let (sla, counts) = state.sla.past_violations(&key, Utc::now()).await?;
    Ok(Json(PastViolations {
        state: 0,
        desired_value: sla.range.max(),
        min_value: sla.range.min(),
        violations_count_last_hour: counts.last_hour,
        violations_count_last_3_hours: counts.last_3_hours,
        violations_count_last_6_hours: counts.last_6_hours,
    }))
}

/// The probability that the metric leaves the range within `minutes`.
#[utoipa::path(
    post, path = "/sla_probability_violations", tag = "sla",
    request_body = ProbabilityForm,
    security((), ("admin_token" = [])),
    responses(
        (status = 200, description = "The forecast probability", body = Probability),
        (status = 400, description = "A field is missing or invalid"),
        (status = 401, description = "ADMIN_TOKEN is set and the bearer is not it"),
        (status = 404, description = "No such SLA"),
        (status = 413, description = "The body is over 64 KiB"),
        (status = 422, description = "Not enough data to forecast, or no model fits (state 2)"),
        (status = 502, description = "The metrics source answered wrongly (state 3)"),
        (status = 503, description = "The metrics source or the database is unavailable"),
    )
)]
async fn probability(
    State(state): State<AppState>,
    fields: Fields,
) -> Result<Json<Probability>, ApiError> {
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
    Ok(Json(Probability {
        state: 0,
        prevision: prevision.probability,
        samples: prevision.samples,
        minutes: horizon.minutes(),
        desired_value: range.max(),
        min_value: range.min(),
        model: prevision.model,
        step_seconds: prevision.step.as_secs_f64(),
    }))
}

/// Every SLA with its live state.
#[utoipa::path(
    get, path = "/sla", tag = "sla", operation_id = "list_slas",
    security((), ("admin_token" = [])),
    responses(
        (status = 200, description = "The SLAs", body = SlaList),
        (status = 401, description = "ADMIN_TOKEN is set and the bearer is not it"),
        (status = 503, description = "The database is unavailable"),
    )
)]
async fn list(State(state): State<AppState>) -> Result<Json<SlaList>, ApiError> {
    let slas = state.sla.list().await?.iter().map(SlaItem::from).collect();
    Ok(Json(SlaList { state: 0, slas }))
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
