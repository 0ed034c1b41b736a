use chrono::{NaiveDate, TimeZone};
use proptest::prelude::*;

use super::*;

fn rome() -> ChatZone {
    ChatZone::parse("Europe/Rome").unwrap()
}

fn t(s: &str) -> LocalTime {
    LocalTime::parse(s).unwrap()
}

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).unwrap()
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

#[test]
fn zones_are_iana_names() {
    assert_eq!(rome().name(), "Europe/Rome");
    assert_eq!(ChatZone::parse(" europe/rome ").unwrap(), rome());
    for bad in [
        "Mars/Olympus",
        "",
        "Rome",
        "UTC+1; DROP TABLE",
        &"x".repeat(100),
    ] {
        assert!(ChatZone::parse(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn times_of_day_are_exact() {
    assert_eq!(t("07:30").minutes(), 450);
    assert_eq!(t("7:30").to_string(), "07:30");
    assert_eq!(t("00:00").minutes(), 0);
    assert_eq!(t("23:59").minutes(), 1439);
    for bad in [
        "7", "24:00", "7:5", "07:60", "-1:00", "07:30:00", "", "7h30", "０7:30",
    ] {
        assert!(LocalTime::parse(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn quiet_windows_parse_and_refuse() {
    let q = QuietHours::parse("22:00-07:00").unwrap();
    assert_eq!(
        (q.start, q.end, q.mode),
        (t("22:00"), t("07:00"), QuietMode::Silent)
    );
    assert_eq!(
        QuietHours::parse("22:00-07:00 hold").unwrap().mode,
        QuietMode::Hold
    );
    assert_eq!(q.to_string(), "22:00-07:00");
    for bad in [
        "25:00-07:00",
        "07:00-07:00",
        "22:00",
        "22:00-07:00 loud",
        "22-7",
        "",
    ] {
        assert!(QuietHours::parse(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn inside_outside_and_across_midnight() {
    let night = QuietHours::parse("22:00-07:00").unwrap();
    assert!(night.contains_time(t("22:00")));
    assert!(night.contains_time(t("03:00")));
    assert!(night.contains_time(t("06:59")));
    assert!(!night.contains_time(t("07:00")));
    assert!(!night.contains_time(t("12:00")));
    assert!(!night.contains_time(t("21:59")));
    let lunch = QuietHours::parse("12:00-14:00").unwrap();
    assert!(lunch.contains_time(t("13:00")));
    assert!(!lunch.contains_time(t("14:00")));
    assert!(!lunch.contains_time(t("03:00")));
    // In Rome (UTC+1 in winter), 21:30 UTC is 22:30 local: inside.
    assert!(night.contains(rome(), utc(2026, 1, 10, 21, 30)));
    assert!(!night.contains(rome(), utc(2026, 1, 10, 20, 30)));
    assert_eq!(
        night.ends_after(rome(), utc(2026, 1, 10, 21, 30)),
        Some(utc(2026, 1, 11, 6, 0))
    );
    assert_eq!(night.ends_after(rome(), utc(2026, 1, 10, 12, 0)), None);
}

#[test]
fn quiet_hours_on_the_dst_change_nights() {
    let night = QuietHours::parse("01:00-04:00").unwrap();
    // Spring, Rome, 29 March 2026: 02:00 CET jumps to 03:00 CEST.
    // 00:30 UTC is 01:30 CET (inside); 01:30 UTC is 03:30 CEST (inside);
    // 02:00 UTC is 04:00 CEST (outside): two hours of quiet that night.
    assert!(night.contains(rome(), utc(2026, 3, 29, 0, 30)));
    assert!(night.contains(rome(), utc(2026, 3, 29, 1, 30)));
    assert!(!night.contains(rome(), utc(2026, 3, 29, 2, 0)));
    assert_eq!(
        night.ends_after(rome(), utc(2026, 3, 29, 0, 30)),
        Some(utc(2026, 3, 29, 2, 0))
    );
    // Autumn, 25 October 2026: 03:00 CEST falls back to 02:00 CET. 01:00
    // CEST is 23:00 UTC; 04:00 CET is 03:00 UTC: four hours of quiet.
    assert!(night.contains(rome(), utc(2026, 10, 24, 23, 0)));
    assert!(night.contains(rome(), utc(2026, 10, 25, 2, 30)));
    assert!(!night.contains(rome(), utc(2026, 10, 25, 3, 0)));
    assert_eq!(
        night.ends_after(rome(), utc(2026, 10, 24, 23, 0)),
        Some(utc(2026, 10, 25, 3, 0))
    );
}

#[test]
fn a_skipped_time_happens_at_the_first_valid_minute_after_it() {
    // 02:30 does not exist in Rome on 29 March 2026: it is 03:00 CEST.
    assert_eq!(
        rome().at(day(2026, 3, 29), t("02:30")),
        utc(2026, 3, 29, 1, 0)
    );
    // A repeated time happens at its first occurrence (02:30 CEST).
    assert_eq!(
        rome().at(day(2026, 10, 25), t("02:30")),
        utc(2026, 10, 25, 0, 30)
    );
}

#[test]
fn a_daily_event_is_due_once_per_local_day() {
    let at = t("07:30");
    let zone = rome();
    // 06:29 UTC = 07:29 CET: not yet; 06:30 UTC: due for 10 January.
    assert_eq!(daily_due(utc(2026, 1, 10, 6, 29), zone, at, None), None);
    assert_eq!(
        daily_due(utc(2026, 1, 10, 6, 30), zone, at, None),
        Some(day(2026, 1, 10))
    );
    assert_eq!(
        daily_due(utc(2026, 1, 10, 20, 0), zone, at, Some(day(2026, 1, 10))),
        None
    );
    // 23:30 UTC on the 10th is already the 11th in Rome, but before 07:30.
    assert_eq!(
        daily_due(utc(2026, 1, 10, 23, 30), zone, at, Some(day(2026, 1, 10))),
        None
    );
    // Spring: 02:30 is skipped; due from 03:00 CEST (01:00 UTC).
    let skipped = t("02:30");
    assert_eq!(
        daily_due(
            utc(2026, 3, 29, 0, 59),
            zone,
            skipped,
            Some(day(2026, 3, 28))
        ),
        None
    );
    assert_eq!(
        daily_due(
            utc(2026, 3, 29, 1, 0),
            zone,
            skipped,
            Some(day(2026, 3, 28))
        ),
        Some(day(2026, 3, 29))
    );
    // Autumn: 02:30 happens twice; due at the first, and not again.
    let repeated_first = utc(2026, 10, 25, 0, 30);
    let repeated_second = utc(2026, 10, 25, 1, 30);
    assert_eq!(
        daily_due(repeated_first, zone, skipped, Some(day(2026, 10, 24))),
        Some(day(2026, 10, 25))
    );
    assert_eq!(
        daily_due(repeated_second, zone, skipped, Some(day(2026, 10, 25))),
        None
    );
}

proptest! {
    /// Checked every minute over two days in any zone and time, marking
    /// each "sent" day, a daily event is due at most once per local day.
    #[test]
    fn due_at_most_once_per_local_day(
        start in 1_700_000_000i64..1_900_000_000,
        minutes in 0u16..1440,
        zone in prop::sample::select(vec![
            "Europe/Rome", "America/New_York", "Australia/Lord_Howe",
            "Asia/Kolkata", "Pacific/Chatham", "UTC", "America/Santiago",
        ]),
    ) {
        let zone = ChatZone::parse(zone).unwrap();
        let time = LocalTime::from_minutes(minutes).unwrap();
        let mut last = None;
        let mut sent = Vec::new();
        let start = DateTime::from_timestamp(start - start % 60, 0).unwrap();
        for m in 0..(2 * 24 * 60) {
            let now = start + chrono::TimeDelta::minutes(m);
            if let Some(day) = daily_due(now, zone, time, last) {
                prop_assert_eq!(zone.date(now), day);
                prop_assert!(!sent.contains(&day));
                sent.push(day);
                last = Some(day);
            }
        }
        // Two days of minutes cover at least one whole local day.
        prop_assert!(!sent.is_empty());
    }

    #[test]
    fn any_text_is_a_time_or_an_error(raw in ".{0,12}") {
        if let Ok(time) = LocalTime::parse(&raw) {
            prop_assert_eq!(LocalTime::parse(&time.to_string()), Ok(time));
        }
        let _ = QuietHours::parse(&raw);
        let _ = ChatZone::parse(&raw);
    }
}
