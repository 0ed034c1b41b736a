//! `/settings`: the chat's preferences on one card, with buttons.

use super::Language;

pub struct SettingsTexts {
    pub head: &'static str,
    pub language: &'static str,
    pub units: &'static str,
    pub timezone: &'static str,
    pub quiet: &'static str,
    pub digest: &'static str,
    pub off: &'static str,
    pub utc_until_set: &'static str,
    pub silent: &'static str,
    pub held: &'static str,
    pub button_quiet_night: &'static str,
    pub button_quiet_hold: &'static str,
    pub button_quiet_off: &'static str,
    pub button_digest_morning: &'static str,
    pub button_digest_off: &'static str,
    pub button_timezone: &'static str,
    pub saved: &'static str,
}

pub static EN: SettingsTexts = SettingsTexts {
    head: "⚙️ Settings — tap a button to change one:",
    language: "Language",
    units: "Units",
    timezone: "Time zone",
    quiet: "Quiet hours",
    digest: "Daily digest",
    off: "off",
    utc_until_set: "UTC (until a place or /timezone sets one)",
    silent: "without sound",
    held: "held for a summary",
    button_quiet_night: "🌙 22:00-07:00",
    button_quiet_hold: "🌙 22:00-07:00 hold",
    button_quiet_off: "🔔 No quiet hours",
    button_digest_morning: "☀️ Digest 07:30",
    button_digest_off: "Digest off",
    button_timezone: "🕰 Time zone…",
    saved: "✅ Saved.",
};

pub static IT: SettingsTexts = SettingsTexts {
    head: "⚙️ Impostazioni — tocca un pulsante per cambiarne una:",
    language: "Lingua",
    units: "Unità",
    timezone: "Fuso orario",
    quiet: "Ore di silenzio",
    digest: "Riepilogo quotidiano",
    off: "disattivato",
    utc_until_set: "UTC (finché un luogo o /timezone non ne imposta uno)",
    silent: "senza suono",
    held: "trattenuti per un riepilogo",
    button_quiet_night: "🌙 22:00-07:00",
    button_quiet_hold: "🌙 22:00-07:00 hold",
    button_quiet_off: "🔔 Nessun silenzio",
    button_digest_morning: "☀️ Riepilogo 07:30",
    button_digest_off: "Riepilogo off",
    button_timezone: "🕰 Fuso orario…",
    saved: "✅ Salvato.",
};

pub fn settings_texts(lang: Language) -> &'static SettingsTexts {
    match lang {
        Language::En => &EN,
        Language::It => &IT,
    }
}
