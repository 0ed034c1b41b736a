//! Living with alerts (issue 10): time zones, quiet hours, snoozes — the
//! command replies, the buttons under an alert, and the "while you were
//! away" summary of what quiet hours held back.

use super::Language;
use crate::domain::Condition;

pub struct QuietTexts {
    pub timezone_usage: &'static str,
    pub timezone_is: &'static str,
    pub timezone_unset: &'static str,
    pub timezone_set: &'static str,
    pub quiet_usage: &'static str,
    pub quiet_off: &'static str,
    pub quiet_none: &'static str,
    pub quiet_silent: &'static str,
    pub quiet_hold: &'static str,
    pub snooze_usage: &'static str,
    pub snooze_bad_duration: &'static str,
    pub snooze_not_yours: &'static str,
    pub snooze_none: &'static str,
    pub snoozed_one: &'static str,
    pub snoozed_all: &'static str,
    pub snooze_off: &'static str,
    pub button_snooze_3h: &'static str,
    pub button_snooze_morning: &'static str,
    pub button_unsubscribe: &'static str,
    pub away_head: &'static str,
}

pub static EN: QuietTexts = QuietTexts {
    timezone_usage: "Write /timezone followed by an IANA time zone name, e.g. /timezone Europe/Rome or /timezone America/New_York.",
    timezone_is: "🕰 This chat's time zone is {} (local time now {}).",
    timezone_unset: "🕰 No time zone yet: times are shown in UTC until you subscribe to a place or set one, e.g. /timezone Europe/Rome.",
    timezone_set: "✅ Time zone set to {} (local time now {}).",
    quiet_usage: "Write /quiet <from>-<to> [hold], e.g. /quiet 22:00-07:00 — alerts in those hours come silently; add hold to get them as one summary when the quiet hours end. /quiet off turns them off.",
    quiet_off: "✅ Quiet hours off: alerts come with sound at any time.",
    quiet_none: "🔔 No quiet hours. Set them with e.g. /quiet 22:00-07:00 (or /quiet 22:00-07:00 hold).",
    quiet_silent: "🌙 Quiet hours {} ({}): alerts in them come without sound.",
    quiet_hold: "🌙 Quiet hours {} ({}): alerts in them are held and summed up in one message when they end.",
    snooze_usage: "Write /snooze <id|all> <duration>, e.g. /snooze 12 3h or /snooze all 1d (up to 30 days), or /snooze off. /subscriptions shows the ids.",
    snooze_bad_duration: "{} — use a duration from 1 minute to 30 days, e.g. 3h, 90m, 2d.",
    snooze_not_yours: "There is no subscription #{} in this chat. /subscriptions shows yours.",
    snooze_none: "You have no subscriptions to snooze yet. Start with /subscribe.",
    snoozed_one: "🔕 #{} snoozed until {}. If it is still going on then, I'll remind you once.",
    snoozed_all: "🔕 All your subscriptions are snoozed until {}.",
    snooze_off: "🔔 Snooze off: alerts come again.",
    button_snooze_3h: "🔕 3 h",
    button_snooze_morning: "🔕 until tomorrow",
    button_unsubscribe: "🗑 Unsubscribe",
    away_head: "🌙 While you were away:",
};

pub static IT: QuietTexts = QuietTexts {
    timezone_usage: "Scrivi /timezone seguito dal nome IANA di un fuso orario, ad es. /timezone Europe/Rome o /timezone America/New_York.",
    timezone_is: "🕰 Il fuso orario di questa chat è {} (ora locale {}).",
    timezone_unset: "🕰 Nessun fuso orario: gli orari sono in UTC finché non ti iscrivi a un luogo o ne imposti uno, ad es. /timezone Europe/Rome.",
    timezone_set: "✅ Fuso orario impostato: {} (ora locale {}).",
    quiet_usage: "Scrivi /quiet <dalle>-<alle> [hold], ad es. /quiet 22:00-07:00 — gli avvisi in quelle ore arrivano senza suono; aggiungi hold per riceverli in un unico riepilogo alla fine. /quiet off le disattiva.",
    quiet_off: "✅ Ore di silenzio disattivate: gli avvisi arrivano con il suono a qualsiasi ora.",
    quiet_none: "🔔 Nessuna ora di silenzio. Impostale ad es. con /quiet 22:00-07:00 (o /quiet 22:00-07:00 hold).",
    quiet_silent: "🌙 Ore di silenzio {} ({}): gli avvisi arrivano senza suono.",
    quiet_hold: "🌙 Ore di silenzio {} ({}): gli avvisi vengono trattenuti e riassunti in un unico messaggio alla fine.",
    snooze_usage: "Scrivi /snooze <id|all> <durata>, ad es. /snooze 12 3h o /snooze all 1d (fino a 30 giorni), oppure /snooze off. /subscriptions mostra gli id.",
    snooze_bad_duration: "{} — usa una durata da 1 minuto a 30 giorni, ad es. 3h, 90m, 2d.",
    snooze_not_yours: "In questa chat non c'è l'iscrizione #{}. /subscriptions mostra le tue.",
    snooze_none: "Non hai ancora iscrizioni da silenziare. Inizia con /subscribe.",
    snoozed_one: "🔕 #{} in pausa fino a {}. Se sarà ancora in corso, te lo ricorderò una volta.",
    snoozed_all: "🔕 Tutte le tue iscrizioni sono in pausa fino a {}.",
    snooze_off: "🔔 Pausa finita: gli avvisi riprendono.",
    button_snooze_3h: "🔕 3 h",
    button_snooze_morning: "🔕 fino a domani",
    button_unsubscribe: "🗑 Annulla iscrizione",
    away_head: "🌙 Mentre eri via:",
};

pub fn quiet_texts(lang: Language) -> &'static QuietTexts {
    match lang {
        Language::En => &EN,
        Language::It => &IT,
    }
}

/// One line of the "while you were away" summary. Times are `HH:MM` in the
/// chat's zone; `limit` is the crossed limit as the chat reads it
/// ("30 °C"), empty for rain and snow.
#[derive(Debug, Clone, PartialEq)]
pub enum Away<'a> {
    /// An episode: `from` when it started in the window (`None`: before),
    /// `until` when it ended (`None`: still going on).
    Episode {
        condition: Condition,
        limit: &'a str,
        from: Option<&'a str>,
        until: Option<&'a str>,
    },
    /// Forecast to happen at `at`.
    Expected {
        condition: Condition,
        limit: &'a str,
        at: &'a str,
    },
    /// A heads-up told before the window, for `at`, dropped by the forecast.
    NoLongerExpected { condition: Condition, at: &'a str },
}

pub fn away_line(place: &str, item: &Away<'_>, lang: Language) -> String {
    use Condition::{Cold, Hot, Rain, Snow};
    match (lang, item) {
        (
            Language::En,
            Away::Episode {
                condition,
                limit,
                from,
                until,
            },
        ) => {
            let side = if *condition == Cold { "below" } else { "above" };
            match (condition, from, until) {
                (Hot | Cold, Some(f), Some(u)) => {
                    format!("{place} went {side} {limit} at {f} and was back within limits at {u}.")
                }
                (Hot | Cold, Some(f), None) => {
                    format!("{place} went {side} {limit} at {f} and still is.")
                }
                (Hot | Cold, None, Some(u)) => format!("{place} was back within limits at {u}."),
                (Rain | Snow, Some(f), Some(u)) => {
                    format!("{place}: {} from {f} to {u}.", word(*condition, lang))
                }
                (Rain | Snow, Some(f), None) => format!(
                    "{place}: {} since {f}, still going on.",
                    word(*condition, lang)
                ),
                (Rain | Snow, None, Some(u)) => {
                    format!("{place}: the {} stopped at {u}.", word(*condition, lang))
                }
                (_, None, None) => format!("{place}: {} still going on.", word(*condition, lang)),
            }
        }
        (
            Language::En,
            Away::Expected {
                condition,
                limit,
                at,
            },
        ) => match condition {
            Hot => format!("{place}: above {limit} expected around {at}."),
            Cold => format!("{place}: below {limit} expected around {at}."),
            Rain | Snow => format!(
                "{place}: {} expected from about {at}.",
                word(*condition, lang)
            ),
        },
        (Language::En, Away::NoLongerExpected { condition, at }) => {
            format!(
                "{place}: the {} expected at {at} is no longer forecast.",
                word(*condition, lang)
            )
        }
        (
            Language::It,
            Away::Episode {
                condition,
                limit,
                from,
                until,
            },
        ) => {
            let side = if *condition == Cold { "sotto" } else { "sopra" };
            match (condition, from, until) {
                (Hot | Cold, Some(f), Some(u)) => {
                    format!("{place}: {side} {limit} dalle {f}, tornata nei limiti alle {u}.")
                }
                (Hot | Cold, Some(f), None) => {
                    format!("{place}: {side} {limit} dalle {f}, ancora in corso.")
                }
                (Hot | Cold, None, Some(u)) => format!("{place}: tornata nei limiti alle {u}."),
                (Rain | Snow, Some(f), Some(u)) => {
                    format!("{place}: {} dalle {f} alle {u}.", word(*condition, lang))
                }
                (Rain | Snow, Some(f), None) => format!(
                    "{place}: {} dalle {f}, ancora in corso.",
                    word(*condition, lang)
                ),
                (Rain | Snow, None, Some(u)) => {
                    format!("{place}: {} finita alle {u}.", word(*condition, lang))
                }
                (_, None, None) => format!("{place}: {} ancora in corso.", word(*condition, lang)),
            }
        }
        (
            Language::It,
            Away::Expected {
                condition,
                limit,
                at,
            },
        ) => match condition {
            Hot => format!("{place}: previsti più di {limit} verso le {at}."),
            Cold => format!("{place}: previsti meno di {limit} verso le {at}."),
            Rain | Snow => format!(
                "{place}: {} prevista dalle {at} circa.",
                word(*condition, lang)
            ),
        },
        (Language::It, Away::NoLongerExpected { condition, at }) => {
            format!(
                "{place}: la previsione di {} per le {at} è rientrata.",
                word(*condition, lang)
            )
        }
    }
}

fn word(condition: Condition, lang: Language) -> &'static str {
    match (lang, condition) {
        (Language::En, Condition::Rain) => "rain",
        (Language::En, Condition::Snow) => "snow",
        (Language::En, Condition::Hot) => "heat",
        (Language::En, Condition::Cold) => "cold",
        (Language::It, Condition::Rain) => "pioggia",
        (Language::It, Condition::Snow) => "neve",
        (Language::It, Condition::Hot) => "caldo",
        (Language::It, Condition::Cold) => "freddo",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn away_lines_read_naturally() {
        let hot = Away::Episode {
            condition: Condition::Hot,
            limit: "30 °C",
            from: Some("01:10"),
            until: Some("04:30"),
        };
        assert_eq!(
            away_line("Rome, IT", &hot, Language::En),
            "Rome, IT went above 30 °C at 01:10 and was back within limits at 04:30."
        );
        let rain = Away::Episode {
            condition: Condition::Rain,
            limit: "",
            from: Some("02:00"),
            until: None,
        };
        assert_eq!(
            away_line("Rome, IT", &rain, Language::En),
            "Rome, IT: rain since 02:00, still going on."
        );
        assert_eq!(
            away_line("Roma, IT", &rain, Language::It),
            "Roma, IT: pioggia dalle 02:00, ancora in corso."
        );
    }
}
