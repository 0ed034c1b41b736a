//! Configuration: every variable of DESIGN.md, read from the environment or the
//! same-named CLI flag (`POLL_INTERVAL` ⇔ `--poll-interval`).
//!
//! clap only collects strings; [`Config::from_args`] parses them so a bad value
//! becomes one line naming the *variable* (what an operator set), and `main`
//! exits with code 2.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use reqwest::Url;

use crate::secret::Secret;
use crate::sla::JobName;

pub const DEFAULT_DATABASE_URL: &str = "sqlite:meteobot.db";
pub const DEFAULT_OWM_API_URL: &str = "https://api.openweathermap.org";
pub const DEFAULT_OPEN_METEO_API_URL: &str = "https://api.open-meteo.com";
pub const DEFAULT_OPEN_METEO_GEOCODING_URL: &str = "https://geocoding-api.open-meteo.com";
pub const DEFAULT_ADMIN_ADDR: &str = "127.0.0.1:8080";

/// Raw command line / environment, exactly as the operator wrote it.
#[derive(Debug, Parser)]
#[command(
    name = "meteobot",
    version,
    about = "Telegram weather alerts, REST admin port and SLA manager"
)]
pub struct Args {
    /// Bot token from @BotFather (never logged).
    #[arg(long, env = "TELOXIDE_TOKEN", hide_env_values = true)]
    pub teloxide_token: Option<String>,
    /// Bot API base URL (default: Telegram's).
    #[arg(long, env = "TELOXIDE_API_URL")]
    pub teloxide_api_url: Option<String>,
    /// SQLite database, created and migrated on start.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,
    /// Weather provider: `open-meteo` (no key) or `openweathermap`.
    #[arg(long, env = "WEATHER_PROVIDER", default_value = "open-meteo")]
    pub weather_provider: String,
    /// OpenWeatherMap API key, required with `openweathermap` (never logged).
    #[arg(long, env = "OWM_API_KEY", hide_env_values = true)]
    pub owm_api_key: Option<String>,
    /// OpenWeatherMap base URL.
    #[arg(long, env = "OWM_API_URL", default_value = DEFAULT_OWM_API_URL)]
    pub owm_api_url: String,
    /// OpenWeatherMap request budget per minute (the free plan allows 60).
    #[arg(long, env = "OWM_CALLS_PER_MINUTE", default_value = "60")]
    pub owm_calls_per_minute: String,
    /// Open-Meteo forecast base URL.
    #[arg(long, env = "OPEN_METEO_API_URL", default_value = DEFAULT_OPEN_METEO_API_URL)]
    pub open_meteo_api_url: String,
    /// Open-Meteo geocoding base URL.
    #[arg(long, env = "OPEN_METEO_GEOCODING_URL", default_value = DEFAULT_OPEN_METEO_GEOCODING_URL)]
    pub open_meteo_geocoding_url: String,
    /// Timeout of one weather API request (humantime: `10s`).
    #[arg(long, env = "WEATHER_TIMEOUT", default_value = "10s")]
    pub weather_timeout: String,
    /// How often live weather is checked (humantime: `1s`, `5m`).
    #[arg(long, env = "POLL_INTERVAL", default_value = "10m")]
    pub poll_interval: String,
    /// How often each place's forecast series is refreshed (stretched when
    /// the daily budget cannot afford it).
    #[arg(long, env = "WEATHER_REFRESH", default_value = "1h")]
    pub weather_refresh: String,
    /// Grid step in degrees: points in one cell share a forecast.
    #[arg(long, env = "WEATHER_GRID", default_value = "0.05")]
    pub weather_grid: String,
    /// Weighted weather calls a UTC day may spend (default: the provider's
    /// free plan, 10000 for Open-Meteo, 32000 for OpenWeatherMap).
    #[arg(long, env = "WEATHER_DAILY_BUDGET")]
    pub weather_daily_budget: Option<String>,
    /// Older than this, a forecast series decides no alert and no all-clear.
    #[arg(long, env = "WEATHER_MAX_AGE", default_value = "3h")]
    pub weather_max_age: String,
    /// Precipitation probability (%) from which forecast rain or snow earns a heads-up.
    #[arg(long, env = "HEADS_UP_PROBABILITY", default_value = "50")]
    pub heads_up_probability: String,
    /// Re-alert while a violation persists.
    #[arg(long, env = "REMIND_INTERVAL", default_value = "6h")]
    pub remind_interval: String,
    /// REST + /metrics listen address; port 0 picks a free port.
    #[arg(long, env = "ADMIN_ADDR", default_value = DEFAULT_ADMIN_ADDR)]
    pub admin_addr: String,
    /// Bearer token for SLA endpoints; required to bind a non-loopback address.
    #[arg(long, env = "ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Comma list of chat ids allowed to use /sla.
    #[arg(long, env = "ADMIN_CHAT_IDS")]
    pub admin_chat_ids: Option<String>,
    /// HS256 key for REST tokens (default: generated once, kept in the database).
    #[arg(long, env = "JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// Lifetime of a REST token.
    #[arg(long, env = "TOKEN_TTL", default_value = "24h")]
    pub token_ttl: String,
    /// Prometheus server for SLA metrics (default: the process's own registry).
    #[arg(long, env = "PROMETHEUS_URL")]
    pub prometheus_url: Option<String>,
    /// How often SLAs are evaluated.
    #[arg(long, env = "SLA_EVAL_INTERVAL", default_value = "60s")]
    pub sla_eval_interval: String,
    /// SLA samples and violations older than this are deleted.
    #[arg(long, env = "SLA_RETENTION", default_value = "7d")]
    pub sla_retention: String,
    /// A message whose send keeps failing (network, 5xx) is given up after
    /// this many attempts (status `failed`, with the last error).
    #[arg(long, env = "NOTIFY_MAX_ATTEMPTS", default_value = "10")]
    pub notify_max_attempts: String,
    /// A message whose send fails when it is this old is given up.
    #[arg(long, env = "NOTIFY_MAX_AGE", default_value = "24h")]
    pub notify_max_age: String,
    /// Sent messages are deleted from the outbox after this long.
    #[arg(long, env = "OUTBOX_RETENTION", default_value = "7d")]
    pub outbox_retention: String,
    /// The `job` every in-process metric carries when SLAs read the registry.
    #[arg(long, env = "METRICS_JOB", default_value = "meteobot")]
    pub metrics_job: String,
    /// tracing filter (`info`, `meteobot=debug`).
    #[arg(long, env = "RUST_LOG", default_value = "info")]
    pub rust_log: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderKind {
    OpenMeteo,
    OpenWeatherMap,
}

/// Validated configuration. Tests build it with [`Config::local`] and adjust fields.
#[derive(Debug, Clone)]
pub struct Config {
    pub telegram_token: Option<Secret>,
    pub telegram_api_url: Option<Url>,
    pub database_url: String,
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
    /// Failed sends (network, 5xx) before a message is given up; ≥ 1.
    pub notify_max_attempts: u32,
    /// Age at which a failing message is given up.
    pub notify_max_age: Duration,
    /// How long sent messages stay in the outbox.
    pub outbox_retention: Duration,
    pub metrics_job: JobName,
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
    pub fn from_args(args: Args) -> Result<Self, ConfigError> {
        let provider = parse_provider(&args.weather_provider)?;
        let owm_api_key = non_empty(args.owm_api_key).map(Secret::new);
        if provider == ProviderKind::OpenWeatherMap && owm_api_key.is_none() {
            return Err(bad(
                "OWM_API_KEY",
                "required when WEATHER_PROVIDER is openweathermap (get a key at openweathermap.org)",
            ));
        }
        let admin_addr: SocketAddr = args.admin_addr.trim().parse().map_err(|_| {
            bad(
                "ADMIN_ADDR",
                format!(
                    "'{}' is not an address like 127.0.0.1:8080",
                    args.admin_addr
                ),
            )
        })?;
        let admin_token = non_empty(args.admin_token).map(Secret::new);
        if !admin_addr.ip().is_loopback() && admin_token.is_none() {
            return Err(bad(
                "ADMIN_ADDR",
                format!("{admin_addr} is reachable from other machines: set ADMIN_TOKEN too"),
            ));
        }
        let jwt_secret = non_empty(args.jwt_secret).map(Secret::new);
        if let Some(secret) = &jwt_secret
            && secret.expose().len() < 16
        {
            return Err(bad("JWT_SECRET", "too short: use at least 16 characters"));
        }
        let telegram_token = parse_token(args.teloxide_token)?;
        Ok(Self {
            telegram_token: Some(telegram_token),
            telegram_api_url: optional_url("TELOXIDE_API_URL", args.teloxide_api_url)?,
            database_url: parse_database_url(&args.database_url)?,
            provider,
            owm_api_key,
            owm_api_url: parse_url("OWM_API_URL", &args.owm_api_url)?,
            owm_calls_per_minute: parse_rate("OWM_CALLS_PER_MINUTE", &args.owm_calls_per_minute)?,
            open_meteo_api_url: parse_url("OPEN_METEO_API_URL", &args.open_meteo_api_url)?,
            open_meteo_geocoding_url: parse_url(
                "OPEN_METEO_GEOCODING_URL",
                &args.open_meteo_geocoding_url,
            )?,
            weather_timeout: parse_duration("WEATHER_TIMEOUT", &args.weather_timeout)?,
            poll_interval: parse_duration("POLL_INTERVAL", &args.poll_interval)?,
            weather_refresh: parse_duration("WEATHER_REFRESH", &args.weather_refresh)?,
            weather_grid: parse_grid(&args.weather_grid)?,
            weather_daily_budget: args
                .weather_daily_budget
                .as_deref()
                .map(parse_budget)
                .transpose()?,
            weather_max_age: parse_duration("WEATHER_MAX_AGE", &args.weather_max_age)?,
            heads_up_probability: parse_probability(&args.heads_up_probability)?,
            remind_interval: parse_duration("REMIND_INTERVAL", &args.remind_interval)?,
            admin_addr,
            admin_token,
            admin_chat_ids: parse_chat_ids(args.admin_chat_ids.as_deref().unwrap_or(""))?,
            jwt_secret,
            token_ttl: parse_duration("TOKEN_TTL", &args.token_ttl)?,
            prometheus_url: optional_url("PROMETHEUS_URL", args.prometheus_url)?,
            sla_eval_interval: parse_duration("SLA_EVAL_INTERVAL", &args.sla_eval_interval)?,
            sla_retention: parse_duration("SLA_RETENTION", &args.sla_retention)?,
            notify_max_attempts: parse_rate("NOTIFY_MAX_ATTEMPTS", &args.notify_max_attempts)?,
            notify_max_age: parse_duration("NOTIFY_MAX_AGE", &args.notify_max_age)?,
            outbox_retention: parse_duration("OUTBOX_RETENTION", &args.outbox_retention)?,
            metrics_job: JobName::parse(&args.metrics_job).map_err(|e| bad("METRICS_JOB", e.0))?,
            rust_log: args.rust_log,
        })
    }

    /// The documented defaults with the admin port on loopback port 0: what
    /// tests start from.
    pub fn local(database_url: impl Into<String>) -> Self {
        let url = |s: &str| Url::parse(s).expect("default URLs are valid");
        Self {
            telegram_token: None,
            telegram_api_url: None,
            database_url: database_url.into(),
            provider: ProviderKind::OpenMeteo,
            owm_api_key: None,
            owm_api_url: url(DEFAULT_OWM_API_URL),
            owm_calls_per_minute: 60,
            open_meteo_api_url: url(DEFAULT_OPEN_METEO_API_URL),
            open_meteo_geocoding_url: url(DEFAULT_OPEN_METEO_GEOCODING_URL),
            weather_timeout: Duration::from_secs(10),
            poll_interval: Duration::from_secs(600),
            weather_refresh: Duration::from_secs(3600),
            weather_grid: crate::weather::grid::DEFAULT_GRID_DEGREES,
            weather_daily_budget: None,
            weather_max_age: Duration::from_secs(3 * 3600),
            heads_up_probability: 50,
            remind_interval: Duration::from_secs(6 * 3600),
            admin_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            admin_token: None,
            admin_chat_ids: Vec::new(),
            jwt_secret: None,
            token_ttl: Duration::from_secs(24 * 3600),
            prometheus_url: None,
            sla_eval_interval: Duration::from_secs(60),
            sla_retention: Duration::from_secs(7 * 24 * 3600),
            notify_max_attempts: crate::notifier::DEFAULT_MAX_ATTEMPTS,
            notify_max_age: crate::notifier::DEFAULT_MAX_AGE,
            outbox_retention: crate::notifier::DEFAULT_OUTBOX_RETENTION,
            metrics_job: JobName::parse("meteobot").expect("a valid job name"),
            rust_log: "info".into(),
        }
    }
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// A bot token is `<bot id>:<secret>`; the value itself never appears in an error.
fn parse_token(raw: Option<String>) -> Result<Secret, ConfigError> {
    let Some(token) = non_empty(raw) else {
        return Err(bad(
            "TELOXIDE_TOKEN",
            "required: create a bot with @BotFather on Telegram (/newbot) and set the token it gives you",
        ));
    };
    let well_formed = token.split_once(':').is_some_and(|(id, secret)| {
        !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) && !secret.is_empty()
    });
    if !well_formed {
        return Err(bad(
            "TELOXIDE_TOKEN",
            "is not a bot token (expected <digits>:<secret> from @BotFather)",
        ));
    }
    Ok(Secret::new(token))
}

fn parse_provider(raw: &str) -> Result<ProviderKind, ConfigError> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "open-meteo" | "openmeteo" => Ok(ProviderKind::OpenMeteo),
        "openweathermap" | "owm" => Ok(ProviderKind::OpenWeatherMap),
        other => Err(bad(
            "WEATHER_PROVIDER",
            format!("unknown provider '{other}' (use open-meteo or openweathermap)"),
        )),
    }
}

pub fn parse_duration(variable: &'static str, raw: &str) -> Result<Duration, ConfigError> {
    let value = humantime::parse_duration(raw.trim()).map_err(|_| {
        bad(
            variable,
            format!("'{raw}' is not a duration (write e.g. 30s, 5m, 1h)"),
        )
    })?;
    if value.is_zero() {
        return Err(bad(variable, "must be longer than zero"));
    }
    Ok(value)
}

fn parse_grid(raw: &str) -> Result<f64, ConfigError> {
    use crate::weather::grid::{MAX_GRID_DEGREES, MIN_GRID_DEGREES};
    match raw.trim().parse::<f64>() {
        Ok(step) if (MIN_GRID_DEGREES..=MAX_GRID_DEGREES).contains(&step) => Ok(step),
        _ => Err(bad(
            "WEATHER_GRID",
            format!(
                "'{raw}' is not a grid step in degrees between {MIN_GRID_DEGREES} and {MAX_GRID_DEGREES} (e.g. 0.05)"
            ),
        )),
    }
}

fn parse_budget(raw: &str) -> Result<f64, ConfigError> {
    match raw.trim().parse::<u64>() {
        Ok(n) if n > 0 => Ok(n as f64),
        _ => Err(bad(
            "WEATHER_DAILY_BUDGET",
            format!("'{raw}' is not a positive whole number of calls per day"),
        )),
    }
}

fn parse_probability(raw: &str) -> Result<u8, ConfigError> {
    match raw.trim().trim_end_matches('%').trim().parse::<u8>() {
        Ok(p) if (1..=100).contains(&p) => Ok(p),
        _ => Err(bad(
            "HEADS_UP_PROBABILITY",
            format!("'{raw}' is not a percentage between 1 and 100"),
        )),
    }
}

fn parse_rate(variable: &'static str, raw: &str) -> Result<u32, ConfigError> {
    match raw.trim().parse::<u32>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(bad(
            variable,
            format!("'{raw}' is not a positive whole number"),
        )),
    }
}

fn parse_url(variable: &'static str, raw: &str) -> Result<Url, ConfigError> {
    let url =
        Url::parse(raw.trim()).map_err(|e| bad(variable, format!("'{raw}' is not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad(
            variable,
            format!("'{raw}' must be an http:// or https:// URL"),
        ));
    }
    Ok(url)
}

fn optional_url(variable: &'static str, raw: Option<String>) -> Result<Option<Url>, ConfigError> {
    non_empty(raw).map(|r| parse_url(variable, &r)).transpose()
}

fn parse_database_url(raw: &str) -> Result<String, ConfigError> {
    let raw = raw.trim();
    if raw.starts_with("sqlite:") {
        Ok(raw.to_owned())
    } else {
        Err(bad(
            "DATABASE_URL",
            format!("'{raw}' is not a sqlite: URL (e.g. sqlite:meteobot.db)"),
        ))
    }
}

fn parse_chat_ids(raw: &str) -> Result<Vec<i64>, ConfigError> {
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<i64>().map_err(|_| {
                bad(
                    "ADMIN_CHAT_IDS",
                    format!("'{s}' is not a chat id (a whole number)"),
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses flags only (a flag wins over the environment); the base flags
    /// are added unless the case sets them itself.
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
        Config::from_args(Args::try_parse_from(argv).expect("flags parse"))
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
