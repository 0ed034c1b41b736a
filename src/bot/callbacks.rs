//! Inline-button presses. Each press is checked against the dialogue state it
//! belongs to; a stale button (an old message) gets "expired", never acts.

use teloxide::prelude::*;

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
    let data = q.data.clone().unwrap_or_default();
    let state = dialogue.get().await?.unwrap_or_default();
    if let Some(id) = data.strip_prefix("del:") {
        return match id.parse::<i64>() {
            Ok(id) => list::remove(&r, id, &ctx).await,
            Err(_) => expired(&r).await,
        };
    }
    match (data.as_str(), state) {
        (
            "reguser",
            State::RegisterUsername {
                suggestion: Some(name),
            },
        ) => register::on_username(&r, &name, &dialogue, &ctx).await,
        (d, State::SubscribePlace { places, watch, .. }) if d.starts_with("place:") => {
            match d["place:".len()..]
                .parse::<usize>()
                .ok()
                .and_then(|i| places.get(i).cloned())
            {
                Some(place) => subscribe::chosen(&r, place, watch, &dialogue, &ctx).await,
                None => expired(&r).await,
            }
        }
        ("min:none", State::SubscribeMin { place }) => {
            guided::ask_max(&r, place, None, &dialogue).await
        }
        ("max:none", State::SubscribeMax { place, min }) => {
            guided::on_max(&r, place, min, None, &dialogue).await
        }
        (d @ ("rain:1" | "rain:0"), State::SubscribeRain { place, min, max }) => {
            guided::on_rain(&r, place, min, max, d == "rain:1", &dialogue).await
        }
        (
            d @ ("snow:1" | "snow:0"),
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
                snow: d == "snow:1",
                ahead_s: None,
            };
            guided::on_snow(&r, place, limits, &dialogue).await
        }
        (d, State::SubscribeAhead { place, limits }) if d.starts_with("ahead:") => {
            match guided::ahead_choice(d) {
                Some(ahead) => guided::on_ahead(&r, place, limits, ahead, &dialogue).await,
                None => expired(&r).await,
            }
        }
        ("confirm", State::SubscribeConfirm { place, limits }) => {
            subscribe::store(&r, &place, limits, &dialogue, &ctx).await
        }
        ("cancel", State::SubscribeConfirm { .. }) => {
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
