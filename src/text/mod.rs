//! Every user-facing sentence, in English and Italian. Nothing else in the
//! crate writes words a Telegram user reads.

mod alerts;
mod bot;
mod commands;
mod digest;
mod forecast;
mod quiet;
mod settings;
mod sla;
mod sla_chart;
pub mod slo;

pub use alerts::{
    Crossing, Expected, When, alert_text, all_clear_text, breach_text, condition_ended,
    heads_up_cancelled, precipitation_heads_up, rate_limit_notice, reminder_head, reminder_text,
    temperature_heads_up,
};
pub use bot::{BotTexts, bot_texts, fill};
pub use commands::{COMMANDS, CommandInfo, help};
pub use digest::{
    DigestTexts, day_words, digest_bad_time, digest_set, digest_shown, digest_text, digest_texts,
};
pub use forecast::{
    ForecastTexts, block_line, data_age, duration_words, forecast_texts, weather_words,
    whole_temperature,
};
pub use quiet::{Away, QuietTexts, away_line, quiet_texts};
pub use settings::{SettingsTexts, settings_texts};
pub use sla::{SlaTexts, sla_texts};
pub use sla_chart::{
    ChartWords, SlaChartTexts, chart_caption, chart_no_data, chart_words, sla_chart_texts,
};

// The chat preferences are domain values; they are re-exported here, where
// most of their users have always found them.
pub use crate::domain::{Language, Units};

/// A temperature for people: one decimal at most, the language's decimal
/// separator, the chat's unit ("35.2 °C", "30 °C", "35,2 °C", "95.4 °F").
pub fn temperature(celsius: f64, lang: Language, units: Units) -> String {
    let (value, unit) = match units {
        Units::Celsius => (celsius, "°C"),
        Units::Fahrenheit => (celsius * 9.0 / 5.0 + 32.0, "°F"),
    };
    let rounded = (value * 10.0).round() / 10.0;
    let mut number = if rounded.fract() == 0.0 {
        format!("{rounded:.0}")
    } else {
        format!("{rounded:.1}")
    };
    if number == "-0" {
        number = "0".into();
    }
    if lang == Language::It {
        number = number.replace('.', ",");
    }
    format!("{number} {unit}")
}

/// "Rome, IT", or just "Rome" when the country is unknown.
pub fn place(city: &str, country: &str) -> String {
    if country.is_empty() {
        city.to_owned()
    } else {
        format!("{city}, {country}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temperatures_read_naturally() {
        assert_eq!(temperature(35.24, Language::En, Units::Celsius), "35.2 °C");
        assert_eq!(temperature(30.0, Language::En, Units::Celsius), "30 °C");
        assert_eq!(temperature(35.24, Language::It, Units::Celsius), "35,2 °C");
        assert_eq!(temperature(-0.01, Language::En, Units::Celsius), "0 °C");
        assert_eq!(
            temperature(100.0 / 3.0, Language::En, Units::Fahrenheit),
            "92 °F"
        );
        assert_eq!(temperature(0.0, Language::En, Units::Fahrenheit), "32 °F");
    }

    #[test]
    fn codes() {
        assert_eq!(Language::from_code("it-IT"), Language::It);
        assert_eq!(Language::from_code("de"), Language::En);
        assert_eq!(Units::from_code("F"), Units::Fahrenheit);
        assert_eq!(place("Rome", "IT"), "Rome, IT");
        assert_eq!(place("Nowhere", ""), "Nowhere");
    }
}
