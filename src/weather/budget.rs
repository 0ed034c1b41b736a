//! The refresh schedule under a call budget, as pure functions: given the
//! known cells with their last fetch, what was spent in the current UTC
//! minute / hour / day and the time, which cells to refresh now.
//!
//! - Every cell is refreshed every `base` interval (`WEATHER_REFRESH`) while
//!   cells × refreshes a day fit the daily budget; beyond that the interval
//!   stretches evenly for all (`effective_interval`).
//! - A never-fetched cell (a new place) goes first, then the oldest series.
//! - The provider's per-minute, per-hour and per-day limits are hard caps: a
//!   plan never spends more than what is left in any of them, so a day's
//!   weighted calls never exceed the budget, whatever the cells do.

use std::time::Duration;

use chrono::{DateTime, Timelike, Utc};

use super::grid::Cell;
use super::{Quota, QuotaWindow};

/// Share of the daily budget kept out of the stretched schedule, for the first
/// fetch of places added during the day and for on-demand `/forecast` reads.
pub const RESERVE: f64 = 0.05;
/// Even a hopelessly small budget refreshes each cell at least weekly.
const MAX_INTERVAL: Duration = Duration::from_secs(7 * 86_400);
const DAY_SECONDS: f64 = 86_400.0;

/// Weighted calls already spent in the current UTC minute, hour and day.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Usage {
    pub minute: f64,
    pub hour: f64,
    pub day: f64,
}

impl Usage {
    /// What may still be spent now: the tightest of the three windows.
    pub fn left(&self, quota: &Quota) -> f64 {
        let left = (quota.per_minute - self.minute)
            .min(quota.per_hour - self.hour)
            .min(quota.per_day - self.day);
        left.max(0.0)
    }

    pub fn add(&mut self, weight: f64) {
        self.minute += weight;
        self.hour += weight;
        self.day += weight;
    }
}

/// A cell the schedule knows, and when its stored series was fetched
/// (`None`: never, a new place).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Known {
    pub cell: Cell,
    pub fetched_at: Option<DateTime<Utc>>,
}

/// What to do now.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Cells to fetch now, most urgent first.
    pub refresh: Vec<Cell>,
    /// The interval every cell is refreshed at, given the budget.
    pub interval: Duration,
    /// Cells due (or new) that the caps pushed to a later tick.
    pub deferred: usize,
}

/// The refresh interval that lets `cells` places fit `quota.per_day` (less
/// the [`RESERVE`]), never shorter than `base`.
pub fn effective_interval(
    cells: usize,
    weight_per_cell: f64,
    quota: &Quota,
    base: Duration,
) -> Duration {
    let per_refresh = cells as f64 * weight_per_cell;
    let usable = quota.per_day * (1.0 - RESERVE);
    if per_refresh <= 0.0 {
        return base;
    }
    if usable <= 0.0 {
        return MAX_INTERVAL;
    }
    let refreshes_per_day = usable / per_refresh;
    let stretched =
        Duration::from_secs_f64((DAY_SECONDS / refreshes_per_day).min(MAX_INTERVAL.as_secs_f64()));
    base.max(stretched)
}

/// The cells to refresh at `now`. `hold_until` is a provider rate-limit
/// answer's "not before".
pub fn plan(
    known: &[Known],
    weight_per_cell: f64,
    quota: &Quota,
    usage: Usage,
    base: Duration,
    now: DateTime<Utc>,
    hold_until: Option<DateTime<Utc>>,
) -> Plan {
    let interval = effective_interval(known.len(), weight_per_cell, quota, base);
    let due_age = chrono::TimeDelta::from_std(interval).unwrap_or(chrono::TimeDelta::MAX);
    let mut due: Vec<&Known> = known
        .iter()
        .filter(|k| k.fetched_at.is_none_or(|at| now - at >= due_age))
        .collect();
    // New places first, then the oldest series; the cell breaks ties so a
    // plan is deterministic.
    due.sort_by_key(|k| (k.fetched_at.is_some(), k.fetched_at, k.cell));
    if hold_until.is_some_and(|until| now < until) {
        return Plan {
            refresh: Vec::new(),
            interval,
            deferred: due.len(),
        };
    }
    let affordable = if weight_per_cell > 0.0 {
        // A hair of tolerance so 600 × 1.0 fits a left-over of 600.0.
        ((usage.left(quota) + 1e-9) / weight_per_cell).floor() as usize
    } else {
        due.len()
    };
    let take = affordable.min(due.len());
    Plan {
        refresh: due[..take].iter().map(|k| k.cell).collect(),
        interval,
        deferred: due.len() - take,
    }
}

/// When a quota window that ran out resets: the start of the next UTC
/// minute, hour or day.
pub fn window_end(window: QuotaWindow, now: DateTime<Utc>) -> DateTime<Utc> {
    let minute_start = now
        .with_second(0)
        .and_then(|t| t.with_nanosecond(0))
        .unwrap_or(now);
    match window {
        QuotaWindow::Minute => minute_start + chrono::TimeDelta::minutes(1),
        QuotaWindow::Hour => {
            minute_start.with_minute(0).unwrap_or(minute_start) + chrono::TimeDelta::hours(1)
        }
        QuotaWindow::Day => {
            let midnight = now
                .date_naive()
                .and_hms_opt(0, 0, 0)
                .expect("midnight exists")
                .and_utc();
            midnight + chrono::TimeDelta::days(1)
        }
    }
}

/// The start of the UTC minute, hour and day holding `now` (unix ms), for
/// summing what was spent in each.
pub fn window_starts_ms(now: DateTime<Utc>) -> (i64, i64, i64) {
    let ms = now.timestamp_millis();
    let minute = ms - ms.rem_euclid(60_000);
    let hour = ms - ms.rem_euclid(3_600_000);
    let day = ms - ms.rem_euclid(86_400_000);
    (minute, hour, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const OPEN_METEO: Quota = Quota {
        per_minute: 600.0,
        per_hour: 5_000.0,
        per_day: 10_000.0,
    };
    const HOUR: Duration = Duration::from_secs(3600);

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 - 1_800_000_000 % 86_400 + seconds, 0).unwrap()
    }

    fn cell(i: usize) -> Cell {
        Cell {
            lat_e4: i as i32,
            lon_e4: 0,
        }
    }

    #[test]
    fn the_base_interval_holds_while_the_budget_allows() {
        // 10,000 × 0.95 / 24 = 395 places fit hourly refreshes.
        assert_eq!(effective_interval(395, 1.0, &OPEN_METEO, HOUR), HOUR);
        let stretched = effective_interval(2000, 1.0, &OPEN_METEO, HOUR);
        // 2,000 places: 4.75 refreshes a day, every ~5 h 3 min.
        assert_eq!(stretched.as_secs(), 18_189);
        assert_eq!(effective_interval(0, 1.0, &OPEN_METEO, HOUR), HOUR);
        let owm = Quota {
            per_day: 1.0,
            ..OPEN_METEO
        };
        assert_eq!(effective_interval(10, 2.0, &owm, HOUR), MAX_INTERVAL);
    }

    #[test]
    fn new_places_first_then_the_oldest() {
        let known = [
            Known {
                cell: cell(1),
                fetched_at: Some(at(0)),
            },
            Known {
                cell: cell(2),
                fetched_at: None,
            },
            Known {
                cell: cell(3),
                fetched_at: Some(at(600)),
            },
            Known {
                cell: cell(4),
                fetched_at: Some(at(3000)),
            },
        ];
        let p = plan(
            &known,
            1.0,
            &OPEN_METEO,
            Usage::default(),
            HOUR,
            at(4200),
            None,
        );
        assert_eq!(p.refresh, vec![cell(2), cell(1), cell(3)]);
        assert_eq!(p.deferred, 0);
        let tight = Usage {
            day: 9_998.0,
            ..Usage::default()
        };
        let p = plan(&known, 1.0, &OPEN_METEO, tight, HOUR, at(4200), None);
        assert_eq!(p.refresh, vec![cell(2), cell(1)]);
        assert_eq!(p.deferred, 1);
    }

    #[test]
    fn nothing_between_refreshes_and_nothing_during_a_hold() {
        let known = [Known {
            cell: cell(1),
            fetched_at: Some(at(0)),
        }];
        let p = plan(
            &known,
            1.0,
            &OPEN_METEO,
            Usage::default(),
            HOUR,
            at(3599),
            None,
        );
        assert!(p.refresh.is_empty());
        let new = [Known {
            cell: cell(1),
            fetched_at: None,
        }];
        let p = plan(
            &new,
            1.0,
            &OPEN_METEO,
            Usage::default(),
            HOUR,
            at(10),
            Some(at(60)),
        );
        assert!(p.refresh.is_empty());
        assert_eq!(p.deferred, 1);
        let p = plan(
            &new,
            1.0,
            &OPEN_METEO,
            Usage::default(),
            HOUR,
            at(60),
            Some(at(60)),
        );
        assert_eq!(p.refresh, vec![cell(1)]);
    }

    #[test]
    fn windows_end_at_the_next_utc_boundary() {
        let now = DateTime::parse_from_rfc3339("2026-11-27T10:41:07.5Z")
            .unwrap()
            .to_utc();
        let end = |w| window_end(w, now).to_rfc3339();
        assert_eq!(end(QuotaWindow::Minute), "2026-11-27T10:42:00+00:00");
        assert_eq!(end(QuotaWindow::Hour), "2026-11-27T11:00:00+00:00");
        assert_eq!(end(QuotaWindow::Day), "2026-11-28T00:00:00+00:00");
        let (m, h, d) = window_starts_ms(now);
        assert_eq!(
            DateTime::from_timestamp_millis(m).unwrap().to_rfc3339(),
            "2026-11-27T10:41:00+00:00"
        );
        assert_eq!(
            DateTime::from_timestamp_millis(h).unwrap().to_rfc3339(),
            "2026-11-27T10:00:00+00:00"
        );
        assert_eq!(
            DateTime::from_timestamp_millis(d).unwrap().to_rfc3339(),
            "2026-11-27T00:00:00+00:00"
        );
    }

    /// Two simulated days of ticks with places arriving at random times:
    /// returns the weighted calls spent per UTC day, hour and minute.
    fn simulate(
        arrivals: &[u32],
        weight: f64,
        quota: &Quota,
        tick: i64,
    ) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let mut known: Vec<Known> = Vec::new();
        let (mut days, mut hours, mut minutes) = (vec![0.0; 2], vec![0.0; 48], vec![0.0; 2 * 1440]);
        let mut t = 0;
        while t < 2 * 86_400 {
            for (i, &arrival) in arrivals.iter().enumerate() {
                if i64::from(arrival) <= t && i64::from(arrival) > t - tick {
                    known.push(Known {
                        cell: cell(i),
                        fetched_at: None,
                    });
                }
            }
            let (d, h, m) = (
                (t / 86_400) as usize,
                (t / 3600) as usize,
                (t / 60) as usize,
            );
            let usage = Usage {
                minute: minutes[m],
                hour: hours[h],
                day: days[d],
            };
            let p = plan(&known, weight, quota, usage, HOUR, at(t), None);
            for c in &p.refresh {
                let k = known.iter_mut().find(|k| k.cell == *c).unwrap();
                k.fetched_at = Some(at(t));
            }
            let spent = p.refresh.len() as f64 * weight;
            days[d] += spent;
            hours[h] += spent;
            minutes[m] += spent;
            t += tick;
        }
        (days, hours, minutes)
    }

    #[test]
    fn two_thousand_places_spread_over_the_day_within_budget() {
        let arrivals = vec![0u32; 2000];
        let (days, hours, _) = simulate(&arrivals, 1.0, &OPEN_METEO, 600);
        assert!(days.iter().all(|d| *d <= 10_000.0), "{days:?}");
        // The second day, in steady state, uses most of the budget...
        assert!(days[1] >= 8_000.0, "{days:?}");
        // ...spread out: no hour takes more than the hourly limit.
        assert!(hours.iter().all(|h| *h <= 5_000.0));
    }

    proptest! {
        #[test]
        fn a_day_never_exceeds_any_limit(
            arrivals in prop::collection::vec(0u32..172_800, 0..1500),
            per_day in 50.0f64..12_000.0,
            weight in prop::sample::select(vec![1.0, 2.0, 1.5]),
            tick in prop::sample::select(vec![60i64, 300, 600]),
        ) {
            let quota = Quota { per_minute: 600.0, per_hour: 5_000.0, per_day };
            let (days, hours, minutes) = simulate(&arrivals, weight, &quota, tick);
            for d in days { prop_assert!(d <= per_day + 1e-6, "day {} > {}", d, per_day); }
            for h in hours { prop_assert!(h <= 5_000.0 + 1e-6); }
            for m in minutes { prop_assert!(m <= 600.0 + 1e-6); }
        }
    }
}
