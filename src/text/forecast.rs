//! What `/forecast` and `/weather` say about forecast data: the 24-hour
//! table, how old the data is, and the weather code in words.

use chrono::TimeDelta;

use super::{Language, Units};

pub struct ForecastTexts {
    pub usage: &'static str,
    /// The place; followed by one line per 3-hour block.
    pub head: &'static str,
    /// A line between the blocks of today and those after midnight.
    pub tomorrow: &'static str,
    pub age_now: &'static str,
    /// The age, e.g. "25 min".
    pub age: &'static str,
    /// The age: data older than `WEATHER_MAX_AGE`.
    pub stale: &'static str,
    pub no_data: &'static str,
    pub unavailable: &'static str,
}

pub static EN: ForecastTexts = ForecastTexts {
    usage: "Which city? Write /forecast <city>, e.g. /forecast Rome",
    head: "🗓 {} — the next 24 hours (local time):",
    tomorrow: "— tomorrow —",
    age_now: "🕒 data from just now",
    age: "🕒 data from {} ago",
    stale: "⚠️ This data is from {} ago, too old to judge: alerts for this place are paused until it is refreshed.",
    no_data: "There is no forecast for {} at the moment. Please try again later.",
    unavailable: "Weather data is unavailable right now. Please try again later.",
};

pub static IT: ForecastTexts = ForecastTexts {
    usage: "Quale città? Scrivi /forecast <città>, es. /forecast Roma",
    head: "🗓 {} — le prossime 24 ore (ora locale):",
    tomorrow: "— domani —",
    age_now: "🕒 dati di adesso",
    age: "🕒 dati di {} fa",
    stale: "⚠️ Questi dati sono di {} fa, troppo vecchi per giudicare: gli avvisi per questo posto sono sospesi finché non si aggiornano.",
    no_data: "Al momento non c'è una previsione per {}. Riprova più tardi.",
    unavailable: "I dati meteo non sono disponibili in questo momento. Riprova più tardi.",
};

pub fn forecast_texts(lang: Language) -> &'static ForecastTexts {
    match lang {
        Language::En => &EN,
        Language::It => &IT,
    }
}

/// A duration for people, to the minute: "25 min", "3 h", "3 h 10 min",
/// "2 d 4 h" (the same in both languages).
pub fn duration_words(delta: TimeDelta) -> String {
    let minutes = delta.num_minutes().max(0);
    match (minutes / 1440, minutes % 1440 / 60, minutes % 60) {
        (0, 0, m) => format!("{m} min"),
        (0, h, 0) => format!("{h} h"),
        (0, h, m) => format!("{h} h {m} min"),
        (d, 0, _) => format!("{d} d"),
        (d, h, _) => format!("{d} d {h} h"),
    }
}

/// "🕒 data from 25 min ago"; under a minute, "just now".
pub fn data_age(age: TimeDelta, lang: Language) -> String {
    let t = forecast_texts(lang);
    if age < TimeDelta::minutes(1) {
        t.age_now.to_owned()
    } else {
        super::fill(t.age, &[&duration_words(age)])
    }
}

/// A whole-degree temperature for the compact table ("21 °C", "-3 °F").
pub fn whole_temperature(celsius: f64, units: Units) -> String {
    let (value, unit) = match units {
        Units::Celsius => (celsius, "°C"),
        Units::Fahrenheit => (celsius * 9.0 / 5.0 + 32.0, "°F"),
    };
    let rounded = value.round();
    // No "-0".
    let rounded = if rounded == 0.0 { 0.0 } else { rounded };
    format!("{rounded:.0} {unit}")
}

/// One row: "15:00  21 °C  🌧 70 %" (rain and snow only when expected; the
/// probability only when the provider gives one).
pub fn block_line(
    time: &str,
    celsius: f64,
    rain: Option<Option<u8>>,
    snow: Option<Option<u8>>,
    units: Units,
) -> String {
    let mut line = format!("{time}  {}", whole_temperature(celsius, units));
    for (icon, expected) in [("🌧", rain), ("❄️", snow)] {
        match expected {
            Some(Some(p)) => line.push_str(&format!("  {icon} {p} %")),
            Some(None) => line.push_str(&format!("  {icon}")),
            None => {}
        }
    }
    line
}

/// A WMO weather code in words, lower case ("clear sky", "cielo sereno");
/// `None` for a code outside the table.
pub fn weather_words(code: u8, lang: Language) -> Option<&'static str> {
    let (en, it) = match code {
        0 => ("clear sky", "cielo sereno"),
        1 => ("mainly clear", "prevalentemente sereno"),
        2 => ("partly cloudy", "parzialmente nuvoloso"),
        3 => ("overcast", "coperto"),
        45 | 48 => ("fog", "nebbia"),
        51 | 53 | 55 => ("drizzle", "pioviggine"),
        56 | 57 => ("freezing drizzle", "pioviggine gelata"),
        61 => ("light rain", "pioggia debole"),
        63 => ("rain", "pioggia"),
        65 => ("heavy rain", "pioggia forte"),
        66 | 67 => ("freezing rain", "pioggia gelata"),
        71 => ("light snow", "neve debole"),
        73 => ("snow", "neve"),
        75 => ("heavy snow", "neve forte"),
        77 => ("snow grains", "granelli di neve"),
        80..=82 => ("rain showers", "rovesci di pioggia"),
        85 | 86 => ("snow showers", "rovesci di neve"),
        95 => ("thunderstorm", "temporale"),
        96 | 99 => ("thunderstorm with hail", "temporale con grandine"),
        _ => return None,
    };
    Some(match lang {
        Language::En => en,
        Language::It => it,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration_words(TimeDelta::minutes(25)), "25 min");
        assert_eq!(duration_words(TimeDelta::minutes(180)), "3 h");
        assert_eq!(duration_words(TimeDelta::minutes(190)), "3 h 10 min");
        assert_eq!(duration_words(TimeDelta::hours(52)), "2 d 4 h");
        assert_eq!(duration_words(TimeDelta::hours(48)), "2 d");
        assert_eq!(duration_words(TimeDelta::seconds(-5)), "0 min");
        assert_eq!(
            data_age(TimeDelta::seconds(30), Language::En),
            "🕒 data from just now"
        );
        assert_eq!(
            data_age(TimeDelta::minutes(25), Language::It),
            "🕒 dati di 25 min fa"
        );
    }

    #[test]
    fn rows_are_compact() {
        assert_eq!(
            block_line("15:00", 21.4, Some(Some(70)), None, Units::Celsius),
            "15:00  21 °C  🌧 70 %"
        );
        assert_eq!(
            block_line("03:00", -0.3, None, Some(None), Units::Celsius),
            "03:00  0 °C  ❄️"
        );
        assert_eq!(
            block_line("09:00", 0.0, None, None, Units::Fahrenheit),
            "09:00  32 °F"
        );
    }

    #[test]
    fn both_languages_have_the_same_holes() {
        for (en, it) in [
            (EN.head, IT.head),
            (EN.age, IT.age),
            (EN.stale, IT.stale),
            (EN.no_data, IT.no_data),
        ] {
            assert_eq!(en.matches("{}").count(), it.matches("{}").count(), "{en}");
        }
        assert_eq!(weather_words(0, Language::En), Some("clear sky"));
        assert_eq!(weather_words(63, Language::It), Some("pioggia"));
        assert_eq!(weather_words(200, Language::En), None);
    }
}
