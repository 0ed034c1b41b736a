//! One parser per kind of value. Each takes the variable it reads (for the
//! error) and the operator's text, as `parse!` in `mod.rs` hands them over;
//! none spells a variable name itself, so there is no second copy to drift.
//!
//! Errors quote the operator's text back, except for secrets, which are never
//! quoted.

use std::net::SocketAddr;
use std::time::Duration;

use reqwest::Url;

use super::{ConfigError, ProviderKind, bad};
use crate::secret::Secret;
use crate::sla::JobName;

/// Unset and blank are the same: `FOO=` in an env file means "not set".
pub(super) fn non_empty(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// A bot token is `<bot id>:<secret>`; the value itself never appears in an
/// error. Unset is `None`: only the binary requires a token (`from_args`).
pub(super) fn token(
    variable: &'static str,
    raw: &Option<String>,
) -> Result<Option<Secret>, ConfigError> {
    let Some(token) = non_empty(raw) else {
        return Ok(None);
    };
    let well_formed = token.split_once(':').is_some_and(|(id, secret)| {
        !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) && !secret.is_empty()
    });
    if !well_formed {
        return Err(bad(
            variable,
            "is not a bot token (expected <digits>:<secret> from @BotFather)",
        ));
    }
    Ok(Some(Secret::new(token)))
}

/// Short keys are guessable; the value itself never appears in an error.
pub(super) fn jwt_secret(
    variable: &'static str,
    raw: &Option<String>,
) -> Result<Option<Secret>, ConfigError> {
    match non_empty(raw) {
        Some(secret) if secret.len() < 16 => {
            Err(bad(variable, "too short: use at least 16 characters"))
        }
        secret => Ok(secret.map(Secret::new)),
    }
}

pub(super) fn provider(variable: &'static str, raw: &str) -> Result<ProviderKind, ConfigError> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "open-meteo" | "openmeteo" => Ok(ProviderKind::OpenMeteo),
        "openweathermap" | "owm" => Ok(ProviderKind::OpenWeatherMap),
        other => Err(bad(
            variable,
            format!("unknown provider '{other}' (use open-meteo or openweathermap)"),
        )),
    }
}

/// humantime (`30s`, `5m`, `1h`), longer than zero.
pub fn duration(variable: &'static str, raw: &str) -> Result<Duration, ConfigError> {
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

pub(super) fn grid(variable: &'static str, raw: &str) -> Result<f64, ConfigError> {
    use crate::weather::grid::{MAX_GRID_DEGREES, MIN_GRID_DEGREES};
    match raw.trim().parse::<f64>() {
        Ok(step) if (MIN_GRID_DEGREES..=MAX_GRID_DEGREES).contains(&step) => Ok(step),
        _ => Err(bad(
            variable,
            format!(
                "'{raw}' is not a grid step in degrees between {MIN_GRID_DEGREES} and {MAX_GRID_DEGREES} (e.g. 0.05)"
            ),
        )),
    }
}

/// Unset is `None`: the provider's free plan decides.
pub(super) fn budget(
    variable: &'static str,
    raw: &Option<String>,
) -> Result<Option<f64>, ConfigError> {
    let Some(raw) = raw.as_deref() else {
        return Ok(None);
    };
    match raw.trim().parse::<u64>() {
        Ok(n) if n > 0 => Ok(Some(n as f64)),
        _ => Err(bad(
            variable,
            format!("'{raw}' is not a positive whole number of calls per day"),
        )),
    }
}

/// `50` or `50%`, 1–100.
pub(super) fn probability(variable: &'static str, raw: &str) -> Result<u8, ConfigError> {
    match raw.trim().trim_end_matches('%').trim().parse::<u8>() {
        Ok(p) if (1..=100).contains(&p) => Ok(p),
        _ => Err(bad(
            variable,
            format!("'{raw}' is not a percentage between 1 and 100"),
        )),
    }
}

/// A positive whole number (calls per minute, attempts).
pub(super) fn count(variable: &'static str, raw: &str) -> Result<u32, ConfigError> {
    match raw.trim().parse::<u32>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(bad(
            variable,
            format!("'{raw}' is not a positive whole number"),
        )),
    }
}

pub(super) fn url(variable: &'static str, raw: &str) -> Result<Url, ConfigError> {
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

/// Unset or blank is `None`; otherwise an `https://` URL.
pub(super) fn https_url(
    variable: &'static str,
    raw: &Option<String>,
) -> Result<Option<Url>, ConfigError> {
    let Some(raw) = non_empty(raw) else {
        return Ok(None);
    };
    let url = url(variable, &raw)?;
    if url.scheme() != "https" {
        return Err(bad(variable, format!("'{raw}' must be an https:// URL")));
    }
    Ok(Some(url))
}

/// Telegram's `secret_token`: 1 to 256 of `A-Z a-z 0-9 _ -`. Unset or blank
/// is `None`; the value itself never appears in an error.
pub(super) fn webhook_secret(
    variable: &'static str,
    raw: &Option<String>,
) -> Result<Option<Secret>, ConfigError> {
    let Some(secret) = non_empty(raw) else {
        return Ok(None);
    };
    let allowed = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-';
    if secret.len() > 256 || !secret.bytes().all(allowed) {
        return Err(bad(
            variable,
            "must be 1 to 256 of A-Z a-z 0-9 _ - (Telegram's secret_token)",
        ));
    }
    Ok(Some(Secret::new(secret)))
}

/// Unset or blank is `None`: the documented fallback applies.
pub(super) fn optional_url(
    variable: &'static str,
    raw: &Option<String>,
) -> Result<Option<Url>, ConfigError> {
    non_empty(raw).map(|r| url(variable, &r)).transpose()
}

/// `sqlite:…` or `postgres://…`; the message never shows a password.
pub(super) fn database_url(variable: &'static str, raw: &str) -> Result<String, ConfigError> {
    let raw = raw.trim();
    crate::store::EngineKind::of_url(raw).map_err(|e| bad(variable, format!("{e:#}")))?;
    Ok(raw.to_owned())
}

/// An IP and a port; whether it may be public is checked with the admin token.
pub(super) fn socket_addr(variable: &'static str, raw: &str) -> Result<SocketAddr, ConfigError> {
    raw.trim().parse().map_err(|_| {
        bad(
            variable,
            format!("'{raw}' is not an address like 127.0.0.1:8080"),
        )
    })
}

/// A comma list; unset is nobody.
pub(super) fn chat_ids(
    variable: &'static str,
    raw: &Option<String>,
) -> Result<Vec<i64>, ConfigError> {
    raw.as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<i64>()
                .map_err(|_| bad(variable, format!("'{s}' is not a chat id (a whole number)")))
        })
        .collect()
}

pub(super) fn job(variable: &'static str, raw: &str) -> Result<JobName, ConfigError> {
    JobName::parse(raw).map_err(|e| bad(variable, e.0))
}
