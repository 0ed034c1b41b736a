//! `/register`, `/login`, `/logout` — the reference authService contract.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::from_fn_with_state;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::error::ApiError;
use super::form::Fields;
use super::rate_limit::{Limits, limit};

/// `/register` and `/login` are rate limited per client (`limits`).
pub fn router(limits: &Limits) -> OpenApiRouter<AppState> {
    let register_limit = from_fn_with_state(limits.register.clone(), limit);
    let login_limit = from_fn_with_state(limits.login.clone(), limit);
    OpenApiRouter::new()
        .merge(
            OpenApiRouter::new()
                .routes(routes!(register))
                .route_layer(register_limit),
        )
        .merge(
            OpenApiRouter::new()
                .routes(routes!(login))
                .route_layer(login_limit),
        )
        .routes(routes!(logout))
}

/// The fields `/register` reads (documentation of the body).
#[derive(ToSchema)]
#[allow(dead_code, non_snake_case)]
pub struct RegisterForm {
    /// Compared in NFKC, case-insensitively.
    #[schema(min_length = 1, pattern = r"\S")]
    username: String,
    #[schema(min_length = 1, pattern = r"\S")]
    password: String,
    /// The Telegram chat alerts go to (also spelled `telegram_chat_id` or
    /// `chat_id`).
    telegramChatId: i64,
}

/// The fields `/login` reads.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct LoginForm {
    #[schema(min_length = 1, pattern = r"\S")]
    username: String,
    #[schema(min_length = 1, pattern = r"\S")]
    password: String,
}

/// The fields `/logout` reads: the token, unless sent as a bearer header.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct LogoutForm {
    #[schema(nullable = false)]
    token: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Registered {
    /// Always 0.
    state: u8,
    message: &'static str,
    user_id: i64,
    /// A JWT for the `Authorization: Bearer` header.
    token: String,
}

#[derive(Serialize, ToSchema)]
pub struct LoggedIn {
    /// Always 0.
    state: u8,
    message: &'static str,
    /// A JWT for the `Authorization: Bearer` header.
    token: String,
}

/// A success with nothing more to say than `message`.
#[derive(Serialize, ToSchema)]
pub struct Done {
    /// Always 0.
    pub state: u8,
    pub message: String,
}

impl Done {
    pub fn new(message: impl Into<String>) -> Json<Self> {
        Json(Self {
            state: 0,
            message: message.into(),
        })
    }
}

/// Creates an account for a Telegram chat and logs it in.
#[utoipa::path(
    post, path = "/register", tag = "accounts",
    request_body = RegisterForm,
    responses(
        (status = 201, description = "Registered and logged in", body = Registered),
        (status = 400, description = "A field is missing or invalid (state 1)"),
        (status = 409, description = "The username is taken (state 2)"),
        (status = 413, description = "The body is over 64 KiB"),
        (status = 429, description = "Too many registrations from this client"),
        (status = 503, description = "Busy hashing passwords, or the database is unavailable"),
    )
)]
async fn register(
    State(state): State<AppState>,
    fields: Fields,
) -> Result<(StatusCode, Json<Registered>), ApiError> {
    let username = fields.required("username")?;
    let password = fields.required("password")?;
    let chat_id = fields
        .first_of(&["telegramChatId", "telegram_chat_id", "chat_id"])
        .ok_or_else(|| ApiError::missing("telegramChatId"))?;
    let (user, token) = state.accounts.register(username, password, chat_id).await?;
    let body = Registered {
        state: 0,
        message: "registered",
        user_id: user.id,
        token,
    };
    Ok((StatusCode::CREATED, Json(body)))
}

/// Exchanges a username and password for a token.
#[utoipa::path(
    post, path = "/login", tag = "accounts",
    request_body = LoginForm,
    responses(
        (status = 200, description = "Logged in", body = LoggedIn),
        (status = 400, description = "A field is missing or invalid"),
        (status = 401, description = "Wrong username or password"),
        (status = 413, description = "The body is over 64 KiB"),
        (status = 429, description = "Too many attempts from this client"),
        (status = 503, description = "Busy hashing passwords, or the database is unavailable"),
    )
)]
async fn login(State(state): State<AppState>, fields: Fields) -> Result<Json<LoggedIn>, ApiError> {
    let username = fields.required("username")?;
    let password = fields.required("password")?;
    let (_, token) = state.accounts.login(username, password).await?;
    Ok(Json(LoggedIn {
        state: 0,
        message: "logged in",
        token,
    }))
}

/// Revokes a token (from the bearer header, else the `token` field).
#[utoipa::path(
    post, path = "/logout", tag = "accounts",
    request_body(content = Option<LogoutForm>, description = "Optional with a bearer header"),
    security((), ("jwt" = [])),
    responses(
        (status = 200, description = "Logged out: the token no longer works", body = Done),
        (status = 400, description = "The body is malformed"),
        (status = 401, description = "No token, or not a valid one"),
        (status = 413, description = "The body is over 64 KiB"),
        (status = 503, description = "The database is unavailable"),
    )
)]
async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    fields: Fields,
) -> Result<Json<Done>, ApiError> {
    let token = super::bearer(&headers)
        .or_else(|| fields.get("token").map(str::to_owned))
        .ok_or_else(|| {
            ApiError::unauthorized("missing token (Authorization: Bearer or a token field)")
        })?;
    state.accounts.logout(&token).await?;
    Ok(Done::new("logged out"))
}
