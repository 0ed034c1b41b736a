//! `/cityevents/<token>` (the reference cityService), and the token-bearing
//! `/subscriptions` routes to list and delete.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::from_fn_with_state;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::AppState;
use super::error::ApiError;
use super::form::Fields;
use super::rate_limit::{Limits, limit};
use crate::accounts::Session;
use crate::domain::{CityName, LeadTime};
use crate::store::Subscription;
use crate::subscribe::SubscribeError;
use crate::subscribe::Watch;

/// `/cityevents` (both forms) is rate limited per client (`limits`).
pub fn router(limits: &Limits) -> Router<AppState> {
    let city_events = || from_fn_with_state(limits.city_events.clone(), limit);
    Router::new()
        .route(
            "/cityevents/{token}",
            post(city_event_with_path_token).route_layer(city_events()),
        )
        .route("/cityevents", post(city_event).route_layer(city_events()))
        .route("/subscriptions", get(list).post(list_posted))
        .route("/subscriptions/{id}", delete(remove))
}

/// The reference clients put the token in the path; kept for them only.
async fn city_event_with_path_token(
    State(state): State<AppState>,
    Path(token): Path<String>,
    fields: Fields,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let session = state.accounts.authenticate(&token).await?;
    subscribe(&state, &session, &fields).await
}

async fn city_event(
    State(state): State<AppState>,
    headers: HeaderMap,
    fields: Fields,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let session = authenticate(&state, &headers, &fields).await?;
    subscribe(&state, &session, &fields).await
}

async fn subscribe(
    state: &AppState,
    session: &Session,
    fields: &Fields,
) -> Result<(StatusCode, Json<Value>), ApiError> {
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
    let mut body = subscription_json(&sub);
    body["state"] = json!(0);
    body["message"] = json!(format!("{message} {}", place_label(&sub)));
    Ok((status, Json(body)))
}

async fn list(State(state): State<AppState>, headers: HeaderMap) -> Result<Json<Value>, ApiError> {
    let session = authenticate(&state, &headers, &Fields::default()).await?;
    list_for(&state, &session).await
}

async fn list_posted(
    State(state): State<AppState>,
    headers: HeaderMap,
    fields: Fields,
) -> Result<Json<Value>, ApiError> {
    let session = authenticate(&state, &headers, &fields).await?;
    list_for(&state, &session).await
}

async fn list_for(state: &AppState, session: &Session) -> Result<Json<Value>, ApiError> {
    let subs = state
        .store
        .subscriptions_of_chat(session.chat_id())
        .await
        .map_err(ApiError::internal)?;
    let list: Vec<Value> = subs.iter().map(subscription_json).collect();
    Ok(Json(json!({ "state": 0, "subscriptions": list })))
}

async fn remove(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
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
    Ok(Json(
        json!({ "state": 0, "message": format!("subscription {id} removed") }),
    ))
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

/// One subscription as the reference clients know it, plus the heads-up
/// lead time (`ahead`: "3h" or null; `ahead_minutes`: 180 or null).
fn subscription_json(sub: &Subscription) -> Value {
    // A stored value that does not read as a lead time is shown as off, as
    // the alert engine treats it.
    let ahead = sub.ahead_s.and_then(|s| LeadTime::from_secs(s).ok());
    json!({
        "id": sub.id,
        "city": sub.city,
        "country": sub.country,
        "latitude": sub.latitude,
        "longitude": sub.longitude,
        "min_temp": sub.t_min,
        "max_temp": sub.t_max,
        "rain": sub.rain,
        "snow": sub.snow,
        "active": sub.active,
        "created_at": sub.created_at,
        "ahead": ahead.map(LeadTime::label),
        "ahead_minutes": ahead.map(|lead| lead.as_secs() / 60),
    })
}
