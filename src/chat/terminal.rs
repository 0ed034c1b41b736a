//! The person's side: lines typed on stdin become messages and button
//! presses of the in-process Bot API.
//!
//! - a line is a text message (a `/command` is a command, as in Telegram);
//! - a number `N` presses button N of the last message shown with buttons
//!   (out of range: said so, nothing sent); without buttons showing it is
//!   text; `\` before a line sends the rest as text (`\5`: the text "5");
//! - an empty line is ignored;
//! - end of input returns once the bot has taken every line typed.

use std::io::{BufRead, Read};
use std::time::Duration;

use tokio::sync::mpsc;

use super::botapi::{BotApi, MAX_TEXT, Press};
use super::screen::Screen;

/// Lines read ahead of the bot.
const READ_AHEAD: usize = 16;
/// Bytes kept of one typed line (a message holds at most 4096 characters);
/// the rest of a longer line is read and dropped.
const MAX_LINE_BYTES: u64 = 4 * MAX_TEXT as u64 + 1;
/// At the end of input, how long the bot may take to pick up what was typed
/// before the app stops.
const DRAIN: Duration = Duration::from_secs(10);

/// What a typed line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Nothing,
    Text(String),
    /// Digits only: a button number, or text when no buttons are showing.
    Number(usize, String),
}

pub fn classify(line: &str) -> Input {
    let line = line.trim();
    if line.is_empty() {
        return Input::Nothing;
    }
    if let Some(text) = line.strip_prefix('\\') {
        let text = text.trim();
        return if text.is_empty() {
            Input::Text(line.to_owned())
        } else {
            Input::Text(text.to_owned())
        };
    }
    if line.bytes().all(|b| b.is_ascii_digit()) {
        // Too many digits for any button: out of range all the same.
        let n = line.parse().unwrap_or(usize::MAX);
        return Input::Number(n, line.to_owned());
    }
    Input::Text(line.to_owned())
}

/// Reads stdin on a thread of its own (a blocked read never holds up the
/// runtime's shutdown); the channel closes at end of input.
pub fn stdin_lines() -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel(READ_AHEAD);
    let spawned = std::thread::Builder::new()
        .name("chat-stdin".into())
        .spawn(move || {
            let mut stdin = std::io::stdin().lock();
            let mut line = Vec::new();
            loop {
                line.clear();
                match (&mut stdin)
                    .take(MAX_LINE_BYTES)
                    .read_until(b'\n', &mut line)
                {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
                if line.last() != Some(&b'\n') && line.len() as u64 == MAX_LINE_BYTES {
                    // Drop the rest of an over-long line.
                    let mut rest = Vec::new();
                    if stdin.read_until(b'\n', &mut rest).is_err() {
                        break;
                    }
                }
                let text = String::from_utf8_lossy(&line)
                    .trim_end_matches(['\n', '\r'])
                    .to_owned();
                if tx.blocking_send(text).is_err() {
                    break;
                }
            }
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "cannot read the terminal");
    }
    rx
}

/// Turns `lines` into messages and presses until they end, then waits
/// (bounded) for the bot to take the last ones. `echo` prints each as
/// `you> …` (for input that is not typed at a terminal, which echoes it).
pub async fn run(api: BotApi, screen: Screen, mut lines: mpsc::Receiver<String>, echo: bool) {
    let you = |text: &str| {
        if echo {
            screen.show(&super::screen::message_block("you", text, &[]));
        }
    };
    while let Some(line) = lines.recv().await {
        match classify(&line) {
            Input::Nothing => {}
            Input::Text(text) if text.encode_utf16().count() > MAX_TEXT => {
                screen.notice(&format!(
                    "not sent: a message holds at most {MAX_TEXT} characters"
                ));
            }
            Input::Text(text) => {
                you(&text);
                api.say(&text).await;
            }
            Input::Number(n, text) => match api.press(n).await {
                Press::Pressed { label } => you(&format!("[{n}] {label}")),
                Press::NoButtons => {
                    you(&text);
                    api.say(&text).await;
                }
                Press::OutOfRange { count } => {
                    let range = if count == 1 {
                        "1".to_owned()
                    } else {
                        format!("1–{count}")
                    };
                    screen.notice(&format!(
                        "there is no button {text}: type {range} to press one, or \\{text} to send \"{text}\" as text"
                    ));
                }
                Press::NotForTheBot { label, url } => match url {
                    Some(url) => screen.notice(&format!("[{n}] {label} opens {url}")),
                    None => screen.notice(&format!("[{n}] {label} cannot be pressed here")),
                },
            },
        }
    }
    if !api.drained(DRAIN).await {
        tracing::warn!("the bot did not take the last lines typed in time; stopping anyway");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_text_numbers_or_nothing() {
        assert_eq!(classify(""), Input::Nothing);
        assert_eq!(classify("   \t"), Input::Nothing);
        assert_eq!(classify("/start"), Input::Text("/start".into()));
        assert_eq!(classify("  Rome \r"), Input::Text("Rome".into()));
        assert_eq!(classify("2"), Input::Number(2, "2".into()));
        assert_eq!(classify(" 12 "), Input::Number(12, "12".into()));
        assert_eq!(classify("0"), Input::Number(0, "0".into()));
        assert_eq!(
            classify("99999999999999999999999"),
            Input::Number(usize::MAX, "99999999999999999999999".into())
        );
        // Not plain digits: text.
        assert_eq!(classify("-5"), Input::Text("-5".into()));
        assert_eq!(classify("30C"), Input::Text("30C".into()));
        assert_eq!(classify("2.5"), Input::Text("2.5".into()));
        // A backslash sends the rest as text.
        assert_eq!(classify("\\5"), Input::Text("5".into()));
        assert_eq!(classify("\\ 30 "), Input::Text("30".into()));
        assert_eq!(classify("\\"), Input::Text("\\".into()));
    }
}
