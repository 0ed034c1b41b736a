//! `/metrics`, `/healthz`, `/readyz`, and the middleware that times every
//! request. Its labels come only from known values, so no client can mint
//! series: the method from a fixed list (else `other`), the route template
//! (never the raw path; `unmatched` when no route matched), the status code.

use std::time::Instant;

use axum::Extension;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use super::AppState;
use crate::health::Readiness;
use crate::metrics::Metrics;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(health))
        .route("/readyz", get(ready))
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        state.metrics.render(),
    )
}

/// The process serves: nothing else is checked (see `/readyz`).
async fn health() -> impl IntoResponse {
    Json(json!({ "state": 0, "message": "ok" }))
}

/// 200 when the database answers, its migrations are applied and every
/// worker is running and made progress within its period; otherwise 503
/// with the same body naming what is wrong in `problems`.
async fn ready(readiness: Option<Extension<Readiness>>) -> Response {
    let Some(Extension(readiness)) = readiness else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({
                "state": 1,
                "message": "not ready: readiness is not wired",
                "ready": false,
                "problems": ["readiness: not configured"],
            })),
        )
            .into_response();
    };
    let report = readiness.check().await;
    let (status, state, message) = if report.ready {
        (StatusCode::OK, 0, "ready".to_owned())
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            1,
            format!("not ready: {}", report.problems.join("; ")),
        )
    };
    let mut body = serde_json::to_value(&report).unwrap_or_else(|_| json!({}));
    if let Some(fields) = body.as_object_mut() {
        fields.insert("state".into(), json!(state));
        fields.insert("message".into(), json!(message));
    }
    (status, Json(body)).into_response()
}

/// The `method` label: a standard method, or `other`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

pub async fn track(State(metrics): State<Metrics>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = method_label(req.method());
    let started = Instant::now();
    let response = next.run(req).await;
    // A StatusCode is always 100–999 (three digits): a bounded label.
    metrics
        .http_request_duration
        .with_label_values(&[method, route.as_str(), response.status().as_str()])
        .observe(started.elapsed().as_secs_f64());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_standard_methods_name_themselves() {
        for (method, label) in [
            (Method::GET, "GET"),
            (Method::POST, "POST"),
            (Method::PUT, "PUT"),
            (Method::DELETE, "DELETE"),
            (Method::PATCH, "PATCH"),
            (Method::HEAD, "HEAD"),
            (Method::OPTIONS, "OPTIONS"),
            (Method::TRACE, "other"),
            (Method::CONNECT, "other"),
            (Method::from_bytes(b"FROB").unwrap(), "other"),
            (Method::from_bytes(b"get").unwrap(), "other"),
        ] {
            assert_eq!(method_label(&method), label, "{method}");
        }
    }
}
