//! A snoozed subscription (issue 10): its episodes go on being judged, so
//! its state stays true, but nothing is told until the snooze ends; then,
//! if a condition is still broken, one reminder says so.

use chrono::{DateTime, Utc};

use super::decide::Decision;
use super::rules::{Condition, Rule};
use super::state::{Episode, Happening};
use crate::weather::Sample;

/// Where a subscription stands with its snooze at one poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Snooze {
    Awake,
    /// Until the given time: say nothing.
    Snoozed,
    /// The snooze ended since the last poll: catch up once, then clear it.
    JustWoke,
}

impl Snooze {
    pub fn at(snoozed_until: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Self {
        match snoozed_until {
            None => Snooze::Awake,
            Some(until) if until > now => Snooze::Snoozed,
            Some(_) => Snooze::JustWoke,
        }
    }
}

/// Applies the snooze to one subscription's decision: snoozed, nothing is
/// told; just woken, each condition still broken gets one reminder (and its
/// episode's `last_notified` moves to `now`, so the regular reminders count
/// from it), and endings or cancellations of what was never told are
/// dropped. `next` gives a condition's episode after the decision.
pub fn apply(
    decision: &mut Decision,
    snooze: Snooze,
    rule: &Rule,
    sample: &Sample,
    next: impl Fn(Condition) -> Episode,
    now: DateTime<Utc>,
) {
    match snooze {
        Snooze::Awake => {}
        Snooze::Snoozed => decision.happenings.clear(),
        Snooze::JustWoke => {
            decision.happenings.retain(|(_, h)| {
                matches!(
                    h,
                    Happening::Started(_) | Happening::Reminder(_) | Happening::HeadsUp(_)
                )
            });
            for condition in rule.conditions() {
                let told = decision.happenings.iter().any(|(c, _)| *c == condition);
                let episode = next(condition);
                let Some(breach) = rule.breach(condition, sample) else {
                    continue;
                };
                if told || !episode.is_active() {
                    continue;
                }
                decision
                    .happenings
                    .push((condition, Happening::Reminder(breach)));
                let reminded = Episode {
                    last_notified: Some(now),
                    ..episode
                };
                decision.changes.retain(|(c, _)| *c != condition);
                decision.changes.push((condition, reminded));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::rules::Breach;

    fn t(minutes: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + minutes * 60, 0).unwrap()
    }

    fn hot_rule() -> Rule {
        Rule {
            t_min: None,
            t_max: Some(30.0),
            rain: true,
            snow: false,
        }
    }

    fn sample(temperature_c: f64, rain_mm: f32) -> Sample {
        Sample {
            at: t(0),
            temperature_c,
            raining: rain_mm > 0.0,
            snowing: false,
            rain_mm,
            snow_cm: 0.0,
            probability: None,
            code: None,
        }
    }

    fn active_since(at: DateTime<Utc>) -> Episode {
        Episode {
            since: Some(at),
            last_notified: Some(at),
            heads_up_start: None,
        }
    }

    #[test]
    fn the_snooze_state_follows_the_clock() {
        assert_eq!(Snooze::at(None, t(0)), Snooze::Awake);
        assert_eq!(Snooze::at(Some(t(1)), t(0)), Snooze::Snoozed);
        assert_eq!(Snooze::at(Some(t(0)), t(0)), Snooze::JustWoke);
    }

    #[test]
    fn snoozed_tells_nothing_but_keeps_the_state() {
        let mut d = Decision {
            changes: vec![(Condition::Hot, active_since(t(0)))],
            happenings: vec![(
                Condition::Hot,
                Happening::Started(Breach::AboveMax {
                    observed: 35.0,
                    max: 30.0,
                }),
            )],
            still_active: true,
        };
        let rule = hot_rule();
        apply(
            &mut d,
            Snooze::Snoozed,
            &rule,
            &sample(35.0, 0.0),
            |_| active_since(t(0)),
            t(0),
        );
        assert!(d.happenings.is_empty());
        assert_eq!(d.changes.len(), 1, "the episode still starts");
    }

    #[test]
    fn waking_up_reminds_once_of_what_is_still_broken() {
        let rule = hot_rule();
        // Hot since before the snooze, raining stopped during it.
        let mut d = Decision {
            changes: Vec::new(),
            happenings: vec![(Condition::Rain, Happening::Ended)],
            still_active: true,
        };
        let next = |c| match c {
            Condition::Hot => active_since(t(-600)),
            _ => Episode::default(),
        };
        apply(
            &mut d,
            Snooze::JustWoke,
            &rule,
            &sample(34.0, 0.0),
            next,
            t(0),
        );
        assert_eq!(
            d.happenings,
            vec![(
                Condition::Hot,
                Happening::Reminder(Breach::AboveMax {
                    observed: 34.0,
                    max: 30.0
                })
            )]
        );
        assert_eq!(
            d.changes,
            vec![(
                Condition::Hot,
                Episode {
                    last_notified: Some(t(0)),
                    ..active_since(t(-600))
                }
            )]
        );
        // Nothing broken any more: nothing to say.
        let mut d = Decision::default();
        apply(
            &mut d,
            Snooze::JustWoke,
            &rule,
            &sample(20.0, 0.0),
            |_| Episode::default(),
            t(0),
        );
        assert!(d.happenings.is_empty());
    }
}
