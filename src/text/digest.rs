//! The daily digest (one message per chat and local day) and the /digest
//! command's answers, in English and Italian. Times are in the chat's zone.

use chrono::{DateTime, Datelike, NaiveDate, Utc};

use super::{Language, Units, fill, temperature};
use crate::digest::compose::{Crossing, Digest, Outlook, Period, PlaceForecast};
use crate::domain::ChatZone;

/// Telegram refuses messages over 4,096 characters: places that would not
/// fit are named by count only.
const MAX_CHARS: usize = 3900;
/// Wet periods listed per kind and place; more are summed up as "…".
const MAX_PERIODS: usize = 4;

pub struct DigestTexts {
    /// {day words} {zone}
    pub head_today: &'static str,
    pub head_tomorrow: &'static str,
    pub place: &'static str,
    /// {min} {max} {time of the max}
    pub temperatures: &'static str,
    /// {temperature}: the same all along.
    pub steady: &'static str,
    /// {periods}
    pub rain: &'static str,
    pub snow: &'static str,
    pub dry: &'static str,
    /// {crossings, joined}
    pub crossed: &'static str,
    pub within: &'static str,
    pub above: &'static str,
    pub below: &'static str,
    pub rain_word: &'static str,
    pub snow_word: &'static str,
    /// {age}
    pub stale: &'static str,
    pub unknown: &'static str,
    /// {count}
    pub more_places: &'static str,
    pub no_places: &'static str,
    // /digest
    /// {time} {zone}
    pub set: &'static str,
    pub shown: &'static str,
    pub off: &'static str,
    pub not_set: &'static str,
    /// {input}
    pub bad_time: &'static str,
    pub weekdays: [&'static str; 7],
    pub months: [&'static str; 12],
}

pub static EN: DigestTexts = DigestTexts {
    head_today: "🗓 Your daily digest for today, {} (times in {})",
    head_tomorrow: "🗓 Your daily digest for tomorrow, {} (times in {})",
    place: "📍 {}",
    temperatures: "🌡 {} to {}, warmest around {}",
    steady: "🌡 about {} all along",
    rain: "🌧 rain {}",
    snow: "❄️ snow {}",
    dry: "🌤 no rain or snow expected",
    crossed: "⚠️ beyond your limits: {}",
    within: "✅ within your limits",
    above: "above {}",
    below: "below {}",
    rain_word: "rain",
    snow_word: "snow",
    stale: "🕒 forecast from {} ago: no newer one could be fetched",
    unknown: "⚠️ no forecast available right now",
    more_places: "… and {} more places: /forecast <city> for each",
    no_places: "🗓 Your daily digest: you watch no places yet. Add one with /subscribe, or stop these messages with /digest off.",
    set: "✅ Daily digest every day at {} ({}): the day's forecast for each of your places.",
    shown: "🗓 Your daily digest comes every day at {} ({}). /digest off stops it.",
    off: "✅ Daily digest turned off.",
    not_set: "No daily digest is set. Write /digest HH:MM, e.g. /digest 07:30, to get the day's forecast for your places every morning.",
    bad_time: "⚠️ '{}' is not a time of day. Use HH:MM from 00:00 to 23:59, e.g. /digest 07:30, or /digest off.",
    weekdays: [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ],
    months: [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
};

pub static IT: DigestTexts = DigestTexts {
    head_today: "🗓 Il tuo riepilogo di oggi, {} (orari di {})",
    head_tomorrow: "🗓 Il tuo riepilogo per domani, {} (orari di {})",
    place: "📍 {}",
    temperatures: "🌡 da {} a {}, il massimo verso le {}",
    steady: "🌡 circa {} per tutto il tempo",
    rain: "🌧 pioggia {}",
    snow: "❄️ neve {}",
    dry: "🌤 niente pioggia né neve previste",
    crossed: "⚠️ oltre i tuoi limiti: {}",
    within: "✅ entro i tuoi limiti",
    above: "sopra {}",
    below: "sotto {}",
    rain_word: "pioggia",
    snow_word: "neve",
    stale: "🕒 previsione di {} fa: non è stato possibile aggiornarla",
    unknown: "⚠️ nessuna previsione disponibile al momento",
    more_places: "… e altri {} posti: /forecast <città> per ciascuno",
    no_places: "🗓 Il tuo riepilogo giornaliero: non segui ancora nessun posto. Aggiungine uno con /subscribe, o ferma questi messaggi con /digest off.",
    set: "✅ Riepilogo giornaliero ogni giorno alle {} ({}): la previsione del giorno per ciascuno dei tuoi posti.",
    shown: "🗓 Il tuo riepilogo giornaliero arriva ogni giorno alle {} ({}). /digest off lo ferma.",
    off: "✅ Riepilogo giornaliero disattivato.",
    not_set: "Nessun riepilogo giornaliero impostato. Scrivi /digest HH:MM, es. /digest 07:30, per ricevere ogni mattina la previsione del giorno per i tuoi posti.",
    bad_time: "⚠️ '{}' non è un orario. Usa HH:MM da 00:00 a 23:59, es. /digest 07:30, oppure /digest off.",
    weekdays: [
        "lunedì",
        "martedì",
        "mercoledì",
        "giovedì",
        "venerdì",
        "sabato",
        "domenica",
    ],
    months: [
        "gennaio",
        "febbraio",
        "marzo",
        "aprile",
        "maggio",
        "giugno",
        "luglio",
        "agosto",
        "settembre",
        "ottobre",
        "novembre",
        "dicembre",
    ],
};

pub fn digest_texts(lang: Language) -> &'static DigestTexts {
    match lang {
        Language::En => &EN,
        Language::It => &IT,
    }
}

/// "Sunday 29 March", "domenica 29 marzo".
pub fn day_words(day: NaiveDate, lang: Language) -> String {
    let t = digest_texts(lang);
    format!(
        "{} {} {}",
        t.weekdays[day.weekday().num_days_from_monday() as usize],
        day.day(),
        t.months[day.month0() as usize]
    )
}

/// The digest message.
pub fn digest_text(digest: &Digest, lang: Language, units: Units) -> String {
    let t = digest_texts(lang);
    if digest.places.is_empty() {
        return t.no_places.to_owned();
    }
    let zone = digest.zone;
    let head = if digest.window.tomorrow {
        t.head_tomorrow
    } else {
        t.head_today
    };
    let mut out = fill(head, &[&day_words(digest.window.day, lang), zone.name()]);
    for (i, place) in digest.places.iter().enumerate() {
        let mut block = format!("\n\n{}", fill(t.place, &[&place.label]));
        match &place.forecast {
            PlaceForecast::Known {
                outlook,
                crossings,
                stale_for,
            } => {
                for line in outlook_lines(outlook, crossings, zone, lang, units) {
                    block.push('\n');
                    block.push_str(&line);
                }
                if let Some(age) = stale_for {
                    block.push('\n');
                    block.push_str(&fill(t.stale, &[&super::duration_words(*age)]));
                }
            }
            PlaceForecast::Unknown => {
                block.push('\n');
                block.push_str(t.unknown);
            }
        }
        let left = digest.places.len() - i;
        let room = MAX_CHARS.saturating_sub(t.more_places.chars().count() + 8);
        if i > 0 && out.chars().count() + block.chars().count() > room {
            out.push_str("\n\n");
            out.push_str(&fill(t.more_places, &[&left.to_string()]));
            break;
        }
        out.push_str(&block);
    }
    out
}

fn outlook_lines(
    outlook: &Outlook,
    crossings: &[Crossing],
    zone: ChatZone,
    lang: Language,
    units: Units,
) -> Vec<String> {
    let t = digest_texts(lang);
    let temp = |c: f64| temperature(c, lang, units);
    let (min, max) = (temp(outlook.min_c), temp(outlook.max_c));
    let mut lines = vec![if min == max {
        fill(t.steady, &[&min])
    } else {
        fill(t.temperatures, &[&min, &max, &zone.hhmm(outlook.max_at)])
    }];
    if outlook.rain.is_empty() && outlook.snow.is_empty() {
        lines.push(t.dry.to_owned());
    }
    for (template, periods) in [(t.rain, &outlook.rain), (t.snow, &outlook.snow)] {
        if !periods.is_empty() {
            lines.push(fill(template, &[&periods_words(periods, zone)]));
        }
    }
    if crossings.is_empty() {
        lines.push(t.within.to_owned());
    } else {
        let words: Vec<String> = crossings
            .iter()
            .map(|c| match c {
                Crossing::Above(max) => fill(t.above, &[&temp(*max)]),
                Crossing::Below(min) => fill(t.below, &[&temp(*min)]),
                Crossing::Rain => t.rain_word.to_owned(),
                Crossing::Snow => t.snow_word.to_owned(),
            })
            .collect();
        lines.push(fill(t.crossed, &[&words.join(" · ")]));
    }
    lines
}

/// "06:00–09:00 (70 %), 14:00–15:00".
fn periods_words(periods: &[Period], zone: ChatZone) -> String {
    let hhmm = |at: DateTime<Utc>| zone.hhmm(at);
    let mut words: Vec<String> = periods
        .iter()
        .take(MAX_PERIODS)
        .map(|p| {
            let span = format!("{}–{}", hhmm(p.from), hhmm(p.until));
            match p.probability {
                Some(percent) => format!("{span} ({percent} %)"),
                None => span,
            }
        })
        .collect();
    if periods.len() > MAX_PERIODS {
        words.push("…".to_owned());
    }
    words.join(", ")
}

/// `/digest` answers: the time and the zone it is read in.
pub fn digest_set(lang: Language, at: &str, zone: ChatZone) -> String {
    fill(digest_texts(lang).set, &[at, zone.name()])
}

pub fn digest_shown(lang: Language, at: &str, zone: ChatZone) -> String {
    fill(digest_texts(lang).shown, &[at, zone.name()])
}

pub fn digest_bad_time(lang: Language, input: &str) -> String {
    fill(digest_texts(lang).bad_time, &[input])
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;
    use crate::digest::compose::{PlaceDigest, Window};

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn digest(places: Vec<PlaceDigest>) -> Digest {
        Digest {
            zone: ChatZone::parse("Europe/Rome").unwrap(),
            window: Window {
                day: NaiveDate::from_ymd_opt(2026, 3, 29).unwrap(),
                tomorrow: false,
                from: utc("2026-03-29T05:30:00Z"),
                until: utc("2026-03-29T22:00:00Z"),
            },
            places,
        }
    }

    fn rome() -> PlaceDigest {
        PlaceDigest {
            label: "Rome, IT".into(),
            forecast: PlaceForecast::Known {
                outlook: Outlook {
                    min_c: 8.0,
                    min_at: utc("2026-03-29T05:30:00Z"),
                    max_c: 17.4,
                    max_at: utc("2026-03-29T13:00:00Z"),
                    rain: vec![Period {
                        from: utc("2026-03-29T12:00:00Z"),
                        until: utc("2026-03-29T15:00:00Z"),
                        probability: Some(70),
                    }],
                    snow: vec![],
                },
                crossings: vec![Crossing::Above(15.0), Crossing::Rain],
                stale_for: None,
            },
        }
    }

    #[test]
    fn a_digest_reads_naturally_in_both_languages() {
        let d = digest(vec![
            rome(),
            PlaceDigest {
                label: "Oslo, NO".into(),
                forecast: PlaceForecast::Unknown,
            },
        ]);
        assert_eq!(
            digest_text(&d, Language::En, Units::Celsius),
            "🗓 Your daily digest for today, Sunday 29 March (times in Europe/Rome)\n\n\
             📍 Rome, IT\n\
             🌡 8 °C to 17.4 °C, warmest around 15:00\n\
             🌧 rain 14:00–17:00 (70 %)\n\
             ⚠️ beyond your limits: above 15 °C · rain\n\n\
             📍 Oslo, NO\n\
             ⚠️ no forecast available right now"
        );
        let it = digest_text(&d, Language::It, Units::Celsius);
        assert!(it.starts_with("🗓 Il tuo riepilogo di oggi, domenica 29 marzo"));
        assert!(it.contains("🌡 da 8 °C a 17,4 °C, il massimo verso le 15:00"));
        assert!(it.contains("⚠️ oltre i tuoi limiti: sopra 15 °C · pioggia"));
        assert_eq!(
            digest_text(&digest(vec![]), Language::En, Units::Celsius),
            EN.no_places
        );
    }

    #[test]
    fn a_long_digest_fits_one_message() {
        let mut place = rome();
        if let PlaceForecast::Known { stale_for, .. } = &mut place.forecast {
            *stale_for = Some(TimeDelta::hours(5));
        }
        let text = digest_text(&digest(vec![place; 60]), Language::En, Units::Celsius);
        assert!(text.chars().count() <= 4096, "{}", text.chars().count());
        assert!(text.contains("🕒 forecast from 5 h ago"));
        assert!(
            text.ends_with("more places: /forecast <city> for each"),
            "{text}"
        );
    }

    #[test]
    fn both_languages_have_the_same_holes() {
        for (en, it) in [
            (EN.head_today, IT.head_today),
            (EN.head_tomorrow, IT.head_tomorrow),
            (EN.temperatures, IT.temperatures),
            (EN.steady, IT.steady),
            (EN.crossed, IT.crossed),
            (EN.stale, IT.stale),
            (EN.more_places, IT.more_places),
            (EN.set, IT.set),
            (EN.shown, IT.shown),
            (EN.bad_time, IT.bad_time),
        ] {
            assert_eq!(en.matches("{}").count(), it.matches("{}").count(), "{en}");
        }
    }
}
