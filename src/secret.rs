//! Secrets (bot token, API keys, JWT key, admin token) and URL redaction.
//!
//! A `Secret` can only be read on purpose (`expose`), so it never slips into a
//! `Debug`/`Display` of a config or an error. `redact_url` scrubs the places where
//! upstream URLs carry credentials: OpenWeatherMap's `appid` query parameter,
//! the Bot API's `/bot<token>/` path segment and the password of a
//! `scheme://user:password@host` URL (`DATABASE_URL`).

use std::fmt;

#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The only way to the value: call sites are easy to audit.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Query parameters whose values are credentials.
const SECRET_PARAMS: &[&str] = &["appid", "api_key", "apikey", "key", "token", "access_token"];

/// Replaces credentials in a URL-bearing text with `***`: secret query values,
/// a Telegram `/bot<token>` path segment and a URL's password. Works on any
/// text (an error message that embeds a URL), not only on a bare URL.
pub fn redact_url(text: &str) -> String {
    let mut out = redact_bot_path(&redact_password(text));
    for param in SECRET_PARAMS {
        out = redact_param(&out, param);
    }
    out
}

fn redact_bot_path(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find("/bot") {
        let (head, tail) = rest.split_at(pos + 4);
        out.push_str(head);
        let end = tail
            .find(|c: char| c == '/' || c == '?' || c.is_whitespace() || c == '"' || c == ')')
            .unwrap_or(tail.len());
        // Only a token-shaped segment (digits ':' …) is a secret; `/bots`,
        // `//bot:pw@host` (a user named bot) etc. stay.
        let segment = &tail[..end];
        let token_shaped = segment
            .split_once(':')
            .is_some_and(|(id, _)| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()));
        if token_shaped {
            out.push_str("***");
        } else {
            out.push_str(&tail[..end]);
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// `scheme://user:password@host` → `scheme://user:***@host`, wherever such a
/// URL appears in `text`. The user info ends at the authority's last `@` (a
/// password may itself contain `@` or `:` unescaped).
fn redact_password(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find("://") {
        let (head, tail) = rest.split_at(pos + 3);
        out.push_str(head);
        let token_end = tail
            .find(|c: char| c.is_whitespace() || c == '\'' || c == '"' || c == ')')
            .unwrap_or(tail.len());
        let token = &tail[..token_end];
        let authority = &token[..token.find(['/', '?', '#']).unwrap_or(token.len())];
        match (authority.rfind('@'), authority.find(':')) {
            (Some(at), Some(colon)) if colon < at => {
                out.push_str(&token[..colon]);
                out.push_str(":***");
                out.push_str(&token[at..]);
            }
            _ => out.push_str(token),
        }
        rest = &tail[token_end..];
    }
    out.push_str(rest);
    out
}

fn redact_param(text: &str, param: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    loop {
        let found = ["?", "&"].iter().filter_map(|sep| {
            let needle = format!("{sep}{param}=");
            rest.find(&needle).map(|p| (p, needle.len()))
        });
        let Some((pos, len)) = found.min_by_key(|(p, _)| *p) else {
            break;
        };
        let (head, tail) = rest.split_at(pos + len);
        out.push_str(head);
        let end = tail
            .find(|c: char| c == '&' || c == '#' || c.is_whitespace() || c == '"' || c == ')')
            .unwrap_or(tail.len());
        out.push_str("***");
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn debug_and_display_hide_the_value() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "Secret(***)");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn redacts_owm_appid() {
        let url =
            "https://api.openweathermap.org/data/2.5/weather?lat=1&lon=2&appid=abc123&units=metric";
        assert_eq!(
            redact_url(url),
            "https://api.openweathermap.org/data/2.5/weather?lat=1&lon=2&appid=***&units=metric"
        );
        assert_eq!(
            redact_url("http://x/geo?appid=abc"),
            "http://x/geo?appid=***"
        );
    }

    #[test]
    fn redacts_a_urls_password() {
        assert_eq!(
            redact_url("postgres://bot:s3cr:et@db:5432/meteobot?sslmode=require"),
            "postgres://bot:***@db:5432/meteobot?sslmode=require"
        );
        assert_eq!(
            redact_url("cannot open 'postgresql://u:p@ss@h/db': refused"),
            "cannot open 'postgresql://u:***@h/db': refused"
        );
        // No password, or no user info: unchanged.
        for text in [
            "postgres://bot@db/meteobot",
            "postgres://db:5432/meteobot",
            "sqlite:m.db",
            "http://h:8080/p",
            "http://h:8080/p@x",
        ] {
            assert_eq!(redact_url(text), text);
        }
    }

    #[test]
    fn redacts_bot_token_path() {
        let msg = "error sending request for url (https://api.telegram.org/bot123456:ABC-def/sendMessage)";
        assert_eq!(
            redact_url(msg),
            "error sending request for url (https://api.telegram.org/bot***/sendMessage)"
        );
        assert_eq!(redact_url("/robots.txt /bots"), "/robots.txt /bots");
    }

    proptest! {
        #[test]
        fn a_secret_query_value_never_survives(secret in "[A-Za-z0-9]{8,40}", pre in "[a-z]{0,5}") {
            let url = format!("http://h/p?{pre}x=1&appid={secret}&units=metric");
            let red = redact_url(&url);
            prop_assert!(!red.contains(&secret));
        }

        #[test]
        fn a_bot_token_never_survives(id in 1u64..10_000_000_000, tail in "[A-Za-z0-9_-]{30,40}") {
            let token = format!("{id}:{tail}");
            let msg = format!("request to http://127.0.0.1:9/bot{token}/getUpdates failed");
            prop_assert!(!redact_url(&msg).contains(&tail));
        }
    }
}
