//! Configuration: every variable of DESIGN.md, read from the environment or the
//! same-named CLI flag (`POLL_INTERVAL` ⇔ `--poll-interval`).
//!
//! Each setting is declared once, as a field of [`Args`]: the field's name is
//! the flag and, upper-cased by clap (`#[arg(env)]`), the variable; its
//! `default_value` is the default; its doc comment is the `--help` text.
//! Everything else reads from there rather than spelling it again:
//! - errors name the variable clap reports for the field (`parse!`, `var!`);
//! - [`Config::local`], the defaults tests start from, is the default strings
//!   run through the same parsers as an operator's values.
//!
//! clap only collects strings; [`Config::from_args`] parses them so a bad value
//! becomes one line naming the *variable* (what an operator set), and `main`
//! exits with code 2.

mod parse;

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::LazyLock;
use std::time::Duration;

use clap::{CommandFactory, FromArgMatches, Parser};
use reqwest::Url;

use crate::secret::Secret;
use crate::sla::JobName;

pub use parse::duration as parse_duration;

/// Raw command line / environment, exactly as the operator wrote it.
// (Not a doc paragraph: clap would print it as the long `about`.) Every field
// has `env` (its variable) and either a `default_value` or a doc saying what
// unset means; secrets have `hide_env_values` and are redacted in `Debug`.
// The tests hold every field to that.
#[derive(Parser)]
#[command(
    name = "meteobot",
    version,
    about = "Telegram weather alerts, REST admin port and SLA manager"
)]
pub struct Args {
    /// Bot token from @BotFather, required (never logged).
    #[arg(long, env, hide_env_values = true)]
    pub teloxide_token: Option<String>,
    /// Bot API base URL (default: Telegram's).
    #[arg(long, env)]
    pub teloxide_api_url: Option<String>,
    /// Public https:// URL Telegram posts updates to (webhook mode): the
    /// admin port serves its path (default: none, long polling).
    #[arg(long, env)]
    pub webhook_url: Option<String>,
    /// Secret Telegram sends with every webhook update, required with
    /// WEBHOOK_URL: 1 to 256 of A-Z a-z 0-9 _ - (never logged).
    #[arg(long, env, hide_env_values = true)]
    pub webhook_secret: Option<String>,
    /// SQLite database, created and migrated on start.
    #[arg(long, env, default_value = "sqlite:meteobot.db")]
    pub database_url: String,
    /// Weather provider: `open-meteo` (no key) or `openweathermap`.
    #[arg(long, env, default_value = "open-meteo")]
    pub weather_provider: String,
    /// OpenWeatherMap API key, required with `openweathermap` (never logged).
    #[arg(long, env, hide_env_values = true)]
    pub owm_api_key: Option<String>,
    /// OpenWeatherMap base URL.
    #[arg(long, env, default_value = "https://api.openweathermap.org")]
    pub owm_api_url: String,
    /// OpenWeatherMap request budget per minute (the free plan allows 60).
    #[arg(long, env, default_value = "60")]
    pub owm_calls_per_minute: String,
    /// Open-Meteo forecast base URL.
    #[arg(long, env, default_value = "https://api.open-meteo.com")]
    pub open_meteo_api_url: String,
    /// Open-Meteo geocoding base URL.
    #[arg(long, env, default_value = "https://geocoding-api.open-meteo.com")]
    pub open_meteo_geocoding_url: String,
    /// Timeout of one weather API request (humantime: `10s`).
    #[arg(long, env, default_value = "10s")]
    pub weather_timeout: String,
    /// How often live weather is checked (humantime: `1s`, `5m`).
    #[arg(long, env, default_value = "10m")]
    pub poll_interval: String,
    /// How often each place's forecast series is refreshed (stretched when
    /// the daily budget cannot afford it).
    #[arg(long, env, default_value = "1h")]
    pub weather_refresh: String,
    /// Grid step in degrees: points in one cell share a forecast.
    #[arg(long, env, default_value = "0.05")]
    pub weather_grid: String,
    /// Weighted weather calls a UTC day may spend (default: the provider's
    /// free plan, 10000 for Open-Meteo, 32000 for OpenWeatherMap).
    #[arg(long, env)]
    pub weather_daily_budget: Option<String>,
    /// Older than this, a forecast series decides no alert and no all-clear.
    #[arg(long, env, default_value = "3h")]
    pub weather_max_age: String,
    /// Precipitation probability (%) from which forecast rain or snow earns a heads-up.
    #[arg(long, env, default_value = "50")]
    pub heads_up_probability: String,
    /// Re-alert while a violation persists.
    #[arg(long, env, default_value = "6h")]
    pub remind_interval: String,
    /// REST + /metrics listen address; port 0 picks a free port.
    #[arg(long, env, default_value = "127.0.0.1:8080")]
    pub admin_addr: String,
    /// Bearer token for SLA endpoints; required to bind a non-loopback address.
    #[arg(long, env, hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Comma list of chat ids allowed to use /sla (default: none).
    #[arg(long, env)]
    pub admin_chat_ids: Option<String>,
    /// HS256 key for REST tokens (default: generated once, kept in the database).
    #[arg(long, env, hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// Lifetime of a REST token.
    #[arg(long, env, default_value = "24h")]
    pub token_ttl: String,
    /// Prometheus server for SLA metrics (default: the process's own registry).
    #[arg(long, env)]
    pub prometheus_url: Option<String>,
    /// How often SLAs are evaluated.
    #[arg(long, env, default_value = "60s")]
    pub sla_eval_interval: String,
    /// SLA samples and violations older than this are deleted.
    #[arg(long, env, default_value = "7d")]
    pub sla_retention: String,
    /// A message whose send keeps failing (network, 5xx) is given up after
    /// this many attempts (status `failed`, with the last error).
    #[arg(long, env, default_value = "10")]
    pub notify_max_attempts: String,
    /// A message whose send fails when it is this old is given up.
    #[arg(long, env, default_value = "24h")]
    pub notify_max_age: String,
    /// Sent messages are deleted from the outbox after this long.
    #[arg(long, env, default_value = "7d")]
    pub outbox_retention: String,
    /// The `job` every in-process metric carries when SLAs read the registry.
    #[arg(long, env, default_value = "meteobot")]
    pub metrics_job: String,
    /// This replica's name: the `instance` label of its metrics and the
    /// start of its leader-lease holder name; letters, digits, `.`, `_`,
    /// `-`, at most 100 (default: the host name, else "meteobot").
    #[arg(long, env)]
    pub instance_name: Option<String>,
    /// tracing filter (`info`, `meteobot=debug`).
    #[arg(long, env, default_value = "info")]
    pub rust_log: String,
    // Not a setting: what to run. None: the server.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// `meteobot <command>`; without one, meteobot runs the server.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Try the bot in this terminal, without Telegram: the same bot, database
    /// and alerts, with a Bot API served in-process (no TELOXIDE_TOKEN).
    ///
    /// Unless set, ADMIN_ADDR is 127.0.0.1:0, RUST_LOG warn and DATABASE_URL
    /// sqlite:meteobot-chat.db here. A number typed presses that button of
    /// the last message with buttons (\5 sends "5" as text); Ctrl-D quits.
    Chat {
        /// The private chat you are: a positive Telegram chat id.
        #[arg(long, default_value = "1", allow_negative_numbers = true,
              value_parser = crate::chat::parse_chat_id)]
        chat_id: crate::domain::ChatId,
    },
}

impl Args {
    /// `argv` parsed as if no variable were set: clap's `env` lookups are
    /// switched off, so the result does not depend on who runs it.
    fn parse_without_env<I, T>(argv: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let matches = Self::command()
            .mut_args(|arg| arg.env(None))
            .try_get_matches_from(argv)?;
        Self::from_arg_matches(&matches)
    }
}

/// Written by hand so the secrets print as `***`. The destructuring has no
/// `..`: a new field does not compile until it is listed here too.
impl fmt::Debug for Args {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            teloxide_token,
            teloxide_api_url,
            webhook_url,
            webhook_secret,
            database_url,
            weather_provider,
            owm_api_key,
            owm_api_url,
            owm_calls_per_minute,
            open_meteo_api_url,
            open_meteo_geocoding_url,
            weather_timeout,
            poll_interval,
            weather_refresh,
            weather_grid,
            weather_daily_budget,
            weather_max_age,
            heads_up_probability,
            remind_interval,
            admin_addr,
            admin_token,
            admin_chat_ids,
            jwt_secret,
            token_ttl,
            prometheus_url,
            sla_eval_interval,
            sla_retention,
            notify_max_attempts,
            notify_max_age,
            outbox_retention,
            metrics_job,
            instance_name,
            rust_log,
            command,
        } = self;
        let hidden = |secret: &Option<String>| secret.as_ref().map(|_| "***");
        f.debug_struct("Args")
            .field("teloxide_token", &hidden(teloxide_token))
            .field("teloxide_api_url", teloxide_api_url)
            .field("webhook_url", webhook_url)
            .field("webhook_secret", &hidden(webhook_secret))
            .field("database_url", database_url)
            .field("weather_provider", weather_provider)
            .field("owm_api_key", &hidden(owm_api_key))
            .field("owm_api_url", owm_api_url)
            .field("owm_calls_per_minute", owm_calls_per_minute)
            .field("open_meteo_api_url", open_meteo_api_url)
            .field("open_meteo_geocoding_url", open_meteo_geocoding_url)
            .field("weather_timeout", weather_timeout)
            .field("poll_interval", poll_interval)
            .field("weather_refresh", weather_refresh)
            .field("weather_grid", weather_grid)
            .field("weather_daily_budget", weather_daily_budget)
            .field("weather_max_age", weather_max_age)
            .field("heads_up_probability", heads_up_probability)
            .field("remind_interval", remind_interval)
            .field("admin_addr", admin_addr)
            .field("admin_token", &hidden(admin_token))
            .field("admin_chat_ids", admin_chat_ids)
            .field("jwt_secret", &hidden(jwt_secret))
            .field("token_ttl", token_ttl)
            .field("prometheus_url", prometheus_url)
            .field("sla_eval_interval", sla_eval_interval)
            .field("sla_retention", sla_retention)
            .field("notify_max_attempts", notify_max_attempts)
            .field("notify_max_age", notify_max_age)
            .field("outbox_retention", outbox_retention)
            .field("metrics_job", metrics_job)
            .field("instance_name", instance_name)
            .field("rust_log", rust_log)
            .field("command", command)
            .finish()
    }
}

/// The variable clap reads the `Args` field `field` from. Read back from
/// clap's own metadata rather than spelled again, so an error names exactly
/// what `--help` shows. Panics on a field without `env`, which the tests rule
/// out for every field.
fn variable(field: &str) -> &'static str {
    static COMMAND: LazyLock<clap::Command> = LazyLock::new(Args::command);
    COMMAND
        .get_arguments()
        .find(|arg| arg.get_id() == field)
        .and_then(clap::Arg::get_env)
        .and_then(|env| env.to_str())
        .unwrap_or_else(|| panic!("Args has no field {field} with #[arg(env)]"))
}

/// `var!(admin_token)`: the variable of that `Args` field. The closure is
/// never called; it makes a misspelt field a compile error, not a panic.
macro_rules! var {
    ($field:ident) => {{
        let _ = |args: &Args| {
            let _ = &args.$field;
        };
        variable(stringify!($field))
    }};
}

/// `parse!(args.poll_interval, duration)`: the field's text through
/// `parse::duration`, whose errors name the field's variable. One identifier
/// gives both, so a value cannot be reported under another setting's name.
macro_rules! parse {
    ($args:ident . $field:ident, $parser:ident) => {
        parse::$parser(variable(stringify!($field)), &$args.$field)
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderKind {
    OpenMeteo,
    OpenWeatherMap,
}

/// Validated configuration: each field is the parsed form of the `Args`
/// field of the same name (whose doc is the setting's documentation).
/// Tests build it with [`Config::local`] and adjust fields.
#[derive(Debug, Clone)]
pub struct Config {
    /// `teloxide_token`; `None` only in tests ([`Config::from_args`] requires it).
    pub telegram_token: Option<Secret>,
    /// `teloxide_api_url`.
    pub telegram_api_url: Option<Url>,
    /// Webhook mode when set (always https); `None`: long polling.
    pub webhook_url: Option<Url>,
    /// Set whenever `webhook_url` is.
    pub webhook_secret: Option<Secret>,
    pub database_url: String,
    /// `weather_provider`.
    pub provider: ProviderKind,
    pub owm_api_key: Option<Secret>,
    pub owm_api_url: Url,
    pub owm_calls_per_minute: u32,
    pub open_meteo_api_url: Url,
    pub open_meteo_geocoding_url: Url,
    pub weather_timeout: Duration,
    pub poll_interval: Duration,
    pub weather_refresh: Duration,
    pub weather_grid: f64,
    pub weather_daily_budget: Option<f64>,
    pub weather_max_age: Duration,
    /// Percent, 1–100.
    pub heads_up_probability: u8,
    pub remind_interval: Duration,
    pub admin_addr: SocketAddr,
    pub admin_token: Option<Secret>,
    pub admin_chat_ids: Vec<i64>,
    pub jwt_secret: Option<Secret>,
    pub token_ttl: Duration,
    pub prometheus_url: Option<Url>,
    pub sla_eval_interval: Duration,
    pub sla_retention: Duration,
    /// ≥ 1.
    pub notify_max_attempts: u32,
    pub notify_max_age: Duration,
    pub outbox_retention: Duration,
    pub metrics_job: JobName,
    /// `INSTANCE_NAME`, or the host name.
    pub instance_name: String,
    pub rust_log: String,
}

/// A bad configuration value: `Display` is the one line printed before exit 2.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{variable}: {message}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub message: String,
}

fn bad(variable: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        message: message.into(),
    }
}

impl Config {
    /// What the binary runs with: every setting valid, and a bot token.
    pub fn from_args(args: Args) -> Result<Self, ConfigError> {
        let config = Self::validated(&args)?;
        if config.telegram_token.is_none() {
            return Err(bad(
                var!(teloxide_token),
                "required: create a bot with @BotFather on Telegram (/newbot) and set the token it gives you",
            ));
        }
        Ok(config)
    }

    /// The documented defaults with the admin port on loopback port 0 (tests
    /// run side by side), no bot token and no instance name (metrics without
    /// an `instance` label): what tests start from.
    pub fn local(database_url: impl Into<String>) -> Self {
        let defaults = Args::parse_without_env(["meteobot"]).expect("Args parses with no flags");
        let defaults = Self::validated(&defaults).expect("the defaults of Args are valid");
        Self {
            database_url: database_url.into(),
            admin_addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            // No `instance` label on the metrics tests read.
            instance_name: String::new(),
            ..defaults
        }
    }

    /// Every setting parsed, and the settings that constrain each other
    /// checked; the bot token may be missing.
    fn validated(args: &Args) -> Result<Self, ConfigError> {
        let provider = parse!(args.weather_provider, provider)?;
        let owm_api_key = parse::non_empty(&args.owm_api_key).map(Secret::new);
        if provider == ProviderKind::OpenWeatherMap && owm_api_key.is_none() {
            return Err(bad(
                var!(owm_api_key),
                format!(
                    "required when {} is openweathermap (get a key at openweathermap.org)",
                    var!(weather_provider)
                ),
            ));
        }
        let admin_addr = parse!(args.admin_addr, socket_addr)?;
        let admin_token = parse::non_empty(&args.admin_token).map(Secret::new);
        if !admin_addr.ip().is_loopback() && admin_token.is_none() {
            return Err(bad(
                var!(admin_addr),
                format!(
                    "{admin_addr} is reachable from other machines: set {} too",
                    var!(admin_token)
                ),
            ));
        }
        let webhook_url = parse!(args.webhook_url, https_url)?;
        let webhook_secret = parse!(args.webhook_secret, webhook_secret)?;
        if webhook_url.is_some() && webhook_secret.is_none() {
            return Err(bad(
                var!(webhook_secret),
                format!(
                    "required when {} is set: 1 to 256 of A-Z a-z 0-9 _ - (e.g. from `openssl rand -hex 32`)",
                    var!(webhook_url)
                ),
            ));
        }
        Ok(Self {
            jwt_secret: parse!(args.jwt_secret, jwt_secret)?,
            telegram_token: parse!(args.teloxide_token, token)?,
            telegram_api_url: parse!(args.teloxide_api_url, optional_url)?,
            webhook_url,
            webhook_secret,
            database_url: parse!(args.database_url, database_url)?,
            provider,
            owm_api_key,
            owm_api_url: parse!(args.owm_api_url, url)?,
            owm_calls_per_minute: parse!(args.owm_calls_per_minute, count)?,
            open_meteo_api_url: parse!(args.open_meteo_api_url, url)?,
            open_meteo_geocoding_url: parse!(args.open_meteo_geocoding_url, url)?,
            weather_timeout: parse!(args.weather_timeout, duration)?,
            poll_interval: parse!(args.poll_interval, duration)?,
            weather_refresh: parse!(args.weather_refresh, duration)?,
            weather_grid: parse!(args.weather_grid, grid)?,
            weather_daily_budget: parse!(args.weather_daily_budget, budget)?,
            weather_max_age: parse!(args.weather_max_age, duration)?,
            heads_up_probability: parse!(args.heads_up_probability, probability)?,
            remind_interval: parse!(args.remind_interval, duration)?,
            admin_addr,
            admin_token,
            admin_chat_ids: parse!(args.admin_chat_ids, chat_ids)?,
            token_ttl: parse!(args.token_ttl, duration)?,
            prometheus_url: parse!(args.prometheus_url, optional_url)?,
            sla_eval_interval: parse!(args.sla_eval_interval, duration)?,
            sla_retention: parse!(args.sla_retention, duration)?,
            notify_max_attempts: parse!(args.notify_max_attempts, count)?,
            notify_max_age: parse!(args.notify_max_age, duration)?,
            outbox_retention: parse!(args.outbox_retention, duration)?,
            metrics_job: parse!(args.metrics_job, job)?,
            instance_name: instance_name(var!(instance_name), &args.instance_name)?,
            rust_log: args.rust_log.clone(),
        })
    }
}

/// `INSTANCE_NAME` when set, else the host name (`/etc/hostname`, then
/// `HOSTNAME`), else "meteobot". A set value must be a plain name; a host
/// name that is not is ignored.
fn instance_name(variable: &'static str, raw: &Option<String>) -> Result<String, ConfigError> {
    fn plain(name: &str) -> bool {
        !name.is_empty()
            && name.len() <= 100
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    }
    if let Some(name) = parse::non_empty(raw) {
        return if plain(&name) {
            Ok(name)
        } else {
            Err(bad(
                variable,
                format!("'{name}' is not a name: use letters, digits, '.', '_', '-' (at most 100)"),
            ))
        };
    }
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| plain(h))
        .or_else(|| {
            std::env::var("HOSTNAME")
                .ok()
                .map(|h| h.trim().to_owned())
                .filter(|h| plain(h))
        });
    Ok(host.unwrap_or_else(|| "meteobot".to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses flags only (the environment of whoever runs the tests is
    /// ignored); the base flags are added unless the case sets them itself.
    fn config(extra: &[&str]) -> Result<Config, ConfigError> {
        let base = [
            ("--teloxide-token", "123456:test-token"),
            ("--database-url", "sqlite::memory:"),
            ("--weather-provider", "open-meteo"),
            ("--admin-addr", "127.0.0.1:0"),
        ];
        let mut argv = vec!["meteobot"];
        for (flag, value) in base {
            if !extra.contains(&flag) {
                argv.extend([flag, value]);
            }
        }
        argv.extend_from_slice(extra);
        Config::from_args(Args::parse_without_env(argv).expect("flags parse"))
    }

    /// The flags and `--help` as clap builds them, without `-h`/`-V`.
    fn settings() -> Vec<clap::Arg> {
        Args::command()
            .get_arguments()
            .filter(|arg| !matches!(arg.get_id().as_str(), "help" | "version"))
            .cloned()
            .collect()
    }

    /// Issue 9: a setting added to `Args` must come with its variable (the
    /// upper-cased field name, as errors report it) and show in `--help`
    /// what it defaults to: clap's `[default: …]`, or a doc that says
    /// "(default: …)" or "required".
    #[test]
    fn every_setting_has_a_variable_and_a_default_in_help() {
        let help = Args::command().render_long_help().to_string();
        let settings = settings();
        assert_eq!(settings.len(), 33, "a setting was added or lost");
        for arg in settings {
            let id = arg.get_id().as_str();
            let flag = arg.get_long().unwrap_or(id);
            let env = arg.get_env().and_then(|e| e.to_str());
            let expected = id.to_ascii_uppercase();
            assert_eq!(env, Some(expected.as_str()), "--{flag} needs #[arg(env)]");
            assert_eq!(variable(id), expected);
            assert!(
                help.contains(&format!("[env: {expected}")),
                "--help lacks {expected}"
            );
            assert!(
                !arg.is_hide_set() && !arg.is_hide_default_value_set(),
                "--{flag} is hidden from --help"
            );
            match arg.get_default_values() {
                [default] => {
                    let default = default.to_str().unwrap();
                    assert!(
                        help.contains(&format!("[default: {default}]")),
                        "--help lacks the default of {expected}"
                    );
                }
                [] => {
                    let doc = arg.get_long_help().or(arg.get_help()).unwrap().to_string();
                    assert!(
                        doc.contains("(default: ") || doc.contains("required"),
                        "{expected} has no default_value: its doc must say what unset means"
                    );
                }
                many => panic!("{expected} has several defaults: {many:?}"),
            }
        }
    }

    /// `Config::local` is the command line with nothing set, but for what
    /// tests need: no bot token, a database of their own and port 0.
    #[test]
    fn local_is_an_empty_command_line() {
        let parsed = Config::from_args(
            Args::parse_without_env(["meteobot", "--teloxide-token", "1:t"]).unwrap(),
        )
        .unwrap();
        let local = Config::local("sqlite::memory:");
        assert_eq!(local.telegram_token, None);
        assert_eq!(local.database_url, "sqlite::memory:");
        assert_eq!(local.admin_addr, SocketAddr::from(([127, 0, 0, 1], 0)));
        assert_eq!(local.instance_name, "");
        let parsed = Config {
            telegram_token: None,
            database_url: local.database_url.clone(),
            admin_addr: local.admin_addr,
            instance_name: String::new(),
            ..parsed
        };
        // Every other field, compared through Debug (Config has no PartialEq:
        // secrets are not compared).
        assert_eq!(format!("{local:?}"), format!("{parsed:?}"));
    }

    /// Defaults other modules keep for themselves must not drift from the
    /// ones an operator sees in `--help`.
    #[test]
    fn other_modules_agree_with_the_defaults() {
        let local = Config::local("sqlite::memory:");
        assert_eq!(
            local.notify_max_attempts,
            crate::notifier::DEFAULT_MAX_ATTEMPTS
        );
        assert_eq!(local.notify_max_age, crate::notifier::DEFAULT_MAX_AGE);
        assert_eq!(
            local.outbox_retention,
            crate::notifier::DEFAULT_OUTBOX_RETENTION
        );
        assert_eq!(
            local.weather_grid,
            crate::weather::grid::DEFAULT_GRID_DEGREES
        );
    }

    /// The five secrets: hidden from `--help` (no `NAME=value`), and neither
    /// `Debug` of `Args` or `Config` nor any error shows them.
    #[test]
    fn secrets_never_show() {
        let secret: Vec<String> = settings()
            .iter()
            .filter(|arg| arg.is_hide_env_values_set())
            .map(|arg| arg.get_id().to_string())
            .collect();
        assert_eq!(
            secret,
            [
                "teloxide_token",
                "webhook_secret",
                "owm_api_key",
                "admin_token",
                "jwt_secret"
            ]
        );
        let mark = "SeCrEt-1234567890";
        for id in &secret {
            let flag = format!("--{}", id.replace('_', "-"));
            let value = format!("424242:{mark}");
            let args = Args::parse_without_env(["meteobot", &flag, &value]).unwrap();
            assert!(
                !format!("{args:?}").contains(mark),
                "Debug of Args shows {id}"
            );
            if let Ok(c) = Config::from_args(args) {
                assert!(
                    !format!("{c:?}").contains(mark),
                    "Debug of Config shows {id}"
                );
            }
        }
        // Malformed or short secrets are refused without being quoted.
        for (flag, value) in [
            ("--teloxide-token", mark),
            ("--jwt-secret", "SeCrEt-1"),
            ("--webhook-secret", "SeCrEt/1"),
        ] {
            let e = config(&[flag, value]).unwrap_err();
            assert!(!format!("{e} {e:?}").contains(value), "{e}");
        }
    }

    #[test]
    fn defaults_are_valid() {
        let c = config(&["--poll-interval", "10m"]).unwrap();
        assert_eq!(c.poll_interval, Duration::from_secs(600));
        assert_eq!(c.provider, ProviderKind::OpenMeteo);
    }

    #[test]
    fn bad_duration_names_the_variable() {
        let e = config(&["--poll-interval", "soon"]).unwrap_err();
        assert_eq!(e.variable, "POLL_INTERVAL");
        assert!(e.to_string().starts_with("POLL_INTERVAL: 'soon'"));
        assert_eq!(
            config(&["--remind-interval", "0s"]).unwrap_err().variable,
            "REMIND_INTERVAL"
        );
    }

    #[test]
    fn the_bot_token_is_required_and_never_printed() {
        let c = config(&[]).unwrap();
        assert_eq!(
            c.telegram_token.as_ref().map(Secret::expose),
            Some("123456:test-token")
        );
        assert!(!format!("{c:?}").contains("test-token"));
        let e = config(&["--teloxide-token", " "]).unwrap_err();
        assert_eq!(e.variable, "TELOXIDE_TOKEN");
        assert!(e.message.contains("@BotFather"));
        let e = config(&["--teloxide-token", "not-a-token-secret"]).unwrap_err();
        assert_eq!(e.variable, "TELOXIDE_TOKEN");
        assert!(!e.to_string().contains("not-a-token-secret"));
    }

    #[test]
    fn notifier_settings_have_defaults_and_are_checked() {
        let c = config(&[]).unwrap();
        assert_eq!(c.notify_max_attempts, 10);
        assert_eq!(c.notify_max_age, Duration::from_secs(24 * 3600));
        assert_eq!(c.outbox_retention, Duration::from_secs(7 * 86400));
        let local = Config::local("sqlite::memory:");
        assert_eq!(
            (
                local.notify_max_attempts,
                local.notify_max_age,
                local.outbox_retention
            ),
            (c.notify_max_attempts, c.notify_max_age, c.outbox_retention)
        );
        let c = config(&[
            "--notify-max-attempts",
            "3",
            "--notify-max-age",
            "2h",
            "--outbox-retention",
            "30d",
        ])
        .unwrap();
        assert_eq!(c.notify_max_attempts, 3);
        assert_eq!(c.notify_max_age, Duration::from_secs(7200));
        assert_eq!(c.outbox_retention, Duration::from_secs(30 * 86400));
        for (flag, value, variable) in [
            ("--notify-max-attempts", "0", "NOTIFY_MAX_ATTEMPTS"),
            ("--notify-max-attempts", "ten", "NOTIFY_MAX_ATTEMPTS"),
            ("--notify-max-age", "0s", "NOTIFY_MAX_AGE"),
            ("--outbox-retention", "forever", "OUTBOX_RETENTION"),
        ] {
            assert_eq!(config(&[flag, value]).unwrap_err().variable, variable);
        }
    }

    #[test]
    fn sla_settings_are_checked() {
        let c = config(&["--sla-retention", "2d", "--metrics-job", " api "]).unwrap();
        assert_eq!(c.sla_retention, Duration::from_secs(2 * 86400));
        assert_eq!(c.metrics_job.as_str(), "api");
        let e = config(&["--sla-retention", "never"]).unwrap_err();
        assert_eq!(e.variable, "SLA_RETENTION");
        let e = config(&["--metrics-job", " "]).unwrap_err();
        assert_eq!(e.variable, "METRICS_JOB");
    }

    #[test]
    fn forecast_settings_are_checked() {
        let c = config(&[]).unwrap();
        assert_eq!(c.weather_refresh, Duration::from_secs(3600));
        assert_eq!(c.weather_grid, 0.05);
        assert_eq!(c.weather_daily_budget, None);
        assert_eq!(c.weather_max_age, Duration::from_secs(3 * 3600));
        assert_eq!(c.heads_up_probability, 50);
        let c = config(&[
            "--weather-daily-budget",
            "5000",
            "--weather-grid",
            "0.1",
            "--heads-up-probability",
            "70%",
        ])
        .unwrap();
        assert_eq!(c.weather_daily_budget, Some(5000.0));
        assert_eq!(c.weather_grid, 0.1);
        assert_eq!(c.heads_up_probability, 70);
        for (flag, value, variable) in [
            ("--weather-refresh", "hourly", "WEATHER_REFRESH"),
            ("--weather-grid", "0", "WEATHER_GRID"),
            ("--weather-grid", "5", "WEATHER_GRID"),
            ("--weather-grid", "NaN", "WEATHER_GRID"),
            ("--weather-daily-budget", "0", "WEATHER_DAILY_BUDGET"),
            ("--weather-daily-budget", "1.5", "WEATHER_DAILY_BUDGET"),
            ("--weather-max-age", "0s", "WEATHER_MAX_AGE"),
            ("--heads-up-probability", "0", "HEADS_UP_PROBABILITY"),
            ("--heads-up-probability", "101", "HEADS_UP_PROBABILITY"),
        ] {
            assert_eq!(
                config(&[flag, value]).unwrap_err().variable,
                variable,
                "{flag} {value}"
            );
        }
    }

    /// Issue 11: webhook mode needs an https URL and a well-formed secret;
    /// each refusal names its variable and never quotes the secret.
    #[test]
    fn webhook_settings_are_checked() {
        let c = config(&[]).unwrap();
        assert_eq!((c.webhook_url, c.webhook_secret), (None, None));
        let secret = "a".repeat(256);
        let c = config(&[
            "--webhook-url",
            "https://bot.example.org/tg/hook",
            "--webhook-secret",
            &secret,
        ])
        .unwrap();
        assert_eq!(c.webhook_url.unwrap().path(), "/tg/hook");
        assert_eq!(
            c.webhook_secret.as_ref().map(Secret::expose),
            Some(secret.as_str())
        );
        assert!(!format!("{:?}", c.webhook_secret).contains("aaaa"));
        let ok = config(&[
            "--webhook-url",
            "https://x.org/h",
            "--webhook-secret",
            "Az09_-",
        ]);
        assert!(ok.is_ok());
        let too_long = "b".repeat(257);
        for (extra, variable) in [
            (
                vec!["--webhook-url", "http://x.org/h", "--webhook-secret", "s"],
                "WEBHOOK_URL",
            ),
            (
                vec!["--webhook-url", "not a url", "--webhook-secret", "s"],
                "WEBHOOK_URL",
            ),
            (vec!["--webhook-url", "https://x.org/h"], "WEBHOOK_SECRET"),
            (
                vec!["--webhook-url", "https://x.org/h", "--webhook-secret", " "],
                "WEBHOOK_SECRET",
            ),
            (
                vec![
                    "--webhook-url",
                    "https://x.org/h",
                    "--webhook-secret",
                    "bad secret!",
                ],
                "WEBHOOK_SECRET",
            ),
            (
                vec![
                    "--webhook-url",
                    "https://x.org/h",
                    "--webhook-secret",
                    &too_long,
                ],
                "WEBHOOK_SECRET",
            ),
            (vec!["--webhook-secret", "s:3cret"], "WEBHOOK_SECRET"),
        ] {
            let e = config(&extra).unwrap_err();
            assert_eq!(e.variable, variable, "{extra:?}");
            assert!(!e.to_string().contains('\n'), "one line: {e}");
            assert!(
                !e.to_string().contains("bad secret") && !e.to_string().contains("s:3cret"),
                "{e}"
            );
        }
    }

    /// Issue 11: INSTANCE_NAME names the replica; a bad one is refused.
    #[test]
    fn instance_name_is_a_plain_name() {
        assert!(!config(&[]).unwrap().instance_name.is_empty());
        let c = config(&["--instance-name", "meteobot-2.eu_1"]).unwrap();
        assert_eq!(c.instance_name, "meteobot-2.eu_1");
        let e = config(&["--instance-name", "a b"]).unwrap_err();
        assert_eq!(e.variable, "INSTANCE_NAME");
    }

    #[test]
    fn unknown_provider_is_refused() {
        let e = config(&["--weather-provider", "accuweather"]).unwrap_err();
        assert_eq!(e.variable, "WEATHER_PROVIDER");
    }

    #[test]
    fn owm_needs_a_key_that_is_never_printed() {
        let e = config(&["--weather-provider", "openweathermap"]).unwrap_err();
        assert_eq!(e.variable, "OWM_API_KEY");
        let c = config(&[
            "--weather-provider",
            "openweathermap",
            "--owm-api-key",
            "k3y-value",
        ])
        .unwrap();
        assert!(!format!("{c:?}").contains("k3y-value"));
    }

    #[test]
    fn public_admin_addr_needs_a_token() {
        let e = config(&["--admin-addr", "0.0.0.0:8080"]).unwrap_err();
        assert_eq!(e.variable, "ADMIN_ADDR");
        assert!(config(&["--admin-addr", "0.0.0.0:8080", "--admin-token", "t"]).is_ok());
        assert_eq!(
            config(&["--admin-addr", "localhost"]).unwrap_err().variable,
            "ADMIN_ADDR"
        );
    }

    #[test]
    fn chat_ids_and_urls_are_checked() {
        let c = config(&["--admin-chat-ids", "1, -1002, 3"]).unwrap();
        assert_eq!(c.admin_chat_ids, vec![1, -1002, 3]);
        assert_eq!(
            config(&["--admin-chat-ids", "1,x"]).unwrap_err().variable,
            "ADMIN_CHAT_IDS"
        );
        assert_eq!(
            config(&["--prometheus-url", "ftp://x"])
                .unwrap_err()
                .variable,
            "PROMETHEUS_URL"
        );
        assert_eq!(
            config(&["--database-url", "mysql://x"])
                .unwrap_err()
                .variable,
            "DATABASE_URL"
        );
        assert_eq!(
            config(&["--jwt-secret", "short"]).unwrap_err().variable,
            "JWT_SECRET"
        );
    }
}
