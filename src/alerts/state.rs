//! The per-subscription alert state machine, edge-triggered like
//! Alertmanager: one alert on entering violation, a reminder every
//! `remind_interval` while it lasts, one all-clear when it ends.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::rules::{Breach, Rule};
use crate::weather::Observation;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertState {
    Ok,
    Violated {
        since: DateTime<Utc>,
        last_notified: DateTime<Utc>,
    },
}

/// A message the transition calls for.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Alert(Vec<Breach>),
    Reminder(Vec<Breach>),
    AllClear,
}

impl Event {
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Alert(_) => "alert",
            Event::Reminder(_) => "reminder",
            Event::AllClear => "all_clear",
        }
    }
}

/// The next state and the message to send, if any. `None` state means
/// "unchanged" (nothing to write).
pub fn step(
    prev: AlertState,
    rule: &Rule,
    obs: &Observation,
    now: DateTime<Utc>,
    remind_every: Duration,
) -> Option<(AlertState, Option<Event>)> {
    match prev {
        AlertState::Ok => {
            let breaches = rule.breaches(obs);
            if breaches.is_empty() {
                return None;
            }
            let next = AlertState::Violated {
                since: now,
                last_notified: now,
            };
            Some((next, Some(Event::Alert(breaches))))
        }
        AlertState::Violated {
            since,
            last_notified,
        } => {
            if rule.is_clear(obs) {
                return Some((AlertState::Ok, Some(Event::AllClear)));
            }
            let breaches = rule.breaches(obs);
            // Inside the hysteresis margin there is nothing to remind about.
            let due = chrono::TimeDelta::from_std(remind_every).unwrap_or(chrono::TimeDelta::MAX);
            if breaches.is_empty() || now - last_notified < due {
                return None;
            }
            let next = AlertState::Violated {
                since,
                last_notified: now,
            };
            Some((next, Some(Event::Reminder(breaches))))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::rules::tests::obs;
    use proptest::prelude::*;

    const RULE: Rule = Rule {
        t_min: Some(5.0),
        t_max: Some(30.0),
        rain: true,
        snow: false,
    };
    const REMIND: Duration = Duration::from_secs(6 * 3600);

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap() + chrono::TimeDelta::minutes(minutes)
    }

    /// Runs a timeline of (minute, temperature, raining) and returns the kinds emitted.
    fn run(timeline: &[(i64, f64, bool)]) -> Vec<&'static str> {
        let mut state = AlertState::Ok;
        let mut out = Vec::new();
        for &(minute, t, raining) in timeline {
            if let Some((next, event)) =
                step(state, &RULE, &obs(t, raining, false), at(minute), REMIND)
            {
                state = next;
                if let Some(e) = event {
                    out.push(e.kind());
                }
            }
        }
        out
    }

    #[test]
    fn hot_hot_cool_hot() {
        assert_eq!(
            run(&[
                (0, 35.0, false),
                (10, 36.0, false),
                (20, 20.0, false),
                (30, 31.0, false)
            ]),
            vec!["alert", "all_clear", "alert"]
        );
    }

    #[test]
    fn hysteresis_blocks_flapping() {
        // 30 → 29.8 → 30.1 → 29.6 → 29.5: one alert, cleared only at 29.5.
        assert_eq!(
            run(&[
                (0, 30.0, false),
                (10, 29.8, false),
                (20, 30.1, false),
                (30, 29.6, false),
                (40, 29.5, false)
            ]),
            vec!["alert", "all_clear"]
        );
    }

    #[test]
    fn reminders_follow_the_interval() {
        let six_h = 6 * 60;
        assert_eq!(
            run(&[
                (0, 35.0, false),
                (six_h - 1, 35.0, false),
                (six_h, 35.0, false),
                (six_h + 10, 35.0, false),
                (2 * six_h, 34.0, false),
                (2 * six_h + 5, 20.0, false)
            ]),
            vec!["alert", "reminder", "reminder", "all_clear"]
        );
    }

    #[test]
    fn no_reminder_inside_the_margin() {
        assert_eq!(run(&[(0, 30.0, false), (600, 29.7, false)]), vec!["alert"]);
    }

    #[test]
    fn rain_alerts_and_clears() {
        assert_eq!(
            run(&[
                (0, 20.0, true),
                (10, 20.0, true),
                (20, 20.0, false),
                (30, 20.0, false)
            ]),
            vec!["alert", "all_clear"]
        );
    }

    #[test]
    fn the_reminder_reports_current_breaches() {
        let state = AlertState::Violated {
            since: at(0),
            last_notified: at(0),
        };
        let (_, event) = step(state, &RULE, &obs(2.0, true, false), at(6 * 60), REMIND).unwrap();
        assert_eq!(
            event,
            Some(Event::Reminder(vec![
                Breach::BelowMin {
                    observed: 2.0,
                    min: 5.0
                },
                Breach::Rain
            ]))
        );
    }

    proptest! {
        /// Over any timeline: alerts and all-clears alternate, starting with an
        /// alert; each all-clear follows exactly one alert.
        #[test]
        fn alerts_and_all_clears_alternate(temps in prop::collection::vec((-10.0f64..45.0, any::<bool>()), 1..60)) {
            let timeline: Vec<(i64, f64, bool)> =
                temps.iter().enumerate().map(|(i, (t, r))| (i as i64 * 10, *t, *r)).collect();
            let kinds: Vec<_> = run(&timeline).into_iter().filter(|k| *k != "reminder").collect();
            for (i, k) in kinds.iter().enumerate() {
                prop_assert_eq!(*k, if i % 2 == 0 { "alert" } else { "all_clear" });
            }
        }

        /// A reminder never comes sooner than the interval after the last message.
        #[test]
        fn reminders_are_spaced(gaps in prop::collection::vec(1i64..400, 1..40)) {
            let mut state = AlertState::Violated { since: at(0), last_notified: at(0) };
            let mut minute = 0;
            let mut last = 0;
            for g in gaps {
                minute += g;
                if let Some((next, Some(Event::Reminder(_)))) = step(state, &RULE, &obs(40.0, false, false), at(minute), REMIND) {
                    prop_assert!(minute - last >= 360);
                    last = minute;
                    state = next;
                }
            }
        }
    }
}
