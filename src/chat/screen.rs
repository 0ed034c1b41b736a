//! What the terminal shows: each bot message as one block (`bot> text`,
//! continuation lines indented, then its inline buttons numbered
//! `  [1] label`), written to stdout with one `write_all` under stdout's lock
//! so blocks from concurrent senders (a reply, an alert) never interleave.

use std::io::Write;
use std::sync::Arc;

use serde_json::Value;

/// Where blocks go: stdout in the binary, a buffer in tests.
#[derive(Clone)]
pub struct Screen(Arc<dyn Fn(&str) + Send + Sync>);

impl Screen {
    /// stdout, one block per locked write (errors such as a closed pipe are
    /// ignored: there is nobody left to tell).
    pub fn stdout() -> Self {
        Self::new(|block| {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(block.as_bytes());
            let _ = out.flush();
        })
    }

    pub fn new(show: impl Fn(&str) + Send + Sync + 'static) -> Self {
        Self(Arc::new(show))
    }

    /// Writes `block` (whole lines, each ending in `\n`) at once.
    pub fn show(&self, block: &str) {
        (self.0)(block);
    }

    /// A remark of the terminal itself, not of the bot: `(…)`.
    pub fn notice(&self, text: &str) {
        self.show(&format!("({text})\n"));
    }
}

/// What pressing a button does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Sends a callback query with this `callback_data`.
    Callback(String),
    /// Opens a link (nothing is sent to the bot).
    Url(String),
    /// Any other kind (web app, login, switch inline…): not pressable here.
    Other,
}

/// An inline button, numbered by its place in [`inline_buttons`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Button {
    pub label: String,
    pub action: Action,
}

/// The buttons of an `InlineKeyboardMarkup` (`{"inline_keyboard": [[…]]}`),
/// row by row, left to right: button N of the terminal is element N − 1.
/// Anything else (no markup, a reply keyboard) has none.
pub fn inline_buttons(markup: Option<&Value>) -> Vec<Button> {
    let Some(rows) = markup
        .and_then(|m| m.get("inline_keyboard"))
        .and_then(Value::as_array)
    else {
        return Vec::new();
    };
    rows.iter()
        .filter_map(Value::as_array)
        .flatten()
        .map(|button| {
            let label = button
                .get("text")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            let action = if let Some(data) = button.get("callback_data").and_then(Value::as_str) {
                Action::Callback(data.to_owned())
            } else if let Some(url) = button.get("url").and_then(Value::as_str) {
                Action::Url(url.to_owned())
            } else {
                Action::Other
            };
            Button { label, action }
        })
        .collect()
}

/// One message as the terminal prints it: `label> ` before the first line,
/// the other lines indented under it, then `  [N] label` per button.
pub fn message_block(label: &str, text: &str, buttons: &[Button]) -> String {
    let indent = " ".repeat(label.chars().count() + 2);
    let mut block = String::new();
    for (i, line) in text.lines().enumerate() {
        let line = if i == 0 {
            format!("{label}> {line}")
        } else {
            format!("{indent}{line}")
        };
        block.push_str(line.trim_end());
        block.push('\n');
    }
    if text.lines().next().is_none() {
        block.push_str(&format!("{label}>\n"));
    }
    for (i, button) in buttons.iter().enumerate() {
        block.push_str(&format!("  [{}] {}\n", i + 1, button.label));
    }
    block
}

/// Text sent with `parse_mode` HTML, as a person reads it: tags dropped and
/// the five entities Telegram knows decoded.
pub fn plain_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_tag = false;
    for c in text.chars() {
        match (c, in_tag) {
            ('<', false) => in_tag = true,
            ('>', true) => in_tag = false,
            (c, false) => out.push(c),
            (_, true) => {}
        }
    }
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn buttons_are_numbered_row_by_row_left_to_right() {
        let markup = json!({ "inline_keyboard": [
            [{ "text": "Yes", "callback_data": "rain:1" }, { "text": "No", "callback_data": "rain:0" }],
            [{ "text": "Docs", "url": "https://example.org/" }],
            [{ "text": "Pay", "pay": true }],
        ]});
        let buttons = inline_buttons(Some(&markup));
        assert_eq!(
            buttons,
            [
                Button {
                    label: "Yes".into(),
                    action: Action::Callback("rain:1".into())
                },
                Button {
                    label: "No".into(),
                    action: Action::Callback("rain:0".into())
                },
                Button {
                    label: "Docs".into(),
                    action: Action::Url("https://example.org/".into())
                },
                Button {
                    label: "Pay".into(),
                    action: Action::Other
                },
            ]
        );
        assert_eq!(
            message_block("bot", "Alert me when it rains?", &buttons),
            "bot> Alert me when it rains?\n  [1] Yes\n  [2] No\n  [3] Docs\n  [4] Pay\n"
        );
        // No markup, or a reply keyboard: no numbered buttons.
        assert!(inline_buttons(None).is_empty());
        assert!(inline_buttons(Some(&json!({ "keyboard": [[{ "text": "x" }]] }))).is_empty());
        assert!(inline_buttons(Some(&json!({ "inline_keyboard": [] }))).is_empty());
    }

    #[test]
    fn continuation_lines_are_indented_under_the_first() {
        assert_eq!(
            message_block("bot (edited)", "one\ntwo\n\nfour", &[]),
            "bot (edited)> one\n              two\n\n              four\n"
        );
        assert_eq!(message_block("bot", "", &[]), "bot>\n");
    }

    #[test]
    fn html_reads_as_plain_text() {
        assert_eq!(
            plain_html("<b>Rome</b> &lt;30 &amp; dry &quot;ok&quot;"),
            "Rome <30 & dry \"ok\""
        );
    }
}
