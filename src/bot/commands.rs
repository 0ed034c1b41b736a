//! The command list and the simple commands: /start, /help, /cancel,
//! /language, /units, and the hint for anything not understood.

use teloxide::prelude::*;
use teloxide::utils::command::BotCommands;

use super::reply::Replier;
use super::state::State;
use super::{
    BotContext, HandlerResult, MyDialogue, ahead, digest, forecast, list, quiet, register,
    settings, sla, subscribe, weather_now,
};
use crate::text::{self, Language, Units, fill};

#[derive(BotCommands, Clone, Debug, PartialEq)]
#[command(rename_rule = "lowercase")]
pub enum Command {
    Start,
    Help,
    Register,
    Subscribe(String),
    Subscriptions,
    Unsubscribe(String),
    Ahead(String),
    Weather(String),
    Forecast(String),
    Language(String),
    Units(String),
    Digest(String),
    Timezone(String),
    Quiet(String),
    Snooze(String),
    Settings,
    Cancel,
    Sla(String),
}

/// Every command but an admin's `/sla` (see `schema`).
pub async fn handle(
    r: Replier,
    msg: Message,
    cmd: Command,
    state: State,
    dialogue: MyDialogue,
    ctx: BotContext,
) -> HandlerResult {
    // A new command leaves any dialogue in progress, except the answers
    // /cancel and /help give about it.
    if !matches!(cmd, Command::Help | Command::Cancel) {
        dialogue.exit().await?;
    }
    match cmd {
        Command::Start => {
            let name = msg
                .from
                .as_ref()
                .map(|u| u.first_name.clone())
                .unwrap_or_default();
            r.say(fill(r.t().start, &[&name])).await?;
        }
        Command::Help => {
            r.say(text::help(r.lang, ctx.is_admin(msg.chat.id))).await?;
        }
        Command::Cancel => {
            dialogue.exit().await?;
            r.say(if state == State::Idle {
                r.t().nothing_to_cancel
            } else {
                r.t().cancelled
            })
            .await?;
        }
        Command::Register => register::start(&r, &msg, &dialogue, &ctx).await?,
        Command::Subscribe(args) => subscribe::command(&r, &args, &dialogue, &ctx).await?,
        Command::Subscriptions => list::show(&r, &ctx).await?,
        Command::Unsubscribe(args) => list::unsubscribe(&r, &args, &ctx).await?,
        Command::Ahead(args) => ahead::set(&r, &args, &ctx).await?,
        Command::Weather(city) => weather_now::show(&r, &city, &ctx).await?,
        Command::Forecast(city) => forecast::show(&r, &city, &ctx).await?,
        Command::Language(code) => set_language(r, &code, &ctx).await?,
        Command::Units(code) => set_units(&r, &code, &ctx).await?,
        Command::Digest(args) => digest::command(&r, &args, &ctx).await?,
        Command::Timezone(args) => quiet::timezone(&r, &args, &ctx).await?,
        Command::Quiet(args) => quiet::quiet(&r, &args, &ctx).await?,
        Command::Snooze(args) => quiet::snooze(&r, &args, &ctx).await?,
        Command::Settings => settings::show(&r, &ctx).await?,
        // An admin chat's /sla never gets here: `schema` routes it to `sla`.
        Command::Sla(_) => {
            r.say(r.t().not_allowed).await?;
        }
    }
    Ok(())
}

/// `/sla …` from an admin chat (the tree's admin filter let it through).
pub async fn sla(r: Replier, args: String, dialogue: MyDialogue, ctx: BotContext) -> HandlerResult {
    dialogue.exit().await?;
    sla::handle(&r, &args, &ctx).await
}

async fn set_language(r: Replier, code: &str, ctx: &BotContext) -> HandlerResult {
    let lang = match code.trim().to_lowercase().as_str() {
        "en" | "english" | "inglese" => Language::En,
        "it" | "italian" | "italiano" => Language::It,
        _ => {
            r.say(r.t().language_usage).await?;
            return Ok(());
        }
    };
    if let Err(e) = ctx.store.set_chat_language(r.chat.0, lang).await {
        r.internal(e).await?;
        return Ok(());
    }
    let r = Replier { lang, ..r };
    r.say(r.t().language_set).await?;
    Ok(())
}

async fn set_units(r: &Replier, code: &str, ctx: &BotContext) -> HandlerResult {
    let units = match code.trim().to_lowercase().as_str() {
        "c" | "°c" | "celsius" => Units::Celsius,
        "f" | "°f" | "fahrenheit" => Units::Fahrenheit,
        _ => {
            r.say(r.t().units_usage).await?;
            return Ok(());
        }
    };
    if let Err(e) = ctx.store.set_chat_units(r.chat.0, units).await {
        r.internal(e).await?;
        return Ok(());
    }
    let label = match units {
        Units::Celsius => "°C",
        Units::Fahrenheit => "°F",
    };
    r.say(fill(r.t().units_set, &[label])).await?;
    Ok(())
}

/// Text while idle or an unknown /command (which does not end the dialogue).
pub async fn unknown(r: Replier) -> HandlerResult {
    r.say(r.t().unknown).await?;
    Ok(())
}

/// Not text (a photo, a sticker, a location) while a question waits for text.
pub async fn send_text(r: Replier) -> HandlerResult {
    r.say(r.t().send_text).await?;
    Ok(())
}
