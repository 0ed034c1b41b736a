//! `/metrics`, `/healthz`, `/readyz`, and the middleware that times every
//! request. Its labels come only from known values, so no client can mint
//! series: the method from a fixed list (else `other`), the route template
//! (never the raw path; `unmatched` when no route matched), the status code.

use std::time::Instant;

use axum::Extension;
use axum::Json;
use axum::extract::{MatchedPath, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::auth::Done;
use crate::health::{Check, Readiness, ReadinessReport};
use crate::metrics::Metrics;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(metrics))
        .routes(routes!(health))
        .routes(routes!(ready))
}

/// The `/readyz` body.
#[derive(Serialize, ToSchema)]
pub struct Readyz {
    /// 0: ready; 1: not.
    state: u8,
    message: String,
    #[serde(flatten)]
    report: ReadinessReport,
}

/// The service's metrics in Prometheus's text format.
#[utoipa::path(
    get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format 0.0.4", body = String,
        content_type = "text/plain; version=0.0.4; charset=utf-8"))
)]
async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        state.metrics.render(),
    )
}

/// The process serves: nothing else is checked (see `/readyz`).
#[utoipa::path(
    get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "The process serves", body = Done))
)]
async fn health() -> Json<Done> {
    Done::new("ok")
}

/// 200 when the database answers, its migrations are applied and every
/// worker is running and made progress within its period; otherwise 503
/// with the same body naming what is wrong in `problems`.
#[utoipa::path(
    get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "Ready", body = Readyz),
        (status = 503, description = "Not ready: `problems` says why", body = Readyz),
    )
)]
async fn ready(readiness: Option<Extension<Readiness>>) -> Response {
    let Some(Extension(readiness)) = readiness else {
        let unchecked = || Check {
            ok: false,
            error: Some("not checked: readiness is not wired".to_owned()),
        };
        let body = Readyz {
            state: 1,
            message: "not ready: readiness is not wired".to_owned(),
            report: ReadinessReport {
                ready: false,
                database: unchecked(),
                migrations: unchecked(),
                workers: Vec::new(),
                problems: vec!["readiness: not configured".to_owned()],
            },
        };
        return (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
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
    let body = Readyz {
        state,
        message,
        report,
    };
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

    /// Unwired readiness (a router built without it) still answers the
    /// documented `Readyz` shape: every field, not only `problems`.
    #[tokio::test]
    async fn unwired_readiness_answers_the_documented_shape() {
        let response = ready(None).await;
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        let bytes = axum::body::to_bytes(response.into_body(), 64 * 1024)
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        for field in [
            "state",
            "message",
            "ready",
            "database",
            "migrations",
            "workers",
            "problems",
        ] {
            assert!(body.get(field).is_some(), "{field} missing: {body}");
        }
        assert_eq!(body["ready"], false);
        assert_eq!(body["database"]["ok"], false);
    }

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
