//! The command list: one table that makes `/help`, Telegram's command menu
//! (setMyCommands, in both languages) and bot-commands.md agree.

use super::Language;

pub struct CommandInfo {
    pub name: &'static str,
    pub args: &'static str,
    pub en: &'static str,
    pub it: &'static str,
    /// Shown only to admin chats (`ADMIN_CHAT_IDS`).
    pub admin: bool,
}

impl CommandInfo {
    pub fn description(&self, lang: Language) -> &'static str {
        match lang {
            Language::En => self.en,
            Language::It => self.it,
        }
    }
}

pub const COMMANDS: &[CommandInfo] = &[
    CommandInfo {
        name: "start",
        args: "",
        en: "what this bot does",
        it: "cosa fa questo bot",
        admin: false,
    },
    CommandInfo {
        name: "help",
        args: "",
        en: "the list of commands",
        it: "l'elenco dei comandi",
        admin: false,
    },
    CommandInfo {
        name: "subscribe",
        args: "[city t_min t_max rain snow [lead]]",
        en: "watch a city's weather",
        it: "controlla il meteo di una città",
        admin: false,
    },
    CommandInfo {
        name: "subscriptions",
        args: "",
        en: "your subscriptions",
        it: "le tue iscrizioni",
        admin: false,
    },
    CommandInfo {
        name: "unsubscribe",
        args: "<id>",
        en: "stop watching one subscription",
        it: "elimina un'iscrizione",
        admin: false,
    },
    CommandInfo {
        name: "ahead",
        args: "<id> <lead|off>",
        en: "a heads-up before the weather turns",
        it: "un preavviso prima che il tempo cambi",
        admin: false,
    },
    CommandInfo {
        name: "weather",
        args: "<city>",
        en: "the weather now",
        it: "il meteo adesso",
        admin: false,
    },
    CommandInfo {
        name: "forecast",
        args: "<city>",
        en: "the next 24 hours",
        it: "le prossime 24 ore",
        admin: false,
    },
    CommandInfo {
        name: "register",
        args: "",
        en: "create an account for the REST API",
        it: "crea un account per la REST API",
        admin: false,
    },
    CommandInfo {
        name: "language",
        args: "en|it",
        en: "English or Italian",
        it: "inglese o italiano",
        admin: false,
    },
    CommandInfo {
        name: "units",
        args: "c|f",
        en: "°C or °F",
        it: "°C o °F",
        admin: false,
    },
    CommandInfo {
        name: "settings",
        args: "",
        en: "language, units, time zone, quiet hours, digest",
        it: "lingua, unità, fuso orario, silenzio, riepilogo",
        admin: false,
    },
    CommandInfo {
        name: "snooze",
        args: "<id|all> <duration|off>",
        en: "pause alerts for a while",
        it: "metti in pausa gli avvisi",
        admin: false,
    },
    CommandInfo {
        name: "quiet",
        args: "<from-to> [hold]|off",
        en: "quiet hours: no sound at night",
        it: "ore di silenzio: niente suoni di notte",
        admin: false,
    },
    CommandInfo {
        name: "timezone",
        args: "<Area/City>",
        en: "the time zone of your times",
        it: "il fuso orario degli orari",
        admin: false,
    },
    CommandInfo {
        name: "digest",
        args: "HH:MM|off",
        en: "a daily forecast of your places",
        it: "una previsione quotidiana dei tuoi posti",
        admin: false,
    },
    CommandInfo {
        name: "cancel",
        args: "",
        en: "leave the current dialogue",
        it: "annulla il dialogo in corso",
        admin: false,
    },
    CommandInfo {
        name: "sla",
        args: "list|add|remove|status|violations|forecast …",
        en: "service level objectives (admins)",
        it: "obiettivi di servizio (amministratori)",
        admin: true,
    },
];

/// The `/help` text.
pub fn help(lang: Language, admin: bool) -> String {
    let head = match lang {
        Language::En => "Commands:",
        Language::It => "Comandi:",
    };
    let mut out = String::from(head);
    for c in COMMANDS.iter().filter(|c| admin || !c.admin) {
        let args = if c.args.is_empty() {
            String::new()
        } else {
            format!(" {}", c.args)
        };
        out.push_str(&format!("\n/{}{} — {}", c.name, args, c.description(lang)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_lists_every_public_command() {
        let text = help(Language::En, false);
        for c in COMMANDS.iter().filter(|c| !c.admin) {
            assert!(text.contains(&format!("/{}", c.name)));
        }
        assert!(!text.contains("/sla"));
        assert!(help(Language::It, true).contains("/sla"));
    }

    #[test]
    fn names_are_valid_telegram_commands() {
        for c in COMMANDS {
            assert!(
                c.name.len() <= 32
                    && c.name
                        .chars()
                        .all(|ch| ch.is_ascii_lowercase() || ch == '_')
            );
            assert!(!c.en.is_empty() && c.en.len() <= 256 && !c.it.is_empty());
        }
    }
}
