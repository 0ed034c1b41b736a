//! What an SLA watches: a metric (a Prometheus name, or a PromQL expression
//! when a Prometheus server answers the queries) and the job that exports it.

use std::fmt;

use crate::domain::{ParseError, has_control};

/// Long enough for any real expression, short enough to keep a row small.
const EXPRESSION_MAX: usize = 1024;
const JOB_MAX: usize = 128;

/// Which metric names are acceptable: the in-process registry only knows
/// plain names; Prometheus evaluates any expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricSyntax {
    Name,
    PromQl,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MetricName(String);

impl MetricName {
    pub fn parse(raw: &str, syntax: MetricSyntax) -> Result<Self, ParseError> {
        match syntax {
            MetricSyntax::Name => Self::parse_name(raw),
            MetricSyntax::PromQl => Self::parse_expression(raw),
        }
    }

    /// Prometheus name syntax: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
    pub fn parse_name(raw: &str) -> Result<Self, ParseError> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(ParseError::new("metric name is empty"));
        }
        if !is_prometheus_name(name) {
            return Err(ParseError::new(format!(
                "'{}' is not a Prometheus metric name (letters, digits, '_' and ':', \
                 not starting with a digit)",
                clip(name)
            )));
        }
        if name.len() > EXPRESSION_MAX {
            return Err(ParseError::new(format!(
                "metric name is longer than {EXPRESSION_MAX} characters"
            )));
        }
        Ok(Self(name.to_owned()))
    }

    /// Any non-empty single-line text: Prometheus itself judges the PromQL,
    /// and a bad expression shows up as a query error, not a crash.
    pub fn parse_expression(raw: &str) -> Result<Self, ParseError> {
        let expr = raw.trim();
        if expr.is_empty() {
            return Err(ParseError::new("metric expression is empty"));
        }
        if expr.chars().count() > EXPRESSION_MAX {
            return Err(ParseError::new(format!(
                "metric expression is longer than {EXPRESSION_MAX} characters"
            )));
        }
        if expr
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
        {
            return Err(ParseError::new(
                "metric expression contains control characters",
            ));
        }
        Ok(Self(expr.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A bare name (no operators, selectors or functions): a source may add
    /// its own job matcher to it.
    pub fn is_plain_name(&self) -> bool {
        is_prometheus_name(&self.0)
    }
}

impl fmt::Display for MetricName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The `job` label value the metric must carry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct JobName(String);

impl JobName {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let job = raw.trim();
        if job.is_empty() {
            return Err(ParseError::new("job name is empty"));
        }
        if job.chars().count() > JOB_MAX {
            return Err(ParseError::new(format!(
                "job name is longer than {JOB_MAX} characters"
            )));
        }
        if has_control(job) {
            return Err(ParseError::new("job name contains control characters"));
        }
        Ok(Self(job.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for JobName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn is_prometheus_name(s: &str) -> bool {
    let mut chars = s.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    (first.is_ascii_alphabetic() || first == '_' || first == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// Error messages quote the input, but never a kilobyte of it.
fn clip(s: &str) -> String {
    const SHOWN: usize = 60;
    if s.chars().count() <= SHOWN {
        s.to_owned()
    } else {
        format!("{}…", s.chars().take(SHOWN).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn prometheus_names() {
        for ok in ["up", "cpu_usage_percent", "_x", ":rec:rule", "a1:b_2"] {
            assert_eq!(MetricName::parse_name(ok).unwrap().as_str(), ok);
        }
        assert_eq!(MetricName::parse_name("  up ").unwrap().as_str(), "up");
        for bad in [
            "",
            "  ",
            "1up",
            "cpu-usage",
            "up{job=\"x\"}",
            "rate(x[5m])",
            "é",
        ] {
            assert!(MetricName::parse_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn expressions_need_prometheus() {
        let expr = "sum(rate(http_request_duration_seconds_count[5m]))";
        assert!(MetricName::parse(expr, MetricSyntax::Name).is_err());
        let m = MetricName::parse(expr, MetricSyntax::PromQl).unwrap();
        assert!(!m.is_plain_name());
        assert!(
            MetricName::parse("up", MetricSyntax::PromQl)
                .unwrap()
                .is_plain_name()
        );
        assert!(MetricName::parse_expression(" ").is_err());
        assert!(MetricName::parse_expression("up\u{0}").is_err());
        assert!(MetricName::parse_expression(&"x".repeat(2000)).is_err());
    }

    #[test]
    fn job_names() {
        assert_eq!(JobName::parse(" meteobot ").unwrap().as_str(), "meteobot");
        assert!(JobName::parse("node exporter/1").is_ok());
        assert!(JobName::parse("").is_err());
        assert!(JobName::parse("a\nb").is_err());
        assert!(JobName::parse(&"j".repeat(200)).is_err());
    }

    proptest! {
        #[test]
        fn name_parser_matches_the_grammar(s in "\\PC{0,20}") {
            let grammar = regex_like(&s);
            prop_assert_eq!(MetricName::parse_name(&s).is_ok(), grammar);
        }

        #[test]
        fn valid_names_round_trip(s in "[a-zA-Z_:][a-zA-Z0-9_:]{0,40}") {
            let parsed = MetricName::parse_name(&s).unwrap();
            prop_assert_eq!(parsed.as_str(), s.as_str());
        }

        #[test]
        fn expressions_never_panic_and_stay_trimmed(s in "\\PC{0,200}") {
            if let Ok(m) = MetricName::parse_expression(&s) {
                prop_assert_eq!(m.as_str(), s.trim());
            }
        }
    }

    /// The grammar, written independently of the parser (on the trimmed text).
    fn regex_like(s: &str) -> bool {
        let t = s.trim();
        let bytes = t.as_bytes();
        !bytes.is_empty()
            && t.is_ascii()
            && (bytes[0].is_ascii_alphabetic() || bytes[0] == b'_' || bytes[0] == b':')
            && bytes[1..]
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b':')
    }
}
