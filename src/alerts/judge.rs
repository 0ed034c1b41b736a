//! One watched subscription at one poll: decide its episodes, apply its
//! snooze, then its chat's quiet hours, and turn what is left into one
//! outbox row (with buttons to snooze or unsubscribe) or held happenings.

use std::time::Duration;

use chrono::{DateTime, FixedOffset, Offset, TimeZone, Utc};

use super::compose::{Audience, compose};
use super::decide::{DecideSettings, decide};
use super::quiet::hold;
use super::rules::{Condition, Rule};
use super::snooze::{self, Snooze};
use super::state::Episode;
use crate::domain::{ChatZone, LocalTime, QuietHours, QuietMode};
use crate::store::{EpisodeChange, EpisodeRow, NewHeld, NewMessage, Watched};
use crate::text::{Language, Units};
use crate::weather::{Sample, Series};

/// Everything one poll writes, gathered over its subscriptions.
#[derive(Debug, Default)]
pub(super) struct PollWrite {
    pub changes: Vec<EpisodeChange>,
    pub messages: Vec<NewMessage>,
    pub held: Vec<NewHeld>,
    pub woke: Vec<i64>,
    /// Chats without a time zone, with the zone of their first subscribed
    /// place's forecast: `(chat, subscription, zone)`, lowest id kept.
    pub zones: Vec<(i64, i64, String)>,
}

/// Judges `w` against `sample` (from `series`) at `now`.
pub(super) fn judge(
    w: &Watched,
    series: &Series,
    sample: &Sample,
    previous: impl Fn(Condition) -> Episode,
    now: DateTime<Utc>,
    settings: DecideSettings,
    out: &mut PollWrite,
) {
    let rule = rule_of(w);
    let lead = w
        .ahead_s
        .and_then(|s| u64::try_from(s).ok())
        .map(Duration::from_secs);
    if w.timezone.is_none()
        && let Some(zone) = series
            .timezone
            .as_deref()
            .filter(|z| ChatZone::parse(z).is_ok())
    {
        match out.zones.iter_mut().find(|(chat, _, _)| *chat == w.chat_id) {
            Some(entry) if entry.1 > w.id => *entry = (w.chat_id, w.id, zone.to_owned()),
            Some(_) => {}
            None => out.zones.push((w.chat_id, w.id, zone.to_owned())),
        }
    }
    let mut d = decide(&rule, lead, &previous, series, sample, now, settings);
    let snoozed_until = w.snoozed_until.and_then(|s| DateTime::from_timestamp(s, 0));
    let state = Snooze::at(snoozed_until, now);
    let next = |c: Condition| {
        d.changes
            .iter()
            .find(|(changed, _)| *changed == c)
            .map_or_else(|| previous(c), |(_, e)| *e)
    };
    let after: Vec<(Condition, Episode)> = rule.conditions().map(|c| (c, next(c))).collect();
    snooze::apply(
        &mut d,
        state,
        &rule,
        sample,
        |c| {
            after
                .iter()
                .find(|(x, _)| *x == c)
                .map_or_else(Episode::default, |(_, e)| *e)
        },
        now,
    );
    if state == Snooze::JustWoke {
        out.woke.push(w.id);
    }
    out.changes
        .extend(d.changes.iter().map(|(c, e)| episode_change(w.id, *c, e)));
    if d.happenings.is_empty() {
        return;
    }
    let lang = w
        .language
        .as_deref()
        .map(Language::from_code)
        .unwrap_or_default();
    let units = w.units.as_deref().map(Units::from_code).unwrap_or_default();
    let zone = w.timezone.as_deref().and_then(|z| ChatZone::parse(z).ok());
    let quiet = quiet_hours(w).filter(|q| q.contains(zone.unwrap_or(ChatZone::UTC), now));
    if let Some(q) = quiet.filter(|q| q.mode == QuietMode::Hold) {
        let zone = zone.unwrap_or(ChatZone::UTC);
        let release_at = q.ends_after(zone, now).unwrap_or(now).timestamp();
        let place = crate::text::place(&w.city, &w.country);
        out.held.extend(
            hold(&rule, &d.happenings, now, lang, units)
                .into_iter()
                .map(|h| NewHeld {
                    chat_id: w.chat_id,
                    subscription_id: w.id,
                    place: place.clone(),
                    condition: h.condition.code(),
                    event: h.kind.code(),
                    at: h.at.timestamp(),
                    detail: h.limit,
                    release_at,
                }),
        );
        return;
    }
    let who = Audience {
        city: &w.city,
        country: &w.country,
        lang,
        units,
        // Times are shown in the chat's zone once it has one (issue 10),
        // else in the place's own.
        offset: zone.map_or_else(|| series.local_offset(), |z| offset_at(z, now)),
    };
    let Some((kind, text)) = compose(
        &who,
        &rule,
        &d.happenings,
        sample.temperature_c,
        d.still_active,
        now,
    ) else {
        return;
    };
    let buttons = matches!(kind, "alert" | "reminder" | "heads_up")
        .then(|| crate::bot::alert_keyboard(w.id, lang));
    out.messages.push(NewMessage {
        chat_id: w.chat_id,
        subscription_id: Some(w.id),
        kind,
        text,
        // One message per subscription and poll instant.
        dedup_key: format!("{}:{}:{}", w.id, kind, now.timestamp_millis()),
        silent: quiet.is_some(),
        reply_markup: buttons,
    });
}

fn quiet_hours(w: &Watched) -> Option<QuietHours> {
    let minutes = |m: Option<i64>| {
        m.and_then(|m| u16::try_from(m).ok())
            .and_then(LocalTime::from_minutes)
    };
    let (start, end) = (minutes(w.quiet_start)?, minutes(w.quiet_end)?);
    (start != end).then_some(QuietHours {
        start,
        end,
        mode: if w.quiet_hold == Some(true) {
            QuietMode::Hold
        } else {
            QuietMode::Silent
        },
    })
}

/// The zone's UTC offset at `at`.
fn offset_at(zone: ChatZone, at: DateTime<Utc>) -> FixedOffset {
    zone.tz().offset_from_utc_datetime(&at.naive_utc()).fix()
}

pub(super) fn rule_of(w: &Watched) -> Rule {
    Rule {
        t_min: w.t_min,
        t_max: w.t_max,
        rain: w.rain,
        snow: w.snow,
    }
}

pub(super) fn episode_change(
    subscription_id: i64,
    condition: Condition,
    episode: &Episode,
) -> EpisodeChange {
    let row = (!episode.is_idle()).then(|| EpisodeRow {
        subscription_id,
        condition: condition.code().to_owned(),
        since: episode.since.map(|t| t.timestamp()),
        last_notified_at: episode.last_notified.map(|t| t.timestamp()),
        heads_up_start: episode.heads_up_start.map(|t| t.timestamp()),
    });
    EpisodeChange {
        subscription_id,
        condition: condition.code(),
        row,
    }
}
