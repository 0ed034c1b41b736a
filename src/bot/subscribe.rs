//! /subscribe, one line or guided: the city (ambiguous → buttons), then the
//! limits — all in the line, or asked one by one (see `guided`). A shared
//! location skips the city. Nothing is stored before the confirmation (or a
//! complete, valid one-line command).

use super::buttons::Button;
use super::guided;
use super::reply::Replier;
use super::state::{Limits, PlaceChoice, State};
use super::{BotContext, HandlerResult, MyDialogue};
use crate::bot::args::{SubscribeArgs, parse_subscribe};
use crate::bot::list::{lead_text, limits_text};
use crate::domain::{ChatId, CityName};
use crate::subscribe::{MAX_SUBSCRIPTIONS_PER_CHAT, SubscribeError, Watch, most_populous};
use crate::text::fill;
use crate::weather::Place;

/// At most this many matches are offered as buttons.
const MAX_CHOICES: usize = 6;

pub async fn command(
    r: &Replier,
    args: &str,
    dialogue: &MyDialogue,
    ctx: &BotContext,
) -> HandlerResult {
    if at_limit(r, ctx).await? {
        return Ok(());
    }
    match parse_subscribe(args, r.units) {
        SubscribeArgs::Guided => {
            dialogue.update(State::SubscribeCity).await?;
            r.say(r.t().ask_city).await?;
        }
        SubscribeArgs::City(city) => resolve(r, &city, None, dialogue, ctx).await?,
        SubscribeArgs::OneLine {
            city,
            min,
            max,
            rain,
            snow,
            ahead,
        } => {
            let limits = Limits {
                min,
                max,
                rain,
                snow,
                ahead_s: None,
            }
            .with_ahead(ahead);
            if let Err(e) = Watch::new(min, max, rain, snow) {
                r.say(format!("{}\n\n{}", e, r.t().subscribe_usage)).await?;
                return Ok(());
            }
            resolve(r, &city, Some(limits), dialogue, ctx).await?;
        }
        SubscribeArgs::Invalid(why) if why.is_empty() => {
            r.say(r.t().subscribe_usage).await?;
        }
        SubscribeArgs::Invalid(why) => {
            r.say(format!("{why}\n\n{}", r.t().subscribe_usage)).await?;
        }
    }
    Ok(())
}

/// Refuses at once when the chat already has the most subscriptions allowed.
async fn at_limit(r: &Replier, ctx: &BotContext) -> Result<bool, super::BotError> {
    let Ok(chat) = ChatId::new(r.chat.0) else {
        return Ok(true);
    };
    match ctx.store.subscriptions_of_chat(chat).await {
        Ok(subs) if subs.len() >= MAX_SUBSCRIPTIONS_PER_CHAT as usize => {
            r.say(fill(
                r.t().too_many,
                &[&MAX_SUBSCRIPTIONS_PER_CHAT.to_string()],
            ))
            .await?;
            Ok(true)
        }
        Ok(_) => Ok(false),
        Err(e) => {
            r.internal(e).await?;
            Ok(true)
        }
    }
}

/// Geocodes the name: unknown → ask again; one match → next step; several →
/// buttons. With `limits` (one-line form) a single match is stored at once.
pub async fn resolve(
    r: &Replier,
    city: &CityName,
    limits: Option<Limits>,
    dialogue: &MyDialogue,
    ctx: &BotContext,
) -> HandlerResult {
    let places = match ctx.subscriber.resolve(city).await {
        Ok(p) => p,
        Err(SubscribeError::UnknownCity(name)) => {
            dialogue.update(State::SubscribeCity).await?;
            r.say(fill(r.t().unknown_city, &[&name])).await?;
            return Ok(());
        }
        Err(e) => return failed(r, e, dialogue).await,
    };
    let mut choices: Vec<PlaceChoice> = places
        .iter()
        .take(MAX_CHOICES)
        .map(PlaceChoice::from)
        .collect();
    choices.dedup_by(|a, b| a.label() == b.label());
    if choices.len() == 1 {
        let place = PlaceChoice::from(&most_populous(places));
        return chosen(r, place, limits, dialogue, ctx).await;
    }
    let buttons = choices
        .iter()
        .enumerate()
        .map(|(i, p)| vec![(p.label(), Button::Place(i).data())])
        .collect();
    dialogue
        .update(State::SubscribePlace {
            query: city.as_str().to_owned(),
            places: choices,
            watch: limits,
        })
        .await?;
    r.ask(fill(r.t().choose_place, &[city.as_str()]), buttons)
        .await?;
    Ok(())
}

/// A place is known: store at once (one-line form) or ask for the minimum.
pub async fn chosen(
    r: &Replier,
    place: PlaceChoice,
    limits: Option<Limits>,
    dialogue: &MyDialogue,
    ctx: &BotContext,
) -> HandlerResult {
    match limits {
        Some(limits) => store(r, &place, limits, dialogue, ctx).await,
        None => guided::ask_min(r, place, dialogue).await,
    }
}

/// Stores the subscription; the dialogue ends whatever the outcome, except
/// for a failing weather service (nothing to fix for the user).
pub async fn store(
    r: &Replier,
    place: &PlaceChoice,
    limits: Limits,
    dialogue: &MyDialogue,
    ctx: &BotContext,
) -> HandlerResult {
    let watch = match Watch::new(limits.min, limits.max, limits.rain, limits.snow) {
        Ok(w) => w.with_lead(limits.ahead()),
        Err(e) => {
            dialogue.exit().await?;
            r.say(format!("{e}\n\n{}", r.t().subscribe_usage)).await?;
            return Ok(());
        }
    };
    let Ok(chat) = ChatId::new(r.chat.0) else {
        return Ok(());
    };
    match ctx
        .subscriber
        .subscribe_at(chat, &Place::from(place), &watch)
        .await
    {
        Ok(sub) => {
            dialogue.exit().await?;
            let mut summary = limits_text(
                sub.t_min,
                sub.t_max,
                sub.rain,
                sub.snow,
                r.t(),
                r.lang,
                r.units,
            );
            // Said only when asked for: most subscriptions have none.
            if watch.ahead.is_some() {
                summary.push_str(&format!(" · {}", lead_text(watch.ahead, r.t())));
            }
            r.say(fill(
                r.t().subscribed,
                &[&sub.id.to_string(), &place.label(), &summary],
            ))
            .await?;
            Ok(())
        }
        Err(e) => {
            dialogue.exit().await?;
            failed(r, e, dialogue).await
        }
    }
}

async fn failed(r: &Replier, err: SubscribeError, dialogue: &MyDialogue) -> HandlerResult {
    match err {
        SubscribeError::AlreadySubscribed(sub) => {
            dialogue.exit().await?;
            let place = crate::text::place(&sub.city, &sub.country);
            r.say(fill(
                r.t().already_subscribed,
                &[&sub.id.to_string(), &place],
            ))
            .await?;
        }
        SubscribeError::TooMany(n) => {
            dialogue.exit().await?;
            r.say(fill(r.t().too_many, &[&n.to_string()])).await?;
        }
        SubscribeError::Upstream(e) => {
            tracing::warn!(chat_id = r.chat.0, error = %e, "weather provider failed during /subscribe");
            r.say(r.t().weather_unavailable).await?;
        }
        SubscribeError::Invalid(e) => {
            r.say(fill(r.t().invalid_value, &[&e.to_string()])).await?;
        }
        SubscribeError::UnknownCity(name) => {
            r.say(fill(r.t().unknown_city, &[&name])).await?;
        }
        SubscribeError::Internal(e) => r.internal(e).await?,
    }
    Ok(())
}

/// A shared location subscribes to that point: the guided flow from the
/// minimum. Only while idle or asked for the city (`schema` answers any other
/// state's location with the "send text" hint).
pub async fn on_location(
    r: super::reply::Replier,
    msg: teloxide::types::Message,
    dialogue: MyDialogue,
    ctx: BotContext,
) -> HandlerResult {
    let Some(loc) = msg.location() else {
        return Ok(());
    };
    if at_limit(&r, &ctx).await? {
        return Ok(());
    }
    let coords = format!("{:.4}, {:.4}", loc.latitude, loc.longitude);
    let place = PlaceChoice {
        name: fill(r.t().location_place, &[&coords]),
        country: String::new(),
        region: None,
        latitude: loc.latitude,
        longitude: loc.longitude,
        // A shared location names no zone; the forecast's will do (the
        // poller adopts it for a chat that has none).
        timezone: None,
    };
    guided::ask_min(&r, place, &dialogue).await
}
