//! Account fields: username, password, Telegram chat id.

use super::{ParseError, has_control};

const USERNAME_MAX: usize = 64;
const PASSWORD_MIN: usize = 6;
/// argon2 takes any length, but a megabyte "password" is an attack, not a secret.
const PASSWORD_MAX: usize = 1024;

/// A username as typed, trimmed. Anything printable is allowed (stored through
/// bound parameters, so `'; DROP TABLE users; --` is just a name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(ParseError::new("username is empty"));
        }
        if name.chars().count() > USERNAME_MAX {
            return Err(ParseError::new(format!(
                "username is longer than {USERNAME_MAX} characters"
            )));
        }
        if has_control(name) {
            return Err(ParseError::new("username contains control characters"));
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password in clear, only on its way to the hasher. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

impl Password {
    /// Spaces are kept: they are part of what the user chose.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let len = raw.chars().count();
        if len < PASSWORD_MIN {
            return Err(ParseError::new(format!(
                "password must have at least {PASSWORD_MIN} characters"
            )));
        }
        if raw.len() > PASSWORD_MAX {
            return Err(ParseError::new(format!(
                "password is longer than {PASSWORD_MAX} bytes"
            )));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// A Telegram chat id: users are positive, groups negative, never zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChatId(i64);

impl ChatId {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let id: i64 = raw.trim().parse().map_err(|_| {
            ParseError::new(format!(
                "'{}' is not a Telegram chat id (a whole number)",
                raw.trim()
            ))
        })?;
        Self::new(id)
    }

    pub fn new(id: i64) -> Result<Self, ParseError> {
        if id == 0 {
            return Err(ParseError::new("0 is not a Telegram chat id"));
        }
        Ok(Self(id))
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn usernames() {
        assert_eq!(Username::parse("  mario ").unwrap().as_str(), "mario");
        assert!(Username::parse("   ").is_err());
        assert!(Username::parse("a\nb").is_err());
        assert!(Username::parse(&"x".repeat(65)).is_err());
        let sql = "'; DROP TABLE users; --";
        assert_eq!(Username::parse(sql).unwrap().as_str(), sql);
    }

    #[test]
    fn passwords() {
        assert!(Password::parse("12345").is_err());
        assert_eq!(Password::parse(" secret ").unwrap().expose(), " secret ");
        assert!(!format!("{:?}", Password::parse("hunter22").unwrap()).contains("hunter22"));
        assert!(Password::parse(&"x".repeat(2000)).is_err());
    }

    #[test]
    fn chat_ids() {
        assert_eq!(ChatId::parse(" 42 ").unwrap().get(), 42);
        assert_eq!(ChatId::parse("-1001234").unwrap().get(), -1001234);
        assert!(ChatId::parse("0").is_err());
        assert!(ChatId::parse("abc").is_err());
        assert!(ChatId::parse("1.5").is_err());
    }

    proptest! {
        #[test]
        fn any_nonzero_integer_is_a_chat_id(id in any::<i64>().prop_filter("non-zero", |v| *v != 0)) {
            prop_assert_eq!(ChatId::parse(&id.to_string()).unwrap().get(), id);
        }

        #[test]
        fn username_parse_never_panics_and_trims(s in "\\PC{0,80}") {
            if let Ok(u) = Username::parse(&s) {
                prop_assert_eq!(u.as_str(), s.trim());
            }
        }
    }
}
