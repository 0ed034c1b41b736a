//! `GET /sla/chart.png?metric_name=…&job_name=…&hours=…`: the chart `/sla
//! chart` sends, as `image/png` (routed, with the SLA routes' auth, from
//! `sla.rs`). `hours` is 1–168, 6 when absent; the image is in English.

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;

use super::AppState;
use super::error::ApiError;
use crate::sla::ChartHours;
use crate::text::{Language, chart_no_data, chart_words};

/// A PNG image (documentation of the answer's body).
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)]
pub struct Png(Vec<u8>);

/// The query parameters (documentation; the handler reads the raw query so
/// that a bad one is the usual JSON 400, not axum's plain-text rejection).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct ChartParams {
    /// The SLA's metric name (or PromQL expression).
    #[param(min_length = 1, pattern = r"\S")]
    metric_name: String,
    /// The SLA's job.
    #[param(min_length = 1, pattern = r"\S")]
    job_name: String,
    /// How many hours back, 1–168 (default 6).
    #[param(minimum = 1, maximum = 168, nullable = false)]
    hours: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
struct ChartQuery {
    metric_name: Option<String>,
    job_name: Option<String>,
    hours: Option<String>,
}

/// The SLA's chart: series, range band, violations, next hour's forecast.
#[utoipa::path(
    get, path = "/sla/chart.png", tag = "sla",
    params(ChartParams),
    security((), ("admin_token" = [])),
    responses(
        (status = 200, description = "The chart, 800×450", content_type = "image/png", body = Png),
        (status = 400, description = "A parameter is missing or invalid (hours outside 1–168)"),
        (status = 401, description = "ADMIN_TOKEN is set and the bearer is not it"),
        (status = 404, description = "No such SLA (`state` 1), or no sample in the window (`state` 2)"),
        (status = 503, description = "The database or the metrics source is unavailable"),
    )
)]
pub async fn chart_png(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let query: ChartQuery = serde_urlencoded::from_str(query.as_deref().unwrap_or(""))
        .map_err(|e| ApiError::invalid(format!("unreadable query string: {e}")))?;
    let required = |value: &Option<String>, name: &str| match value.as_deref() {
        Some(v) if !v.trim().is_empty() => Ok(v.to_owned()),
        _ => Err(ApiError::missing(name)),
    };
    let metric = required(&query.metric_name, "metric_name")?;
    let job = required(&query.job_name, "job_name")?;
    let key = state.sla.parse_key(&metric, &job)?;
    let hours = match query.hours.as_deref() {
        None => ChartHours::DEFAULT,
        Some(raw) => ChartHours::parse(raw).map_err(|e| ApiError::invalid(e.0))?,
    };
    let data = state.sla.chart_data(&key, hours, Utc::now()).await?;
    if data.series.is_empty() {
        let message = chart_no_data(Language::En, &data);
        return Err(ApiError::new(StatusCode::NOT_FOUND, 2, message));
    }
    let words = chart_words(Language::En, &data);
    let png = data.render(words.title, words.note, words.labels).await?;
    // Live data: a cached chart would be a wrong chart.
    Ok((
        [(CONTENT_TYPE, "image/png"), (CACHE_CONTROL, "no-store")],
        png,
    )
        .into_response())
}
