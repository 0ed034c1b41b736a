//! Alert, reminder and all-clear messages: human sentences with the city, the
//! threshold crossed and the observed value — never a data dump.

use super::{Language, Units, place, temperature};
use crate::alerts::Breach;

/// One line per breach, e.g. "🌡 Rome, IT: 35.2 °C — above your maximum of 30 °C."
fn breach_line(b: &Breach, at: &str, lang: Language, units: Units) -> String {
    let t = |c: f64| temperature(c, lang, units);
    match (lang, b) {
        (Language::En, Breach::AboveMax { observed, max }) => {
            format!(
                "🌡 {at}: {} — above your maximum of {}.",
                t(*observed),
                t(*max)
            )
        }
        (Language::En, Breach::BelowMin { observed, min }) => {
            format!(
                "🥶 {at}: {} — below your minimum of {}.",
                t(*observed),
                t(*min)
            )
        }
        (Language::En, Breach::Rain) => format!("☔ It is raining in {at}."),
        (Language::En, Breach::Snow) => format!("❄️ It is snowing in {at}."),
        (Language::It, Breach::AboveMax { observed, max }) => {
            format!(
                "🌡 {at}: {} — sopra il tuo massimo di {}.",
                t(*observed),
                t(*max)
            )
        }
        (Language::It, Breach::BelowMin { observed, min }) => {
            format!(
                "🥶 {at}: {} — sotto il tuo minimo di {}.",
                t(*observed),
                t(*min)
            )
        }
        (Language::It, Breach::Rain) => format!("☔ Piove a {at}."),
        (Language::It, Breach::Snow) => format!("❄️ Nevica a {at}."),
    }
}

fn lines(breaches: &[Breach], at: &str, lang: Language, units: Units) -> String {
    breaches
        .iter()
        .map(|b| breach_line(b, at, lang, units))
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn alert_text(
    city: &str,
    country: &str,
    breaches: &[Breach],
    lang: Language,
    units: Units,
) -> String {
    lines(breaches, &place(city, country), lang, units)
}

pub fn reminder_text(
    city: &str,
    country: &str,
    breaches: &[Breach],
    lang: Language,
    units: Units,
) -> String {
    let head = match lang {
        Language::En => "⏰ Still outside your limits:",
        Language::It => "⏰ Ancora fuori dai tuoi limiti:",
    };
    format!(
        "{head}\n{}",
        lines(breaches, &place(city, country), lang, units)
    )
}

pub fn all_clear_text(
    city: &str,
    country: &str,
    observed_c: f64,
    lang: Language,
    units: Units,
) -> String {
    let at = place(city, country);
    let t = temperature(observed_c, lang, units);
    match lang {
        Language::En => format!("✅ {at} is back within your limits ({t})."),
        Language::It => format!("✅ {at} è di nuovo nei tuoi limiti ({t})."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_sentences() {
        let hot = [Breach::AboveMax {
            observed: 35.2,
            max: 30.0,
        }];
        assert_eq!(
            alert_text("Rome", "IT", &hot, Language::En, Units::Celsius),
            "🌡 Rome, IT: 35.2 °C — above your maximum of 30 °C."
        );
        assert_eq!(
            alert_text("Rome", "IT", &[Breach::Rain], Language::En, Units::Celsius),
            "☔ It is raining in Rome, IT."
        );
        assert_eq!(
            all_clear_text("Rome", "IT", 24.1, Language::En, Units::Celsius),
            "✅ Rome, IT is back within your limits (24.1 °C)."
        );
        let both = [
            Breach::BelowMin {
                observed: -3.0,
                min: 0.0,
            },
            Breach::Snow,
        ];
        assert_eq!(
            reminder_text("Oslo", "NO", &both, Language::En, Units::Celsius),
            "⏰ Still outside your limits:\n🥶 Oslo, NO: -3 °C — below your minimum of 0 °C.\n❄️ It is snowing in Oslo, NO."
        );
    }

    #[test]
    fn italian_sentences() {
        let hot = [Breach::AboveMax {
            observed: 35.2,
            max: 30.0,
        }];
        assert_eq!(
            alert_text("Rome", "IT", &hot, Language::It, Units::Celsius),
            "🌡 Rome, IT: 35,2 °C — sopra il tuo massimo di 30 °C."
        );
        assert_eq!(
            all_clear_text("Rome", "IT", 24.1, Language::It, Units::Celsius),
            "✅ Rome, IT è di nuovo nei tuoi limiti (24,1 °C)."
        );
    }

    #[test]
    fn fahrenheit_when_asked() {
        let hot = [Breach::AboveMax {
            observed: 35.0,
            max: 30.0,
        }];
        assert_eq!(
            alert_text("Austin", "US", &hot, Language::En, Units::Fahrenheit),
            "🌡 Austin, US: 95 °F — above your maximum of 86 °F."
        );
    }
}
