//! Inline-button presses. Each press is checked against the dialogue state it
//! belongs to; a stale button (an old message) gets "expired", never acts.

use teloxide::prelude::*;

use super::buttons::Button;
use super::reply::{Replier, replier};
use super::state::{Limits, State};
use super::{
    BotContext, HandlerResult, MyDialogue, guided, list, quiet, register, settings, subscribe,
};

pub async fn handle(
    bot: Bot,
    q: CallbackQuery,
    dialogue: MyDialogue,
    ctx: BotContext,
) -> HandlerResult {
    let Some(chat) = q.message.as_ref().map(|m| m.chat().id) else {
        bot.answer_callback_query(q.id.clone()).await?;
        return Ok(());
    };
    let r = replier(&ctx, &bot, chat, Some(&q.from)).await;
    let button = q.data.as_deref().and_then(Button::parse);
    // The buttons under an alert answer with a short notice on the press
    // itself (answerCallbackQuery), whatever the dialogue is doing.
    let notice = match button {
        Some(Button::Snooze { id, minutes }) => {
            Some(quiet::snooze_button(&r, id, Some(minutes), &ctx).await)
        }
        Some(Button::SnoozeUntilMorning(id)) => {
            Some(quiet::snooze_button(&r, id, None, &ctx).await)
        }
        Some(Button::Delete(id)) => Some(match list::removal(&r, id, &ctx).await {
            Ok(text) => text,
            Err(e) => r.failure(&e, "unsubscribe failed").to_owned(),
        }),
        Some(Button::Setting(setting)) => {
            let message = q.message.as_ref().map(|m| m.id());
            Some(match settings::press(&r, setting, message, &ctx).await {
                Ok(text) => text,
                Err(e) => r.failure(&e, "setting failed").to_owned(),
            })
        }
        None => Some(r.t().expired_choice.to_owned()),
        Some(_) => None,
    };
    // Always answer, or the user's client shows a spinner.
    match &notice {
        Some(text) => bot.answer_callback_query(q.id.clone()).text(text).await?,
        None => bot.answer_callback_query(q.id.clone()).await?,
    };
    let Some(button) = button else {
        return expired(&r).await;
    };
    if let Button::Delete(_) = button {
        // Said in the chat too, where the list it came from is.
        if let Some(text) = notice {
            r.say(text).await?;
        }
        return Ok(());
    }
    if notice.is_some() {
        return Ok(());
    }
    let state = dialogue.get().await?.unwrap_or_default();
    match (button, state) {
        (
            Button::SuggestedUsername,
            State::RegisterUsername {
                suggestion: Some(name),
            },
        ) => register::on_username(&r, &name, &dialogue, &ctx).await,
        (Button::Place(i), State::SubscribePlace { places, watch, .. }) => {
            match places.get(i).cloned() {
                Some(place) => subscribe::chosen(&r, place, watch, &dialogue, &ctx).await,
                None => expired(&r).await,
            }
        }
        (Button::NoMinimum, State::SubscribeMin { place }) => {
            guided::ask_max(&r, place, None, &dialogue).await
        }
        (Button::NoMaximum, State::SubscribeMax { place, min }) => {
            guided::on_max(&r, place, min, None, &dialogue).await
        }
        (Button::Rain(rain), State::SubscribeRain { place, min, max }) => {
            guided::on_rain(&r, place, min, max, rain, &dialogue).await
        }
        (
            Button::Snow(snow),
            State::SubscribeSnow {
                place,
                min,
                max,
                rain,
            },
        ) => {
            let limits = Limits {
                min,
                max,
                rain,
                snow,
                ahead_s: None,
            };
            guided::on_snow(&r, place, limits, &dialogue).await
        }
        (Button::Ahead(minutes), State::SubscribeAhead { place, limits }) => {
            match guided::ahead_choice(minutes) {
                Some(ahead) => guided::on_ahead(&r, place, limits, ahead, &dialogue).await,
                None => expired(&r).await,
            }
        }
        (Button::Confirm, State::SubscribeConfirm { place, limits }) => {
            subscribe::store(&r, &place, limits, &dialogue, &ctx).await
        }
        (Button::Cancel, State::SubscribeConfirm { .. }) => {
            dialogue.exit().await?;
            r.say(r.t().cancelled).await?;
            Ok(())
        }
        _ => expired(&r).await,
    }
}

async fn expired(r: &Replier) -> HandlerResult {
    r.say(r.t().expired_choice).await?;
    Ok(())
}
