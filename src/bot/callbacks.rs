//! Inline-button presses. Each press is checked against the dialogue state it
//! belongs to; a stale button (an old message) gets "expired", never acts.

use teloxide::prelude::*;

use super::buttons::Button;
use super::reply::{Replier, replier};
use super::state::{Limits, State};
use super::{BotContext, HandlerResult, MyDialogue, guided, list, register, subscribe};

pub async fn handle(
    bot: Bot,
    q: CallbackQuery,
    dialogue: MyDialogue,
    ctx: BotContext,
) -> HandlerResult {
    // Always answer, or the user's client shows a spinner.
    bot.answer_callback_query(q.id.clone()).await?;
    let Some(chat) = q.message.as_ref().map(|m| m.chat().id) else {
        return Ok(());
    };
    let r = replier(&ctx, &bot, chat, Some(&q.from)).await;
    let state = dialogue.get().await?.unwrap_or_default();
    let Some(button) = q.data.as_deref().and_then(Button::parse) else {
        return expired(&r).await;
    };
    match (button, state) {
        (Button::Delete(id), _) => list::remove(&r, id, &ctx).await,
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
