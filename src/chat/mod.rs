//! `meteobot chat`: the bot in a terminal, without Telegram.
//!
//! The same [`App`] as the server — dispatcher over long polling, handler
//! tree, dialogue states, texts, database, poller and notifier — with its
//! `Bot` pointed at a Bot API served in-process on loopback
//! ([`botapi::BotApi`]) under a fixed local token. What the person types
//! becomes updates of that API ([`terminal`]); whatever the bot sends there
//! (replies, alerts, digests, edits) is printed as it arrives ([`screen`]).
//! End of input, Ctrl-C or SIGTERM stop the app the graceful way.
//!
//! Chat mode changes three defaults, only when the operator set nothing:
//! the admin port is `127.0.0.1:0` (never collides with a running server),
//! logs are `warn` (the conversation on stdout stays readable), and the
//! database is `sqlite:meteobot-chat.db` (the notifier here delivers every
//! pending message of its database into this terminal, so it keeps off the
//! server's).

pub mod botapi;
pub mod screen;
pub mod terminal;

use std::io::IsTerminal;

use anyhow::Context;
use clap::ArgMatches;
use clap::parser::ValueSource;

use crate::config::{Args, Config};
use crate::domain::ChatId;
use crate::secret::Secret;
use crate::shutdown;
use crate::startup::App;

use botapi::{BotApi, Identity, Person};
use screen::Screen;

/// The bot token of chat mode: token-shaped, local, never Telegram's.
pub const TOKEN: &str = "1000001:meteobot-chat-local-token";
/// The bot's @username in chat mode.
pub const BOT_USERNAME: &str = "meteobot_local_bot";
/// Chat mode's defaults for settings the operator left unset.
pub const ADMIN_ADDR: &str = "127.0.0.1:0";
pub const RUST_LOG: &str = "warn";
pub const DATABASE_URL: &str = "sqlite:meteobot-chat.db";

/// The binary's command line: [`Args`] with every setting also accepted
/// after a subcommand (`meteobot chat --poll-interval 1s`).
pub fn command_line() -> clap::Command {
    use clap::CommandFactory;
    Args::command().mut_args(|arg| arg.global(true))
}

/// `--chat-id`: a private chat's id, positive and within Telegram's range.
pub fn parse_chat_id(raw: &str) -> Result<ChatId, String> {
    let id = ChatId::parse(raw).map_err(|e| e.to_string())?;
    if id.get() < 0 {
        return Err(format!(
            "{} is a group's id; chat mode is a private chat, whose id is positive",
            id.get()
        ));
    }
    Ok(id)
}

/// Readies `args` (parsed into `matches`) for chat mode: the local token
/// (TELOXIDE_TOKEN is neither needed nor used, nor TELOXIDE_API_URL), and
/// chat mode's defaults for what the operator did not set.
pub fn prepare(args: &mut Args, matches: &ArgMatches) {
    let unset = |id: &str| {
        matches!(
            matches.value_source(id),
            None | Some(ValueSource::DefaultValue)
        )
    };
    args.teloxide_token = Some(TOKEN.to_owned());
    args.teloxide_api_url = None;
    if unset("admin_addr") {
        args.admin_addr = ADMIN_ADDR.to_owned();
    }
    if unset("rust_log") {
        args.rust_log = RUST_LOG.to_owned();
    }
    if unset("database_url") {
        args.database_url = DATABASE_URL.to_owned();
    }
}

/// Runs the app with the person at this terminal as chat `chat` until end
/// of input, Ctrl-C or SIGTERM.
pub async fn run(mut config: Config, chat: ChatId) -> anyhow::Result<()> {
    let screen = Screen::stdout();
    let bot = Identity {
        token: TOKEN.to_owned(),
        username: BOT_USERNAME.to_owned(),
    };
    let (api, server) = BotApi::start(chat.get(), person_from_env(), bot, screen.clone()).await?;
    config.telegram_token = Some(Secret::new(TOKEN));
    config.telegram_api_url = Some(api.url());
    // Installed before anything runs, as the server does.
    let signal = shutdown::os_signal().context("installing signal handlers")?;
    let database = config.database_url.clone();
    let app = App::build(config).await?;
    tracing::debug!(admin_addr = %app.local_addr(), "chat mode: admin port listening");
    let at_terminal = std::io::stdin().is_terminal();
    if at_terminal {
        eprintln!(
            "meteobot chat — you are chat {} ({database}). Type a message or a /command \
             (/help lists them); a number presses that button of the last message with \
             buttons (\\5 sends \"5\" as text). Ctrl-D quits.",
            chat.get()
        );
    }
    let typing = tokio::spawn(terminal::run(
        api,
        screen,
        terminal::stdin_lines(),
        !at_terminal,
    ));
    let stop = async move {
        tokio::select! {
            _ = signal => {}
            _ = typing => {}
        }
    };
    let result = app.run_until(stop).await;
    // The app is done with the API (its last getUpdates confirmed).
    drop(server);
    result
}

/// The person at the terminal: `$USER` (capitalised) and the language of
/// the locale (`LC_ALL`, `LC_MESSAGES`, `LANG`: `it_IT.UTF-8` → `it`).
fn person_from_env() -> Person {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let first_name = ["USER", "USERNAME", "LOGNAME"]
        .into_iter()
        .find_map(var)
        .map(|name| capitalised(name.trim()))
        .unwrap_or_else(|| "You".to_owned());
    let language_code = ["LC_ALL", "LC_MESSAGES", "LANG"]
        .into_iter()
        .find_map(var)
        .and_then(|locale| language_of(&locale));
    Person {
        first_name,
        language_code,
    }
}

fn capitalised(name: &str) -> String {
    let mut chars = name.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// The language of a POSIX locale (`it_IT.UTF-8` → `it`); none for `C`,
/// `POSIX` and the like.
fn language_of(locale: &str) -> Option<String> {
    let language = locale.split(['_', '.', '@', '-']).next()?;
    ((2..=3).contains(&language.len()) && language.bytes().all(|b| b.is_ascii_lowercase()))
        .then(|| language.to_owned())
}

#[cfg(test)]
mod tests {
    use clap::FromArgMatches;

    use super::*;
    use crate::config::Command;

    #[test]
    fn chat_ids_are_positive_telegram_ids() {
        assert_eq!(parse_chat_id("1").unwrap().get(), 1);
        assert_eq!(
            parse_chat_id(" 4503599627370495 ").unwrap().get(),
            (1 << 52) - 1
        );
        for bad in [
            "0",
            "-5",
            "abc",
            "1.5",
            "",
            "4503599627370496",
            "99999999999999999999",
        ] {
            assert!(parse_chat_id(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn locales_give_a_language() {
        assert_eq!(language_of("it_IT.UTF-8").as_deref(), Some("it"));
        assert_eq!(language_of("en").as_deref(), Some("en"));
        assert_eq!(language_of("C.UTF-8"), None);
        assert_eq!(language_of("POSIX"), None);
        assert_eq!(capitalised("ada"), "Ada");
        assert_eq!(capitalised("élodie"), "Élodie");
    }

    fn parse(argv: &[&str]) -> (Args, ArgMatches) {
        let matches = command_line()
            .mut_args(|arg| arg.env(None))
            .try_get_matches_from(argv)
            .unwrap();
        (Args::from_arg_matches(&matches).unwrap(), matches)
    }

    #[test]
    fn chat_mode_changes_only_the_defaults_nobody_set() {
        let (mut args, matches) = parse(&["meteobot", "chat"]);
        assert!(matches!(args.command, Some(Command::Chat { chat_id }) if chat_id.get() == 1));
        prepare(&mut args, &matches);
        let config = Config::from_args(args).expect("no TELOXIDE_TOKEN needed");
        assert_eq!(config.admin_addr.to_string(), ADMIN_ADDR);
        assert_eq!(config.rust_log, RUST_LOG);
        assert_eq!(config.database_url, DATABASE_URL);
        assert_eq!(config.telegram_token.unwrap().expose(), TOKEN);

        // Settings before or after `chat` are the operator's.
        let (mut args, matches) = parse(&[
            "meteobot",
            "--admin-addr",
            "127.0.0.1:9999",
            "chat",
            "--chat-id",
            "42",
            "--rust-log",
            "debug",
            "--database-url",
            "sqlite::memory:",
            "--teloxide-api-url",
            "http://127.0.0.1:9/",
        ]);
        assert!(matches!(args.command, Some(Command::Chat { chat_id }) if chat_id.get() == 42));
        prepare(&mut args, &matches);
        let config = Config::from_args(args).unwrap();
        assert_eq!(config.admin_addr.to_string(), "127.0.0.1:9999");
        assert_eq!(config.rust_log, "debug");
        assert_eq!(config.database_url, "sqlite::memory:");
        assert_eq!(
            config.telegram_api_url, None,
            "the in-process API is set at run"
        );
    }
}
