//! Logging: tracing to stderr, filtered by `RUST_LOG`. Secrets never reach a
//! log line because they are `Secret`s and URLs go through `redact_url`.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber; a bad filter falls back to `info` with a
/// warning rather than refusing to start.
pub fn init(filter: &str) {
    let (env_filter, bad_filter) = match EnvFilter::try_new(filter) {
        Ok(f) => (f, None),
        Err(e) => (EnvFilter::new("info"), Some(e.to_string())),
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(env_filter)
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, not in log files.
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(true)
        .try_init();
    if let Some(e) = bad_filter {
        tracing::warn!(error = %e, "RUST_LOG is not a valid filter; using info");
    }
}
