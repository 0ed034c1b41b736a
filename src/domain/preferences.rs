//! A chat's preferences: the language it reads and the units it reads
//! temperatures in. Plain values, used from the store up to the texts.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Language {
    #[default]
    En,
    It,
}

impl Language {
    /// From a stored code or Telegram's `language_code` (`it`, `it-IT`);
    /// anything not Italian is English.
    pub fn from_code(code: &str) -> Self {
        let code = code.trim().to_ascii_lowercase();
        if code == "it" || code.starts_with("it-") || code.starts_with("it_") {
            Language::It
        } else {
            Language::En
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::It => "it",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Units {
    #[default]
    Celsius,
    Fahrenheit,
}

impl Units {
    pub fn from_code(code: &str) -> Self {
        if code.trim().eq_ignore_ascii_case("f") {
            Units::Fahrenheit
        } else {
            Units::Celsius
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Units::Celsius => "c",
            Units::Fahrenheit => "f",
        }
    }
}

impl Units {
    /// `value` read in these units, in °C.
    pub fn to_celsius(self, value: f64) -> f64 {
        match self {
            Units::Celsius => value,
            Units::Fahrenheit => (value - 32.0) * 5.0 / 9.0,
        }
    }

    /// `celsius` in these units.
    pub fn from_celsius(self, celsius: f64) -> f64 {
        match self {
            Units::Celsius => celsius,
            Units::Fahrenheit => celsius * 9.0 / 5.0 + 32.0,
        }
    }

    pub fn symbol(self) -> &'static str {
        match self {
            Units::Celsius => "°C",
            Units::Fahrenheit => "°F",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions() {
        assert_eq!(Units::Fahrenheit.to_celsius(86.0), 30.0);
        assert_eq!(Units::Fahrenheit.from_celsius(30.0), 86.0);
        assert_eq!(Units::Celsius.to_celsius(12.5), 12.5);
        assert_eq!(Units::Fahrenheit.symbol(), "°F");
    }
}
