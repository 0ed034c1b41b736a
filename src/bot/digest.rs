//! /digest HH:MM | off: a daily message at that local time with the day's
//! forecast for each of the chat's places (the digest worker sends it);
//! /digest alone shows the current setting. Times are the chat's zone's.

use super::reply::Replier;
use super::{BotContext, HandlerResult};
use crate::domain::LocalTime;
use crate::text::{self, digest_texts};

pub async fn command(r: &Replier, args: &str, ctx: &BotContext) -> HandlerResult {
    let t = digest_texts(r.lang);
    let input = args.trim();
    let settings = match ctx.store.chat_settings(r.chat.0).await {
        Ok(settings) => settings,
        Err(e) => {
            r.internal(e).await?;
            return Ok(());
        }
    };
    let zone = settings.zone_or_utc();
    if input.is_empty() {
        let answer = match settings.digest_at {
            Some(at) => text::digest_shown(r.lang, &at.to_string(), zone),
            None => t.not_set.to_owned(),
        };
        r.say(answer).await?;
        return Ok(());
    }
    let at = if input.eq_ignore_ascii_case("off") {
        None
    } else {
        match LocalTime::parse(input) {
            Ok(at) => Some(at),
            Err(_) => {
                r.say(text::digest_bad_time(r.lang, input)).await?;
                return Ok(());
            }
        }
    };
    if let Err(e) = ctx.store.set_digest(r.chat.0, at).await {
        r.internal(e).await?;
        return Ok(());
    }
    let answer = match at {
        Some(at) => text::digest_set(r.lang, &at.to_string(), zone),
        None => t.off.to_owned(),
    };
    r.say(answer).await?;
    Ok(())
}
