//! `/settings` (issue 10): language, units, time zone, quiet hours and the
//! daily digest on one card, each with buttons to change it. A press stores
//! the choice and redraws the card; the time zone, which no button can
//! hold, is changed with /timezone (its button explains how).

use teloxide::prelude::*;

use super::buttons::{Button, Setting};
use super::reply::{Replier, keyboard};
use super::{BotContext, HandlerResult};
use crate::domain::{Language, LocalTime, QuietHours, QuietMode, Units};
use crate::store::ChatSettings;
use crate::text::{SettingsTexts, quiet_texts, settings_texts};

/// `/settings`: the card.
pub async fn show(r: &Replier, ctx: &BotContext) -> HandlerResult {
    let settings = match ctx.store.chat_settings(r.chat.0).await {
        Ok(s) => s,
        Err(e) => return Ok(r.internal(e).await?),
    };
    r.ask(card(r.lang, r.units, &settings), buttons(r.lang))
        .await?;
    Ok(())
}

/// A settings button: store, then redraw the card in place (in the new
/// language when that is what changed). Returns the press's notice.
pub async fn press(
    r: &Replier,
    setting: Setting,
    message: Option<teloxide::types::MessageId>,
    ctx: &BotContext,
) -> anyhow::Result<String> {
    let chat = r.chat.0;
    let (mut lang, mut units) = (r.lang, r.units);
    let store = &ctx.store;
    match setting {
        Setting::Language(l) => {
            store.set_chat_language(chat, l).await?;
            lang = l;
        }
        Setting::Units(u) => {
            store.set_chat_units(chat, u).await?;
            units = u;
        }
        Setting::QuietNight { hold } => {
            let quiet = QuietHours {
                start: at(22 * 60),
                end: at(7 * 60),
                mode: if hold {
                    QuietMode::Hold
                } else {
                    QuietMode::Silent
                },
            };
            store.set_quiet_hours(chat, Some(quiet)).await?;
        }
        Setting::QuietOff => store.set_quiet_hours(chat, None).await?,
        Setting::DigestMorning => store.set_digest(chat, Some(at(7 * 60 + 30))).await?,
        Setting::DigestOff => store.set_digest(chat, None).await?,
        Setting::TimeZoneHelp => {
            return Ok(quiet_texts(lang).timezone_usage.to_owned());
        }
    }
    let settings = store.chat_settings(chat).await?;
    let text = card(lang, units, &settings);
    if let Some(id) = message {
        // Redrawing is a courtesy: the choice is stored either way.
        let edit = r
            .bot
            .edit_message_text(r.chat, id, text)
            .reply_markup(keyboard(buttons(lang)))
            .await;
        if let Err(e) = edit {
            tracing::debug!(error = %e, "settings card not redrawn");
        }
    }
    Ok(settings_texts(lang).saved.to_owned())
}

fn at(minutes: u16) -> LocalTime {
    LocalTime::from_minutes(minutes).expect("a time of day")
}

/// The card's text.
pub fn card(lang: Language, units: Units, s: &ChatSettings) -> String {
    let t: &SettingsTexts = settings_texts(lang);
    let language = match lang {
        Language::En => "English",
        Language::It => "Italiano",
    };
    let units = match units {
        Units::Celsius => "°C",
        Units::Fahrenheit => "°F",
    };
    let zone = s
        .zone
        .map_or_else(|| t.utc_until_set.to_owned(), |z| z.name().to_owned());
    let quiet = s.quiet.map_or_else(
        || t.off.to_owned(),
        |q| {
            let how = match q.mode {
                QuietMode::Silent => t.silent,
                QuietMode::Hold => t.held,
            };
            format!("{}-{} ({how})", q.start, q.end)
        },
    );
    let digest = s
        .digest_at
        .map_or_else(|| t.off.to_owned(), |d| d.to_string());
    format!(
        "{}\n{}: {language}\n{}: {units}\n{}: {zone}\n{}: {quiet}\n{}: {digest}",
        t.head, t.language, t.units, t.timezone, t.quiet, t.digest
    )
}

/// The card's buttons.
pub fn buttons(lang: Language) -> Vec<Vec<(String, String)>> {
    let t = settings_texts(lang);
    let b = |label: &str, s: Setting| (label.to_owned(), Button::Setting(s).data());
    vec![
        vec![
            b("🇬🇧 English", Setting::Language(Language::En)),
            b("🇮🇹 Italiano", Setting::Language(Language::It)),
        ],
        vec![
            b("°C", Setting::Units(Units::Celsius)),
            b("°F", Setting::Units(Units::Fahrenheit)),
        ],
        vec![
            b(t.button_quiet_night, Setting::QuietNight { hold: false }),
            b(t.button_quiet_hold, Setting::QuietNight { hold: true }),
        ],
        vec![b(t.button_quiet_off, Setting::QuietOff)],
        vec![
            b(t.button_digest_morning, Setting::DigestMorning),
            b(t.button_digest_off, Setting::DigestOff),
        ],
        vec![b(t.button_timezone, Setting::TimeZoneHelp)],
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ChatZone;

    #[test]
    fn the_card_says_every_setting() {
        let settings = ChatSettings {
            zone: ChatZone::parse("Europe/Rome").ok(),
            quiet: QuietHours::parse("22:00-07:00 hold").ok(),
            digest_at: LocalTime::parse("07:30").ok(),
            digest_last_day: None,
        };
        assert_eq!(
            card(Language::En, Units::Fahrenheit, &settings),
            "⚙️ Settings — tap a button to change one:\nLanguage: English\nUnits: °F\n\
             Time zone: Europe/Rome\nQuiet hours: 22:00-07:00 (held for a summary)\n\
             Daily digest: 07:30"
        );
        let card = card(Language::It, Units::Celsius, &ChatSettings::default());
        assert!(card.contains("Ore di silenzio: disattivato"), "{card}");
        for row in buttons(Language::En) {
            for (_, data) in row {
                assert!(Button::parse(&data).is_some(), "{data}");
            }
        }
    }
}
