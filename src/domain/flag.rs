//! Yes/no answers as people and old HTML forms write them.

use super::ParseError;

/// `1/0`, `true/false`, `yes/no`, `y/n`, `on/off`, and Italian `sì/si/no`;
/// case-insensitive, surrounding spaces ignored.
pub fn parse_flag(raw: &str) -> Result<bool, ParseError> {
    match raw.trim().to_lowercase().as_str() {
        "1" | "true" | "yes" | "y" | "on" | "sì" | "si" | "sí" => Ok(true),
        "0" | "false" | "no" | "n" | "off" => Ok(false),
        other => Err(ParseError::new(format!(
            "'{other}' is not yes or no (use 1/0, true/false, yes/no)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn every_spelling() {
        for t in ["1", "true", "TRUE", "yes", "Yes", "sì", "SÌ", "si", " on "] {
            assert_eq!(parse_flag(t), Ok(true), "{t}");
        }
        for f in ["0", "false", "no", "NO", "off", " n"] {
            assert_eq!(parse_flag(f), Ok(false), "{f}");
        }
        assert!(parse_flag("maybe").is_err());
        assert!(parse_flag("").is_err());
        assert!(parse_flag("2").is_err());
    }

    proptest! {
        #[test]
        fn known_words_in_any_case_and_padding(
            word in prop::sample::select(vec!["1", "0", "true", "false", "yes", "no", "sì", "si"]),
            upper in any::<bool>(),
            pad in " {0,3}",
        ) {
            let expected = matches!(word, "1" | "true" | "yes" | "sì" | "si");
            let text = if upper { word.to_uppercase() } else { word.to_string() };
            prop_assert_eq!(parse_flag(&format!("{pad}{text}{pad}")), Ok(expected));
        }

        #[test]
        fn anything_else_is_an_error_not_a_panic(s in "\\PC{0,12}") {
            let _ = parse_flag(&s);
        }
    }
}
