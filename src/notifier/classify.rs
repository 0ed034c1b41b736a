//! What a failed `sendMessage` means for the row and the chat. Telegram's
//! answers fall in four families, each with its own remedy (DESIGN.md,
//! "Failure rules"): wait and resend (429), stop the chat (403 and friends),
//! retry with backoff (network, 5xx), or give up on this one message.

use std::error::Error as _;
use std::time::Duration;

use teloxide::{ApiError, RequestError};

use crate::secret::redact_url;

/// Longest error text kept in `last_error` and logs: Telegram's raw answer
/// can be a whole HTML error page.
const MAX_ERROR_CHARS: usize = 300;

/// A failed send, by remedy.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Failure {
    /// 429: Telegram's flood wait, bot-wide. The message itself is fine.
    FloodWait(Duration),
    /// The chat cannot receive messages any more (blocked, deactivated, …).
    ChatUnreachable(String),
    /// May work later: network, I/O, Telegram's 5xx or an unreadable answer.
    Transient(String),
    /// Telegram refused this message for good (too long, malformed, …).
    Refused(String),
    /// The group became a supergroup with this id: move the chat, resend.
    Migrated(i64),
    /// 401 Unauthorized (or "Not Found" for the whole bot URL): the bot
    /// token is wrong or revoked. Every send would fail alike.
    TokenRejected,
}

pub(crate) fn classify(err: &RequestError) -> Failure {
    match err {
        RequestError::RetryAfter(wait) => Failure::FloodWait(wait.duration()),
        RequestError::MigrateToChatId(to) => Failure::Migrated(to.0),
        RequestError::Network(_) | RequestError::Io(_) | RequestError::InvalidJson { .. } => {
            Failure::Transient(describe(err))
        }
        RequestError::Api(api) => classify_api(api, describe(err)),
    }
}

fn classify_api(api: &ApiError, text: String) -> Failure {
    match api {
        ApiError::BotBlocked
        | ApiError::ChatNotFound
        | ApiError::UserNotFound
        | ApiError::UserDeactivated
        | ApiError::CantInitiateConversation
        | ApiError::CantTalkWithBots
        | ApiError::BotKicked
        | ApiError::BotKickedFromSupergroup
        | ApiError::BotKickedFromChannel
        | ApiError::GroupDeactivated
        | ApiError::NotEnoughRightsToPostMessages => Failure::ChatUnreachable(text),
        // The token is wrong or revoked: nothing is wrong with the message,
        // and every chat fails alike: keep the rows, stop sending.
        ApiError::InvalidToken => Failure::TokenRejected,
        ApiError::Unknown(description) => classify_unknown(description, text),
        _ => Failure::Refused(text),
    }
}

/// Descriptions teloxide has no variant for. Telegram prefixes them with the
/// HTTP reason: "Forbidden: …" (403) is about the chat, "Bad Request: …" (400)
/// about the message; anything else ("Internal Server Error", "Bad Gateway",
/// "Too Many Requests" without `retry_after`) is Telegram's side.
fn classify_unknown(description: &str, text: String) -> Failure {
    if description.starts_with("Forbidden") {
        Failure::ChatUnreachable(text)
    } else if description.starts_with("Bad Request") {
        Failure::Refused(text)
    } else {
        Failure::Transient(text)
    }
}

/// The error and its causes on one line, with the bot token scrubbed: a
/// network error's text carries the request URL, `/bot<token>/sendMessage`.
pub(crate) fn describe(err: &RequestError) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        // reqwest repeats its cause in its own text; say each thing once.
        let line = cause.to_string();
        if !text.contains(&line) {
            text.push_str(": ");
            text.push_str(&line);
        }
        source = cause.source();
    }
    truncate(redact_url(&text))
}

fn truncate(mut text: String) -> String {
    if let Some((cut, _)) = text.char_indices().nth(MAX_ERROR_CHARS) {
        text.truncate(cut);
        text.push('…');
    }
    text
}

/// Exponential backoff after `attempts` earlier failed attempts: `base`,
/// doubling, capped at `max`, plus up to 20 % jitter so rows that failed
/// together (a Telegram outage) do not all come back in the same instant.
pub(crate) fn backoff(attempts: i64, base: Duration, max: Duration) -> Duration {
    let exponent = u32::try_from(attempts.clamp(0, 20)).unwrap_or(20);
    let plain = base.saturating_mul(1u32 << exponent).min(max);
    plain.mul_f64(1.0 + rand::random_range(0.0..0.2))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use teloxide::types::Seconds;

    use super::*;

    fn api(err: ApiError) -> Failure {
        classify(&RequestError::Api(err))
    }

    #[test]
    fn flood_wait_carries_retry_after() {
        let err = RequestError::RetryAfter(Seconds::from_seconds(7));
        assert_eq!(classify(&err), Failure::FloodWait(Duration::from_secs(7)));
    }

    #[test]
    fn unreachable_chats() {
        for err in [
            ApiError::BotBlocked,
            ApiError::ChatNotFound,
            ApiError::UserDeactivated,
            ApiError::CantInitiateConversation,
            ApiError::BotKicked,
            ApiError::BotKickedFromSupergroup,
            ApiError::Unknown("Forbidden: bot is not a member of the channel chat".into()),
        ] {
            assert!(
                matches!(api(err.clone()), Failure::ChatUnreachable(_)),
                "{err:?}"
            );
        }
        assert_eq!(
            api(ApiError::BotBlocked),
            Failure::ChatUnreachable(
                "A Telegram's error: Forbidden: bot was blocked by the user".into()
            )
        );
    }

    #[test]
    fn refused_messages() {
        for err in [
            ApiError::MessageIsTooLong,
            ApiError::MessageTextIsEmpty,
            ApiError::Unknown("Bad Request: can't parse entities".into()),
        ] {
            assert!(matches!(api(err.clone()), Failure::Refused(_)), "{err:?}");
        }
    }

    #[test]
    fn transient_failures() {
        assert!(matches!(
            api(ApiError::Unknown("Internal Server Error".into())),
            Failure::Transient(_)
        ));
        let io = RequestError::Io(Arc::new(std::io::Error::other("reset")));
        assert!(matches!(classify(&io), Failure::Transient(_)));
        let json = serde_json::from_str::<u8>("<html>").unwrap_err();
        let invalid = RequestError::InvalidJson {
            source: Arc::new(json),
            raw: "<html>502 Bad Gateway</html>".into(),
        };
        assert!(matches!(classify(&invalid), Failure::Transient(_)));
    }

    #[test]
    fn an_invalid_token_and_a_migrated_group_have_their_own_remedies() {
        assert_eq!(api(ApiError::InvalidToken), Failure::TokenRejected);
        let migrated = RequestError::MigrateToChatId(teloxide::types::ChatId(-1_001_234));
        assert_eq!(classify(&migrated), Failure::Migrated(-1_001_234));
    }

    #[test]
    fn descriptions_are_redacted_and_bounded() {
        let raw = format!("/bot123:SECRET/sendMessage {}", "x".repeat(1000));
        let err = RequestError::Io(Arc::new(std::io::Error::other(raw)));
        let text = describe(&err);
        assert!(!text.contains("SECRET"), "{text}");
        assert!(text.chars().count() <= MAX_ERROR_CHARS + 1);
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_with_a_little_jitter() {
        let base = Duration::from_secs(1);
        let max = Duration::from_secs(300);
        for (attempts, plain) in [(0, 1), (1, 2), (3, 8), (8, 256), (9, 300), (1000, 300)] {
            let got = backoff(attempts, base, max);
            let plain = Duration::from_secs(plain);
            assert!(
                got >= plain && got <= plain.mul_f64(1.2),
                "{attempts}: {got:?}"
            );
        }
        assert!(backoff(-3, base, max) >= base);
    }
}
