//! A subscription's happenings of one poll as one message: alerts first,
//! then reminders, heads-ups, endings and cancellations, in the chat's
//! language and units, with predicted times in the place's local time.

use chrono::{DateTime, FixedOffset, Utc};

use super::rules::{Condition, Rule};
use super::state::Happening;
use crate::text::{self, Crossing, Expected, Language, Units, When};

/// Who reads it and where it is about.
#[derive(Debug, Clone, Copy)]
pub struct Audience<'a> {
    pub city: &'a str,
    pub country: &'a str,
    pub lang: Language,
    pub units: Units,
    /// The place's UTC offset (from its forecast series).
    pub offset: FixedOffset,
}

/// The outbox kind and text for these happenings (`None` when there are none).
pub fn compose(
    who: &Audience<'_>,
    rule: &Rule,
    happenings: &[(Condition, Happening)],
    temperature_now: f64,
    still_active: bool,
    now: DateTime<Utc>,
) -> Option<(&'static str, String)> {
    let kind = [
        "alert",
        "heads_up",
        "reminder",
        "all_clear",
        "heads_up_cancelled",
    ]
    .into_iter()
    .find(|kind| happenings.iter().any(|(_, h)| h.kind() == *kind))?;
    let (city, country, lang, units) = (who.city, who.country, who.lang, who.units);
    let mut lines = Vec::new();
    for (_, h) in happenings {
        if let Happening::Started(b) = h {
            lines.push(text::breach_text(city, country, b, lang, units));
        }
    }
    let reminders: Vec<String> = happenings
        .iter()
        .filter_map(|(_, h)| match h {
            Happening::Reminder(b) => Some(text::breach_text(city, country, b, lang, units)),
            _ => None,
        })
        .collect();
    if !reminders.is_empty() {
        lines.push(text::reminder_head(lang).to_owned());
        lines.extend(reminders);
    }
    for (condition, h) in happenings {
        if let Happening::HeadsUp(hit) = h {
            let line = match condition {
                Condition::Rain | Condition::Snow => {
                    let when = when(hit.start, now, who.offset);
                    let snow = *condition == Condition::Snow;
                    text::precipitation_heads_up(city, country, snow, &when, hit.probability, lang)
                }
                Condition::Hot | Condition::Cold => {
                    let hot = *condition == Condition::Hot;
                    let limit = if hot { rule.t_max } else { rule.t_min }.unwrap_or(hit.peak_c);
                    let when = when(hit.peak_at, now, who.offset);
                    let crossing = Crossing {
                        hot,
                        peak_c: hit.peak_c,
                        limit_c: limit,
                    };
                    text::temperature_heads_up(city, country, crossing, &when, lang, units)
                }
            };
            lines.push(line);
        }
    }
    let ended: Vec<Condition> = happenings
        .iter()
        .filter(|(_, h)| matches!(h, Happening::Ended))
        .map(|(c, _)| *c)
        .collect();
    if !ended.is_empty() && !still_active {
        lines.push(text::all_clear_text(
            city,
            country,
            temperature_now,
            lang,
            units,
        ));
    } else {
        for condition in ended {
            let limit = match condition {
                Condition::Hot => rule.t_max,
                Condition::Cold => rule.t_min,
                _ => None,
            };
            lines.push(text::condition_ended(
                city,
                country,
                expected(condition),
                temperature_now,
                limit,
                lang,
                units,
            ));
        }
    }
    for (condition, h) in happenings {
        if let Happening::HeadsUpCancelled { start } = h {
            let local = start.with_timezone(&who.offset).format("%H:%M").to_string();
            lines.push(text::heads_up_cancelled(
                city,
                country,
                expected(*condition),
                &local,
                lang,
            ));
        }
    }
    Some((kind, lines.join("\n")))
}

fn expected(condition: Condition) -> Expected {
    match condition {
        Condition::Hot => Expected::Heat,
        Condition::Cold => Expected::Cold,
        Condition::Rain => Expected::Rain,
        Condition::Snow => Expected::Snow,
    }
}

/// An instant as the place's clock and calendar show it, relative to now.
fn when(at: DateTime<Utc>, now: DateTime<Utc>, offset: FixedOffset) -> When {
    let local = at.with_timezone(&offset);
    let today = now.with_timezone(&offset).date_naive();
    When {
        local_time: local.format("%H:%M").to_string(),
        days_ahead: (local.date_naive() - today).num_days(),
        in_minutes: ((at - now).num_seconds() as f64 / 60.0).round() as i64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::heads_up::Hit;
    use crate::alerts::rules::Breach;
    use chrono::TimeDelta;

    fn audience() -> Audience<'static> {
        Audience {
            city: "Rome",
            country: "IT",
            lang: Language::En,
            units: Units::Celsius,
            offset: FixedOffset::east_opt(3600).unwrap(),
        }
    }

    const RULE: Rule = Rule {
        t_min: None,
        t_max: Some(30.0),
        rain: true,
        snow: false,
    };

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-06-01T13:50:00Z")
            .unwrap()
            .to_utc()
    }

    #[test]
    fn a_rain_heads_up_names_the_local_time() {
        let start = now() + TimeDelta::minutes(40);
        let hit = Hit {
            start,
            peak_c: 20.0,
            peak_at: start,
            probability: Some(70),
        };
        let (kind, text) = compose(
            &audience(),
            &RULE,
            &[(Condition::Rain, Happening::HeadsUp(hit))],
            20.0,
            false,
            now(),
        )
        .unwrap();
        assert_eq!(kind, "heads_up");
        assert_eq!(
            text,
            "🌧 Rain expected in Rome, IT from about 15:30 (in 40 min, 70 %)."
        );
    }

    #[test]
    fn one_condition_ending_while_another_goes_on_is_said_per_condition() {
        let happenings = [
            (Condition::Hot, Happening::Ended),
            (Condition::Rain, Happening::Started(Breach::Rain)),
        ];
        let (kind, text) = compose(&audience(), &RULE, &happenings, 24.0, true, now()).unwrap();
        assert_eq!(kind, "alert");
        assert_eq!(
            text,
            "☔ It is raining in Rome, IT.\n✅ Rome, IT: 24 °C — back below your maximum of 30 °C."
        );
        let (kind, text) = compose(
            &audience(),
            &RULE,
            &[(Condition::Rain, Happening::Ended)],
            24.0,
            false,
            now(),
        )
        .unwrap();
        assert_eq!(kind, "all_clear");
        assert_eq!(text, "✅ Rome, IT is back within your limits (24 °C).");
    }

    #[test]
    fn a_cancellation_and_nothing() {
        let start = now() + TimeDelta::minutes(100);
        let h = [(Condition::Rain, Happening::HeadsUpCancelled { start })];
        let (kind, text) = compose(&audience(), &RULE, &h, 20.0, false, now()).unwrap();
        assert_eq!(kind, "heads_up_cancelled");
        assert_eq!(
            text,
            "✅ The rain expected in Rome, IT at 16:30 is no longer forecast."
        );
        assert_eq!(compose(&audience(), &RULE, &[], 20.0, false, now()), None);
    }
}
