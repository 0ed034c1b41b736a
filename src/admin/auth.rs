//! `/register`, `/login`, `/logout` — the reference authService contract.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::from_fn_with_state;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use super::form::Fields;
use super::rate_limit::{Limits, limit};

/// `/register` and `/login` are rate limited per client (`limits`).
pub fn router(limits: &Limits) -> Router<AppState> {
    Router::new()
        .route(
            "/register",
            post(register).route_layer(from_fn_with_state(limits.register.clone(), limit)),
        )
        .route(
            "/login",
            post(login).route_layer(from_fn_with_state(limits.login.clone(), limit)),
        )
        .route("/logout", post(logout))
}

async fn register(
    State(state): State<AppState>,
    fields: Fields,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let username = fields.required("username")?;
    let password = fields.required("password")?;
    let chat_id = fields
        .first_of(&["telegramChatId", "telegram_chat_id", "chat_id"])
        .ok_or_else(|| ApiError::missing("telegramChatId"))?;
    let (user, token) = state.accounts.register(username, password, chat_id).await?;
    let body = json!({
        "state": 0,
        "message": "registered",
        "user_id": user.id,
        "token": token,
    });
    Ok((StatusCode::CREATED, Json(body)))
}

async fn login(State(state): State<AppState>, fields: Fields) -> Result<Json<Value>, ApiError> {
    let username = fields.required("username")?;
    let password = fields.required("password")?;
    let (_, token) = state.accounts.login(username, password).await?;
    Ok(Json(
        json!({ "state": 0, "message": "logged in", "token": token }),
    ))
}

async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    fields: Fields,
) -> Result<Json<Value>, ApiError> {
    let token = super::bearer(&headers)
        .or_else(|| fields.get("token").map(str::to_owned))
        .ok_or_else(|| {
            ApiError::unauthorized("missing token (Authorization: Bearer or a token field)")
        })?;
    state.accounts.logout(&token).await?;
    Ok(Json(json!({ "state": 0, "message": "logged out" })))
}
