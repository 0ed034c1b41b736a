//! /subscriptions (with a 🗑 button per row) and /unsubscribe <id>.

use super::buttons::Button;
use super::reply::Replier;
use super::{BotContext, HandlerResult};
use crate::domain::{ChatId, LeadTime};
use crate::store::Subscription;
use crate::text::{self, BotTexts, Language, Units, fill};

pub async fn show(r: &Replier, ctx: &BotContext) -> HandlerResult {
    let Ok(chat) = ChatId::new(r.chat.0) else {
        return Ok(());
    };
    let subs = match ctx.store.subscriptions_of_chat(chat).await {
        Ok(s) => s,
        Err(e) => return Ok(r.internal(e).await?),
    };
    if subs.is_empty() {
        r.say(r.t().no_subscriptions).await?;
        return Ok(());
    }
    let mut body = String::from(r.t().subscriptions_head);
    let mut buttons = Vec::new();
    for sub in &subs {
        body.push_str(&format!(
            "\n#{} {}",
            sub.id,
            describe(sub, r.t(), r.lang, r.units)
        ));
        buttons.push(vec![(
            format!("🗑 #{} {}", sub.id, sub.city),
            Button::Delete(sub.id).data(),
        )]);
    }
    r.ask(body, buttons).await?;
    Ok(())
}

pub async fn unsubscribe(r: &Replier, args: &str, ctx: &BotContext) -> HandlerResult {
    let Ok(id) = args.trim().trim_start_matches('#').parse::<i64>() else {
        r.say(r.t().unsubscribe_usage).await?;
        return Ok(());
    };
    remove(r, id, ctx).await
}

/// Removes one of the chat's own subscriptions; another chat's id is
/// answered exactly like a missing one.
pub async fn remove(r: &Replier, id: i64, ctx: &BotContext) -> HandlerResult {
    match removal(r, id, ctx).await {
        Ok(text) => r.say(text).await?,
        Err(e) => return Ok(r.internal(e).await?),
    };
    Ok(())
}

/// Removes one of the chat's own subscriptions and says what happened (a
/// button press shows it as its notice too).
pub async fn removal(r: &Replier, id: i64, ctx: &BotContext) -> anyhow::Result<String> {
    let chat = ChatId::new(r.chat.0).map_err(|e| anyhow::anyhow!("{e}"))?;
    let removed = ctx.store.delete_subscription(chat, id).await?;
    let template = if removed {
        r.t().removed
    } else {
        r.t().not_yours
    };
    Ok(fill(template, &[&id.to_string()]))
}

/// "Rome, IT — min 5 °C · max 30 °C · ☔ rain · ⏰ heads-up 3h ahead".
pub fn describe(sub: &Subscription, t: &BotTexts, lang: Language, units: Units) -> String {
    let limits = limits_text(sub.t_min, sub.t_max, sub.rain, sub.snow, t, lang, units);
    // A stored lead that no longer reads (never written by us) shows as off,
    // which is also how the alert engine treats it.
    let lead = sub.ahead_s.and_then(|s| LeadTime::from_secs(s).ok());
    let limits = format!("{limits} · {}", lead_text(lead, t));
    let paused = if sub.active {
        String::new()
    } else {
        format!(" ({})", t.paused)
    };
    format!(
        "{} — {limits}{paused}",
        text::place(&sub.city, &sub.country)
    )
}

/// "⏰ heads-up 3h ahead" or "no heads-up".
pub fn lead_text(lead: Option<LeadTime>, t: &BotTexts) -> String {
    match lead {
        Some(lead) => fill(t.heads_up_on, &[&lead.label()]),
        None => t.heads_up_off.to_owned(),
    }
}

pub fn limits_text(
    min: Option<f64>,
    max: Option<f64>,
    rain: bool,
    snow: bool,
    t: &BotTexts,
    lang: Language,
    units: Units,
) -> String {
    let mut parts = Vec::new();
    if let Some(min) = min {
        parts.push(format!(
            "{} {}",
            t.min_word,
            text::temperature(min, lang, units)
        ));
    }
    if let Some(max) = max {
        parts.push(format!(
            "{} {}",
            t.max_word,
            text::temperature(max, lang, units)
        ));
    }
    if rain {
        parts.push(format!("☔ {}", t.rain_word));
    }
    if snow {
        parts.push(format!("❄️ {}", t.snow_word));
    }
    parts.join(" · ")
}
