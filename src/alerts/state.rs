//! The state machine of one condition of one subscription, edge-triggered
//! like Alertmanager: one alert when the condition starts, a reminder every
//! `remind_interval` while it lasts, one all-clear when it ends — and, ahead
//! of it, one heads-up per forecast episode (again only if the predicted
//! start moves by more than an hour, a cancellation if the forecast drops it).

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use super::heads_up::{Hit, SAME_EPISODE};
use super::rules::Breach;

/// What is going on for one condition. All `None`: nothing (no stored row).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Episode {
    /// When the observed episode began; `None`: not happening now.
    pub since: Option<DateTime<Utc>>,
    /// The last alert or reminder.
    pub last_notified: Option<DateTime<Utc>>,
    /// The predicted start a heads-up announced, until the episode starts or
    /// the forecast drops it.
    pub heads_up_start: Option<DateTime<Utc>>,
}

impl Episode {
    pub fn is_idle(&self) -> bool {
        self.since.is_none() && self.heads_up_start.is_none()
    }

    pub fn is_active(&self) -> bool {
        self.since.is_some()
    }
}

/// A message the transition calls for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Happening {
    Started(Breach),
    Reminder(Breach),
    Ended,
    HeadsUp(Hit),
    /// The forecast no longer shows what a heads-up announced for `start`.
    HeadsUpCancelled {
        start: DateTime<Utc>,
    },
}

impl Happening {
    pub fn kind(&self) -> &'static str {
        match self {
            Happening::Started(_) => "alert",
            Happening::Reminder(_) => "reminder",
            Happening::Ended => "all_clear",
            Happening::HeadsUp(_) => "heads_up",
            Happening::HeadsUpCancelled { .. } => "heads_up_cancelled",
        }
    }
}

/// One condition judged at `now`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Judged {
    /// The condition is broken now.
    pub breach: Option<Breach>,
    /// An episode in progress may end now (hysteresis applied).
    pub clear: bool,
    /// The subscription asked for heads-ups, this far ahead.
    pub lead: Option<Duration>,
    /// The first predicted breach within the lead time (extended to an hour
    /// after an announced start, see [`search_until`]).
    pub hit: Option<Hit>,
}

/// How far ahead to look for a condition: the lead time, and while a
/// heads-up is pending at least an hour past its announced start (a start
/// that slipped by less than that is still the same episode).
pub fn search_until(prev: &Episode, lead: Duration, now: DateTime<Utc>) -> DateTime<Utc> {
    let ahead = now + TimeDelta::from_std(lead).unwrap_or(TimeDelta::zero());
    match prev.heads_up_start {
        Some(start) => ahead.max(start + SAME_EPISODE),
        None => ahead,
    }
}

/// The next state and the message to send, if any.
pub fn step(
    prev: Episode,
    judged: &Judged,
    now: DateTime<Utc>,
    remind_every: Duration,
) -> (Episode, Option<Happening>) {
    if prev.is_active() {
        if judged.clear {
            return (Episode::default(), Some(Happening::Ended));
        }
        let due = TimeDelta::from_std(remind_every).unwrap_or(TimeDelta::MAX);
        let last = prev.last_notified.or(prev.since).unwrap_or(now);
        return match judged.breach {
            // Inside the hysteresis margin there is nothing to remind about.
            Some(breach) if now - last >= due => {
                let next = Episode {
                    last_notified: Some(now),
                    ..prev
                };
                (next, Some(Happening::Reminder(breach)))
            }
            _ => (prev, None),
        };
    }
    if let Some(breach) = judged.breach {
        let next = Episode {
            since: Some(now),
            last_notified: Some(now),
            heads_up_start: None,
        };
        return (next, Some(Happening::Started(breach)));
    }
    let Some(lead) = judged.lead else {
        // Heads-ups were turned off: forget a pending one without a word.
        return (Episode::default(), None);
    };
    let within_lead =
        |hit: &Hit| hit.start <= now + TimeDelta::from_std(lead).unwrap_or(TimeDelta::zero());
    match (prev.heads_up_start, judged.hit) {
        (None, Some(hit)) if within_lead(&hit) => announce(hit),
        (None, _) => (prev, None),
        (Some(start), Some(hit)) if (hit.start - start).abs() <= SAME_EPISODE => (prev, None),
        (Some(_), Some(hit)) if within_lead(&hit) => announce(hit),
        (Some(start), _) => (
            Episode::default(),
            Some(Happening::HeadsUpCancelled { start }),
        ),
    }
}

fn announce(hit: Hit) -> (Episode, Option<Happening>) {
    let next = Episode {
        heads_up_start: Some(hit.start),
        ..Episode::default()
    };
    (next, Some(Happening::HeadsUp(hit)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const REMIND: Duration = Duration::from_secs(6 * 3600);
    const LEAD: Duration = Duration::from_secs(3600);

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap() + TimeDelta::minutes(minutes)
    }

    fn hit(start: i64) -> Hit {
        Hit {
            start: at(start),
            peak_c: 20.0,
            peak_at: at(start),
            probability: Some(70),
        }
    }

    fn observed(raining: bool) -> Judged {
        Judged {
            breach: raining.then_some(Breach::Rain),
            clear: !raining,
            lead: Some(LEAD),
            hit: None,
        }
    }

    fn forecast(start: Option<i64>) -> Judged {
        Judged {
            hit: start.map(hit),
            ..observed(false)
        }
    }

    /// Runs (minute, judgement) pairs and returns the kinds emitted.
    fn run(timeline: &[(i64, Judged)]) -> Vec<&'static str> {
        let mut state = Episode::default();
        let mut out = Vec::new();
        for (minute, judged) in timeline {
            let (next, happening) = step(state, judged, at(*minute), REMIND);
            state = next;
            out.extend(happening.map(|h| h.kind()));
        }
        out
    }

    #[test]
    fn one_heads_up_per_forecast_episode_then_the_real_alert() {
        assert_eq!(
            run(&[
                (0, forecast(Some(40))),
                (10, forecast(Some(40))),
                (20, forecast(Some(50))),
                (40, observed(true)),
                (50, observed(true)),
                (60, observed(false)),
            ]),
            vec!["heads_up", "alert", "all_clear"]
        );
    }

    #[test]
    fn a_start_moved_by_more_than_an_hour_is_announced_again() {
        let mut long = forecast(Some(30));
        long.lead = Some(Duration::from_secs(6 * 3600));
        let mut moved = forecast(Some(30 + 61 + 60));
        moved.lead = long.lead;
        assert_eq!(run(&[(0, long), (60, moved)]), vec!["heads_up", "heads_up"]);
    }

    #[test]
    fn a_dropped_forecast_is_cancelled_once() {
        assert_eq!(
            run(&[
                (0, forecast(Some(40))),
                (10, forecast(None)),
                (20, forecast(None)),
                (30, forecast(Some(80))),
            ]),
            vec!["heads_up", "heads_up_cancelled", "heads_up"]
        );
    }

    #[test]
    fn rain_beyond_the_lead_time_is_not_announced() {
        assert!(run(&[(0, forecast(Some(180)))]).is_empty());
    }

    #[test]
    fn turning_heads_ups_off_forgets_a_pending_one_silently() {
        let mut off = forecast(Some(40));
        off.lead = None;
        assert_eq!(run(&[(0, forecast(Some(40))), (10, off)]), vec!["heads_up"]);
        let (state, _) = step(
            Episode {
                heads_up_start: Some(at(40)),
                ..Episode::default()
            },
            &off,
            at(10),
            REMIND,
        );
        assert!(state.is_idle());
    }

    #[test]
    fn reminders_follow_the_interval_and_hysteresis_holds() {
        let hot = |t: f64, clear: bool| Judged {
            breach: (t >= 30.0).then_some(Breach::AboveMax {
                observed: t,
                max: 30.0,
            }),
            clear,
            lead: None,
            hit: None,
        };
        assert_eq!(
            run(&[
                (0, hot(35.0, false)),
                (359, hot(35.0, false)),
                (360, hot(35.0, false)),
                (370, hot(29.8, false)),
                (800, hot(29.8, false)),
                (810, hot(29.0, true)),
            ]),
            vec!["alert", "reminder", "all_clear"]
        );
    }

    #[test]
    fn search_reaches_an_hour_past_a_pending_start() {
        let pending = Episode {
            heads_up_start: Some(at(200)),
            ..Episode::default()
        };
        assert_eq!(search_until(&pending, LEAD, at(0)), at(260));
        assert_eq!(search_until(&Episode::default(), LEAD, at(0)), at(60));
    }

    proptest! {
        /// Whatever the forecasts say, a heads-up is repeated only after a
        /// cancellation or a move of more than an hour.
        #[test]
        fn heads_ups_are_not_repeated(starts in prop::collection::vec(prop::option::of(0i64..120), 1..40)) {
            let mut state = Episode::default();
            let mut announced: Option<DateTime<Utc>> = None;
            for (i, start) in starts.iter().enumerate() {
                let now = at(i as i64 * 10);
                let judged = forecast(start.map(|s| i as i64 * 10 + 1 + s % 60));
                let (next, happening) = step(state, &judged, now, REMIND);
                match happening {
                    Some(Happening::HeadsUp(h)) => {
                        if let Some(previous) = announced {
                            prop_assert!((h.start - previous).abs() > SAME_EPISODE);
                        }
                        announced = Some(h.start);
                    }
                    Some(Happening::HeadsUpCancelled { .. }) => announced = None,
                    Some(other) => prop_assert!(false, "unexpected {other:?}"),
                    None => {}
                }
                state = next;
            }
        }

        /// Alerts and all-clears alternate, starting with an alert.
        #[test]
        fn alerts_and_all_clears_alternate(rain in prop::collection::vec(any::<bool>(), 1..60)) {
            let timeline: Vec<(i64, Judged)> =
                rain.iter().enumerate().map(|(i, r)| (i as i64 * 10, observed(*r))).collect();
            let kinds: Vec<_> = run(&timeline).into_iter()
                .filter(|k| *k == "alert" || *k == "all_clear").collect();
            for (i, k) in kinds.iter().enumerate() {
                prop_assert_eq!(*k, if i % 2 == 0 { "alert" } else { "all_clear" });
            }
        }
    }
}
