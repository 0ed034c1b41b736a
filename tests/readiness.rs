//! Issue 9, the HTTP side of readiness and metrics: `/readyz` tells the
//! truth about the database and the workers, and clients cannot mint metric
//! series with made-up methods.

use std::net::SocketAddr;

use meteobot::config::Config;
use meteobot::secret::Secret;
use meteobot::startup::App;
use serde_json::Value;
use tempfile::TempDir;

struct Running {
    addr: SocketAddr,
    dir: TempDir,
    client: reqwest::Client,
}

impl Running {
    fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    async fn readyz(&self) -> (u16, Value) {
        let resp = self.client.get(self.url("/readyz")).send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap())
    }

    async fn metrics(&self) -> String {
        let resp = self.client.get(self.url("/metrics")).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        resp.text().await.unwrap()
    }
}

/// The app on a temp database, no bot unless `adjust` sets a token; every
/// upstream is a closed loopback port.
async fn start(adjust: impl FnOnce(&mut Config)) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let url = meteobot::store::scratch::database_url(dir.path(), "app").await;
    start_on(dir, url, adjust).await
}

/// [`start`] on a SQLite file `app.db` in the guard's directory, whatever the
/// engine under test (what happens to SQLite's files).
async fn start_on_sqlite() -> Running {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("app.db").display());
    start_on(dir, url, |_| {}).await
}

async fn start_on(
    dir: tempfile::TempDir,
    url: String,
    adjust: impl FnOnce(&mut Config),
) -> Running {
    let mut config = Config::local(url);
    let closed = reqwest::Url::parse("http://127.0.0.1:9/").unwrap();
    config.open_meteo_api_url = closed.clone();
    config.open_meteo_geocoding_url = closed;
    config.jwt_secret = Some(Secret::new("test-secret-of-enough-length"));
    adjust(&mut config);
    let app = App::build(config).await.expect("app builds");
    let addr = app.local_addr();
    tokio::spawn(app.run_until(std::future::pending()));
    Running {
        addr,
        dir,
        client: reqwest::Client::new(),
    }
}

/// `/readyz` until it answers `want` (workers start asynchronously).
async fn readyz_until(app: &Running, want: u16) -> Value {
    support::e2e::eventually(&format!("/readyz {want}"), async || {
        let (status, body) = app.readyz().await;
        (status == want).then_some(body)
    })
    .await
}

#[tokio::test]
async fn ready_when_the_database_and_workers_are_fine() {
    let app = start(|_| {}).await;
    let body = readyz_until(&app, 200).await;
    assert_eq!(body["state"], 0, "{body}");
    assert_eq!(body["ready"], true);
    assert_eq!(body["message"], "ready");
    assert_eq!(body["database"]["ok"], true);
    assert_eq!(body["migrations"]["ok"], true);
    assert_eq!(body["problems"], serde_json::json!([]));
    // Without a bot token only the SLA evaluator runs.
    let workers = body["workers"].as_array().unwrap();
    assert_eq!(workers.len(), 1, "{body}");
    assert_eq!(workers[0]["name"], "sla_evaluator");
    assert_eq!(workers[0]["ok"], true);
    assert_eq!(workers[0]["running"], true);
    // /healthz stays "the process serves".
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
}

#[tokio::test]
async fn a_deleted_database_file_makes_readyz_503() {
    let app = start_on_sqlite().await;
    readyz_until(&app, 200).await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(app.dir.path().join(format!("app.db{suffix}")));
    }
    let (status, body) = app.readyz().await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["ready"], false);
    assert_eq!(body["state"], 1);
    assert_eq!(body["database"]["ok"], false, "{body}");
    let problems = body["problems"].as_array().unwrap();
    assert!(
        problems
            .iter()
            .any(|p| p.as_str().unwrap().starts_with("database:")),
        "{body}"
    );
    assert!(
        body["message"].as_str().unwrap().contains("database"),
        "{body}"
    );
    // The process still serves.
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
}

#[tokio::test]
async fn an_unreachable_telegram_keeps_the_dispatcher_unready() {
    let app = start(|config| {
        config.telegram_token = Some(Secret::new("123:dummy-token-value"));
        config.telegram_api_url = Some(reqwest::Url::parse("http://127.0.0.1:9/").unwrap());
    })
    .await;
    // The probe needs one failed getMe to name the reason.
    let body = unready_saying(&app, "cannot reach Telegram").await;
    let problems: Vec<&str> = body["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert!(
        problems.contains(&"dispatcher: cannot reach Telegram"),
        "{body}"
    );
    assert!(!body.to_string().contains("dummy-token-value"));
    let names: Vec<&str> = body["workers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "digest",
            "dispatcher",
            "notifier",
            "poller",
            "sla_evaluator"
        ],
        "{body}"
    );
    assert_eq!(body["database"]["ok"], true);
}

/// Series of `http_request_duration_seconds` (one `_count` line each).
fn http_series(metrics: &str) -> Vec<&str> {
    metrics
        .lines()
        .filter(|l| l.starts_with("http_request_duration_seconds_count"))
        .collect()
}

fn made_up_method(i: u32) -> reqwest::Method {
    let letters: String = format!("{:08}", u64::from(i) * 7_919 + 1_234_567)
        .bytes()
        .map(|d| char::from(b'A' + (d - b'0') * 2))
        .collect();
    reqwest::Method::from_bytes(format!("X{letters}{i}").as_bytes()).unwrap()
}

#[tokio::test]
async fn made_up_methods_create_no_new_series() {
    let app = start(|_| {}).await;
    let send_batch = |from: u32| {
        let app = &app;
        async move {
            for i in from..from + 50 {
                let path = if i % 2 == 0 {
                    "/healthz"
                } else {
                    "/no/such/route"
                };
                let resp = app
                    .client
                    .request(made_up_method(i), app.url(path))
                    .send()
                    .await
                    .unwrap();
                assert!(resp.status().is_client_error(), "{}", resp.status());
            }
        }
    };
    send_batch(0).await;
    let first = app.metrics().await;
    assert!(
        !first.contains(made_up_method(3).as_str()),
        "a made-up method became a label"
    );
    let series = http_series(&first).len();
    assert!(
        first.contains(r#"method="other""#),
        "made-up methods count as other:\n{first}"
    );
    send_batch(1_000).await;
    let second = app.metrics().await;
    // The /metrics scrape itself adds one series at most (GET /metrics 200).
    assert!(
        http_series(&second).len() <= series + 1,
        "{series} series, then {}",
        http_series(&second).len()
    );
    assert!(
        second.len() < first.len() + 2_000,
        "/metrics grew from {} to {} bytes",
        first.len(),
        second.len()
    );
    for line in http_series(&second) {
        let method = line
            .split("method=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap();
        assert!(
            [
                "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "other"
            ]
            .contains(&method),
            "{line}"
        );
    }
}

mod support;

/// `/readyz` (always 503 here) until its message says `reason`.
async fn unready_saying(app: &Running, reason: &str) -> Value {
    support::e2e::eventually(&format!("/readyz naming '{reason}'"), async || {
        let (status, body) = app.readyz().await;
        assert_eq!(status, 503, "{body}");
        body["message"]
            .as_str()
            .unwrap()
            .contains(reason)
            .then_some(body)
    })
    .await
}

use support::fake_telegram::{FakeTelegram, Reply, TOKEN};

#[tokio::test]
async fn every_worker_ready_with_telegram_answering() {
    let telegram = FakeTelegram::start().await;
    let app = start(|config| {
        config.telegram_token = Some(Secret::new(TOKEN));
        config.telegram_api_url = Some(telegram.url());
    })
    .await;
    let body = readyz_until(&app, 200).await;
    let workers = body["workers"].as_array().unwrap();
    assert_eq!(workers.len(), 5, "{body}");
    assert!(workers.iter().all(|w| w["ok"] == true), "{body}");
}

#[tokio::test]
async fn a_rejected_bot_token_is_named() {
    let telegram = FakeTelegram::start().await;
    telegram.reply_next_call("getMe", 1_000, Reply::unauthorized());
    let app = start(|config| {
        config.telegram_token = Some(Secret::new(TOKEN));
        config.telegram_api_url = Some(telegram.url());
    })
    .await;
    let body = unready_saying(&app, "rejected").await;
    assert!(
        body["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p == "dispatcher: Telegram rejected TELOXIDE_TOKEN"),
        "{body}"
    );
}

#[tokio::test]
async fn another_process_polling_the_token_is_named() {
    let telegram = FakeTelegram::start().await;
    let app = start(|config| {
        config.telegram_token = Some(Secret::new(TOKEN));
        config.telegram_api_url = Some(telegram.url());
    })
    .await;
    readyz_until(&app, 200).await;
    // Telegram's answer to a second long poll on the same token.
    telegram.reply_next_call("getUpdates", 1, Reply::conflict());
    let body = readyz_until(&app, 503).await;
    assert!(
        body["problems"].as_array().unwrap().iter().any(|p| p
            == "dispatcher: another process is polling this bot (409 Conflict): \
                run one instance per token"),
        "{body}"
    );
}
