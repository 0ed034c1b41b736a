//! The admin HTTP port: the reference system's REST contract (each route at
//! its bare path and under the old gateway prefix), `/metrics` and `/healthz`,
//! and the contract itself: `/openapi.json` and `/docs` (see `openapi`).

mod auth;
mod error;
mod form;
mod observability;
pub mod openapi;
pub mod rate_limit;
mod sla;
mod sla_bodies;
mod sla_chart;
mod slo;
mod subscriptions;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderMap, StatusCode, header::AUTHORIZATION};
use axum::middleware;
use tower_http::cors::CorsLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

pub use error::ApiError;
pub use form::Fields;

use crate::accounts::Accounts;
use crate::metrics::Metrics;
use crate::secret::Secret;
use crate::sla::SlaService;
use crate::store::Store;
use crate::subscribe::Subscriber;

/// Request bodies above this are refused with 413.
pub const BODY_LIMIT: usize = 64 * 1024;

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub accounts: Accounts,
    pub subscriber: Subscriber,
    pub metrics: Metrics,
    pub sla: SlaService,
    /// Bearer token the SLA routes require, when set.
    pub admin_token: Option<Secret>,
}

pub fn router(state: AppState) -> Router {
    let metrics = state.metrics.clone();
    let (routes, doc) = api(&state).split_for_parts();
    routes
        .merge(openapi::serve(openapi::finish(doc)))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(
            metrics,
            observability::track,
        ))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        // The reference HTML clients run from another origin; tokens travel as
        // bearer headers or fields, never cookies, so any origin may call.
        .layer(CorsLayer::permissive())
        .with_state(state)
}

/// Every REST route, in the router and in the OpenAPI document at once:
/// each module adds its handlers with `utoipa_axum::routes!`, which takes
/// the path and method from the handler's `#[utoipa::path]`. A route added
/// any other way would be served undocumented (clippy.toml forbids
/// `route`), and `tests/openapi.rs` checks both spellings of every path.
pub fn api(state: &AppState) -> OpenApiRouter<AppState> {
    // One set of limiters for both spellings of each route.
    let limits = rate_limit::Limits::default();
    let [auth_prefix, city_prefix, sla_prefix] = openapi::LEGACY_PREFIXES;
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(auth::router(&limits))
        .nest(auth_prefix, auth::router(&limits))
        .merge(subscriptions::router(&limits))
        .nest(city_prefix, subscriptions::router(&limits))
        .merge(sla::router(state.clone()))
        .nest(sla_prefix, sla::router(state.clone()))
        .merge(observability::router())
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such route")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        1,
        "method not allowed on this route",
    )
}

/// The token of an `Authorization: Bearer …` header.
fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
}
