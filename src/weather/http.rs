//! HTTP plumbing shared by the providers: the client, URL joining, and the
//! mapping of transport failures, HTTP statuses and bodies onto `WeatherError`.
//!
//! Request URLs may carry an API key (OpenWeatherMap's `appid`), so no text
//! built here ever includes one.

use std::error::Error as _;
use std::fmt::Display;
use std::time::Duration;

use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{Client, StatusCode, Url};
use serde::de::DeserializeOwned;

use super::{QuotaWindow, WeatherError};
use crate::secret::redact_url;

/// Past this a host is not coming; the rest of the budget is for slow answers.
const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const USER_AGENT: &str = concat!("meteobot/", env!("CARGO_PKG_VERSION"));
/// Upstream texts in errors are clipped: enough to diagnose, never a body dump.
const MAX_MESSAGE_CHARS: usize = 200;

/// The client both providers share: `timeout` bounds each whole request,
/// connecting included.
pub fn http_client(timeout: Duration) -> Client {
    Client::builder()
        .connect_timeout(timeout.min(MAX_CONNECT_TIMEOUT))
        .timeout(timeout)
        .user_agent(USER_AGENT)
        .build()
        // Fails only when the TLS backend cannot start: a broken build, not bad input.
        .expect("the HTTP client (rustls) could not be initialised")
}

/// `base` joined with `path`, whether or not `base` has a path prefix or a
/// trailing slash (`Url::join` would drop a prefix without one).
pub(crate) fn endpoint(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    let prefix = url.path().trim_end_matches('/').to_owned();
    url.set_path(&format!("{prefix}/{}", path.trim_start_matches('/')));
    url
}

/// GETs `url` and returns the body of a 2xx answer; any other status becomes
/// its `WeatherError`, with the human message read from `message_field`.
pub(crate) async fn get_body(
    client: &Client,
    url: Url,
    message_field: &str,
) -> Result<String, WeatherError> {
    let response = client.get(url).send().await.map_err(transport_error)?;
    let status = response.status();
    let retry_after = retry_after(response.headers());
    let body = response.text().await.map_err(transport_error)?;
    if status.is_success() {
        Ok(body)
    } else {
        Err(status_error(
            status.as_u16(),
            retry_after,
            &body,
            message_field,
        ))
    }
}

/// A failure to talk HTTP at all. The URL is stripped first and the text
/// redacted again, as a cause deep in the chain could still quote it.
pub(crate) fn transport_error(err: reqwest::Error) -> WeatherError {
    if err.is_timeout() {
        return WeatherError::Timeout;
    }
    let text = error_chain(&err.without_url());
    WeatherError::Network(clip(&redact_url(&text)))
}

/// An error status from upstream (also used for OpenWeatherMap's error `cod`
/// inside a 200 answer).
pub(crate) fn status_error(
    status: u16,
    retry_after: Option<Duration>,
    body: &str,
    message_field: &str,
) -> WeatherError {
    match status {
        404 => WeatherError::NotFound,
        401 | 403 => WeatherError::Unauthorized,
        429 => WeatherError::RateLimited {
            retry_after,
            window: body_message(body, message_field).and_then(|m| quota_window(&m)),
        },
        _ => WeatherError::UpstreamStatus {
            status,
            message: body_message(body, message_field).unwrap_or_else(|| status_text(status)),
        },
    }
}

/// Which quota a rate-limit message names. Open-Meteo says "Minutely API
/// request limit exceeded…", "Hourly …" or "Daily …".
fn quota_window(message: &str) -> Option<QuotaWindow> {
    let message = message.to_ascii_lowercase();
    if message.contains("minutely") || message.contains("per minute") {
        Some(QuotaWindow::Minute)
    } else if message.contains("hourly") || message.contains("per hour") {
        Some(QuotaWindow::Hour)
    } else if message.contains("daily") || message.contains("per day") {
        Some(QuotaWindow::Day)
    } else {
        None
    }
}

/// Parses a JSON body; a mismatch is `Malformed` with serde's short explanation.
pub(crate) fn parse_json<T: DeserializeOwned>(body: &str) -> Result<T, WeatherError> {
    serde_json::from_str(body).map_err(|err| malformed(&err))
}

pub(crate) fn malformed(reason: &impl Display) -> WeatherError {
    WeatherError::Malformed(clip(&reason.to_string()))
}

/// `Retry-After` in its delta-seconds form; an HTTP-date is rare enough from
/// these APIs that the caller's own backoff is good enough then.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse().ok().map(Duration::from_secs)
}

/// The provider's own explanation (`reason` for Open-Meteo, `message` for
/// OpenWeatherMap), if the body is JSON and has one.
fn body_message(body: &str, field: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(body).ok()?;
    let text = value.get(field)?.as_str()?.trim();
    (!text.is_empty()).then(|| clip(&redact_url(text)))
}

fn status_text(status: u16) -> String {
    StatusCode::from_u16(status)
        .ok()
        .and_then(|code| code.canonical_reason())
        .unwrap_or("unexpected status")
        .to_owned()
}

/// reqwest's top-level message ("error sending request") says little; the
/// causes say why (connection refused, DNS). hyper repeats itself, so a cause
/// already quoted is skipped.
fn error_chain(err: &reqwest::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

fn clip(text: &str) -> String {
    match text.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[test]
    fn endpoint_keeps_a_path_prefix_with_or_without_trailing_slash() {
        for base in ["http://h:1", "http://h:1/"] {
            assert_eq!(
                endpoint(&url(base), "v1/search").as_str(),
                "http://h:1/v1/search"
            );
        }
        for base in ["http://h/proxy/om", "http://h/proxy/om/"] {
            assert_eq!(
                endpoint(&url(base), "/v1/forecast").as_str(),
                "http://h/proxy/om/v1/forecast"
            );
        }
    }

    #[test]
    fn statuses_map_to_their_variants() {
        assert_eq!(
            status_error(404, None, "", "reason"),
            WeatherError::NotFound
        );
        assert_eq!(
            status_error(401, None, "", "message"),
            WeatherError::Unauthorized
        );
        assert_eq!(
            status_error(403, None, "", "message"),
            WeatherError::Unauthorized
        );
        let wait = Some(Duration::from_secs(30));
        assert_eq!(
            status_error(429, wait, "", "message"),
            WeatherError::RateLimited {
                retry_after: wait,
                window: None
            }
        );
        let daily = r#"{"error":true,"reason":"Daily API request limit exceeded. Please try again tomorrow."}"#;
        let hourly = r#"{"error":true,"reason":"Hourly API request limit exceeded. Please try again in the next hour."}"#;
        let minutely = r#"{"error":true,"reason":"Minutely API request limit exceeded. Please try again in one minute."}"#;
        for (body, window) in [
            (daily, QuotaWindow::Day),
            (hourly, QuotaWindow::Hour),
            (minutely, QuotaWindow::Minute),
        ] {
            assert_eq!(
                status_error(429, None, body, "reason"),
                WeatherError::RateLimited {
                    retry_after: None,
                    window: Some(window)
                }
            );
        }
    }

    #[test]
    fn other_statuses_carry_the_provider_message_or_the_status_text() {
        let body = r#"{"error":true,"reason":"Latitude must be in range of -90 to 90°."}"#;
        assert_eq!(
            status_error(400, None, body, "reason"),
            WeatherError::UpstreamStatus {
                status: 400,
                message: "Latitude must be in range of -90 to 90°.".into()
            }
        );
        let expected = WeatherError::UpstreamStatus {
            status: 502,
            message: "Bad Gateway".into(),
        };
        assert_eq!(
            status_error(502, None, "<html>oops</html>", "reason"),
            expected
        );
        assert_eq!(
            status_error(502, None, r#"{"reason":7}"#, "reason"),
            expected
        );
    }

    #[test]
    fn long_messages_are_clipped() {
        let body = serde_json::json!({ "message": "é".repeat(500) }).to_string();
        let WeatherError::UpstreamStatus { message, .. } =
            status_error(500, None, &body, "message")
        else {
            panic!("expected UpstreamStatus");
        };
        assert_eq!(message.chars().count(), MAX_MESSAGE_CHARS + 1);
        assert!(message.ends_with('…'));
    }

    #[test]
    fn retry_after_reads_seconds_only() {
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert(RETRY_AFTER, " 120".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(120)));
        headers.insert(
            RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn garbage_is_malformed() {
        let err = parse_json::<serde_json::Value>("not json").unwrap_err();
        assert!(matches!(err, WeatherError::Malformed(_)));
    }

    #[tokio::test]
    async fn a_network_error_never_shows_the_url() {
        // Port 9 (discard) on loopback: nothing listens, the connection is refused.
        let client = http_client(Duration::from_secs(2));
        let err = get_body(
            &client,
            url("http://127.0.0.1:9/x?appid=SUPERSECRET"),
            "message",
        )
        .await
        .unwrap_err();
        let WeatherError::Network(message) = &err else {
            panic!("expected Network, got {err:?}");
        };
        assert!(!message.contains("SUPERSECRET") && !message.contains("127.0.0.1:9/x"));
        assert!(!message.is_empty());
    }
}
