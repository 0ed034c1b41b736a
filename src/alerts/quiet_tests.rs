use chrono::TimeZone;

use super::*;
use crate::alerts::heads_up::Hit;
use crate::domain::Breach;

fn utc(h: u32, m: u32) -> DateTime<Utc> {
    // 10 January 2026: Rome is UTC+1.
    Utc.with_ymd_and_hms(2026, 1, 10, h, m, 0).unwrap()
}

fn rome() -> ChatZone {
    ChatZone::parse("Europe/Rome").unwrap()
}

fn rule() -> Rule {
    Rule {
        t_min: None,
        t_max: Some(30.0),
        rain: true,
        snow: false,
    }
}

fn of(sub: i64, held: Held) -> HeldOf {
    HeldOf {
        subscription_id: Some(sub),
        place: "Rome, IT".into(),
        held,
    }
}

fn held(c: Condition, kind: HeldKind, at: DateTime<Utc>) -> Held {
    Held {
        condition: c,
        kind,
        at,
        limit: if c == Condition::Hot {
            "30 °C".into()
        } else {
            String::new()
        },
    }
}

#[test]
fn happenings_become_held_events_without_reminders() {
    let hot = Breach::AboveMax {
        observed: 35.0,
        max: 30.0,
    };
    let happenings = [
        (Condition::Hot, Happening::Started(hot)),
        (Condition::Hot, Happening::Reminder(hot)),
        (Condition::Rain, Happening::Ended),
    ];
    let got = hold(
        &rule(),
        &happenings,
        utc(0, 10),
        Language::En,
        Units::Celsius,
    );
    assert_eq!(
        got,
        vec![
            held(Condition::Hot, HeldKind::Start, utc(0, 10)),
            held(Condition::Rain, HeldKind::End, utc(0, 10)),
        ]
    );
    let hit = Hit {
        start: utc(7, 0),
        peak_at: utc(8, 0),
        peak_c: 0.0,
        probability: Some(70),
    };
    let got = hold(
        &rule(),
        &[(Condition::Rain, Happening::HeadsUp(hit))],
        utc(1, 0),
        Language::En,
        Units::Celsius,
    );
    assert_eq!(
        got,
        vec![held(Condition::Rain, HeldKind::HeadsUp, utc(7, 0))]
    );
}

#[test]
fn an_episode_inside_the_window_is_one_line() {
    let events = [
        of(1, held(Condition::Hot, HeldKind::Start, utc(0, 10))),
        of(1, held(Condition::Hot, HeldKind::End, utc(3, 30))),
    ];
    assert_eq!(
        summary(&events, rome(), Language::En).unwrap(),
        "🌙 While you were away:\n\
         Rome, IT went above 30 °C at 01:10 and was back within limits at 04:30."
    );
}

#[test]
fn open_episodes_ends_of_earlier_ones_and_forecasts_are_said() {
    let events = [
        of(1, held(Condition::Rain, HeldKind::End, utc(22, 0))),
        of(1, held(Condition::Hot, HeldKind::Start, utc(23, 0))),
        of(2, held(Condition::Rain, HeldKind::HeadsUp, utc(6, 45))),
        // A heads-up that came and went inside the window: nothing to say.
        of(3, held(Condition::Rain, HeldKind::HeadsUp, utc(2, 0))),
        of(
            3,
            held(Condition::Rain, HeldKind::HeadsUpCancelled, utc(2, 0)),
        ),
        // One told before the window, dropped inside it.
        of(
            4,
            held(Condition::Rain, HeldKind::HeadsUpCancelled, utc(5, 0)),
        ),
    ];
    let text = summary(&events, rome(), Language::En).unwrap();
    assert_eq!(
        text.lines().collect::<Vec<_>>(),
        [
            "🌙 While you were away:",
            "Rome, IT: the rain stopped at 23:00.",
            "Rome, IT went above 30 °C at 00:00 and still is.",
            "Rome, IT: rain expected from about 07:45.",
            "Rome, IT: the rain expected at 06:00 is no longer forecast.",
        ]
    );
}

#[test]
fn nothing_worth_saying_is_no_message() {
    let events = [
        of(3, held(Condition::Rain, HeldKind::HeadsUp, utc(2, 0))),
        of(
            3,
            held(Condition::Rain, HeldKind::HeadsUpCancelled, utc(2, 0)),
        ),
    ];
    assert_eq!(summary(&events, rome(), Language::En), None);
}

#[test]
fn kinds_round_trip() {
    for k in [
        HeldKind::Start,
        HeldKind::End,
        HeldKind::HeadsUp,
        HeldKind::HeadsUpCancelled,
    ] {
        assert_eq!(HeldKind::from_code(k.code()), Some(k));
    }
    assert_eq!(HeldKind::from_code("nope"), None);
}
