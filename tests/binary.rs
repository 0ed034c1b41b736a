//! The `meteobot` binary as an operator meets it: `--help`, bad configuration
//! (one line, exit 2), and a clean exit 0 on SIGTERM while serving.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_meteobot");

/// DESIGN.md's configuration table.
const DOCUMENTED: &[&str] = &[
    "TELOXIDE_TOKEN",
    "TELOXIDE_API_URL",
    "DATABASE_URL",
    "WEATHER_PROVIDER",
    "OWM_API_KEY",
    "OWM_API_URL",
    "OPEN_METEO_API_URL",
    "OPEN_METEO_GEOCODING_URL",
    "POLL_INTERVAL",
    "REMIND_INTERVAL",
    "ADMIN_ADDR",
    "ADMIN_TOKEN",
    "ADMIN_CHAT_IDS",
    "JWT_SECRET",
    "PROMETHEUS_URL",
    "SLA_EVAL_INTERVAL",
    "RUST_LOG",
];

/// A command with none of the operator's meteobot variables leaking in.
fn meteobot() -> Command {
    let mut cmd = Command::new(BIN);
    let extra = [
        "TOKEN_TTL",
        "WEATHER_TIMEOUT",
        "OWM_CALLS_PER_MINUTE",
        "METRICS_JOB",
        "SLA_RETENTION",
        "WEATHER_REFRESH",
        "WEATHER_GRID",
        "WEATHER_DAILY_BUDGET",
        "WEATHER_MAX_AGE",
        "HEADS_UP_PROBABILITY",
        "NOTIFY_MAX_ATTEMPTS",
        "NOTIFY_MAX_AGE",
        "OUTBOX_RETENTION",
    ];
    for var in DOCUMENTED.iter().chain(&extra) {
        cmd.env_remove(var);
    }
    cmd
}

#[test]
fn help_documents_every_variable() {
    let out = meteobot().arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for var in DOCUMENTED {
        assert!(help.contains(var), "--help lacks {var}");
    }
}

#[test]
fn bad_values_print_one_line_naming_the_variable_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("x.db").display());
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("POLL_INTERVAL", "soon")], "POLL_INTERVAL"),
        (&[("REMIND_INTERVAL", "-5m")], "REMIND_INTERVAL"),
        (&[("WEATHER_PROVIDER", "accuweather")], "WEATHER_PROVIDER"),
        (&[("WEATHER_PROVIDER", "openweathermap")], "OWM_API_KEY"),
        (&[("ADMIN_ADDR", "0.0.0.0:8080")], "ADMIN_ADDR"),
        (&[("ADMIN_ADDR", "nowhere")], "ADMIN_ADDR"),
        (&[("SLA_EVAL_INTERVAL", "1 fortnight")], "SLA_EVAL_INTERVAL"),
        (&[("ADMIN_CHAT_IDS", "12,abc")], "ADMIN_CHAT_IDS"),
        (&[("OPEN_METEO_API_URL", "not a url")], "OPEN_METEO_API_URL"),
        (&[("DATABASE_URL", "mysql://bot:pw@db/x")], "DATABASE_URL"),
    ];
    for (env, variable) in cases {
        let out = meteobot()
            .env("DATABASE_URL", &db)
            .env("TELOXIDE_TOKEN", "123:dummy")
            .envs(env.iter().copied())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{env:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.trim_end().lines().count(), 1, "{env:?}: {err}");
        assert!(err.contains(variable), "{env:?}: {err}");
    }
    // The flag spelling works the same way.
    let out = meteobot()
        .args([
            "--teloxide-token",
            "123:dummy",
            "--database-url",
            &db,
            "--poll-interval",
            "x",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("POLL_INTERVAL"));
}

/// PostgreSQL down at start (a closed port): one clear line naming the
/// database without its password, exit 2, and nothing started. A supervisor
/// (Kubernetes, systemd) restarts the process with its own backoff.
#[test]
fn an_unreachable_postgres_exits_2_naming_it_without_the_password() {
    let out = meteobot()
        .env(
            "DATABASE_URL",
            "postgres://bot:hunter2-pw@127.0.0.1:9/meteobot",
        )
        .env("TELOXIDE_TOKEN", "123:dummy")
        .env("TELOXIDE_API_URL", "http://127.0.0.1:9/")
        .env("ADMIN_ADDR", "127.0.0.1:0")
        .env("RUST_LOG", "info")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(!err.contains("hunter2"), "the password leaked: {err}");
    let last = err.trim_end().lines().last().unwrap_or_default();
    assert!(
        last.starts_with(
            "meteobot: cannot open the database postgres://bot:***@127.0.0.1:9/meteobot"
        ),
        "{err}"
    );
    assert!(!err.contains("admin port listening"), "{err}");
}

#[test]
fn a_missing_bot_token_says_where_to_get_one() {
    let out = meteobot().output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains("TELOXIDE_TOKEN") && err.contains("@BotFather"),
        "{err}"
    );
}

/// Telegram unreachable (a closed port): the admin port serves anyway, the
/// bot retries, no secret reaches the log, and SIGTERM exits 0.
#[test]
fn serves_and_exits_0_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = meteobot()
        .env(
            "DATABASE_URL",
            format!("sqlite:{}", dir.path().join("m.db").display()),
        )
        .env("ADMIN_ADDR", "127.0.0.1:0")
        .env("OWM_API_KEY", "sekrit-key-value")
        .env("TELOXIDE_TOKEN", "424242:SECRET-bot-token-value")
        .env("TELOXIDE_API_URL", "http://127.0.0.1:9/")
        .env("RUST_LOG", "debug")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read stderr on a thread so a silent child cannot hang the test.
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut log = String::new();
    let addr = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(line) = rx.recv_timeout(left) else {
            let _ = child.kill();
            panic!("no 'listening' line within 30 s in:\n{log}");
        };
        log.push_str(&line);
        log.push('\n');
        if let Some(pos) = line.find("local_addr=") {
            let rest = &line[pos + "local_addr=".len()..];
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    let resp = std::net::TcpStream::connect(&addr);
    assert!(resp.is_ok(), "cannot connect to {addr}");
    // The bot's first attempt to reach Telegram may come after the admin port
    // listens: wait for its log line (bounded) before stopping the process.
    while !log.contains("cannot reach Telegram") {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(line) = rx.recv_timeout(left) else {
            let _ = child.kill();
            panic!("no Telegram retry logged within 30 s in:\n{log}");
        };
        log.push_str(&line);
        log.push('\n');
    }

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert_eq!(exit.code(), Some(0));
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(5)) {
        log.push_str(&line);
        log.push('\n');
    }
    assert!(log.contains("stopped"), "no clean stop in:\n{log}");
    assert!(
        !log.contains("sekrit-key-value"),
        "a secret reached the log"
    );
    assert!(
        !log.contains("SECRET-bot-token-value"),
        "the bot token reached the log:\n{log}"
    );
    assert!(
        log.contains("cannot reach Telegram"),
        "no retry logged:\n{log}"
    );
    assert!(dir.path().join("m.db").exists(), "the database was created");
}

/// The binary on a temp database, Telegram unreachable; returns the child,
/// its stderr lines and the admin address once it listens.
fn start_serving(
    dir: &std::path::Path,
) -> (
    std::process::Child,
    std::sync::mpsc::Receiver<String>,
    String,
) {
    let mut child = meteobot()
        .env(
            "DATABASE_URL",
            format!("sqlite:{}", dir.join("m.db").display()),
        )
        .env("ADMIN_ADDR", "127.0.0.1:0")
        .env("TELOXIDE_TOKEN", "424242:SECRET-bot-token-value")
        .env("TELOXIDE_API_URL", "http://127.0.0.1:9/")
        .env("OPEN_METEO_API_URL", "http://127.0.0.1:9/")
        .env("OPEN_METEO_GEOCODING_URL", "http://127.0.0.1:9/")
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(line) = rx.recv_timeout(left) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("no 'listening' line within 30 s");
        };
        if let Some(pos) = line.find("local_addr=") {
            let rest = &line[pos + "local_addr=".len()..];
            let addr = rest.split_whitespace().next().unwrap().to_owned();
            return (child, rx, addr);
        }
    }
}

/// Issue 9: a client that sends half a request (no final CRLF) must not keep
/// the process alive after SIGTERM: in-flight requests get a bounded grace,
/// then the rest are dropped and the process exits 0.
#[test]
fn a_half_sent_request_does_not_block_sigterm() {
    use std::io::Write;

    let dir = tempfile::tempdir().unwrap();
    let (mut child, rx, addr) = start_serving(dir.path());
    let mut half = std::net::TcpStream::connect(&addr).unwrap();
    half.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap();
    half.flush().unwrap();
    // A second client that opened a connection and said nothing at all.
    let _silent = std::net::TcpStream::connect(&addr).unwrap();
    // Another process: its clock cannot be injected. This pause only gives
    // the server time to accept both connections before SIGTERM (so the
    // test is about open connections); what is asserted is the positive
    // outcome below, a clean exit within the grace period.
    std::thread::sleep(Duration::from_millis(300));

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let started = Instant::now();
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        if started.elapsed() > Duration::from_secs(15) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("still running 15 s after SIGTERM with a half-sent request open");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(exit.code(), Some(0));
    let mut log = Vec::new();
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(5)) {
        log.push(line);
    }
    assert!(
        log.iter().any(|l| l.contains("stopped")),
        "no clean stop in:\n{}",
        log.join("\n")
    );
    drop(half);
}
