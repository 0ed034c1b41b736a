//! /weather <city>: the weather now, read from the place's stored forecast
//! series (no upstream call while it is fresh), how old that data is, and
//! how the chat's subscriptions there stand against it.

use chrono::{DateTime, Utc};

use super::reply::Replier;
use super::{BotContext, HandlerResult};
use crate::alerts::Breach;
use crate::domain::{ChatId, CityName};
use crate::forecasts::{ForecastError, Fresh};
use crate::store::Subscription;
use crate::subscribe::{SubscribeError, most_populous};
use crate::text::{self, fill, forecast_texts};
use crate::weather::{Place, Sample};

/// Subscriptions this close (degrees) to the looked-up place count as "there".
const SAME_PLACE_DEG: f64 = 0.05;

pub async fn show(r: &Replier, city: &str, ctx: &BotContext) -> HandlerResult {
    let Some(place) = lookup(r, city, r.t().weather_usage, ctx).await? else {
        return Ok(());
    };
    let now = ctx.clock.now();
    let Some(fresh) = series_for(r, &place, now, ctx).await? else {
        return Ok(());
    };
    let label = text::place(&place.name, &place.country);
    let Some(sample) = fresh.series.sample(now) else {
        // Only a series kept through a long outage ends before now.
        r.say(fill(forecast_texts(r.lang).no_data, &[&label]))
            .await?;
        return Ok(());
    };
    let description = sample
        .code
        .and_then(|code| text::weather_words(code, r.lang))
        .map(|d| format!(", {d}"))
        .unwrap_or_default();
    let mut answer = fill(
        r.t().weather_now,
        &[
            &label,
            &text::temperature(sample.temperature_c, r.lang, r.units),
            &description,
        ],
    );
    answer.push('\n');
    answer.push_str(&age_line(r, &fresh, now, ctx));
    for sub in subscriptions_at(r, &place, ctx).await {
        let breaches = breaches(&sub, &sample);
        if breaches.is_empty() {
            answer.push_str(&format!("\n{}", fill(r.t().sub_ok, &[&sub.id.to_string()])));
        } else {
            let lines = text::alert_text(&sub.city, &sub.country, &breaches, r.lang, r.units);
            answer.push_str(&format!(
                "\n{}\n{lines}",
                fill(r.t().sub_violated, &[&sub.id.to_string()])
            ));
        }
    }
    r.say(answer).await?;
    Ok(())
}

/// The place a city name means (several: the most populous), or `None`
/// once the user has been told why not (`usage` for a missing name).
pub async fn lookup(
    r: &Replier,
    city: &str,
    usage: &str,
    ctx: &BotContext,
) -> Result<Option<Place>, super::BotError> {
    let Ok(city) = CityName::parse(city) else {
        r.say(usage).await?;
        return Ok(None);
    };
    match ctx.subscriber.resolve(&city).await {
        Ok(places) => Ok(Some(most_populous(places))),
        Err(SubscribeError::UnknownCity(name)) => {
            r.say(fill(r.t().unknown_city, &[&name])).await?;
            Ok(None)
        }
        Err(e) => {
            tracing::warn!(chat_id = r.chat.0, error = %e, "city lookup failed");
            r.say(r.t().weather_unavailable).await?;
            Ok(None)
        }
    }
}

/// The place's forecast series (stored if fresh, else fetched under the
/// budget), or `None` once the user has been told it is unavailable.
pub async fn series_for(
    r: &Replier,
    place: &Place,
    now: DateTime<Utc>,
    ctx: &BotContext,
) -> Result<Option<Fresh>, super::BotError> {
    match ctx.forecasts.for_point(place.coordinates, now).await {
        Ok(fresh) => Ok(Some(fresh)),
        Err(e) => {
            match &e {
                ForecastError::OverBudget => {
                    tracing::info!(
                        chat_id = r.chat.0,
                        "no forecast: the call budget is used up"
                    )
                }
                ForecastError::Upstream(err) => {
                    tracing::warn!(chat_id = r.chat.0, error = %err, "forecast fetch failed")
                }
                ForecastError::Internal(err) => {
                    tracing::error!(
                        chat_id = r.chat.0,
                        error = format!("{err:#}"),
                        "forecast read failed"
                    )
                }
            }
            r.say(forecast_texts(r.lang).unavailable).await?;
            Ok(None)
        }
    }
}

/// "🕒 data from 25 min ago", or that it is too old to judge (the alert
/// engine then decides nothing for the place).
pub fn age_line(r: &Replier, fresh: &Fresh, now: DateTime<Utc>, ctx: &BotContext) -> String {
    if ctx.forecasts.is_stale(&fresh.series, now) {
        fill(
            forecast_texts(r.lang).stale,
            &[&text::duration_words(fresh.age)],
        )
    } else {
        text::data_age(fresh.age, r.lang)
    }
}

/// The chat's subscriptions at this place. The weather is worth answering
/// even when they cannot be read: that part is left out (and logged).
async fn subscriptions_at(r: &Replier, place: &Place, ctx: &BotContext) -> Vec<Subscription> {
    let Ok(chat) = ChatId::new(r.chat.0) else {
        return Vec::new();
    };
    let subs = ctx
        .store
        .subscriptions_of_chat(chat)
        .await
        .unwrap_or_else(|e| {
            tracing::warn!(
                chat_id = r.chat.0,
                error = format!("{e:#}"),
                "could not read subscriptions for /weather"
            );
            Vec::new()
        });
    subs.into_iter()
        .filter(|s| {
            (s.latitude - place.coordinates.latitude).abs() < SAME_PLACE_DEG
                && (s.longitude - place.coordinates.longitude).abs() < SAME_PLACE_DEG
        })
        .collect()
}

/// How the weather now stands against one subscription's limits: inclusive
/// thresholds, as the alerts judge them (without their hysteresis, which
/// only delays an all-clear). Kept here so /weather does not depend on the
/// alert engine's internals.
fn breaches(sub: &Subscription, sample: &Sample) -> Vec<Breach> {
    let t = sample.temperature_c;
    let mut out = Vec::new();
    if let Some(max) = sub.t_max.filter(|max| t >= *max) {
        out.push(Breach::AboveMax { observed: t, max });
    }
    if let Some(min) = sub.t_min.filter(|min| t <= *min) {
        out.push(Breach::BelowMin { observed: t, min });
    }
    if sub.rain && sample.raining {
        out.push(Breach::Rain);
    }
    if sub.snow && sample.snowing {
        out.push(Breach::Snow);
    }
    out
}
