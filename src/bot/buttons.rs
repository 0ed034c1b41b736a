//! Inline-button payloads as one typed value: built with [`Button::data`],
//! read back with [`Button::parse`], so a button and its handler cannot
//! disagree on a string. Telegram allows 1–64 bytes of callback data; every
//! payload here is far shorter. Anything that does not parse — an old
//! client, a forged press — is `None` and answered "expired".

/// What a button press asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Button {
    /// 🗑 under a subscription in `/subscriptions`.
    Delete(i64),
    /// Take the suggested Telegram username in `/register`.
    SuggestedUsername,
    /// The n-th place offered for an ambiguous city name.
    Place(usize),
    NoMinimum,
    NoMaximum,
    Rain(bool),
    Snow(bool),
    /// A heads-up lead time in minutes; `None`: off.
    Ahead(Option<u64>),
    Confirm,
    Cancel,
    /// 🔕 under an alert: snooze subscription `id` for `minutes`.
    Snooze {
        id: i64,
        minutes: u32,
    },
    /// 🔕 under an alert: snooze subscription `id` until the chat's next
    /// local 07:00.
    SnoozeUntilMorning(i64),
    /// A choice on the `/settings` card.
    Setting(Setting),
}

/// What a `/settings` button sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    Language(crate::domain::Language),
    Units(crate::domain::Units),
    /// 22:00-07:00, silent or held.
    QuietNight {
        hold: bool,
    },
    QuietOff,
    /// A digest at 07:30.
    DigestMorning,
    DigestOff,
    /// How to set the time zone (no button can hold one).
    TimeZoneHelp,
}

impl Setting {
    fn data(self) -> &'static str {
        use crate::domain::{Language, Units};
        match self {
            Setting::Language(Language::En) => "set:lang:en",
            Setting::Language(Language::It) => "set:lang:it",
            Setting::Units(Units::Celsius) => "set:units:c",
            Setting::Units(Units::Fahrenheit) => "set:units:f",
            Setting::QuietNight { hold: false } => "set:quiet:night",
            Setting::QuietNight { hold: true } => "set:quiet:hold",
            Setting::QuietOff => "set:quiet:off",
            Setting::DigestMorning => "set:digest:0730",
            Setting::DigestOff => "set:digest:off",
            Setting::TimeZoneHelp => "set:tz",
        }
    }

    const ALL: [Setting; 10] = [
        Setting::Language(crate::domain::Language::En),
        Setting::Language(crate::domain::Language::It),
        Setting::Units(crate::domain::Units::Celsius),
        Setting::Units(crate::domain::Units::Fahrenheit),
        Setting::QuietNight { hold: false },
        Setting::QuietNight { hold: true },
        Setting::QuietOff,
        Setting::DigestMorning,
        Setting::DigestOff,
        Setting::TimeZoneHelp,
    ];
}

/// The buttons under an alert, a reminder or a heads-up: snooze 3 h, snooze
/// until tomorrow morning, unsubscribe — as the Bot API's `reply_markup`
/// JSON, stored with the outbox row.
pub fn alert_keyboard(subscription_id: i64, lang: crate::domain::Language) -> String {
    use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};
    let t = crate::text::quiet_texts(lang);
    let button = |label: &str, b: Button| InlineKeyboardButton::callback(label, b.data());
    let markup = InlineKeyboardMarkup::new([
        vec![
            button(
                t.button_snooze_3h,
                Button::Snooze {
                    id: subscription_id,
                    minutes: 180,
                },
            ),
            button(
                t.button_snooze_morning,
                Button::SnoozeUntilMorning(subscription_id),
            ),
        ],
        vec![button(
            t.button_unsubscribe,
            Button::Delete(subscription_id),
        )],
    ]);
    serde_json::to_string(&markup).expect("a keyboard serialises")
}

impl Button {
    /// The callback data sent with the button.
    pub fn data(self) -> String {
        match self {
            Button::Delete(id) => format!("del:{id}"),
            Button::SuggestedUsername => "reguser".into(),
            Button::Place(i) => format!("place:{i}"),
            Button::NoMinimum => "min:none".into(),
            Button::NoMaximum => "max:none".into(),
            Button::Rain(yes) => format!("rain:{}", u8::from(yes)),
            Button::Snow(yes) => format!("snow:{}", u8::from(yes)),
            Button::Ahead(None) => "ahead:off".into(),
            Button::Ahead(Some(minutes)) => format!("ahead:{minutes}"),
            Button::Confirm => "confirm".into(),
            Button::Cancel => "cancel".into(),
            Button::Snooze { id, minutes } => format!("snz:{id}:{minutes}"),
            Button::SnoozeUntilMorning(id) => format!("snz:{id}:am"),
            Button::Setting(s) => s.data().to_owned(),
        }
    }

    pub fn parse(data: &str) -> Option<Self> {
        let flag = |v: &str| match v {
            "1" => Some(true),
            "0" => Some(false),
            _ => None,
        };
        // Numbers are plain decimal digits only: no sign, no spaces, no
        // leading zero (one payload per value).
        let number = |v: &str| {
            let canonical = v == "0" || !v.starts_with('0');
            (!v.is_empty() && canonical && v.bytes().all(|b| b.is_ascii_digit()))
                .then(|| v.parse::<u64>().ok())
                .flatten()
        };
        if let Some(s) = Setting::ALL.into_iter().find(|s| s.data() == data) {
            return Some(Button::Setting(s));
        }
        let button = match data.split_once(':') {
            None => match data {
                "reguser" => Button::SuggestedUsername,
                "confirm" => Button::Confirm,
                "cancel" => Button::Cancel,
                _ => return None,
            },
            Some(("del", id)) => Button::Delete(i64::try_from(number(id)?).ok()?),
            Some(("place", i)) => Button::Place(usize::try_from(number(i)?).ok()?),
            Some(("min", "none")) => Button::NoMinimum,
            Some(("max", "none")) => Button::NoMaximum,
            Some(("rain", v)) => Button::Rain(flag(v)?),
            Some(("snow", v)) => Button::Snow(flag(v)?),
            Some(("ahead", "off")) => Button::Ahead(None),
            Some(("ahead", m)) => Button::Ahead(Some(number(m)?)),
            Some(("snz", rest)) => {
                let (id, span) = rest.split_once(':')?;
                let id = i64::try_from(number(id)?).ok()?;
                match span {
                    "am" => Button::SnoozeUntilMorning(id),
                    m => Button::Snooze {
                        id,
                        minutes: u32::try_from(number(m)?).ok().filter(|m| *m > 0)?,
                    },
                }
            }
            Some(_) => return None,
        };
        Some(button)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn payloads_are_short_and_exact() {
        assert_eq!(Button::Delete(42).data(), "del:42");
        assert_eq!(Button::Rain(true).data(), "rain:1");
        assert_eq!(Button::Ahead(None).data(), "ahead:off");
        for bad in [
            "",
            "del:",
            "del:-1",
            "del:+4",
            "del: 4",
            "del:007",
            "rain:2",
            "min:0",
            "ahead:",
            "x",
            "place:1:2",
            "snz:1",
            "snz:1:0",
            "snz:1:pm",
            "snz::am",
            "snz:1:am:2",
        ] {
            assert_eq!(Button::parse(bad), None, "{bad:?}");
        }
    }

    fn any_button() -> impl Strategy<Value = Button> {
        prop_oneof![
            (0i64..i64::MAX).prop_map(Button::Delete),
            Just(Button::SuggestedUsername),
            (0usize..100).prop_map(Button::Place),
            Just(Button::NoMinimum),
            Just(Button::NoMaximum),
            any::<bool>().prop_map(Button::Rain),
            any::<bool>().prop_map(Button::Snow),
            prop::option::of(0u64..100_000).prop_map(Button::Ahead),
            Just(Button::Confirm),
            Just(Button::Cancel),
            (0i64..i64::MAX, 1u32..=u32::MAX)
                .prop_map(|(id, minutes)| Button::Snooze { id, minutes }),
            (0i64..i64::MAX).prop_map(Button::SnoozeUntilMorning),
            prop::sample::select(Setting::ALL.to_vec()).prop_map(Button::Setting),
        ]
    }

    proptest! {
        #[test]
        fn every_button_round_trips_within_telegrams_64_bytes(button in any_button()) {
            let data = button.data();
            prop_assert!(!data.is_empty() && data.len() <= 64);
            prop_assert_eq!(Button::parse(&data), Some(button));
        }

        #[test]
        fn any_text_parses_or_is_refused_without_panic(data in "\\PC{0,70}") {
            if let Some(button) = Button::parse(&data) {
                prop_assert_eq!(button.data(), data);
            }
        }
    }
}
