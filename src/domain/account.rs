//! Account fields: username, password, Telegram chat id.

use unicode_normalization::UnicodeNormalization;

use super::{ParseError, has_control};

const USERNAME_MAX: usize = 64;
const PASSWORD_MIN: usize = 6;
/// argon2 takes any length, but a megabyte "password" is an attack, not a secret.
const PASSWORD_MAX: usize = 1024;

/// A username: trimmed, in Unicode NFKC (so `ｍａｒｉｏ` is `mario`), with no
/// control or invisible characters (zero-width spaces and joiners, bidi
/// overrides, BOM, soft hyphen…), which would let two names look the same.
/// Unique case-insensitively through [`Username::key`]. Anything else
/// printable is allowed (stored through bound parameters, so
/// `'; DROP TABLE users; --` is just a name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username {
    name: String,
    key: String,
}

impl Username {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        if let Some(c) = raw
            .trim()
            .chars()
            .find(|c| c.is_control() || is_invisible(*c))
        {
            return Err(ParseError::new(format!(
                "username contains an invisible or control character (U+{:04X}); \
                 use visible characters only",
                u32::from(c)
            )));
        }
        let name: String = raw.trim().nfkc().collect();
        let name = name.trim();
        if name.is_empty() {
            return Err(ParseError::new("username is empty"));
        }
        if name.chars().count() > USERNAME_MAX {
            return Err(ParseError::new(format!(
                "username is longer than {USERNAME_MAX} characters"
            )));
        }
        // NFKC can produce what the raw text did not show (rare, but cheap to check).
        if has_control(name) || name.chars().any(is_invisible) {
            return Err(ParseError::new(
                "username contains an invisible or control character; use visible characters only",
            ));
        }
        Ok(Self {
            name: name.to_owned(),
            key: username_key(name),
        })
    }

    /// The name as shown (NFKC).
    pub fn as_str(&self) -> &str {
        &self.name
    }

    /// What makes two names the same: NFKC, lower case.
    pub fn key(&self) -> &str {
        &self.key
    }
}

/// The uniqueness key of what someone typed as a username (trimmed, NFKC,
/// lower case): lookups compare with it, never with the raw text.
pub fn username_key(raw: &str) -> String {
    let nfkc: String = raw.trim().nfkc().collect();
    nfkc.to_lowercase().nfkc().collect()
}

/// Characters that show nothing (or reorder what is shown) and so have no
/// place in a name: Unicode format characters (Cf) and the other invisible
/// fillers and selectors.
fn is_invisible(c: char) -> bool {
    matches!(
        u32::from(c),
        0x00AD // soft hyphen
            | 0x034F // combining grapheme joiner
            | 0x061C // Arabic letter mark
            | 0x0600..=0x0605
            | 0x06DD
            | 0x070F
            | 0x0890..=0x0891
            | 0x08E2
            | 0x115F..=0x1160 // Hangul fillers
            | 0x17B4..=0x17B5
            | 0x180B..=0x180F // Mongolian selectors and vowel separator
            | 0x200B..=0x200F // zero-width space, ZWNJ, ZWJ, LRM, RLM
            | 0x2028..=0x202E // line/paragraph separators, bidi embeddings and overrides
            | 0x2060..=0x206F // word joiner, invisible operators, bidi isolates
            | 0x2800 // braille blank
            | 0x3164 // Hangul filler
            | 0xFE00..=0xFE0F // variation selectors
            | 0xFEFF // BOM / zero-width no-break space
            | 0xFFA0 // halfwidth Hangul filler
            | 0xFFF9..=0xFFFB // interlinear annotations
            | 0x110BD
            | 0x110CD
            | 0x13430..=0x1343F
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0001
            | 0xE0020..=0xE007F // tags
            | 0xE0100..=0xE01EF // variation selectors supplement
    )
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

/// Telegram promises chat ids of at most 52 significant bits.
pub const CHAT_ID_MAX: i64 = (1 << 52) - 1;

/// A Telegram chat id: users are positive, groups negative, never zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChatId(i64);

impl ChatId {
    /// A whole number, as typed (REST, chat), within Telegram's range.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let raw = raw.trim();
        let digits = raw.strip_prefix(['-', '+']).unwrap_or(raw);
        let id: i64 = digits
            .bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| raw.parse().ok())
            .flatten()
            .filter(|id: &i64| id.unsigned_abs() <= CHAT_ID_MAX.unsigned_abs())
            .ok_or_else(|| {
                ParseError::new(format!(
                    "'{raw}' is not a Telegram chat id (a whole number of at most \
                     {CHAT_ID_MAX} either side of 0)"
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
    fn usernames_are_nfkc_and_keyed_case_insensitively() {
        let wide = Username::parse("ＭａｒｉＯ").unwrap();
        assert_eq!(wide.as_str(), "MariO");
        assert_eq!(wide.key(), "mario");
        assert_eq!(Username::parse("mario").unwrap().key(), wide.key());
        // é composed and decomposed are one name.
        assert_eq!(
            Username::parse("Jos\u{e9}").unwrap().key(),
            Username::parse("Jose\u{301}").unwrap().key()
        );
        assert_eq!(username_key(" MARIO "), "mario");
    }

    #[test]
    fn invisible_characters_are_refused() {
        for c in [
            '\u{200B}',
            '\u{200C}',
            '\u{200D}',
            '\u{200E}',
            '\u{202A}',
            '\u{202E}',
            '\u{2066}',
            '\u{2069}',
            '\u{FEFF}',
            '\u{00AD}',
            '\u{2060}',
            '\u{FE0F}',
            '\u{E0041}',
            '\u{7}',
        ] {
            let err = Username::parse(&format!("ad{c}a")).unwrap_err();
            assert!(err.0.contains("invisible"), "{c:?}: {err}");
        }
        // NBSP is a space in NFKC: fine inside a name.
        assert_eq!(Username::parse("ada\u{A0}b").unwrap().as_str(), "ada b");
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
        assert!(ChatId::parse("true").is_err());
        assert!(ChatId::parse("1e3").is_err());
        assert!(ChatId::parse("- 5").is_err());
        assert_eq!(
            ChatId::parse("4503599627370495").unwrap().get(),
            CHAT_ID_MAX
        );
        assert_eq!(
            ChatId::parse("-4503599627370495").unwrap().get(),
            -CHAT_ID_MAX
        );
        assert!(ChatId::parse("4503599627370496").is_err());
        assert!(ChatId::parse("-9223372036854775808").is_err());
        assert!(ChatId::parse("99999999999999999999").is_err());
    }

    proptest! {
        #[test]
        fn any_nonzero_integer_in_range_is_a_chat_id(id in (-CHAT_ID_MAX..=CHAT_ID_MAX).prop_filter("non-zero", |v| *v != 0)) {
            prop_assert_eq!(ChatId::parse(&id.to_string()).unwrap().get(), id);
        }

        #[test]
        fn username_parse_never_panics_and_trims(s in "\\PC{0,80}") {
            if let Ok(u) = Username::parse(&s) {
                let nfkc: String = s.trim().nfkc().collect();
                prop_assert_eq!(u.as_str(), nfkc.trim());
            }
        }
    }
}
