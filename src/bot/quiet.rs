//! Living with alerts (issue 10): `/timezone`, `/quiet`, `/snooze` and the
//! 🔕 buttons under an alert. Everything typed is parsed whole before
//! anything is stored; a refusal changes nothing.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use super::reply::Replier;
use super::{BotContext, HandlerResult};
use crate::domain::{ChatZone, LocalTime, QuietMode};
use crate::store::SnoozeTarget;
use crate::text::{QuietTexts, fill, quiet_texts};

/// The longest snooze.
pub const MAX_SNOOZE: Duration = Duration::from_secs(30 * 24 * 3600);
/// "Until tomorrow" means the chat's next local morning at this time.
const MORNING: u16 = 7 * 60;

fn t(r: &Replier) -> &'static QuietTexts {
    quiet_texts(r.lang)
}

/// The chat's zone, UTC when it has none (or the store cannot say).
async fn zone_of(ctx: &BotContext, chat: i64) -> Option<ChatZone> {
    ctx.store.chat_settings(chat).await.ok()?.zone
}

/// `/timezone [name]`.
pub async fn timezone(r: &Replier, args: &str, ctx: &BotContext) -> HandlerResult {
    let now = ctx.clock.now();
    if args.trim().is_empty() {
        let text = match ctx.store.chat_settings(r.chat.0).await {
            Ok(s) => match s.zone {
                Some(z) => fill(t(r).timezone_is, &[z.name(), &z.hhmm(now)]),
                None => t(r).timezone_unset.to_owned(),
            },
            Err(e) => return Ok(r.internal(e).await?),
        };
        r.say(text).await?;
        return Ok(());
    }
    let zone = match ChatZone::parse(args) {
        Ok(z) => z,
        Err(e) => {
            r.say(format!("{e}\n{}", t(r).timezone_usage)).await?;
            return Ok(());
        }
    };
    if let Err(e) = ctx.store.set_chat_timezone(r.chat.0, zone).await {
        return Ok(r.internal(e).await?);
    }
    r.say(fill(t(r).timezone_set, &[zone.name(), &zone.hhmm(now)]))
        .await?;
    Ok(())
}

/// `/quiet [from-to [hold] | off]`.
pub async fn quiet(r: &Replier, args: &str, ctx: &BotContext) -> HandlerResult {
    let args = args.trim();
    if args.is_empty() {
        let settings = match ctx.store.chat_settings(r.chat.0).await {
            Ok(s) => s,
            Err(e) => return Ok(r.internal(e).await?),
        };
        let text = match settings.quiet {
            Some(q) => describe(r, q, settings.zone_or_utc()),
            None => t(r).quiet_none.to_owned(),
        };
        r.say(text).await?;
        return Ok(());
    }
    if args.eq_ignore_ascii_case("off") {
        if let Err(e) = ctx.store.set_quiet_hours(r.chat.0, None).await {
            return Ok(r.internal(e).await?);
        }
        r.say(t(r).quiet_off).await?;
        return Ok(());
    }
    let quiet = match crate::domain::QuietHours::parse(args) {
        Ok(q) => q,
        Err(e) => {
            r.say(format!("{e}\n{}", t(r).quiet_usage)).await?;
            return Ok(());
        }
    };
    if let Err(e) = ctx.store.set_quiet_hours(r.chat.0, Some(quiet)).await {
        return Ok(r.internal(e).await?);
    }
    let zone = zone_of(ctx, r.chat.0).await.unwrap_or(ChatZone::UTC);
    r.say(describe(r, quiet, zone)).await?;
    Ok(())
}

fn describe(r: &Replier, q: crate::domain::QuietHours, zone: ChatZone) -> String {
    let window = format!("{}-{}", q.start, q.end);
    let template = match q.mode {
        QuietMode::Silent => t(r).quiet_silent,
        QuietMode::Hold => t(r).quiet_hold,
    };
    fill(template, &[&window, zone.name()])
}

/// What `/snooze` was asked.
#[derive(Debug, Clone, Copy, PartialEq)]
enum SnoozeCommand {
    Set(SnoozeTarget, Duration),
    Off(SnoozeTarget),
}

/// `/snooze off`, `/snooze <duration>` (all), `/snooze <id|all> <duration|off>`.
fn parse_snooze(args: &str) -> Result<SnoozeCommand, SnoozeRefusal> {
    let words: Vec<&str> = args.split_whitespace().collect();
    let (target, what) = match words.as_slice() {
        [what] => (SnoozeTarget::All, *what),
        [target, what] => {
            let target = if target.eq_ignore_ascii_case("all") {
                SnoozeTarget::All
            } else {
                let digits = target.trim_start_matches('#');
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(SnoozeRefusal::Usage);
                }
                SnoozeTarget::One(digits.parse().map_err(|_| SnoozeRefusal::Usage)?)
            };
            (target, *what)
        }
        _ => return Err(SnoozeRefusal::Usage),
    };
    if what.eq_ignore_ascii_case("off") {
        return Ok(SnoozeCommand::Off(target));
    }
    let span =
        humantime::parse_duration(what).map_err(|_| SnoozeRefusal::Duration(what.to_owned()))?;
    if span < Duration::from_secs(60) || span > MAX_SNOOZE {
        return Err(SnoozeRefusal::Duration(what.to_owned()));
    }
    Ok(SnoozeCommand::Set(target, span))
}

#[derive(Debug, Clone, PartialEq)]
enum SnoozeRefusal {
    Usage,
    Duration(String),
}

/// `/snooze …`.
pub async fn snooze(r: &Replier, args: &str, ctx: &BotContext) -> HandlerResult {
    let command = match parse_snooze(args) {
        Ok(c) => c,
        Err(SnoozeRefusal::Usage) => {
            r.say(t(r).snooze_usage).await?;
            return Ok(());
        }
        Err(SnoozeRefusal::Duration(raw)) => {
            r.say(fill(t(r).snooze_bad_duration, &[&raw])).await?;
            return Ok(());
        }
    };
    let now = ctx.clock.now();
    let (target, until) = match command {
        SnoozeCommand::Set(target, span) => (
            target,
            Some(now + TimeDelta::from_std(span).unwrap_or(TimeDelta::MAX)),
        ),
        SnoozeCommand::Off(target) => (target, None),
    };
    let changed = match ctx
        .store
        .snooze(r.chat.0, target, until.map(|u| u.timestamp()))
        .await
    {
        Ok(n) => n,
        Err(e) => return Ok(r.internal(e).await?),
    };
    let text = match (target, until, changed) {
        (SnoozeTarget::One(id), _, 0) => fill(t(r).snooze_not_yours, &[&id.to_string()]),
        (SnoozeTarget::All, _, 0) => t(r).snooze_none.to_owned(),
        (_, None, _) => t(r).snooze_off.to_owned(),
        (SnoozeTarget::One(id), Some(until), _) => {
            let zone = zone_of(ctx, r.chat.0).await.unwrap_or(ChatZone::UTC);
            fill(t(r).snoozed_one, &[&id.to_string(), &when(zone, until)])
        }
        (SnoozeTarget::All, Some(until), _) => {
            let zone = zone_of(ctx, r.chat.0).await.unwrap_or(ChatZone::UTC);
            fill(t(r).snoozed_all, &[&when(zone, until)])
        }
    };
    r.say(text).await?;
    Ok(())
}

/// A 🔕 button under an alert: snoozes subscription `id` of this chat for
/// `minutes`, or (`None`) until the chat's next local morning. Returns the
/// short notice the press is answered with; a subscription that is not the
/// chat's (or is gone) changes nothing.
pub async fn snooze_button(r: &Replier, id: i64, minutes: Option<u32>, ctx: &BotContext) -> String {
    let now = ctx.clock.now();
    let zone = zone_of(ctx, r.chat.0).await.unwrap_or(ChatZone::UTC);
    let until = match minutes {
        Some(m) => now + TimeDelta::minutes(i64::from(m).min(MAX_SNOOZE.as_secs() as i64 / 60)),
        None => zone.next(now, LocalTime::from_minutes(MORNING).expect("07:00")),
    };
    match ctx
        .store
        .snooze(r.chat.0, SnoozeTarget::One(id), Some(until.timestamp()))
        .await
    {
        Ok(0) => fill(t(r).snooze_not_yours, &[&id.to_string()]),
        Ok(_) => fill(t(r).snoozed_one, &[&id.to_string(), &when(zone, until)]),
        Err(e) => r.failure(&e, "snooze failed").to_owned(),
    }
}

/// "28/11 07:00" in the chat's zone.
fn when(zone: ChatZone, at: DateTime<Utc>) -> String {
    at.with_timezone(&zone.tz())
        .format("%d/%m %H:%M")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snooze_commands_parse_whole() {
        use SnoozeCommand::{Off, Set};
        use SnoozeTarget::{All, One};
        let h = |n: u64| Duration::from_secs(n * 3600);
        assert_eq!(parse_snooze("12 3h"), Ok(Set(One(12), h(3))));
        assert_eq!(
            parse_snooze("#12 90m"),
            Ok(Set(One(12), Duration::from_secs(5400)))
        );
        assert_eq!(parse_snooze("all 1d"), Ok(Set(All, h(24))));
        assert_eq!(parse_snooze("2h"), Ok(Set(All, h(2))));
        assert_eq!(parse_snooze("off"), Ok(Off(All)));
        assert_eq!(parse_snooze("12 off"), Ok(Off(One(12))));
        assert_eq!(parse_snooze("30d"), Ok(Set(All, h(720))));
        for bad in ["0", "400d", "31d", "30s", "soon", "12 0", "12 -3h"] {
            assert!(
                matches!(parse_snooze(bad), Err(SnoozeRefusal::Duration(_))),
                "{bad}"
            );
        }
        for bad in ["", "a b c", "x12 3h", "-1 3h", "12.5 3h"] {
            assert_eq!(parse_snooze(bad), Err(SnoozeRefusal::Usage), "{bad}");
        }
    }
}
