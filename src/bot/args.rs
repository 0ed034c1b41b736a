//! The one-line form of /subscribe: `<city…> <t_min> <t_max> <rain> <snow>`,
//! the city possibly quoted or made of several words.

use crate::domain::{CityName, Temperature, parse_flag};

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
    Temperature::parse_optional(word).is_ok() && !word.trim().is_empty()
        || parse_flag(word).is_ok()
        || word.trim().parse::<f64>().is_ok()
}

pub fn parse_subscribe(args: &str) -> SubscribeArgs {
    let words = tokens(args);
    if words.is_empty() {
        return SubscribeArgs::Guided;
    }
    if words.len() >= 5 {
        let (city_words, values) = words.split_at(words.len() - 4);
        if values.iter().any(|v| looks_like_value(v)) {
            return one_line(&city_words.join(" "), values);
        }
    } else if words.iter().skip(1).any(|w| looks_like_value(w)) {
        return SubscribeArgs::Invalid(String::new());
    }
    match CityName::parse(&words.join(" ")) {
        Ok(city) => SubscribeArgs::City(city),
        Err(e) => SubscribeArgs::Invalid(e.to_string()),
    }
}

fn one_line(city: &str, values: &[String]) -> SubscribeArgs {
    let parsed = (|| {
        let city = CityName::parse(city)?;
        let min = Temperature::parse_optional(&values[0]).map_err(|e| prefix("t_min", e))?;
        let max = Temperature::parse_optional(&values[1]).map_err(|e| prefix("t_max", e))?;
        let rain = parse_flag(&values[2]).map_err(|e| prefix("rain", e))?;
        let snow = parse_flag(&values[3]).map_err(|e| prefix("snow", e))?;
        Ok::<_, crate::domain::ParseError>(SubscribeArgs::OneLine {
            city,
            min: min.map(Temperature::celsius),
            max: max.map(Temperature::celsius),
            rain,
            snow,
        })
    })();
    parsed.unwrap_or_else(|e| SubscribeArgs::Invalid(e.to_string()))
}

fn prefix(what: &str, e: crate::domain::ParseError) -> crate::domain::ParseError {
    crate::domain::ParseError(format!("{what}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn city(s: &str) -> CityName {
        CityName::parse(s).unwrap()
    }

    #[test]
    fn the_forms() {
        assert_eq!(parse_subscribe(""), SubscribeArgs::Guided);
        assert_eq!(
            parse_subscribe("  New York "),
            SubscribeArgs::City(city("New York"))
        );
        assert_eq!(
            parse_subscribe("Rome 5 30 yes no"),
            SubscribeArgs::OneLine {
                city: city("Rome"),
                min: Some(5.0),
                max: Some(30.0),
                rain: true,
                snow: false
            }
        );
        assert_eq!(
            parse_subscribe("\"New York\" - 30 no no"),
            SubscribeArgs::OneLine {
                city: city("New York"),
                min: None,
                max: Some(30.0),
                rain: false,
                snow: false
            }
        );
        assert_eq!(
            parse_subscribe("New York - 30 no no"),
            SubscribeArgs::OneLine {
                city: city("New York"),
                min: None,
                max: Some(30.0),
                rain: false,
                snow: false
            }
        );
        assert_eq!(
            parse_subscribe("Reggio nell'Emilia 2,5 none sì no"),
            SubscribeArgs::OneLine {
                city: city("Reggio nell'Emilia"),
                min: Some(2.5),
                max: None,
                rain: true,
                snow: false
            }
        );
        assert_eq!(
            parse_subscribe("San Juan de la Cruz"),
            SubscribeArgs::City(city("San Juan de la Cruz"))
        );
    }

    #[test]
    fn mistakes_are_explained() {
        let SubscribeArgs::Invalid(why) = parse_subscribe("Rome hot 30 yes no") else {
            panic!()
        };
        assert!(why.starts_with("t_min:"), "{why}");
        let SubscribeArgs::Invalid(why) = parse_subscribe("Rome 5 300 yes no") else {
            panic!()
        };
        assert!(why.starts_with("t_max:"), "{why}");
        let SubscribeArgs::Invalid(why) = parse_subscribe("Rome 5 30 maybe no") else {
            panic!()
        };
        assert!(why.starts_with("rain:"), "{why}");
        assert!(matches!(
            parse_subscribe("Rome 5 30"),
            SubscribeArgs::Invalid(_)
        ));
        assert!(matches!(
            parse_subscribe("12345 5 30 no no"),
            SubscribeArgs::Invalid(_)
        ));
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,80}") {
            let _ = parse_subscribe(&s);
        }

        #[test]
        fn one_line_round_trips(min in -90i32..0, max in 1i32..60, rain in any::<bool>(), snow in any::<bool>()) {
            let yn = |b: bool| if b { "yes" } else { "no" };
            let text = format!("Rome {min} {max} {} {}", yn(rain), yn(snow));
            prop_assert_eq!(
                parse_subscribe(&text),
                SubscribeArgs::OneLine { city: city("Rome"), min: Some(min as f64), max: Some(max as f64), rain, snow }
            );
        }
    }
}
