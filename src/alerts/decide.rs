//! One subscription judged at one instant, as a pure function: each watched
//! condition runs its own episode (see `state`), and what happened to all of
//! them becomes at most one message (conditions that start or end in the
//! same poll are grouped).

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::heads_up::first_hit;
use super::rules::{Condition, Rule};
use super::state::{Episode, Happening, Judged, search_until, step};
use crate::weather::{Sample, Series};

/// The poller's knobs that the decision needs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DecideSettings {
    pub remind_every: Duration,
    /// Percent from which forecast precipitation earns a heads-up.
    pub heads_up_probability: u8,
}

/// What changed for one subscription.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Decision {
    /// Conditions whose episode changed, with the new state (idle: delete).
    pub changes: Vec<(Condition, Episode)>,
    /// What to tell, in condition order.
    pub happenings: Vec<(Condition, Happening)>,
    /// Whether some condition is still going on after this poll.
    pub still_active: bool,
}

/// Judges every condition `rule` watches. `previous` gives a condition's
/// stored episode (idle when absent); `sample` is the weather at `now` from
/// `series`, which also serves the heads-up search.
pub fn decide(
    rule: &Rule,
    lead: Option<Duration>,
    previous: impl Fn(Condition) -> Episode,
    series: &Series,
    sample: &Sample,
    now: DateTime<Utc>,
    settings: DecideSettings,
) -> Decision {
    let mut decision = Decision::default();
    for condition in rule.conditions() {
        let prev = previous(condition);
        let breach = rule.breach(condition, sample);
        // The forecast matters only before an episode starts.
        let hit = match lead {
            Some(lead) if !prev.is_active() && breach.is_none() => first_hit(
                series,
                rule,
                condition,
                now,
                search_until(&prev, lead, now),
                settings.heads_up_probability,
            ),
            _ => None,
        };
        let judged = Judged {
            breach,
            clear: rule.is_clear(condition, sample),
            lead,
            hit,
        };
        let (next, happening) = step(prev, &judged, now, settings.remind_every);
        if next != prev {
            decision.changes.push((condition, next));
        }
        if let Some(happening) = happening {
            decision.happenings.push((condition, happening));
        }
        decision.still_active |= next.is_active();
    }
    decision
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::weather::Step;
    use std::collections::HashMap;

    const T0: i64 = 1_800_000_000;
    const SETTINGS: DecideSettings = DecideSettings {
        remind_every: Duration::from_secs(6 * 3600),
        heads_up_probability: 50,
    };

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(T0 + minutes * 60, 0).unwrap()
    }

    /// A flat series: the same weather for the next 48 hours.
    fn flat(t: f32, rain: f32) -> Series {
        Series {
            fetched_at: at(0),
            utc_offset_seconds: 0,
            timezone: None,
            fine: Vec::new(),
            coarse: (0..49)
                .map(|h| Step {
                    at: T0 + h * 3600,
                    temperature_c: t,
                    rain_mm: rain,
                    snow_cm: 0.0,
                    probability: Some(if rain > 0.0 { 90 } else { 0 }),
                    code: None,
                })
                .collect(),
        }
    }

    #[test]
    fn heat_then_rain_then_dry_are_separate_episodes() {
        let rule = Rule {
            t_min: None,
            t_max: Some(30.0),
            rain: true,
            snow: false,
        };
        let timeline = [
            (0, flat(35.0, 0.0)),  // hot
            (10, flat(34.0, 2.0)), // hot and raining
            (20, flat(20.0, 2.0)), // cool, still raining
            (30, flat(20.0, 0.0)), // dry
        ];
        let mut episodes: HashMap<Condition, Episode> = HashMap::new();
        let mut told = Vec::new();
        for (minute, series) in &timeline {
            let now = at(*minute);
            let sample = series.sample(now).unwrap();
            let d = decide(
                &rule,
                None,
                |c| episodes.get(&c).copied().unwrap_or_default(),
                series,
                &sample,
                now,
                SETTINGS,
            );
            for (c, e) in d.changes {
                episodes.insert(c, e);
            }
            told.extend(
                d.happenings
                    .iter()
                    .map(|(c, h)| format!("{}:{}", c.code(), h.kind())),
            );
        }
        assert_eq!(
            told,
            vec!["hot:alert", "rain:alert", "hot:all_clear", "rain:all_clear"]
        );
    }

    #[test]
    fn conditions_that_start_together_are_decided_together() {
        let rule = Rule {
            t_min: None,
            t_max: Some(30.0),
            rain: true,
            snow: false,
        };
        let series = flat(35.0, 2.0);
        let d = decide(
            &rule,
            None,
            |_| Episode::default(),
            &series,
            &series.sample(at(0)).unwrap(),
            at(0),
            SETTINGS,
        );
        assert_eq!(d.happenings.len(), 2);
        assert!(d.still_active);
    }

    #[test]
    fn a_heads_up_comes_only_with_a_lead_time() {
        let rule = Rule {
            t_min: None,
            t_max: None,
            rain: true,
            snow: false,
        };
        let mut series = flat(20.0, 0.0);
        series.coarse[1].rain_mm = 1.0;
        series.coarse[1].probability = Some(80);
        let sample = series.sample(at(0)).unwrap();
        let none = decide(
            &rule,
            None,
            |_| Episode::default(),
            &series,
            &sample,
            at(0),
            SETTINGS,
        );
        assert!(none.happenings.is_empty());
        let lead = Some(Duration::from_secs(2 * 3600));
        let d = decide(
            &rule,
            lead,
            |_| Episode::default(),
            &series,
            &sample,
            at(0),
            SETTINGS,
        );
        assert!(matches!(
            d.happenings[..],
            [(Condition::Rain, Happening::HeadsUp(_))]
        ));
        assert!(!d.still_active);
    }
}
