//! A city name as the user typed it, before geocoding resolves it.

use super::{ParseError, has_control};

const CITY_MAX: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CityName(String);

impl CityName {
    /// Trims, folds inner runs of spaces, and strips a pair of surrounding quotes
    /// (`"New York"` as typed in chat).
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let trimmed = raw.trim();
        let unquoted = trimmed
            .strip_prefix('"')
            .and_then(|s| s.strip_suffix('"'))
            .unwrap_or(trimmed);
        let name = unquoted.split_whitespace().collect::<Vec<_>>().join(" ");
        if name.is_empty() {
            return Err(ParseError::new("city name is empty"));
        }
        if name.chars().count() > CITY_MAX {
            return Err(ParseError::new(format!(
                "city name is longer than {CITY_MAX} characters"
            )));
        }
        if has_control(&name) {
            return Err(ParseError::new("city name contains control characters"));
        }
        if !name.chars().any(char::is_alphabetic) {
            return Err(ParseError::new(format!(
                "'{name}' does not look like a city name"
            )));
        }
        Ok(Self(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn cleans_up_what_users_type() {
        assert_eq!(
            CityName::parse("  New   York ").unwrap().as_str(),
            "New York"
        );
        assert_eq!(
            CityName::parse("\"New York\"").unwrap().as_str(),
            "New York"
        );
        assert_eq!(CityName::parse("Forlì").unwrap().as_str(), "Forlì");
        assert!(CityName::parse("").is_err());
        assert!(CityName::parse("1234").is_err());
        assert!(CityName::parse("Ro\u{0}me").is_err());
    }

    proptest! {
        #[test]
        fn parsed_names_are_clean(s in "\\PC{0,120}") {
            if let Ok(c) = CityName::parse(&s) {
                prop_assert!(!c.as_str().is_empty());
                prop_assert!(!c.as_str().contains("  "));
                prop_assert!(c.as_str().chars().count() <= CITY_MAX);
            }
        }
    }
}
