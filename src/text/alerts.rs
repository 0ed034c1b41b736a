//! Alert, reminder and all-clear messages: human sentences with the city, the
//! threshold crossed and the observed value — never a data dump.

use super::{Language, Units, place, temperature};
use crate::domain::Breach;

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
    let head = reminder_head(lang);
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

/// When a predicted event happens, as the place's clock shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct When {
    /// "15:30", the place's local time.
    pub local_time: String,
    /// Local days from today: 0 today, 1 tomorrow, 2 the day after.
    pub days_ahead: i64,
    /// Minutes from now (rounded).
    pub in_minutes: i64,
}

fn day_word(days_ahead: i64, lang: Language) -> &'static str {
    match (lang, days_ahead) {
        (Language::En, ..=0) => "today",
        (Language::En, 1) => "tomorrow",
        (Language::En, _) => "the day after tomorrow",
        (Language::It, ..=0) => "oggi",
        (Language::It, 1) => "domani",
        (Language::It, _) => "dopodomani",
    }
}

/// "40 min", "2 h", "2 h 10 min".
fn span(minutes: i64, lang: Language) -> String {
    let minutes = minutes.max(1);
    let (h, m) = (minutes / 60, minutes % 60);
    let _ = lang; // the same abbreviations read fine in Italian
    match (h, m) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}

/// A heads-up for rain or snow: "🌧 Rain expected in Rome, IT from about
/// 15:30 (in 40 min, 70 %)".
pub fn precipitation_heads_up(
    city: &str,
    country: &str,
    snow: bool,
    when: &When,
    probability: Option<u8>,
    lang: Language,
) -> String {
    let at = place(city, country);
    let time = if when.days_ahead == 0 {
        when.local_time.clone()
    } else {
        format!("{} {}", when.local_time, day_word(when.days_ahead, lang))
    };
    let odds = probability.map(|p| format!(", {p} %")).unwrap_or_default();
    let inside = span(when.in_minutes, lang);
    match (lang, snow) {
        (Language::En, false) => {
            format!("🌧 Rain expected in {at} from about {time} (in {inside}{odds}).")
        }
        (Language::En, true) => {
            format!("🌨 Snow expected in {at} from about {time} (in {inside}{odds}).")
        }
        (Language::It, false) => {
            format!("🌧 Pioggia prevista a {at} dalle {time} circa (tra {inside}{odds}).")
        }
        (Language::It, true) => {
            format!("🌨 Neve prevista a {at} dalle {time} circa (tra {inside}{odds}).")
        }
    }
}

/// A heads-up for a temperature: "🌡 Rome, IT will reach 36 °C tomorrow
/// around 14:00 — above your maximum of 30 °C."
/// A predicted temperature breach: the most extreme value and the limit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Crossing {
    /// Above the maximum (else below the minimum).
    pub hot: bool,
    pub peak_c: f64,
    pub limit_c: f64,
}

pub fn temperature_heads_up(
    city: &str,
    country: &str,
    crossing: Crossing,
    when: &When,
    lang: Language,
    units: Units,
) -> String {
    let Crossing {
        hot,
        peak_c,
        limit_c,
    } = crossing;
    let at = place(city, country);
    let (peak, limit) = (
        temperature(peak_c, lang, units),
        temperature(limit_c, lang, units),
    );
    let (day, time) = (day_word(when.days_ahead, lang), &when.local_time);
    match (lang, hot) {
        (Language::En, true) => {
            format!("🌡 {at} will reach {peak} {day} around {time} — above your maximum of {limit}.")
        }
        (Language::En, false) => format!(
            "🥶 {at} will drop to {peak} {day} around {time} — below your minimum of {limit}."
        ),
        (Language::It, true) => format!(
            "🌡 {at} arriverà a {peak} {day} verso le {time} — sopra il tuo massimo di {limit}."
        ),
        (Language::It, false) => format!(
            "🥶 {at} scenderà a {peak} {day} verso le {time} — sotto il tuo minimo di {limit}."
        ),
    }
}

/// What a cancelled heads-up was about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    Heat,
    Cold,
    Rain,
    Snow,
}

/// "✅ The rain expected in Rome, IT at 15:30 is no longer forecast."
pub fn heads_up_cancelled(
    city: &str,
    country: &str,
    what: Expected,
    local_time: &str,
    lang: Language,
) -> String {
    let at = place(city, country);
    match lang {
        Language::En => {
            let noun = match what {
                Expected::Heat => "heat",
                Expected::Cold => "cold",
                Expected::Rain => "rain",
                Expected::Snow => "snow",
            };
            format!("✅ The {noun} expected in {at} at {local_time} is no longer forecast.")
        }
        Language::It => {
            let (noun, expected) = match what {
                Expected::Heat => ("Il caldo previsto", "previsto"),
                Expected::Cold => ("Il freddo previsto", "previsto"),
                Expected::Rain => ("La pioggia prevista", "prevista"),
                Expected::Snow => ("La neve prevista", "prevista"),
            };
            format!("✅ {noun} a {at} alle {local_time} non è più {expected}.")
        }
    }
}

/// One condition is over while others go on: "✅ The rain in Rome, IT has
/// stopped." (When everything is over, [`all_clear_text`] says so at once.)
pub fn condition_ended(
    city: &str,
    country: &str,
    what: Expected,
    observed_c: f64,
    limit_c: Option<f64>,
    lang: Language,
    units: Units,
) -> String {
    let at = place(city, country);
    let t = temperature(observed_c, lang, units);
    let limit = limit_c
        .map(|l| temperature(l, lang, units))
        .unwrap_or_default();
    match (lang, what) {
        (Language::En, Expected::Heat) => {
            format!("✅ {at}: {t} — back below your maximum of {limit}.")
        }
        (Language::En, Expected::Cold) => {
            format!("✅ {at}: {t} — back above your minimum of {limit}.")
        }
        (Language::En, Expected::Rain) => format!("✅ The rain in {at} has stopped."),
        (Language::En, Expected::Snow) => format!("✅ The snow in {at} has stopped."),
        (Language::It, Expected::Heat) => {
            format!("✅ {at}: {t} — di nuovo sotto il tuo massimo di {limit}.")
        }
        (Language::It, Expected::Cold) => {
            format!("✅ {at}: {t} — di nuovo sopra il tuo minimo di {limit}.")
        }
        (Language::It, Expected::Rain) => format!("✅ A {at} ha smesso di piovere."),
        (Language::It, Expected::Snow) => format!("✅ A {at} ha smesso di nevicare."),
    }
}

/// The line of one breach (used in grouped messages).
pub fn breach_text(
    city: &str,
    country: &str,
    breach: &Breach,
    lang: Language,
    units: Units,
) -> String {
    breach_line(breach, &place(city, country), lang, units)
}

/// The operators' notice when the weather provider rate-limits us (once per
/// episode; operators read English).
pub fn rate_limit_notice(
    window: Option<crate::weather::QuotaWindow>,
    until: chrono::DateTime<chrono::Utc>,
) -> String {
    use crate::weather::QuotaWindow;
    let which = match window {
        Some(QuotaWindow::Minute) => "per-minute ",
        Some(QuotaWindow::Hour) => "hourly ",
        Some(QuotaWindow::Day) => "daily ",
        None => "",
    };
    format!(
        "⚠️ The weather provider's {which}request limit was reached. Forecasts are not refreshed \
         until {} UTC; alerts go on from the stored forecasts.",
        until.format("%Y-%m-%d %H:%M")
    )
}

/// The head of a reminder block.
pub fn reminder_head(lang: Language) -> &'static str {
    match lang {
        Language::En => "⏰ Still outside your limits:",
        Language::It => "⏰ Ancora fuori dai tuoi limiti:",
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

    fn when(local_time: &str, days_ahead: i64, in_minutes: i64) -> When {
        When {
            local_time: local_time.into(),
            days_ahead,
            in_minutes,
        }
    }

    #[test]
    fn heads_up_sentences() {
        assert_eq!(
            precipitation_heads_up(
                "Rome",
                "IT",
                false,
                &when("15:30", 0, 40),
                Some(70),
                Language::En
            ),
            "🌧 Rain expected in Rome, IT from about 15:30 (in 40 min, 70 %)."
        );
        assert_eq!(
            precipitation_heads_up(
                "Rome",
                "IT",
                true,
                &when("03:00", 1, 790),
                None,
                Language::It
            ),
            "🌨 Neve prevista a Rome, IT dalle 03:00 domani circa (tra 13 h 10 min)."
        );
        assert_eq!(
            temperature_heads_up(
                "Rome",
                "IT",
                Crossing {
                    hot: true,
                    peak_c: 36.0,
                    limit_c: 30.0
                },
                &when("14:00", 1, 1500),
                Language::En,
                Units::Celsius
            ),
            "🌡 Rome, IT will reach 36 °C tomorrow around 14:00 — above your maximum of 30 °C."
        );
        assert_eq!(
            heads_up_cancelled("Rome", "IT", Expected::Rain, "15:30", Language::En),
            "✅ The rain expected in Rome, IT at 15:30 is no longer forecast."
        );
        assert_eq!(
            heads_up_cancelled("Rome", "IT", Expected::Heat, "14:00", Language::It),
            "✅ Il caldo previsto a Rome, IT alle 14:00 non è più previsto."
        );
        assert_eq!(
            condition_ended(
                "Rome",
                "IT",
                Expected::Heat,
                24.0,
                Some(30.0),
                Language::En,
                Units::Celsius
            ),
            "✅ Rome, IT: 24 °C — back below your maximum of 30 °C."
        );
        assert_eq!(
            condition_ended(
                "Rome",
                "IT",
                Expected::Rain,
                24.0,
                None,
                Language::It,
                Units::Celsius
            ),
            "✅ A Rome, IT ha smesso di piovere."
        );
    }
}
