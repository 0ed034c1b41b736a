//! /register: links an account to this chat. Username (the Telegram
//! @username is offered), then a password for the REST API whose message is
//! deleted right after reading.

use teloxide::prelude::*;

use super::buttons::Button;
use super::reply::Replier;
use super::state::State;
use super::{Answer, BotContext, HandlerResult, MyDialogue};
use crate::accounts::AccountError;
use crate::domain::{Password, Username};
use crate::text::fill;

pub async fn start(
    r: &Replier,
    msg: &Message,
    dialogue: &MyDialogue,
    ctx: &BotContext,
) -> HandlerResult {
    match ctx.store.user_by_chat(r.chat.0).await {
        Ok(Some(user)) => {
            r.say(fill(r.t().already_registered, &[&user.username]))
                .await?;
            return Ok(());
        }
        Ok(None) => {}
        Err(e) => return Ok(r.internal(e).await?),
    }
    let suggestion = msg
        .from
        .as_ref()
        .and_then(|u| u.username.clone())
        .filter(|name| Username::parse(name).is_ok());
    dialogue
        .update(State::RegisterUsername {
            suggestion: suggestion.clone(),
        })
        .await?;
    match &suggestion {
        Some(name) => {
            let button = vec![vec![(format!("@{name}"), Button::SuggestedUsername.data())]];
            r.ask(
                fill(r.t().ask_username_suggest, &[&format!("@{name}")]),
                button,
            )
            .await?;
        }
        None => {
            r.say(r.t().ask_username).await?;
        }
    }
    Ok(())
}

/// A typed username (`schema`: state `RegisterUsername`).
pub async fn typed_username(
    r: Replier,
    Answer(text): Answer,
    dialogue: MyDialogue,
    ctx: BotContext,
) -> HandlerResult {
    on_username(&r, &text, &dialogue, &ctx).await
}

/// A typed username, or the suggested one (button).
pub async fn on_username(
    r: &Replier,
    text: &str,
    dialogue: &MyDialogue,
    ctx: &BotContext,
) -> HandlerResult {
    let username = match Username::parse(text.trim_start_matches('@')) {
        Ok(u) => u,
        Err(e) => {
            r.say(fill(r.t().invalid_value, &[&e.to_string()])).await?;
            return Ok(());
        }
    };
    match ctx.store.user_by_name(username.as_str()).await {
        Ok(Some(_)) => {
            r.say(fill(r.t().username_taken, &[username.as_str()]))
                .await?;
        }
        Ok(None) => {
            dialogue
                .update(State::RegisterPassword {
                    username: username.as_str().to_owned(),
                })
                .await?;
            r.say(r.t().ask_password).await?;
        }
        Err(e) => r.internal(e).await?,
    }
    Ok(())
}

/// The typed password (`schema`: state `RegisterPassword`).
pub async fn on_password(
    r: Replier,
    msg: Message,
    username: String,
    Answer(text): Answer,
    dialogue: MyDialogue,
    ctx: BotContext,
) -> HandlerResult {
    // Delete first: whatever happens next, the secret must not stay in the chat.
    if let Err(e) = r.bot.delete_message(r.chat, msg.id).await {
        tracing::warn!(chat_id = r.chat.0, error = %crate::secret::redact_url(&e.to_string()), "could not delete a password message");
        r.say(r.t().password_not_deleted).await?;
    }
    if let Err(e) = Password::parse(&text) {
        r.say(fill(r.t().invalid_value, &[&e.to_string()])).await?;
        return Ok(());
    }
    match ctx
        .accounts
        .register(&username, &text, &r.chat.0.to_string())
        .await
    {
        Ok((user, _token)) => {
            dialogue.exit().await?;
            r.say(fill(r.t().registered, &[&user.username])).await?;
        }
        Err(AccountError::Taken(what)) if what.contains("chat") => {
            dialogue.exit().await?;
            let name = ctx
                .store
                .user_by_chat(r.chat.0)
                .await
                .ok()
                .flatten()
                .map(|u| u.username)
                .unwrap_or_default();
            r.say(fill(r.t().already_registered, &[&name])).await?;
        }
        Err(AccountError::Taken(_)) => {
            dialogue
                .update(State::RegisterUsername { suggestion: None })
                .await?;
            r.say(fill(r.t().username_taken, &[&username])).await?;
        }
        Err(AccountError::Invalid(e)) => {
            r.say(fill(r.t().invalid_value, &[&e.to_string()])).await?;
        }
        Err(e) => r.internal(anyhow::anyhow!("{e}")).await?,
    }
    Ok(())
}
