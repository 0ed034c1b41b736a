//! `/cityevents/<token>` (the reference cityService), and the token-bearing
//! `/subscriptions` routes to list and delete.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::from_fn_with_state;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::auth::Done;
use super::error::ApiError;
use super::form::Fields;
use super::rate_limit::{Limits, limit};
use crate::accounts::Session;
use crate::domain::{CityName, LeadTime};
use crate::store::Subscription;
use crate::subscribe::SubscribeError;
use crate::subscribe::Watch;

/// `/cityevents` (both forms) is rate limited per client (`limits`).
pub fn router(limits: &Limits) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(
            OpenApiRouter::new()
                .routes(routes!(city_event_with_path_token))
                .routes(routes!(city_event))
                .route_layer(from_fn_with_state(limits.city_events.clone(), limit)),
        )
        .routes(routes!(list, list_posted))
        .routes(routes!(remove))
}

/// The fields `/cityevents` reads. Temperatures are °C unless they name a
/// unit (`30`, `-5.5`, `30C`, `86F`); blank, `-` or `none` leave a bound
/// unset. Flags read `1`/`0`, `true`/`false`, `yes`/`no`.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct CityEventForm {
    #[schema(example = "Milano", min_length = 1, pattern = r"\S")]
    city_name: String,
    #[schema(example = "30", nullable = false)]
    max_temp: Option<String>,
    #[schema(example = "-2", nullable = false)]
    min_temp: Option<String>,
    #[schema(example = "1", nullable = false)]
    rain: Option<String>,
    #[schema(example = "0", nullable = false)]
    snow: Option<String>,
    /// Heads-up lead time from the forecast: `40m`, `3h`, minutes, or `off`.
    #[schema(example = "3h", nullable = false)]
    ahead: Option<String>,
    /// The token, when not sent as a bearer header (`/cityevents` only).
    #[schema(nullable = false)]
    token: Option<String>,
}

/// The fields `POST /subscriptions` reads: the token, unless sent as a
/// bearer header.
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct TokenForm {
    #[schema(nullable = false)]
    token: Option<String>,
}

/// One subscription as the reference clients know it, plus the heads-up
/// lead time.
#[derive(Serialize, ToSchema)]
pub struct SubscriptionView {
    id: i64,
    city: String,
    country: String,
    latitude: f64,
    longitude: f64,
    /// °C; `null`: no lower bound.
    min_temp: Option<f64>,
    /// °C; `null`: no upper bound.
    max_temp: Option<f64>,
    rain: bool,
    snow: bool,
    /// False while paused (the chat blocked the bot).
    active: bool,
    /// Unix seconds.
    created_at: i64,
    /// `3h`, or `null` when off.
    ahead: Option<String>,
    /// 180, or `null` when off.
    ahead_minutes: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct Subscribed {
    /// Always 0.
    state: u8,
    message: String,
    #[serde(flatten)]
    subscription: SubscriptionView,
}

#[derive(Serialize, ToSchema)]
pub struct SubscriptionList {
    /// Always 0.
    state: u8,
    subscriptions: Vec<SubscriptionView>,
}

/// Subscribes the token's chat to a city (the reference clients put the
/// token in the path; kept for them only).
#[utoipa::path(
    post, path = "/cityevents/{token}", tag = "subscriptions",
    params(("token" = String, Path, description = "The JWT from /register or /login")),
    request_body = CityEventForm,
    responses(
        (status = 201, description = "Subscribed", body = Subscribed),
        (status = 200, description = "Already subscribed: the existing subscription", body = Subscribed),
        (status = 400, description = "No city, or a bad bound, flag or lead time (state 1)"),
        (status = 401, description = "Not a valid token"),
        (status = 409, description = "Too many subscriptions (state 2)"),
        (status = 413, description = "The body is over 64 KiB"),
        (status = 422, description = "No such city (state 2)"),
        (status = 429, description = "Too many subscription requests from this client"),
        (status = 502, description = "The geocoding service answered wrongly (state 3)"),
        (status = 503, description = "The geocoding service or the database is unavailable"),
    )
)]
async fn city_event_with_path_token(
    State(state): State<AppState>,
    Path(token): Path<String>,
    fields: Fields,
) -> Result<(StatusCode, Json<Subscribed>), ApiError> {
    let session = state.accounts.authenticate(&token).await?;
    subscribe(&state, &session, &fields).await
}

/// Subscribes the token's chat to a city.
#[utoipa::path(
    post, path = "/cityevents", tag = "subscriptions",
    request_body = CityEventForm,
    security(("jwt" = []), ()),
    responses(
        (status = 201, description = "Subscribed", body = Subscribed),
        (status = 200, description = "Already subscribed: the existing subscription", body = Subscribed),
        (status = 400, description = "No city, or a bad bound, flag or lead time (state 1)"),
        (status = 401, description = "No token, or not a valid one"),
        (status = 409, description = "Too many subscriptions (state 2)"),
        (status = 413, description = "The body is over 64 KiB"),
        (status = 422, description = "No such city (state 2)"),
        (status = 429, description = "Too many subscription requests from this client"),
        (status = 502, description = "The geocoding service answered wrongly (state 3)"),
        (status = 503, description = "The geocoding service or the database is unavailable"),
    )
)]
async fn city_event(
    State(state): State<AppState>,
    headers: HeaderMap,
    fields: Fields,
) -> Result<(StatusCode, Json<Subscribed>), ApiError> {
    let session = authenticate(&state, &headers, &fields).await?;
    subscribe(&state, &session, &fields).await
}

async fn subscribe(
    state: &AppState,
    session: &Session,
    fields: &Fields,
) -> Result<(StatusCode, Json<Subscribed>), ApiError> {
    state.metrics.city_requests.inc();
    let city =
        CityName::parse(fields.required("city_name")?).map_err(|e| ApiError::invalid(e.0))?;
    let watch = Watch::parse(
        fields.get("min_temp"),
        fields.get("max_temp"),
        fields.get("rain"),
        fields.get("snow"),
    )
    .and_then(|watch| watch.with_ahead(fields.get("ahead")))
    .map_err(|e| ApiError::invalid(e.0))?;
    let (status, sub, message) = match state
        .subscriber
        .subscribe(session.chat_id(), &city, &watch)
        .await
    {
        Ok((sub, _place)) => (StatusCode::CREATED, sub, "subscribed to"),
        // A duplicate answers with the subscription that exists (200: nothing created).
        Err(SubscribeError::AlreadySubscribed(sub)) => {
            (StatusCode::OK, *sub, "already subscribed to")
        }
        Err(e) => return Err(e.into()),
    };
    let body = Subscribed {
        state: 0,
        message: format!("{message} {}", place_label(&sub)),
        subscription: SubscriptionView::from(&sub),
    };
    Ok((status, Json(body)))
}

/// The token's chat's subscriptions.
#[utoipa::path(
    get, path = "/subscriptions", tag = "subscriptions", operation_id = "list_subscriptions",
    security(("jwt" = [])),
    responses(
        (status = 200, description = "The subscriptions", body = SubscriptionList),
        (status = 401, description = "No token, or not a valid one"),
        (status = 503, description = "The database is unavailable"),
    )
)]
async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<SubscriptionList>, ApiError> {
    let session = authenticate(&state, &headers, &Fields::default()).await?;
    list_for(&state, &session).await
}

/// The same list, for clients that post the token as a field.
#[utoipa::path(
    post, path = "/subscriptions", tag = "subscriptions", operation_id = "list_subscriptions_posted",
    request_body(content = Option<TokenForm>, description = "Optional with a bearer header"),
    security(("jwt" = []), ()),
    responses(
        (status = 200, description = "The subscriptions", body = SubscriptionList),
        (status = 400, description = "The body is malformed"),
        (status = 401, description = "No token, or not a valid one"),
        (status = 413, description = "The body is over 64 KiB"),
        (status = 503, description = "The database is unavailable"),
    )
)]
async fn list_posted(
    State(state): State<AppState>,
    headers: HeaderMap,
    fields: Fields,
) -> Result<Json<SubscriptionList>, ApiError> {
    let session = authenticate(&state, &headers, &fields).await?;
    list_for(&state, &session).await
}

async fn list_for(state: &AppState, session: &Session) -> Result<Json<SubscriptionList>, ApiError> {
    let subs = state
        .store
        .subscriptions_of_chat(session.chat_id())
        .await
        .map_err(ApiError::internal)?;
    Ok(Json(SubscriptionList {
        state: 0,
        subscriptions: subs.iter().map(SubscriptionView::from).collect(),
    }))
}

/// Deletes one of the token's chat's subscriptions.
#[utoipa::path(
    delete, path = "/subscriptions/{id}", tag = "subscriptions", operation_id = "delete_subscription",
    params(("id" = i64, Path, description = "The subscription's id")),
    security(("jwt" = [])),
    responses(
        (status = 200, description = "Removed", body = Done),
        (status = 400, description = "The id is not a number"),
        (status = 401, description = "No token, or not a valid one"),
        (status = 404, description = "The chat has no such subscription"),
        (status = 503, description = "The database is unavailable"),
    )
)]
async fn remove(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Done>, ApiError> {
    let session = authenticate(&state, &headers, &Fields::default()).await?;
    let id: i64 = id
        .trim()
        .parse()
        .map_err(|_| ApiError::invalid(format!("'{id}' is not a subscription id")))?;
    let removed = state
        .store
        .delete_subscription(session.chat_id(), id)
        .await
        .map_err(ApiError::internal)?;
    if !removed {
        return Err(ApiError::not_found(format!(
            "you have no subscription {id}"
        )));
    }
    Ok(Done::new(format!("subscription {id} removed")))
}

/// Bearer header first, then a `token` field of the body.
async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    fields: &Fields,
) -> Result<Session, ApiError> {
    let token = super::bearer(headers)
        .or_else(|| fields.get("token").map(str::to_owned))
        .ok_or_else(|| ApiError::unauthorized("missing token (Authorization: Bearer …)"))?;
    Ok(state.accounts.authenticate(&token).await?)
}

fn place_label(sub: &Subscription) -> String {
    if sub.country.is_empty() {
        sub.city.clone()
    } else {
        format!("{}, {}", sub.city, sub.country)
    }
}

impl From<&Subscription> for SubscriptionView {
    fn from(sub: &Subscription) -> Self {
        // A stored value that does not read as a lead time is shown as off,
        // as the alert engine treats it.
        let ahead = sub.ahead_s.and_then(|s| LeadTime::from_secs(s).ok());
        Self {
            id: sub.id,
            city: sub.city.clone(),
            country: sub.country.clone(),
            latitude: sub.latitude,
            longitude: sub.longitude,
            min_temp: sub.t_min,
            max_temp: sub.t_max,
            rain: sub.rain,
            snow: sub.snow,
            active: sub.active,
            created_at: sub.created_at,
            ahead: ahead.map(LeadTime::label),
            ahead_minutes: ahead.map(|lead| lead.as_secs() / 60),
        }
    }
}
