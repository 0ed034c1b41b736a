//! Service-level objectives on SLAs (issue 12): an SLA may promise that a
//! share of its evaluations (`objective`, e.g. 99.5 %) lands inside its range
//! over a rolling window (`slo_window`, default 30 days). From the stored
//! evaluations this computes the SLI (good / total), the error budget left,
//! and burn rates — how many times faster than "exactly on budget" errors
//! arrive — over the windows of the SRE workbook's multi-window,
//! multi-burn-rate alerts, and which of its four rules fire.
//!
//! An evaluation that produced no value (no data, source down) is neither
//! good nor bad: the SLI is over what was measured. Pure functions only; the
//! worker that reads counts and sends the alerts is `sla::burn`.

use std::time::Duration;

use crate::domain::ParseError;

use super::parse_number;

/// The SLO window when `slo_window` is not given.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(30 * 86_400);
/// Shorter than this, a budget is noise (the lower bound).
pub const MIN_WINDOW: Duration = Duration::from_secs(3_600);
/// Longer than this, the history kept per SLA grows without need (90 days
/// of one-minute evaluations is 130k rows).
pub const MAX_WINDOW: Duration = Duration::from_secs(90 * 86_400);

/// An SLA's objective: `percent` of evaluations inside the range over
/// `window`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Objective {
    percent: f64,
    window: Duration,
}

impl Objective {
    /// `percent` strictly between 0 and 100, `window` 1 h – 90 days.
    pub fn new(percent: f64, window: Duration) -> Result<Self, ParseError> {
        if !(percent.is_finite() && percent > 0.0 && percent < 100.0) {
            return Err(ParseError::new(format!(
                "the objective must be a percentage strictly between 0 and 100 (e.g. 99.5), not {percent}"
            )));
        }
        if window < MIN_WINDOW || window > MAX_WINDOW {
            return Err(ParseError::new(format!(
                "the SLO window must be between 1h and 90d, not {}",
                humantime::format_duration(window)
            )));
        }
        Ok(Self { percent, window })
    }

    /// Parses what a user typed: `objective` as a number ("99.5", "99,5",
    /// "99.5%"), `window` as a duration ("30d", "12h"; default 30 days).
    pub fn parse(objective: &str, window: Option<&str>) -> Result<Self, ParseError> {
        let percent = parse_number("objective", objective.trim().trim_end_matches('%'))?;
        let window = match window.map(str::trim).filter(|w| !w.is_empty()) {
            None => DEFAULT_WINDOW,
            Some(text) => humantime::parse_duration(text).map_err(|_| {
                ParseError::new(format!(
                    "the SLO window '{text}' is not a duration (e.g. 30d, 7d, 12h)"
                ))
            })?,
        };
        Self::new(percent, window)
    }

    pub fn percent(&self) -> f64 {
        self.percent
    }

    pub fn window(&self) -> Duration {
        self.window
    }

    /// The share of evaluations the objective allows outside the range.
    pub fn allowed_bad(&self) -> f64 {
        (100.0 - self.percent) / 100.0
    }
}

/// A window burn rates are computed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BurnWindow {
    /// As Prometheus writes it, also the `window` label value.
    pub name: &'static str,
    pub length: Duration,
}

const fn window(name: &'static str, minutes: u64) -> BurnWindow {
    BurnWindow {
        name,
        length: Duration::from_secs(minutes * 60),
    }
}

/// The workbook's windows, shortest first.
pub const BURN_WINDOWS: [BurnWindow; 7] = [
    window("5m", 5),
    window("30m", 30),
    window("1h", 60),
    window("2h", 120),
    window("6h", 360),
    window("1d", 1_440),
    window("3d", 4_320),
];

/// How far back the burn windows reach: history of an SLA with an objective
/// is kept at least this long.
pub const LONGEST_BURN_WINDOW: Duration = BURN_WINDOWS[6].length;

/// Evaluations in a window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub total: u64,
    /// Outside the range (violations).
    pub bad: u64,
}

impl Counts {
    /// bad / total; `None` without evaluations.
    pub fn error_ratio(&self) -> Option<f64> {
        (self.total > 0).then(|| self.bad.min(self.total) as f64 / self.total as f64)
    }
}

/// Who is told: a page wakes someone, a ticket can wait for working hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Page,
    Ticket,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Page => "page",
            Self::Ticket => "ticket",
        }
    }
}

/// A multi-window rule: fires while the burn rate is above `factor` over
/// both the long and the short window (the short one makes it resolve soon
/// after the burning stops).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rule {
    /// Stable: stored with a firing rule and used in message dedup keys.
    pub name: &'static str,
    pub severity: Severity,
    pub factor: f64,
    /// Indexes into [`BURN_WINDOWS`].
    pub long: usize,
    pub short: usize,
}

/// The SRE workbook's recommended set (chapter 5, "Alerting on SLOs"): 2 %
/// of a 30-day budget in an hour, 5 % in six hours (pages), 10 % in a day
/// and 10 % in three days (tickets).
pub const RULES: [Rule; 4] = [
    Rule {
        name: "page-1h",
        severity: Severity::Page,
        factor: 14.4,
        long: 2,
        short: 0,
    },
    Rule {
        name: "page-6h",
        severity: Severity::Page,
        factor: 6.0,
        long: 4,
        short: 1,
    },
    Rule {
        name: "ticket-1d",
        severity: Severity::Ticket,
        factor: 3.0,
        long: 5,
        short: 3,
    },
    Rule {
        name: "ticket-3d",
        severity: Severity::Ticket,
        factor: 1.0,
        long: 6,
        short: 4,
    },
];

impl Rule {
    pub fn by_name(name: &str) -> Option<&'static Rule> {
        RULES.iter().find(|r| r.name == name)
    }

    pub fn long_window(&self) -> BurnWindow {
        BURN_WINDOWS[self.long]
    }

    pub fn short_window(&self) -> BurnWindow {
        BURN_WINDOWS[self.short]
    }

    /// Both windows burn faster than `factor` (no data in one: not firing).
    pub fn fires(&self, burn: &[Option<f64>; 7]) -> bool {
        let above = |i: usize| burn[i].is_some_and(|rate| rate > self.factor);
        above(self.long) && above(self.short)
    }
}

/// Everything known about one SLA's objective at one evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct Budget {
    pub objective: Objective,
    /// Evaluations over the SLO window.
    pub counts: Counts,
    /// Good / total over the SLO window, in percent.
    pub sli_percent: Option<f64>,
    /// 100 − the share of the budget spent; negative when overspent.
    pub remaining_percent: Option<f64>,
    /// Burn rate per [`BURN_WINDOWS`] entry.
    pub burn: [Option<f64>; 7],
}

impl Budget {
    /// `slo` counts the SLO window, `windows` each burn window.
    pub fn new(objective: Objective, slo: Counts, windows: &[Counts; 7]) -> Self {
        let allowed = objective.allowed_bad();
        let burn = windows.map(|c| c.error_ratio().map(|ratio| ratio / allowed));
        let ratio = slo.error_ratio();
        Self {
            objective,
            counts: slo,
            sli_percent: ratio.map(|r| 100.0 * (1.0 - r)),
            remaining_percent: ratio.map(|r| 100.0 * (1.0 - r / allowed)),
            burn,
        }
    }

    /// The rules firing now, in [`RULES`] order.
    pub fn firing(&self) -> Vec<&'static Rule> {
        RULES.iter().filter(|r| r.fires(&self.burn)).collect()
    }
}

/// What changed between the rules stored as firing and those firing now.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Transitions {
    pub started: Vec<&'static Rule>,
    /// Stored rules that stopped firing (their stored start, for the message).
    pub resolved: Vec<(&'static Rule, i64)>,
    /// Stored names no rule has any more: deleted without a message.
    pub forgotten: Vec<String>,
}

/// `stored`: `(rule name, firing since ms)` as kept in the database.
pub fn transitions(stored: &[(String, i64)], firing: &[&'static Rule]) -> Transitions {
    let mut out = Transitions::default();
    for (name, since) in stored {
        match Rule::by_name(name) {
            Some(rule) if firing.iter().any(|f| f.name == rule.name) => {}
            Some(rule) => out.resolved.push((rule, *since)),
            None => out.forgotten.push(name.clone()),
        }
    }
    out.started = firing
        .iter()
        .filter(|rule| !stored.iter().any(|(name, _)| name == rule.name))
        .copied()
        .collect();
    out
}

#[cfg(test)]
#[path = "slo_tests.rs"]
mod tests;
