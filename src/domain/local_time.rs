//! A chat's local time: its IANA zone, times of day (`07:30`), quiet hours,
//! and when a daily event falls on a given local day across daylight-saving
//! changes. Pure functions of their inputs; the caller brings `now`.
//!
//! Daylight saving, decided once here:
//! - a local time the spring change skips (02:30 in Rome on the last Sunday
//!   of March) happens at the first valid minute after it (03:00);
//! - a local time the autumn change repeats happens at its first occurrence
//!   (so a daily event happens once);
//! - quiet hours compare the *local* time of day, so on the change days the
//!   window is an hour shorter or longer, as a clock on the wall would say.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Days, LocalResult, NaiveDate, NaiveTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// An IANA time zone (`Europe/Rome`), case-insensitive on input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChatZone(Tz);

impl ChatZone {
    pub const UTC: Self = Self(Tz::UTC);

    pub fn parse(raw: &str) -> Result<Self, String> {
        let name = raw.trim();
        if name.is_empty() || name.len() > 64 {
            return Err("a time zone name like Europe/Rome".to_owned());
        }
        Tz::from_str_insensitive(name)
            .map(Self)
            .map_err(|_| format!("unknown time zone '{name}': use an IANA name like Europe/Rome"))
    }

    pub fn name(&self) -> &'static str {
        self.0.name()
    }

    pub fn tz(&self) -> Tz {
        self.0
    }

    /// The local date at `at`.
    pub fn date(&self, at: DateTime<Utc>) -> NaiveDate {
        at.with_timezone(&self.0).date_naive()
    }

    /// The local time of day at `at`.
    pub fn time_of_day(&self, at: DateTime<Utc>) -> LocalTime {
        let local = at.with_timezone(&self.0);
        LocalTime::from_minutes((local.hour() * 60 + local.minute()) as u16)
            .expect("a clock shows a valid time")
    }

    /// `HH:MM` at `at`, local.
    pub fn hhmm(&self, at: DateTime<Utc>) -> String {
        at.with_timezone(&self.0).format("%H:%M").to_string()
    }

    /// When `time` happens on local `day` (see the module's DST rules).
    pub fn at(&self, day: NaiveDate, time: LocalTime) -> DateTime<Utc> {
        let mut naive = day.and_time(time.naive());
        // A gap is at most a few hours long: step minute by minute to its end.
        for _ in 0..=24 * 60 {
            match self.0.from_local_datetime(&naive) {
                LocalResult::Single(t) => return t.with_timezone(&Utc),
                LocalResult::Ambiguous(first, _) => return first.with_timezone(&Utc),
                LocalResult::None => naive += chrono::TimeDelta::minutes(1),
            }
        }
        // No zone skips a whole day's minutes; stay total anyway.
        Utc.from_utc_datetime(&day.and_time(time.naive()))
    }

    /// The first moment after `after` when the local time is `time`.
    pub fn next(&self, after: DateTime<Utc>, time: LocalTime) -> DateTime<Utc> {
        let today = self.date(after);
        let mut day = today.checked_sub_days(Days::new(1)).unwrap_or(today);
        loop {
            let at = self.at(day, time);
            if at > after {
                return at;
            }
            day = day
                .checked_add_days(Days::new(1))
                .expect("dates far from the end");
        }
    }
}

impl fmt::Display for ChatZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ChatZone {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// A time of day, minute precision: `00:00` to `23:59`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LocalTime(u16);

impl LocalTime {
    pub fn from_minutes(minutes: u16) -> Option<Self> {
        (minutes < 24 * 60).then_some(Self(minutes))
    }

    /// `HH:MM` or `H:MM`; nothing else (`7`, `24:00`, `7:5` are refused).
    pub fn parse(raw: &str) -> Result<Self, String> {
        let text = raw.trim();
        let bad = || format!("'{text}' is not a time of day: use HH:MM, like 07:30");
        let (h, m) = text.split_once(':').ok_or_else(bad)?;
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !(1..=2).contains(&h.len()) || m.len() != 2 || !digits(h) || !digits(m) {
            return Err(bad());
        }
        let (h, m): (u16, u16) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
        if h > 23 || m > 59 {
            return Err(bad());
        }
        Ok(Self(h * 60 + m))
    }

    pub fn minutes(&self) -> u16 {
        self.0
    }

    fn naive(&self) -> NaiveTime {
        NaiveTime::from_hms_opt(u32::from(self.0 / 60), u32::from(self.0 % 60), 0)
            .expect("minutes < 1440")
    }
}

impl fmt::Display for LocalTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0 / 60, self.0 % 60)
    }
}

/// What quiet hours do to an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum QuietMode {
    /// Sent without sound (`disable_notification`).
    Silent,
    /// Held, then summed up in one message when the quiet hours end.
    Hold,
}

/// A daily quiet window, `start` inclusive, `end` exclusive, across
/// midnight when `start > end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    pub start: LocalTime,
    pub end: LocalTime,
    pub mode: QuietMode,
}

impl QuietHours {
    /// `22:00-07:00` with an optional ` hold` (or ` silent`).
    pub fn parse(raw: &str) -> Result<Self, String> {
        let mut words = raw.split_whitespace();
        let window = words
            .next()
            .ok_or_else(|| "quiet hours like 22:00-07:00".to_owned())?;
        let mode = match words.next().map(str::to_lowercase).as_deref() {
            None | Some("silent") => QuietMode::Silent,
            Some("hold") => QuietMode::Hold,
            Some(other) => return Err(format!("'{other}' is neither hold nor silent")),
        };
        if words.next().is_some() {
            return Err("too many words: quiet hours like 22:00-07:00 [hold]".to_owned());
        }
        let (start, end) = window
            .split_once('-')
            .ok_or_else(|| format!("'{window}' is not a window like 22:00-07:00"))?;
        let (start, end) = (LocalTime::parse(start)?, LocalTime::parse(end)?);
        if start == end {
            return Err("the quiet hours must start and end at different times".to_owned());
        }
        Ok(Self { start, end, mode })
    }

    /// Whether local time `time` is inside the window.
    pub fn contains_time(&self, time: LocalTime) -> bool {
        if self.start < self.end {
            self.start <= time && time < self.end
        } else {
            time >= self.start || time < self.end
        }
    }

    /// Whether `at` is inside the window in `zone`.
    pub fn contains(&self, zone: ChatZone, at: DateTime<Utc>) -> bool {
        self.contains_time(zone.time_of_day(at))
    }

    /// When the window holding `at` ends (`None` when `at` is outside it).
    pub fn ends_after(&self, zone: ChatZone, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.contains(zone, at).then(|| zone.next(at, self.end))
    }
}

impl fmt::Display for QuietHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.start, self.end)?;
        if self.mode == QuietMode::Hold {
            f.write_str(" hold")?;
        }
        Ok(())
    }
}

/// Whether a daily event at local `time` is due at `now`, given the local
/// day it last happened: due once `now` reached that day's occurrence, at
/// most once per local day.
pub fn daily_due(
    now: DateTime<Utc>,
    zone: ChatZone,
    time: LocalTime,
    last_day: Option<NaiveDate>,
) -> Option<NaiveDate> {
    let today = zone.date(now);
    (last_day.is_none_or(|last| last < today) && now >= zone.at(today, time)).then_some(today)
}

#[cfg(test)]
#[path = "local_time_tests.rs"]
mod tests;
