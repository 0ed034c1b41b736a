//! /weather <city>: the conditions now, and how the chat's subscriptions
//! there stand against them.

use super::reply::Replier;
use super::{BotContext, HandlerResult};
use crate::alerts::{Breach, Rule};
use crate::domain::{ChatId, CityName};
use crate::subscribe::{SubscribeError, most_populous};
use crate::text::{self, fill};

/// Subscriptions this close (degrees) to the looked-up place count as "there".
const SAME_PLACE_DEG: f64 = 0.05;

pub async fn show(r: &Replier, city: &str, ctx: &BotContext) -> HandlerResult {
    let city = match CityName::parse(city) {
        Ok(c) => c,
        Err(_) => {
            r.say(r.t().weather_usage).await?;
            return Ok(());
        }
    };
    let place = match ctx.subscriber.resolve(&city).await {
        Ok(places) => most_populous(places),
        Err(SubscribeError::UnknownCity(name)) => {
            r.say(fill(r.t().unknown_city, &[&name])).await?;
            return Ok(());
        }
        Err(e) => {
            tracing::warn!(chat_id = r.chat.0, error = %e, "weather lookup failed");
            r.say(r.t().weather_unavailable).await?;
            return Ok(());
        }
    };
    let obs = match ctx.provider.current(&[place.coordinates]).await.pop() {
        Some(Ok(obs)) => obs,
        Some(Err(e)) => {
            tracing::warn!(chat_id = r.chat.0, error = %e, "current weather failed");
            r.say(r.t().weather_unavailable).await?;
            return Ok(());
        }
        None => {
            r.say(r.t().weather_unavailable).await?;
            return Ok(());
        }
    };
    let units = r.units;
    let description = obs
        .description
        .as_deref()
        .map(|d| format!(", {d}"))
        .unwrap_or_default();
    let mut answer = fill(
        r.t().weather_now,
        &[
            &text::place(&place.name, &place.country),
            &text::temperature(obs.temperature_c, r.lang, units),
            &description,
        ],
    );
    // The weather is worth answering even when the chat's subscriptions
    // cannot be read: that part is left out (and logged).
    let subs = match ChatId::new(r.chat.0) {
        Ok(chat) => ctx
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
            }),
        Err(_) => Vec::new(),
    };
    for sub in subs.iter().filter(|s| {
        (s.latitude - place.coordinates.latitude).abs() < SAME_PLACE_DEG
            && (s.longitude - place.coordinates.longitude).abs() < SAME_PLACE_DEG
    }) {
        let rule = Rule {
            t_min: sub.t_min,
            t_max: sub.t_max,
            rain: sub.rain,
            snow: sub.snow,
        };
        let breaches: Vec<Breach> = rule.breaches(&obs);
        if breaches.is_empty() {
            answer.push_str(&format!("\n{}", fill(r.t().sub_ok, &[&sub.id.to_string()])));
        } else {
            let lines = text::alert_text(&sub.city, &sub.country, &breaches, r.lang, units);
            answer.push_str(&format!(
                "\n{}\n{lines}",
                fill(r.t().sub_violated, &[&sub.id.to_string()])
            ));
        }
    }
    r.say(answer).await?;
    Ok(())
}
