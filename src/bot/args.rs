//! The one-line form of /subscribe: `<city…> <t_min> <t_max> <rain> <snow>
//! [lead]`, the city possibly quoted or made of several words.
//!
//! The optional lead time is told apart from the rest by position only: the
//! last word (or last two, for `1h 30m` written unquoted) is a lead when the
//! four words before it read as `<t_min> <t_max> <flag> <flag>`. A number
//! such as `30` is never taken for a lead on its own account (it is also
//! "30 minutes"): only what follows the rain and snow flags can be one. Any
//! other line keeps the rules of the four-value form, so a city whose last
//! word is a number (`Area 51 5 30 no no`) still works.

use crate::domain::{CityName, LeadTime, Temperature, Units, parse_flag};
use crate::subscribe::parse_ahead;

#[derive(Debug, Clone, PartialEq)]
pub enum SubscribeArgs {
    /// `/subscribe` alone: ask for everything.
    Guided,
    /// Only a city: ask for the limits.
    City(CityName),
    /// Everything in one line (limits as typed; checked together later).
    OneLine {
        city: CityName,
        min: Option<f64>,
        max: Option<f64>,
        rain: bool,
        snow: bool,
        /// Heads-up lead time; `None`: off.
        ahead: Option<LeadTime>,
    },
    /// Something is wrong: the reason, for the user.
    Invalid(String),
}

/// Splits on whitespace, keeping "double-quoted words" (also “curly”) together.
pub fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for ch in text.chars() {
        match ch {
            '"' | '“' | '”' => {
                quoted = !quoted;
                if !quoted && !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
            }
            c if c.is_whitespace() && !quoted => {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Whether a word reads as a limit rather than part of a city name.
fn looks_like_value(word: &str) -> bool {
    Temperature::parse_with_units(word, Units::Celsius).is_ok() && !word.trim().is_empty()
        || parse_flag(word).is_ok()
        || word.trim().parse::<f64>().is_ok()
}

/// `/subscribe` arguments. Temperatures without a unit are in the chat's
/// `units` (after `/units f`, `41 86` means 41–86 °F); `30C` or `86F` says
/// so explicitly whatever the chat's setting.
pub fn parse_subscribe(args: &str, units: Units) -> SubscribeArgs {
    let words = tokens(args);
    if words.is_empty() {
        return SubscribeArgs::Guided;
    }
    // With a lead: a city word, four limits and the lead's one or two words.
    let mut lead_error = None;
    for lead_words in 1..=2 {
        if words.len() < 5 + lead_words {
            break;
        }
        let (rest, lead) = words.split_at(words.len() - lead_words);
        let (city_words, values) = rest.split_at(rest.len() - 4);
        let lead = lead.join(" ");
        match one_line(&city_words.join(" "), values, Some(&lead), units) {
            Ok(parsed) => return parsed,
            // Flags where the lead form has them, or a real lead at the end:
            // the user meant this form, so its error is the one to explain.
            Err(e)
                if lead_error.is_none()
                    && (values[2..].iter().all(|v| parse_flag(v).is_ok())
                        || LeadTime::parse_optional(&lead).is_ok()) =>
            {
                lead_error = Some(e);
            }
            Err(_) => {}
        }
    }
    if words.len() >= 5 {
        let (city_words, values) = words.split_at(words.len() - 4);
        if values.iter().any(|v| looks_like_value(v)) {
            return match (
                one_line(&city_words.join(" "), values, None, units),
                lead_error,
            ) {
                (Ok(parsed), _) => parsed,
                (Err(e), None) | (Err(_), Some(e)) => SubscribeArgs::Invalid(e.to_string()),
            };
        }
    }
    if let Some(e) = lead_error {
        return SubscribeArgs::Invalid(e.to_string());
    }
    if words.len() < 5 && words.iter().skip(1).any(|w| looks_like_value(w)) {
        return SubscribeArgs::Invalid(String::new());
    }
    match CityName::parse(&words.join(" ")) {
        Ok(city) => SubscribeArgs::City(city),
        Err(e) => SubscribeArgs::Invalid(e.to_string()),
    }
}

/// `<t_min> <t_max> <rain> <snow>` after `city`, and the lead if any.
fn one_line(
    city: &str,
    values: &[String],
    lead: Option<&str>,
    units: Units,
) -> Result<SubscribeArgs, crate::domain::ParseError> {
    let city = CityName::parse(city)?;
    let min = Temperature::parse_with_units(&values[0], units).map_err(|e| prefix("t_min", e))?;
    let max = Temperature::parse_with_units(&values[1], units).map_err(|e| prefix("t_max", e))?;
    let rain = parse_flag(&values[2]).map_err(|e| prefix("rain", e))?;
    let snow = parse_flag(&values[3]).map_err(|e| prefix("snow", e))?;
    let ahead = parse_ahead(lead)?;
    Ok(SubscribeArgs::OneLine {
        city,
        min: min.map(Temperature::celsius),
        max: max.map(Temperature::celsius),
        rain,
        snow,
        ahead,
    })
}

fn prefix(what: &str, e: crate::domain::ParseError) -> crate::domain::ParseError {
    crate::domain::ParseError(format!("{what}: {e}"))
}

#[cfg(test)]
mod tests {
    /// Celsius chats, as before `/units`.
    fn parse(args: &str) -> SubscribeArgs {
        parse_subscribe(args, Units::Celsius)
    }

    #[test]
    fn temperatures_are_in_the_chats_units_unless_a_suffix_says() {
        let SubscribeArgs::OneLine { min, max, .. } =
            parse_subscribe("Oslo 41 86 no no", Units::Fahrenheit)
        else {
            panic!("one line expected");
        };
        assert_eq!((min, max), (Some(5.0), Some(30.0)));
        let SubscribeArgs::OneLine { min, max, .. } =
            parse_subscribe("Oslo 5C 86F no no", Units::Celsius)
        else {
            panic!("one line expected");
        };
        assert_eq!((min, max), (Some(5.0), Some(30.0)));
        // 86 °C is out of range; 86 °F is not.
        assert!(matches!(
            parse_subscribe("Oslo 41 86 no no", Units::Celsius),
            SubscribeArgs::Invalid(_)
        ));
    }

    use super::*;
    use proptest::prelude::*;

    fn city(s: &str) -> CityName {
        CityName::parse(s).unwrap()
    }

    #[test]
    fn the_forms() {
        assert_eq!(parse(""), SubscribeArgs::Guided);
        assert_eq!(parse("  New York "), SubscribeArgs::City(city("New York")));
        assert_eq!(
            parse("Rome 5 30 yes no"),
            SubscribeArgs::OneLine {
                city: city("Rome"),
                min: Some(5.0),
                max: Some(30.0),
                rain: true,
                snow: false,
                ahead: None
            }
        );
        assert_eq!(
            parse("\"New York\" - 30 no no"),
            SubscribeArgs::OneLine {
                city: city("New York"),
                min: None,
                max: Some(30.0),
                rain: false,
                snow: false,
                ahead: None
            }
        );
        assert_eq!(
            parse("New York - 30 no no"),
            SubscribeArgs::OneLine {
                city: city("New York"),
                min: None,
                max: Some(30.0),
                rain: false,
                snow: false,
                ahead: None
            }
        );
        assert_eq!(
            parse("Reggio nell'Emilia 2,5 none sì no"),
            SubscribeArgs::OneLine {
                city: city("Reggio nell'Emilia"),
                min: Some(2.5),
                max: None,
                rain: true,
                snow: false,
                ahead: None
            }
        );
        assert_eq!(
            parse("San Juan de la Cruz"),
            SubscribeArgs::City(city("San Juan de la Cruz"))
        );
    }

    #[test]
    fn mistakes_are_explained() {
        let SubscribeArgs::Invalid(why) = parse("Rome hot 30 yes no") else {
            panic!()
        };
        assert!(why.starts_with("t_min:"), "{why}");
        let SubscribeArgs::Invalid(why) = parse("Rome 5 300 yes no") else {
            panic!()
        };
        assert!(why.starts_with("t_max:"), "{why}");
        let SubscribeArgs::Invalid(why) = parse("Rome 5 30 maybe no") else {
            panic!()
        };
        assert!(why.starts_with("rain:"), "{why}");
        assert!(matches!(parse("Rome 5 30"), SubscribeArgs::Invalid(_)));
        assert!(matches!(
            parse("12345 5 30 no no"),
            SubscribeArgs::Invalid(_)
        ));
    }

    fn lead(raw: &str) -> Option<LeadTime> {
        LeadTime::parse_optional(raw).unwrap()
    }

    #[test]
    fn a_lead_time_after_the_flags() {
        let rome = |ahead| SubscribeArgs::OneLine {
            city: city("Rome"),
            min: Some(5.0),
            max: Some(30.0),
            rain: true,
            snow: false,
            ahead,
        };
        assert_eq!(parse("Rome 5 30 yes no 3h"), rome(lead("3h")));
        assert_eq!(parse("Rome 5 30 yes no 90"), rome(lead("90")));
        assert_eq!(parse("Rome 5 30 yes no off"), rome(None));
        assert_eq!(parse("Rome 5 30 yes no no"), rome(None));
        assert_eq!(parse("Rome 5 30 yes no 1h 30m"), rome(lead("90")));
        assert_eq!(parse("Rome 5 30 yes no \"1h 30m\""), rome(lead("90")));
        // Several words, quoted or not, with a lead.
        let SubscribeArgs::OneLine { city: c, ahead, .. } = parse("New York - 30 no no 40m") else {
            panic!()
        };
        assert_eq!((c, ahead), (city("New York"), lead("40m")));
        // Without a lead nothing changes: `30` and `0,5` are limits, and a
        // city ending in a number is still a city.
        assert_eq!(parse("Rome 5 30 yes no"), rome(None));
        let SubscribeArgs::OneLine {
            city: c,
            min,
            ahead,
            ..
        } = parse("Area 51 5 30 no yes")
        else {
            panic!()
        };
        assert_eq!((c, min, ahead), (city("Area 51"), Some(5.0), None));
    }

    #[test]
    fn bad_lead_times_are_explained() {
        for (input, why) in [
            ("Rome 5 30 yes no soon", "ahead: 'soon' is not a lead time"),
            (
                "Rome 5 30 yes no 49h",
                "ahead: a heads-up lead time can be at most 48 h",
            ),
            ("Rome 5 30 yes no 0", "ahead: a lead time of zero"),
            (
                "Rome 5 30 yes no -3h",
                "ahead: '-3h': a heads-up lead time cannot be negative",
            ),
            (
                "Rome 5 30 yes no 30s",
                "ahead: a heads-up lead time must be at least 1 minute",
            ),
            // The flags placed the lead: the mistake before it is the one told.
            ("Rome hot 30 yes no 3h", "t_min: 'hot' is not a temperature"),
            ("Rome 5 30 maybe no 3h", "rain: 'maybe' is not yes or no"),
        ] {
            let SubscribeArgs::Invalid(got) = parse(input) else {
                panic!("{input}: {:?}", parse(input))
            };
            assert!(got.starts_with(why), "{input}: {got}");
        }
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,80}") {
            let _ = parse(&s);
        }

        #[test]
        fn one_line_round_trips(min in -90i32..0, max in 1i32..60, rain in any::<bool>(), snow in any::<bool>()) {
            let yn = |b: bool| if b { "yes" } else { "no" };
            let text = format!("Rome {min} {max} {} {}", yn(rain), yn(snow));
            prop_assert_eq!(
                parse(&text),
                SubscribeArgs::OneLine { city: city("Rome"), min: Some(min as f64), max: Some(max as f64), rain, snow, ahead: None }
            );
        }

        #[test]
        fn any_lead_in_range_round_trips(minutes in 1u64..=2880, rain in any::<bool>()) {
            let text = format!("Rome 5 30 {} no {minutes}", if rain { "sì" } else { "no" });
            let SubscribeArgs::OneLine { ahead, rain: r, .. } = parse(&text) else {
                panic!("{text}")
            };
            prop_assert_eq!(ahead.map(|l| l.get().as_secs()), Some(minutes * 60));
            prop_assert_eq!(r, rain);
        }
    }
}
