//! `meteobot chat` as a person meets it: the real binary, driven through its
//! stdin and stdout, with a temp database and a fake Open-Meteo (wiremock).
//! The bot behind it is the whole app — dispatcher, dialogues, poller,
//! notifier — talking to the Bot API the binary serves in-process.
//! Every wait is bounded, and nothing is asserted from a pause: "nothing
//! happened" is shown by what comes next, in order.

mod support;

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::CommandFactory;
use meteobot::config::Args;
use meteobot::domain::ChatId;
use meteobot::store::Store;
use support::fake_weather::FakeForecast;
use support::mount_geocoding;
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;
use wiremock::MockServer;

const BIN: &str = env!("CARGO_BIN_EXE_meteobot");
/// The longest any single expected line may take on a loaded machine.
const WAIT: Duration = Duration::from_secs(30);

const ROME: (&str, &str, f64, f64, u64) = ("Rome", "IT", 41.89193, 12.51133, 2_318_895);

/// `meteobot chat` with the fake weather upstream, a database of its own,
/// and none of the runner's meteobot variables.
fn chat_command(weather: &MockServer, dir: &TempDir, extra: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    for arg in Args::command().get_arguments() {
        if let Some(var) = arg.get_env() {
            cmd.env_remove(var);
        }
    }
    for var in ["LANG", "LC_ALL", "LC_MESSAGES", "USERNAME", "LOGNAME"] {
        cmd.env_remove(var);
    }
    cmd.env("USER", "ada")
        .env("DATABASE_URL", database_url(dir))
        .env("OPEN_METEO_API_URL", weather.uri())
        .env("OPEN_METEO_GEOCODING_URL", weather.uri())
        .env("WEATHER_TIMEOUT", "2s")
        .env("POLL_INTERVAL", "1s")
        .arg("chat")
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

fn database_url(dir: &TempDir) -> String {
    format!("sqlite:{}", dir.path().join("chat.db").display())
}

/// One person at the terminal: lines typed, stdout read in order.
struct Session {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: mpsc::UnboundedReceiver<String>,
    /// Every stdout line read so far.
    transcript: Vec<String>,
    stderr: Arc<Mutex<String>>,
    /// The session's DATABASE_URL.
    database_url: String,
    _dir: TempDir,
}

impl Session {
    async fn start(weather: &MockServer) -> Self {
        Self::start_with(weather, &[]).await
    }

    async fn start_with(weather: &MockServer, extra: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut child = chat_command(weather, &dir, extra)
            .spawn()
            .expect("meteobot starts");
        let (tx, stdout) = mpsc::unbounded_channel();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut pipe = child.stderr.take().unwrap();
        tokio::spawn({
            let stderr = Arc::clone(&stderr);
            async move {
                let mut buf = [0u8; 4096];
                while let Ok(n) = pipe.read(&mut buf).await {
                    if n == 0 {
                        break;
                    }
                    stderr
                        .lock()
                        .unwrap()
                        .push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            }
        });
        Self {
            stdin: child.stdin.take(),
            child,
            stdout,
            transcript: Vec::new(),
            stderr,
            database_url: database_url(&dir),
            _dir: dir,
        }
    }

    async fn types(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin is open");
        stdin
            .write_all(format!("{line}\n").as_bytes())
            .await
            .expect("typing");
        stdin.flush().await.expect("typing");
    }

    /// Reads stdout up to the first line containing `needle` (bounded);
    /// returns the lines read, that one last.
    async fn until(&mut self, needle: &str) -> Vec<String> {
        let mut read = Vec::new();
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            match tokio::time::timeout_at(deadline, self.stdout.recv()).await {
                Ok(Some(line)) => {
                    self.transcript.push(line.clone());
                    let found = line.contains(needle);
                    read.push(line);
                    if found {
                        return read;
                    }
                }
                Ok(None) => self.fail(&format!("stdout closed before {needle:?}")),
                Err(_) => self.fail(&format!("no line with {needle:?} within {WAIT:?}")),
            }
        }
    }

    /// The next line containing `needle`.
    async fn expect(&mut self, needle: &str) -> String {
        self.until(needle).await.pop().unwrap()
    }

    /// The very next stdout line, which must start with `prefix`.
    async fn next_line(&mut self, prefix: &str) -> String {
        let line = match tokio::time::timeout(WAIT, self.stdout.recv()).await {
            Ok(Some(line)) => line,
            Ok(None) => self.fail("stdout closed"),
            Err(_) => self.fail(&format!("no line within {WAIT:?}")),
        };
        self.transcript.push(line.clone());
        if !line.starts_with(prefix) {
            self.fail(&format!(
                "expected a line starting {prefix:?}, got {line:?}"
            ));
        }
        line
    }

    /// Closes stdin (Ctrl-D) and returns the exit code (bounded wait).
    async fn end_input(&mut self) -> (Option<i32>, Vec<String>) {
        drop(self.stdin.take());
        self.exit().await
    }

    async fn exit(&mut self) -> (Option<i32>, Vec<String>) {
        let status = match tokio::time::timeout(WAIT, self.child.wait()).await {
            Ok(status) => status.expect("waiting for meteobot"),
            Err(_) => self.fail(&format!("still running {WAIT:?} after the end")),
        };
        // The rest of stdout, up to its end.
        while let Ok(Some(line)) = tokio::time::timeout(WAIT, self.stdout.recv()).await {
            self.transcript.push(line);
        }
        (status.code(), self.transcript.clone())
    }

    fn fail(&self, what: &str) -> ! {
        panic!(
            "{what}\n--- stdout so far:\n{}\n--- stderr:\n{}",
            self.transcript.join("\n"),
            self.stderr.lock().unwrap()
        )
    }
}

async fn weather() -> (MockServer, FakeForecast) {
    let weather = MockServer::start().await;
    let forecast = FakeForecast::mount(&weather).await;
    mount_geocoding(&weather, "Rome", &[ROME]).await;
    (weather, forecast)
}

#[tokio::test]
async fn start_gets_the_greeting() {
    let (weather, _forecast) = weather().await;
    let mut chat = Session::start(&weather).await;
    chat.types("/start").await;
    let hello = chat.expect("Hello Ada!").await;
    assert!(hello.starts_with("bot> Hello Ada! I'm meteobot"), "{hello}");
    // Later lines of a message are indented under the first.
    let more = chat.next_line("     ").await;
    assert!(more.contains("Tell me a city"), "{more}");
    let (code, _) = chat.end_input().await;
    assert_eq!(code, Some(0));
}

#[tokio::test]
async fn a_subscription_in_one_line_and_its_alert_appears() {
    let (weather, forecast) = weather().await;
    forecast.temperature(35.0);
    let mut chat = Session::start(&weather).await;
    chat.types("/subscribe Rome 5 30 yes no").await;
    let subscribed = chat.expect("✅ Subscribed #1: Rome").await;
    assert!(subscribed.starts_with("bot> "), "{subscribed}");
    // The poller (every second) finds 35 °C; the notifier prints it.
    let alert = chat.expect("🌡 Rome, IT: 35 °C").await;
    assert_eq!(
        alert,
        "bot> 🌡 Rome, IT: 35 °C — above your maximum of 30 °C."
    );
    let (code, _) = chat.end_input().await;
    assert_eq!(code, Some(0));
}

#[tokio::test]
async fn the_guided_subscribe_is_answered_with_button_numbers() {
    let (weather, _forecast) = weather().await;
    let mut chat = Session::start(&weather).await;
    chat.types("/subscribe").await;
    chat.expect("Which city?").await;
    chat.types("Rome").await;
    chat.expect("Minimum temperature").await;
    assert_eq!(chat.next_line("  [1]").await, "  [1] No minimum");
    // A number typed as text, past the one button.
    chat.types("\\5").await;
    chat.expect("Maximum temperature").await;
    chat.expect("[1] No maximum").await;
    chat.types("\\30").await;
    chat.expect("bot> Alert me when it rains?").await;
    assert_eq!(chat.next_line("  [1]").await, "  [1] Yes");
    assert_eq!(chat.next_line("  [2]").await, "  [2] No");
    chat.types("1").await;
    // Input that is not a terminal is echoed, with the button pressed.
    chat.expect("you> [1] Yes").await;
    chat.expect("bot> Alert me when it snows?").await;
    chat.types("2").await;
    chat.expect("bot> Shall I warn you ahead").await;
    chat.expect("[1] Off").await;
    chat.types("1").await;
    let summary = chat.until("[2] ✖️ Cancel").await;
    assert!(
        summary.iter().any(|l| l.contains("Please confirm:")),
        "{summary:#?}"
    );
    assert!(summary.iter().any(|l| l.contains("[1] ✅ Confirm")));
    chat.types("1").await;
    chat.expect("bot> ✅ Subscribed #1: Rome").await;
    let (code, _) = chat.end_input().await;
    assert_eq!(code, Some(0));
}

#[tokio::test]
async fn empty_lines_are_ignored_and_numbers_out_of_range_send_nothing() {
    let (weather, _forecast) = weather().await;
    let mut chat = Session::start(&weather).await;
    // An empty line sends nothing: the next thing on stdout is the echo of
    // /help, then its answer.
    chat.types("").await;
    chat.types("   ").await;
    chat.types("/help").await;
    assert_eq!(chat.next_line("you>").await, "you> /help");
    chat.next_line("bot> ").await;
    // No buttons showing: a number is text like any other.
    chat.types("7").await;
    chat.expect("you> 7").await;
    chat.expect("bot> I didn't understand that.").await;

    chat.types("/subscribe Rome 5 30 yes no").await;
    chat.expect("✅ Subscribed #1: Rome").await;
    chat.types("/subscriptions").await;
    chat.expect("Your subscriptions").await;
    chat.expect("[1] ").await;
    // One button: 5 and 0 press nothing and say so…
    chat.types("5").await;
    let notice = chat.next_line("(").await;
    assert!(
        notice.contains("no button 5") && notice.contains("\\5"),
        "{notice}"
    );
    chat.types("0").await;
    assert!(chat.next_line("(").await.contains("no button 0"));
    // …so the next answer is the one to the button pressed after them.
    chat.types("1").await;
    assert!(chat.next_line("you> [1]").await.contains("#1"));
    // (As a message, or as the press's notice: `bot (notice)> …`.)
    let removed = chat.next_line("bot").await;
    assert!(
        removed.ends_with("> 🗑 Subscription #1 removed."),
        "{removed}"
    );
    let (code, _) = chat.end_input().await;
    assert_eq!(code, Some(0));
}

#[tokio::test]
async fn end_of_input_stops_cleanly_after_answering_what_was_typed() {
    let (weather, _forecast) = weather().await;
    let mut chat = Session::start(&weather).await;
    // Typed and closed at once, as `echo /start | meteobot chat`.
    chat.types("/start").await;
    let (code, transcript) = chat.end_input().await;
    assert_eq!(code, Some(0), "{transcript:#?}");
    assert!(
        transcript.iter().any(|l| l.starts_with("bot> Hello Ada!")),
        "{transcript:#?}"
    );
}

#[tokio::test]
async fn ctrl_c_stops_cleanly_too() {
    let (weather, _forecast) = weather().await;
    let mut chat = Session::start(&weather).await;
    chat.types("/start").await;
    chat.expect("Hello Ada!").await;
    let pid = chat.child.id().expect("running") as libc::pid_t;
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let (code, _) = chat.exit().await;
    assert_eq!(code, Some(0));
}

#[tokio::test]
async fn another_chat_id_is_another_chat() {
    let (weather, _forecast) = weather().await;
    let mut chat = Session::start_with(&weather, &["--chat-id", "4242"]).await;
    chat.types("/subscribe Rome - 30 no no").await;
    chat.expect("✅ Subscribed #1: Rome").await;
    let (code, _) = chat.end_input().await;
    assert_eq!(code, Some(0));
    // Stored for that chat, in the database named by DATABASE_URL.
    let store = Store::connect(&chat.database_url).await.unwrap();
    let subs = store
        .subscriptions_of_chat(ChatId::new(4242).unwrap())
        .await
        .unwrap();
    assert_eq!(subs.len(), 1, "{subs:?}");
    assert!(
        store
            .subscriptions_of_chat(ChatId::new(1).unwrap())
            .await
            .unwrap()
            .is_empty()
    );
    store.close().await;
}

#[test]
fn a_bad_chat_id_exits_2_naming_the_flag() {
    for bad in ["0", "-1001", "abc", "4503599627370496", ""] {
        let out = std::process::Command::new(BIN)
            .args(["chat", "--chat-id", bad])
            .env_remove("TELOXIDE_TOKEN")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "--chat-id {bad:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--chat-id"), "{bad:?}: {err}");
        assert!(out.stdout.is_empty(), "{bad:?}");
    }
}
