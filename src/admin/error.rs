//! The REST error format: always JSON, the reference's `state` and `message`
//! fields, and a proper HTTP status. Internal causes are logged once, here,
//! and never shown to the client.

use axum::Json;
use std::time::Duration;

use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::accounts::AccountError;
use crate::subscribe::SubscribeError;
use crate::weather::WeatherError;

/// The JSON body of every error answer (the `ApiError` component of
/// `/openapi.json`).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ApiError)]
pub struct ErrorBody {
    /// 1: bad input or refused; 2: conflicts with what exists; 3: an
    /// upstream (weather service, metrics source) failed.
    #[schema(minimum = 1, maximum = 3)]
    pub state: u8,
    /// What went wrong, for a person to read.
    pub message: String,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub state: u8,
    pub message: String,
    /// Sent as `Retry-After` (whole seconds, at least 1) when set.
    pub retry_after: Option<Duration>,
}

impl ApiError {
    pub fn new(status: StatusCode, state: u8, message: impl Into<String>) -> Self {
        Self {
            status,
            state,
            message: message.into(),
            retry_after: None,
        }
    }

    /// The same error with a `Retry-After` header.
    pub fn retry_after(mut self, wait: Duration) -> Self {
        self.retry_after = Some(wait);
        self
    }

    /// The server cannot take the request now: 503, state 1, `Retry-After`.
    pub fn busy(message: impl Into<String>, retry_after: Duration) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, 1, message).retry_after(retry_after)
    }

    /// This client sent too many requests: 429, state 1, `Retry-After`.
    pub fn too_many_requests(retry_after: Duration) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            1,
            "too many requests, slow down and retry later",
        )
        .retry_after(retry_after)
    }

    /// Bad or missing input: 400, state 1.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, 1, message)
    }

    pub fn missing(field: &str) -> Self {
        Self::invalid(format!("missing field: {field}"))
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, 1, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, 1, message)
    }

    /// Logs the whole cause chain; the client only learns that it failed.
    /// A store that cannot serve now (full disk, lock, I/O) is a 503 with
    /// `Retry-After`: nothing was stored, and a retry may well work.
    pub fn internal(err: anyhow::Error) -> Self {
        if crate::store::is_unavailable(&err) {
            tracing::error!(
                error = format!("{err:#}"),
                "the database could not serve a request"
            );
            return Self::busy(
                "could not save or read right now, nothing was changed: please retry",
                Duration::from_secs(5),
            );
        }
        tracing::error!(error = format!("{err:#}"), "request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            1,
            "internal error, please retry later",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            state: self.state,
            message: self.message,
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(wait) = self.retry_after {
            // Whole seconds, rounded up: 0 would invite an immediate retry.
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(secs.max(1)));
        }
        response
    }
}

impl From<AccountError> for ApiError {
    fn from(err: AccountError) -> Self {
        match err {
            AccountError::Invalid(e) => Self::invalid(e.to_string()),
            e @ AccountError::Taken(_) => Self::new(StatusCode::CONFLICT, 2, e.to_string()),
            e @ (AccountError::BadCredentials | AccountError::BadToken) => {
                Self::unauthorized(e.to_string())
            }
            e @ AccountError::Busy { retry_after } => Self::busy(e.to_string(), retry_after),
            AccountError::Internal(e) => Self::internal(e),
        }
    }
}

impl From<SubscribeError> for ApiError {
    fn from(err: SubscribeError) -> Self {
        match err {
            SubscribeError::Invalid(e) => Self::invalid(e.to_string()),
            e @ SubscribeError::UnknownCity(_) => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, 2, e.to_string())
            }
            e @ (SubscribeError::TooMany(_) | SubscribeError::AlreadySubscribed(_)) => {
                Self::new(StatusCode::CONFLICT, 2, e.to_string())
            }
            SubscribeError::Upstream(w) => upstream(w),
            SubscribeError::Internal(e) => Self::internal(e),
        }
    }
}

/// The weather service failed us: 503 when it may come back (timeout,
/// network, rate limit), 502 when it answered wrongly.
fn upstream(err: WeatherError) -> ApiError {
    tracing::warn!(error = %err, "weather provider failed during a request");
    let status = if err.is_unavailable() {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::BAD_GATEWAY
    };
    ApiError::new(
        status,
        3,
        format!("the weather service is unavailable, try again later ({err})"),
    )
}
