//! /ahead <id> <lead>: changes how long before the forecast weather turns a
//! subscription of this chat gets its heads-up (`off` turns it off).

use super::args::tokens;
use super::reply::Replier;
use super::{BotContext, HandlerResult};
use crate::domain::ChatId;
use crate::subscribe::parse_ahead;
use crate::text::fill;

pub async fn set(r: &Replier, args: &str, ctx: &BotContext) -> HandlerResult {
    let words = tokens(args);
    let id = words
        .first()
        .and_then(|w| w.trim_start_matches('#').parse::<i64>().ok());
    let (Some(id), true) = (id, words.len() >= 2) else {
        r.say(r.t().ahead_usage).await?;
        return Ok(());
    };
    // `1h 30m` may come unquoted: everything after the id is the lead.
    let lead = match parse_ahead(Some(&words[1..].join(" "))) {
        Ok(lead) => lead,
        Err(e) => {
            r.say(format!("{e}\n\n{}", r.t().ahead_usage)).await?;
            return Ok(());
        }
    };
    let Ok(chat) = ChatId::new(r.chat.0) else {
        return Ok(());
    };
    let id_text = id.to_string();
    match ctx.store.set_ahead(chat, id, lead).await {
        Ok(true) => {
            let done = match lead {
                Some(lead) => fill(r.t().ahead_set, &[&id_text, &lead.label()]),
                None => fill(r.t().ahead_cleared, &[&id_text]),
            };
            r.say(done).await?;
        }
        // Another chat's id is answered exactly like a missing one.
        Ok(false) => {
            r.say(fill(r.t().ahead_not_yours, &[&id_text])).await?;
        }
        Err(e) => r.internal(e).await?,
    }
    Ok(())
}
