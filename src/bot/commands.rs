//! The command list and the simple commands: /start, /help, /cancel,
//! /language, /units, and the hint for anything not understood.

use teloxide::prelude::*;
use teloxide::utils::command::BotCommands;

use super::reply::{Replier, replier};
use super::state::State;
use super::{
    BotContext, HandlerResult, MyDialogue, ahead, forecast, guided, list, register, sla, subscribe,
    weather_now,
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
    Cancel,
    Sla(String),
}

pub async fn handle(
    bot: Bot,
    msg: Message,
    cmd: Command,
    dialogue: MyDialogue,
    ctx: BotContext,
) -> HandlerResult {
    let r = replier(&ctx, &bot, msg.chat.id, msg.from.as_ref()).await;
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
            let in_dialogue = !matches!(dialogue.get().await?, None | Some(State::Idle));
            dialogue.exit().await?;
            r.say(if in_dialogue {
                r.t().cancelled
            } else {
                r.t().nothing_to_cancel
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
        Command::Sla(args) => sla::handle(&r, &args, &ctx).await?,
    }
    Ok(())
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

/// Text that is not a known command, outside or inside a dialogue.
pub async fn dialogue_message(
    bot: Bot,
    msg: Message,
    dialogue: MyDialogue,
    ctx: BotContext,
) -> HandlerResult {
    let r = replier(&ctx, &bot, msg.chat.id, msg.from.as_ref()).await;
    let state = dialogue.get().await?.unwrap_or_default();
    let Some(text) = msg.text().map(str::to_owned) else {
        let hint = if state == State::Idle {
            r.t().unknown
        } else {
            r.t().send_text
        };
        r.say(hint).await?;
        return Ok(());
    };
    if text.starts_with('/') {
        // An unknown command: it does not end the dialogue.
        r.say(r.t().unknown).await?;
        return Ok(());
    }
    match state {
        State::Idle => {
            r.say(r.t().unknown).await?;
        }
        State::RegisterUsername { .. } => register::on_username(&r, &text, &dialogue, &ctx).await?,
        State::RegisterPassword { username } => {
            register::on_password(&r, &msg, &username, &text, &dialogue, &ctx).await?
        }
        other => guided::on_text(&r, other, &text, &dialogue, &ctx).await?,
    }
    Ok(())
}
