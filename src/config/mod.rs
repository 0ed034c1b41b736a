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
    /// Print the stored SLAs' objectives as Prometheus recording and
    /// alerting rules (YAML, for `rule_files`): error ratios over the
    /// burn-rate windows, the budget left, and the SRE workbook's four
    /// multi-window burn-rate alerts. Reads DATABASE_URL; starts nothing.
    SlaRules,
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
mod tests;
