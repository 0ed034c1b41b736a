//! What the bot says, one block per language. Templates use `{}` holes,
//! filled in order by [`fill`].

use super::Language;

pub struct BotTexts {
    pub start: &'static str,
    pub unknown: &'static str,
    pub cancelled: &'static str,
    pub nothing_to_cancel: &'static str,
    pub internal_error: &'static str,
    pub could_not_save: &'static str,
    pub expired_choice: &'static str,
    // register
    pub already_registered: &'static str,
    pub ask_username: &'static str,
    pub ask_username_suggest: &'static str,
    pub username_taken: &'static str,
    pub invalid_value: &'static str,
    pub ask_password: &'static str,
    pub registered: &'static str,
    pub password_not_deleted: &'static str,
    pub send_text: &'static str,
    // subscribe
    pub ask_city: &'static str,
    pub unknown_city: &'static str,
    pub choose_place: &'static str,
    pub ask_min: &'static str,
    pub ask_max: &'static str,
    pub ask_rain: &'static str,
    pub ask_snow: &'static str,
    pub summary: &'static str,
    pub subscribed: &'static str,
    pub too_many: &'static str,
    /// {id} {place}
    pub already_subscribed: &'static str,
    pub nothing_to_watch: &'static str,
    pub subscribe_usage: &'static str,
    pub weather_unavailable: &'static str,
    pub location_place: &'static str,
    pub answer_yes_no: &'static str,
    pub ask_ahead: &'static str,
    // heads-up
    pub heads_up_on: &'static str,
    pub heads_up_off: &'static str,
    pub ahead_usage: &'static str,
    pub ahead_set: &'static str,
    pub ahead_cleared: &'static str,
    pub ahead_not_yours: &'static str,
    // buttons
    pub no_minimum: &'static str,
    pub no_maximum: &'static str,
    pub yes: &'static str,
    pub no: &'static str,
    pub confirm: &'static str,
    pub cancel: &'static str,
    pub no_heads_up: &'static str,
    // list / unsubscribe
    pub no_subscriptions: &'static str,
    pub subscriptions_head: &'static str,
    pub removed: &'static str,
    pub not_yours: &'static str,
    pub unsubscribe_usage: &'static str,
    pub paused: &'static str,
    pub rain_word: &'static str,
    pub snow_word: &'static str,
    pub min_word: &'static str,
    pub max_word: &'static str,
    // weather
    pub weather_usage: &'static str,
    pub weather_now: &'static str,
    pub sub_ok: &'static str,
    pub sub_violated: &'static str,
    // settings
    pub language_set: &'static str,
    pub language_usage: &'static str,
    pub units_set: &'static str,
    pub units_usage: &'static str,
    // sla
    pub not_allowed: &'static str,
}

pub static EN: BotTexts = BotTexts {
    start: "Hello {}! I'm meteobot ☀️🌧\nTell me a city and the temperatures you are comfortable with; I watch its weather.\nWhen it goes above or below your limits, or starts to rain or snow, I write to you — and again when it's over.\nStart with /subscribe (or /register for an account on the REST API); /help lists everything.",
    unknown: "I didn't understand that. /help lists what I can do.",
    cancelled: "Cancelled.",
    nothing_to_cancel: "There is nothing to cancel.",
    internal_error: "Something went wrong on our side. Please try again in a moment.",
    could_not_save: "Could not save that right now, nothing was changed. Please try again in a moment.",
    expired_choice: "This choice has expired. Start again with /subscribe.",
    already_registered: "This chat already has an account: {}.",
    ask_username: "Choose a username for your account:",
    ask_username_suggest: "Choose a username for your account — or tap the button to use {}:",
    username_taken: "The username {} is taken. Choose another one:",
    invalid_value: "{} — please try again:",
    ask_password: "Now a password (at least 6 characters). It is only for the REST API; I delete your message right after reading it.",
    registered: "✅ Account {} created. Log in to the REST API with it; your alerts come here.",
    password_not_deleted: "I could not delete the message with your password: please delete it yourself.",
    send_text: "Please answer with a text message (or /cancel).",
    ask_city: "Which city? (or share a location with 📎)",
    unknown_city: "I can't find a city called \"{}\". Check the spelling, or try a bigger town nearby:",
    choose_place: "Several places are called \"{}\". Which one?",
    ask_min: "📍 {}\nMinimum temperature (°C)? I alert at or below it.",
    ask_max: "Maximum temperature (°C)? I alert at or above it.",
    ask_rain: "Alert me when it rains?",
    ask_snow: "Alert me when it snows?",
    summary: "Please confirm:\n📍 {}\n{}",
    subscribed: "✅ Subscribed #{}: {} — {}",
    too_many: "You already have {} subscriptions, the most allowed. Remove one with /subscriptions first.",
    already_subscribed: "You already have this subscription: #{} for {}. Nothing changed.",
    nothing_to_watch: "With no minimum, no maximum, no rain and no snow there is nothing to watch. Let's set the minimum again:",
    subscribe_usage: "Write /subscribe alone and I'll guide you, or all in one line:\n/subscribe <city> <t_min> <t_max> <rain yes|no> <snow yes|no> [heads-up]\ne.g. /subscribe Rome 5 30 yes no — use - for no limit; add e.g. 3h to be warned 3 hours before the forecast weather turns.",
    weather_unavailable: "The weather service is not answering right now. Please try again in a few minutes.",
    location_place: "Location {}",
    answer_yes_no: "Please answer yes or no (or tap a button):",
    ask_ahead: "Shall I warn you ahead, when the forecast shows it coming? Choose how long before — or type it, e.g. 2h or 90 (minutes), up to 48h:",
    heads_up_on: "⏰ heads-up {} ahead",
    heads_up_off: "no heads-up",
    ahead_usage: "Write /ahead <id> <lead>, e.g. /ahead 12 3h, /ahead 12 90 (minutes) or /ahead 12 off — /subscriptions shows the ids.",
    ahead_set: "✅ #{}: heads-up {} ahead.",
    ahead_cleared: "✅ #{}: no heads-up.",
    ahead_not_yours: "There is no subscription #{} in this chat. /subscriptions shows yours.",
    no_minimum: "No minimum",
    no_maximum: "No maximum",
    yes: "Yes",
    no: "No",
    confirm: "✅ Confirm",
    cancel: "✖️ Cancel",
    no_heads_up: "Off",
    no_subscriptions: "You have no subscriptions. /subscribe adds one.",
    subscriptions_head: "Your subscriptions (🗑 to remove):",
    removed: "🗑 Subscription #{} removed.",
    not_yours: "You have no subscription #{}. /subscriptions shows yours.",
    unsubscribe_usage: "Which one? Write /unsubscribe <id> — /subscriptions shows the ids.",
    paused: "paused",
    rain_word: "rain",
    snow_word: "snow",
    min_word: "min",
    max_word: "max",
    weather_usage: "Which city? Write /weather <city>, e.g. /weather Rome",
    weather_now: "{}: {}{}",
    sub_ok: "✅ #{} within your limits",
    sub_violated: "⚠️ #{} outside your limits:",
    language_set: "OK, I'll speak English. 🇬🇧",
    language_usage: "Write /language en or /language it.",
    units_set: "OK, temperatures in {}.",
    units_usage: "Write /units c (Celsius) or /units f (Fahrenheit).",
    not_allowed: "Sorry, /sla is not allowed in this chat.",
};

pub static IT: BotTexts = BotTexts {
    start: "Ciao {}! Sono meteobot ☀️🌧\nDimmi una città e le temperature che per te vanno bene; ne controllo il meteo.\nQuando supera i tuoi limiti, o comincia a piovere o nevicare, ti scrivo — e di nuovo quando è passata.\nInizia con /subscribe (o /register per un account sulla REST API); /help elenca tutto.",
    unknown: "Non ho capito. /help elenca cosa so fare.",
    cancelled: "Annullato.",
    nothing_to_cancel: "Non c'è niente da annullare.",
    internal_error: "Qualcosa è andato storto da parte nostra. Riprova tra un momento.",
    could_not_save: "Non è stato possibile salvare ora, nulla è cambiato. Riprova tra un momento.",
    expired_choice: "Questa scelta è scaduta. Ricomincia con /subscribe.",
    already_registered: "Questa chat ha già un account: {}.",
    ask_username: "Scegli un nome utente per il tuo account:",
    ask_username_suggest: "Scegli un nome utente per il tuo account — o tocca il pulsante per usare {}:",
    username_taken: "Il nome utente {} è già preso. Scegline un altro:",
    invalid_value: "{} — riprova:",
    ask_password: "Ora una password (almeno 6 caratteri). Serve solo per la REST API; cancello il tuo messaggio appena l'ho letto.",
    registered: "✅ Account {} creato. Usalo per accedere alla REST API; gli avvisi arrivano qui.",
    password_not_deleted: "Non sono riuscito a cancellare il messaggio con la password: cancellalo tu, per favore.",
    send_text: "Rispondi con un messaggio di testo (o /cancel).",
    ask_city: "Quale città? (o condividi una posizione con 📎)",
    unknown_city: "Non trovo una città chiamata \"{}\". Controlla come è scritta, o prova una città più grande vicina:",
    choose_place: "Ci sono più posti chiamati \"{}\". Quale?",
    ask_min: "📍 {}\nTemperatura minima (°C)? Ti avviso quando è uguale o più bassa.",
    ask_max: "Temperatura massima (°C)? Ti avviso quando è uguale o più alta.",
    ask_rain: "Ti avviso quando piove?",
    ask_snow: "Ti avviso quando nevica?",
    summary: "Confermi?\n📍 {}\n{}",
    subscribed: "✅ Iscrizione #{}: {} — {}",
    too_many: "Hai già {} iscrizioni, il massimo. Eliminane una con /subscriptions.",
    already_subscribed: "Hai già questa iscrizione: #{} per {}. Nulla è cambiato.",
    nothing_to_watch: "Senza minima, massima, pioggia né neve non c'è niente da controllare. Ripartiamo dalla minima:",
    subscribe_usage: "Scrivi /subscribe da solo e ti guido, oppure tutto in una riga:\n/subscribe <città> <t_min> <t_max> <pioggia sì|no> <neve sì|no> [preavviso]\nes. /subscribe Roma 5 30 sì no — usa - per nessun limite; aggiungi es. 3h per un avviso 3 ore prima che il tempo previsto cambi.",
    weather_unavailable: "Il servizio meteo non risponde in questo momento. Riprova tra qualche minuto.",
    location_place: "Posizione {}",
    answer_yes_no: "Rispondi sì o no (o tocca un pulsante):",
    ask_ahead: "Ti avviso in anticipo, quando la previsione lo annuncia? Scegli quanto prima — o scrivilo, es. 2h o 90 (minuti), fino a 48h:",
    heads_up_on: "⏰ preavviso di {}",
    heads_up_off: "nessun preavviso",
    ahead_usage: "Scrivi /ahead <id> <anticipo>, es. /ahead 12 3h, /ahead 12 90 (minuti) o /ahead 12 off — /subscriptions mostra gli id.",
    ahead_set: "✅ #{}: preavviso di {}.",
    ahead_cleared: "✅ #{}: nessun preavviso.",
    ahead_not_yours: "In questa chat non c'è un'iscrizione #{}. /subscriptions mostra le tue.",
    no_minimum: "Nessuna minima",
    no_maximum: "Nessuna massima",
    yes: "Sì",
    no: "No",
    confirm: "✅ Conferma",
    cancel: "✖️ Annulla",
    no_heads_up: "No",
    no_subscriptions: "Non hai iscrizioni. /subscribe ne aggiunge una.",
    subscriptions_head: "Le tue iscrizioni (🗑 per eliminare):",
    removed: "🗑 Iscrizione #{} eliminata.",
    not_yours: "Non hai un'iscrizione #{}. /subscriptions mostra le tue.",
    unsubscribe_usage: "Quale? Scrivi /unsubscribe <id> — /subscriptions mostra gli id.",
    paused: "in pausa",
    rain_word: "pioggia",
    snow_word: "neve",
    min_word: "min",
    max_word: "max",
    weather_usage: "Quale città? Scrivi /weather <città>, es. /weather Roma",
    weather_now: "{}: {}{}",
    sub_ok: "✅ #{} nei tuoi limiti",
    sub_violated: "⚠️ #{} fuori dai tuoi limiti:",
    language_set: "Va bene, parlo italiano. 🇮🇹",
    language_usage: "Scrivi /language en oppure /language it.",
    units_set: "Va bene, temperature in {}.",
    units_usage: "Scrivi /units c (Celsius) oppure /units f (Fahrenheit).",
    not_allowed: "Spiacente, /sla non è permesso in questa chat.",
};

pub fn bot_texts(lang: Language) -> &'static BotTexts {
    match lang {
        Language::En => &EN,
        Language::It => &IT,
    }
}

/// Fills the `{}` holes of `template` in order; missing arguments leave the
/// hole empty, extra ones are ignored.
pub fn fill(template: &str, args: &[&str]) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut parts = template.split("{}");
    if let Some(first) = parts.next() {
        out.push_str(first);
    }
    for (i, part) in parts.enumerate() {
        out.push_str(args.get(i).copied().unwrap_or(""));
        out.push_str(part);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_replaces_in_order() {
        assert_eq!(fill("a {} b {}", &["1", "2"]), "a 1 b 2");
        assert_eq!(fill("{}", &[]), "");
        assert_eq!(fill("none", &["x"]), "none");
    }

    #[test]
    fn both_languages_have_the_same_holes() {
        let pairs = [
            (EN.start, IT.start),
            (EN.already_registered, IT.already_registered),
            (EN.ask_username_suggest, IT.ask_username_suggest),
            (EN.username_taken, IT.username_taken),
            (EN.invalid_value, IT.invalid_value),
            (EN.registered, IT.registered),
            (EN.unknown_city, IT.unknown_city),
            (EN.choose_place, IT.choose_place),
            (EN.ask_min, IT.ask_min),
            (EN.summary, IT.summary),
            (EN.subscribed, IT.subscribed),
            (EN.too_many, IT.too_many),
            (EN.already_subscribed, IT.already_subscribed),
            (EN.location_place, IT.location_place),
            (EN.removed, IT.removed),
            (EN.not_yours, IT.not_yours),
            (EN.weather_now, IT.weather_now),
            (EN.sub_ok, IT.sub_ok),
            (EN.sub_violated, IT.sub_violated),
            (EN.units_set, IT.units_set),
            (EN.heads_up_on, IT.heads_up_on),
            (EN.ahead_set, IT.ahead_set),
            (EN.ahead_cleared, IT.ahead_cleared),
            (EN.ahead_not_yours, IT.ahead_not_yours),
        ];
        for (en, it) in pairs {
            assert_eq!(
                en.matches("{}").count(),
                it.matches("{}").count(),
                "{en} / {it}"
            );
        }
    }
}
