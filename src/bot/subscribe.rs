//! /subscribe, one line or guided: city (ambiguous → buttons), minimum,
//! maximum, rain, snow, then a summary to confirm. A shared location skips
//! the city. Every answer is checked where it is given; nothing is stored
//! before the confirmation (or a complete, valid one-line command).

use super::reply::Replier;
use super::state::{Limits, PlaceChoice, State};
use super::{BotContext, HandlerResult, MyDialogue};
use crate::bot::args::{SubscribeArgs, parse_subscribe};
use crate::bot::list::limits_text;
use crate::domain::{ChatId, CityName, Temperature, parse_flag};
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
    match parse_subscribe(args) {
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
        } => {
            let limits = Limits {
                min,
                max,
                rain,
                snow,
            };
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
async fn resolve(
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
        .map(|(i, p)| vec![(p.label(), format!("place:{i}"))])
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
        None => ask_min(r, place, dialogue).await,
    }
}

async fn ask_min(r: &Replier, place: PlaceChoice, dialogue: &MyDialogue) -> HandlerResult {
    let buttons = vec![vec![(r.t().no_minimum.to_owned(), "min:none".to_owned())]];
    let prompt = fill(r.t().ask_min, &[&place.label()]);
    dialogue.update(State::SubscribeMin { place }).await?;
    r.ask(prompt, buttons).await?;
    Ok(())
}

pub async fn ask_max(
    r: &Replier,
    place: PlaceChoice,
    min: Option<f64>,
    dialogue: &MyDialogue,
) -> HandlerResult {
    let buttons = vec![vec![(r.t().no_maximum.to_owned(), "max:none".to_owned())]];
    dialogue.update(State::SubscribeMax { place, min }).await?;
    r.ask(r.t().ask_max, buttons).await?;
    Ok(())
}

/// The maximum is in: check it against the minimum, then ask about rain.
pub async fn on_max(
    r: &Replier,
    place: PlaceChoice,
    min: Option<f64>,
    max: Option<f64>,
    dialogue: &MyDialogue,
) -> HandlerResult {
    if let (Some(lo), Some(hi)) = (min, max)
        && lo >= hi
    {
        let why = format!("the minimum ({lo} °C) must be below the maximum ({hi} °C)");
        r.say(fill(r.t().invalid_value, &[&why])).await?;
        return Ok(());
    }
    dialogue
        .update(State::SubscribeRain { place, min, max })
        .await?;
    r.ask(r.t().ask_rain, yes_no(r, "rain")).await?;
    Ok(())
}

pub async fn on_rain(
    r: &Replier,
    place: PlaceChoice,
    min: Option<f64>,
    max: Option<f64>,
    rain: bool,
    dialogue: &MyDialogue,
) -> HandlerResult {
    dialogue
        .update(State::SubscribeSnow {
            place,
            min,
            max,
            rain,
        })
        .await?;
    r.ask(r.t().ask_snow, yes_no(r, "snow")).await?;
    Ok(())
}

/// Last answer: summarise and ask for confirmation (or start over when there
/// is nothing to watch).
pub async fn on_snow(
    r: &Replier,
    place: PlaceChoice,
    limits: Limits,
    dialogue: &MyDialogue,
) -> HandlerResult {
    if Watch::new(limits.min, limits.max, limits.rain, limits.snow).is_err() {
        r.say(r.t().nothing_to_watch).await?;
        return ask_min(r, place, dialogue).await;
    }
    let units = r.units;
    let summary = limits_text(
        limits.min,
        limits.max,
        limits.rain,
        limits.snow,
        r.t(),
        r.lang,
        units,
    );
    let buttons = confirm_cancel(r);
    let prompt = fill(r.t().summary, &[&place.label(), &summary]);
    dialogue
        .update(State::SubscribeConfirm { place, limits })
        .await?;
    r.ask(prompt, buttons).await?;
    Ok(())
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
        Ok(w) => w,
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
            let units = r.units;
            let summary = limits_text(
                sub.t_min,
                sub.t_max,
                sub.rain,
                sub.snow,
                r.t(),
                r.lang,
                units,
            );
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

fn confirm_cancel(r: &Replier) -> Vec<Vec<(String, String)>> {
    vec![vec![
        (r.t().confirm.to_owned(), "confirm".to_owned()),
        (r.t().cancel.to_owned(), "cancel".to_owned()),
    ]]
}

fn yes_no(r: &Replier, what: &str) -> Vec<Vec<(String, String)>> {
    vec![vec![
        (r.t().yes.to_owned(), format!("{what}:1")),
        (r.t().no.to_owned(), format!("{what}:0")),
    ]]
}

/// A typed answer inside the subscribe dialogue.
pub async fn on_text(
    r: &Replier,
    state: State,
    text: &str,
    dialogue: &MyDialogue,
    ctx: &BotContext,
) -> HandlerResult {
    match state {
        State::SubscribeCity => match CityName::parse(text) {
            Ok(city) => resolve(r, &city, None, dialogue, ctx).await?,
            Err(e) => {
                r.say(fill(r.t().invalid_value, &[&e.to_string()])).await?;
            }
        },
        State::SubscribeMin { place } => match Temperature::parse_optional(text) {
            Ok(min) => ask_max(r, place, min.map(Temperature::celsius), dialogue).await?,
            Err(e) => {
                r.say(fill(r.t().invalid_value, &[&e.to_string()])).await?;
            }
        },
        State::SubscribeMax { place, min } => match Temperature::parse_optional(text) {
            Ok(max) => on_max(r, place, min, max.map(Temperature::celsius), dialogue).await?,
            Err(e) => {
                r.say(fill(r.t().invalid_value, &[&e.to_string()])).await?;
            }
        },
        State::SubscribeRain { place, min, max } => match parse_flag(text) {
            Ok(rain) => on_rain(r, place, min, max, rain, dialogue).await?,
            Err(_) => {
                r.ask(r.t().answer_yes_no, yes_no(r, "rain")).await?;
            }
        },
        State::SubscribeSnow {
            place,
            min,
            max,
            rain,
        } => match parse_flag(text) {
            Ok(snow) => {
                on_snow(
                    r,
                    place,
                    Limits {
                        min,
                        max,
                        rain,
                        snow,
                    },
                    dialogue,
                )
                .await?
            }
            Err(_) => {
                r.ask(r.t().answer_yes_no, yes_no(r, "snow")).await?;
            }
        },
        State::SubscribePlace { places, watch, .. } => {
            // A typed choice: the number of a button or the exact label.
            let pick = text
                .trim()
                .parse::<usize>()
                .ok()
                .and_then(|n| n.checked_sub(1))
                .or_else(|| {
                    places
                        .iter()
                        .position(|p| p.label().eq_ignore_ascii_case(text.trim()))
                });
            match pick.and_then(|i| places.get(i).cloned()) {
                Some(place) => chosen(r, place, watch, dialogue, ctx).await?,
                None => match CityName::parse(text) {
                    // Another name altogether: look it up instead.
                    Ok(city) => resolve(r, &city, watch, dialogue, ctx).await?,
                    Err(e) => {
                        r.say(fill(r.t().invalid_value, &[&e.to_string()])).await?;
                    }
                },
            }
        }
        State::SubscribeConfirm { .. } => {
            r.ask(r.t().answer_yes_no, confirm_cancel(r)).await?;
        }
        State::Idle | State::RegisterUsername { .. } | State::RegisterPassword { .. } => {
            r.say(r.t().unknown).await?;
        }
    }
    Ok(())
}

/// A shared location subscribes to that point: the guided flow from the minimum.
pub async fn on_location(
    bot: teloxide::Bot,
    msg: teloxide::types::Message,
    dialogue: MyDialogue,
    ctx: BotContext,
) -> HandlerResult {
    let r = super::reply::replier(&ctx, &bot, msg.chat.id, msg.from.as_ref()).await;
    let Some(loc) = msg.location() else {
        return Ok(());
    };
    let state = dialogue.get().await?.unwrap_or_default();
    if !matches!(state, State::Idle | State::SubscribeCity) {
        r.say(r.t().send_text).await?;
        return Ok(());
    }
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
    };
    ask_min(&r, place, &dialogue).await
}
