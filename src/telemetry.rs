//! Logging: tracing to stderr, filtered by `RUST_LOG`. Secrets stay out of
//! log lines by construction (`Secret`, `redact_url` at call sites), and a
//! last line of defence redacts every written line: libraries that log
//! through `log` (teloxide, reqwest) may print request URLs, and Bot API URLs
//! carry the token.

use std::io::{self, IsTerminal, Write};

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::secret::redact_url;

/// Installs the global subscriber; a bad filter falls back to `info` with a
/// warning rather than refusing to start.
pub fn init(filter: &str) {
    let (env_filter, bad_filter) = match EnvFilter::try_new(filter) {
        Ok(f) => (f, None),
        Err(e) => (EnvFilter::new("info"), Some(e.to_string())),
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(env_filter)
        .with_writer(RedactingStderr)
        // Colour codes only for a person at a terminal, not in log files.
        .with_ansi(io::stderr().is_terminal())
        .with_target(true)
        .try_init();
    if let Some(e) = bad_filter {
        tracing::warn!(error = %e, "RUST_LOG is not a valid filter; using info");
    }
}

/// stderr, with credentials in URLs replaced by `***`. The fmt layer writes
/// each event with one `write_all`, so a URL is never split across calls.
#[derive(Clone, Copy)]
pub struct RedactingStderr;

impl<'a> MakeWriter<'a> for RedactingStderr {
    type Writer = Redacting<io::Stderr>;

    fn make_writer(&'a self) -> Self::Writer {
        Redacting(io::stderr())
    }
}

pub struct Redacting<W>(pub W);

impl<W: Write> Write for Redacting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        self.0.write_all(redact_url(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_in_urls_are_redacted_on_the_way_out() {
        let mut out = Redacting(Vec::new());
        out.write_all(b"GET http://h/bot123:SECRET/getMe?appid=KEY failed\n")
            .unwrap();
        let text = String::from_utf8(out.0).unwrap();
        assert_eq!(text, "GET http://h/bot***/getMe?appid=*** failed\n");
    }
}
