//! The guided /subscribe, one question at a time: minimum, maximum, rain,
//! snow, the heads-up lead time, then a summary to confirm. Every answer —
//! typed or a button — is checked where it is given, and a bad one leaves
//! the same question standing.

use super::buttons::Button;
use super::reply::Replier;
use super::state::{Limits, PlaceChoice, State};
use super::subscribe::{chosen, resolve};
use super::{Answer, BotContext, HandlerResult, MyDialogue};
use crate::bot::list::{lead_text, limits_text};
use crate::domain::{CityName, LeadTime, Temperature, parse_flag};
use crate::subscribe::{Watch, parse_ahead};
use crate::text::fill;

/// The lead-time buttons, in minutes (0: off). Longer or odd leads are typed.
const AHEAD_CHOICES: [u64; 5] = [0, 60, 180, 720, 1440];

pub async fn ask_min(r: &Replier, place: PlaceChoice, dialogue: &MyDialogue) -> HandlerResult {
    let buttons = vec![vec![(
        r.t().no_minimum.to_owned(),
        Button::NoMinimum.data(),
    )]];
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
    let buttons = vec![vec![(
        r.t().no_maximum.to_owned(),
        Button::NoMaximum.data(),
    )]];
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
    r.ask(r.t().ask_rain, yes_no(r, Button::Rain)).await?;
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
    r.ask(r.t().ask_snow, yes_no(r, Button::Snow)).await?;
    Ok(())
}

/// The limits are complete: start over when there is nothing to watch, else
/// ask for the heads-up lead time.
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
    dialogue
        .update(State::SubscribeAhead { place, limits })
        .await?;
    r.ask(r.t().ask_ahead, ahead_buttons(r)).await?;
    Ok(())
}

/// Last answer: summarise and ask for confirmation.
pub async fn on_ahead(
    r: &Replier,
    place: PlaceChoice,
    limits: Limits,
    ahead: Option<LeadTime>,
    dialogue: &MyDialogue,
) -> HandlerResult {
    let limits = limits.with_ahead(ahead);
    let summary = format!(
        "{}\n{}",
        limits_text(
            limits.min,
            limits.max,
            limits.rain,
            limits.snow,
            r.t(),
            r.lang,
            r.units,
        ),
        lead_text(limits.ahead(), r.t())
    );
    let prompt = fill(r.t().summary, &[&place.label(), &summary]);
    dialogue
        .update(State::SubscribeConfirm { place, limits })
        .await?;
    r.ask(prompt, confirm_cancel(r)).await?;
    Ok(())
}

/// The lead a button stands for: `ahead:off` or `ahead:<minutes>` of the
/// offered ones; anything else is a stale or forged button.
pub fn ahead_choice(minutes: Option<u64>) -> Option<Option<LeadTime>> {
    let Some(minutes) = minutes else {
        return Some(None);
    };
    if !AHEAD_CHOICES.contains(&minutes) || minutes == 0 {
        return None;
    }
    LeadTime::parse_optional(&minutes.to_string()).ok()
}

fn ahead_buttons(r: &Replier) -> Vec<Vec<(String, String)>> {
    let row = AHEAD_CHOICES
        .iter()
        .map(|&minutes| match minutes {
            0 => (r.t().no_heads_up.to_owned(), Button::Ahead(None).data()),
            m => (format!("{} h", m / 60), Button::Ahead(Some(m)).data()),
        })
        .collect();
    vec![row]
}

pub fn confirm_cancel(r: &Replier) -> Vec<Vec<(String, String)>> {
    vec![vec![
        (r.t().confirm.to_owned(), Button::Confirm.data()),
        (r.t().cancel.to_owned(), Button::Cancel.data()),
    ]]
}

/// Yes / no buttons for a question (`Button::Rain` or `Button::Snow`).
fn yes_no(r: &Replier, answer: fn(bool) -> Button) -> Vec<Vec<(String, String)>> {
    vec![vec![
        (r.t().yes.to_owned(), answer(true).data()),
        (r.t().no.to_owned(), answer(false).data()),
    ]]
}

// Typed answers, one per question (`schema` routes each state here).

fn invalid(r: &Replier, e: crate::domain::ParseError) -> String {
    fill(r.t().invalid_value, &[&e.to_string()])
}

/// The city to subscribe to.
pub async fn typed_city(
    r: Replier,
    Answer(text): Answer,
    dialogue: MyDialogue,
    ctx: BotContext,
) -> HandlerResult {
    match CityName::parse(&text) {
        Ok(city) => resolve(&r, &city, None, &dialogue, &ctx).await?,
        Err(e) => {
            r.say(invalid(&r, e)).await?;
        }
    }
    Ok(())
}

/// One of the offered places, typed: the number of a button or the exact
/// label; anything else is looked up as another name altogether.
pub async fn typed_place(
    r: Replier,
    Answer(text): Answer,
    (_query, places, watch): (String, Vec<PlaceChoice>, Option<Limits>),
    dialogue: MyDialogue,
    ctx: BotContext,
) -> HandlerResult {
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
        Some(place) => chosen(&r, place, watch, &dialogue, &ctx).await?,
        None => match CityName::parse(&text) {
            Ok(city) => resolve(&r, &city, watch, &dialogue, &ctx).await?,
            Err(e) => {
                r.say(invalid(&r, e)).await?;
            }
        },
    }
    Ok(())
}

pub async fn typed_min(
    r: Replier,
    Answer(text): Answer,
    place: PlaceChoice,
    dialogue: MyDialogue,
) -> HandlerResult {
    match Temperature::parse_with_units(&text, r.units) {
        Ok(min) => ask_max(&r, place, min.map(Temperature::celsius), &dialogue).await?,
        Err(e) => {
            r.say(invalid(&r, e)).await?;
        }
    }
    Ok(())
}

pub async fn typed_max(
    r: Replier,
    Answer(text): Answer,
    (place, min): (PlaceChoice, Option<f64>),
    dialogue: MyDialogue,
) -> HandlerResult {
    match Temperature::parse_with_units(&text, r.units) {
        Ok(max) => on_max(&r, place, min, max.map(Temperature::celsius), &dialogue).await?,
        Err(e) => {
            r.say(invalid(&r, e)).await?;
        }
    }
    Ok(())
}

pub async fn typed_rain(
    r: Replier,
    Answer(text): Answer,
    (place, min, max): (PlaceChoice, Option<f64>, Option<f64>),
    dialogue: MyDialogue,
) -> HandlerResult {
    match parse_flag(&text) {
        Ok(rain) => on_rain(&r, place, min, max, rain, &dialogue).await?,
        Err(_) => {
            r.ask(r.t().answer_yes_no, yes_no(&r, Button::Rain)).await?;
        }
    }
    Ok(())
}

pub async fn typed_snow(
    r: Replier,
    Answer(text): Answer,
    (place, min, max, rain): (PlaceChoice, Option<f64>, Option<f64>, bool),
    dialogue: MyDialogue,
) -> HandlerResult {
    match parse_flag(&text) {
        Ok(snow) => {
            let limits = Limits {
                min,
                max,
                rain,
                snow,
                ahead_s: None,
            };
            on_snow(&r, place, limits, &dialogue).await?
        }
        Err(_) => {
            r.ask(r.t().answer_yes_no, yes_no(&r, Button::Snow)).await?;
        }
    }
    Ok(())
}

pub async fn typed_ahead(
    r: Replier,
    Answer(text): Answer,
    (place, limits): (PlaceChoice, Limits),
    dialogue: MyDialogue,
) -> HandlerResult {
    match parse_ahead(Some(&text)) {
        Ok(ahead) => on_ahead(&r, place, limits, ahead, &dialogue).await?,
        Err(e) => {
            r.ask(invalid(&r, e), ahead_buttons(&r)).await?;
        }
    }
    Ok(())
}

/// The summary waits for a button, not for text.
pub async fn typed_confirm(r: Replier) -> HandlerResult {
    r.ask(r.t().answer_yes_no, confirm_cancel(&r)).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_offered_buttons_count() {
        let choice = |d: &str| match Button::parse(d) {
            Some(Button::Ahead(minutes)) => ahead_choice(minutes),
            _ => None,
        };
        assert_eq!(choice("ahead:off"), Some(None));
        let hours = |d: &str| choice(d).map(|l| l.map(|l| l.as_secs() / 3600));
        assert_eq!(hours("ahead:60"), Some(Some(1)));
        assert_eq!(hours("ahead:1440"), Some(Some(24)));
        for stale in [
            "ahead:0",
            "ahead:61",
            "ahead:-60",
            "ahead:",
            "ahead:99999999999",
            "x",
        ] {
            assert_eq!(choice(stale), None, "{stale}");
        }
    }
}
