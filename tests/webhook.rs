//! Webhook mode end to end (issue 11): the whole app on port 0 with
//! `WEBHOOK_URL` and `WEBHOOK_SECRET` against the fake Bot API; updates are
//! POSTed to the admin port as Telegram would, answers read from
//! `sendMessage`. "Nothing more" is read from the database (the update is
//! marked handled after its handlers ran), never inferred from a pause.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use meteobot::config::Config;
use meteobot::secret::Secret;
use meteobot::startup::App;
use meteobot::store::Store;
use serde_json::{Value, json};
use support::JWT_SECRET;
use support::e2e::wait_for;
use support::fake_telegram::{FakeTelegram, Reply, TOKEN};
use tempfile::TempDir;

const HOOK_URL: &str = "https://bot.example.org/tg/hook-7f3a";
const HOOK_PATH: &str = "/tg/hook-7f3a";
const SECRET: &str = "webhook_Secret-0123456789";
const HOUR: Duration = Duration::from_secs(3600);

/// One database file several apps (replicas, or an app and its successor)
/// share.
struct Database {
    url: String,
    _dir: TempDir,
}

impl Database {
    async fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        Self {
            url: meteobot::store::scratch::database_url(dir.path(), "app").await,
            _dir: dir,
        }
    }
}

/// The app's configuration in webhook mode over `telegram`; no weather is
/// needed (nothing is subscribed), so its upstream is a closed port.
fn webhook_config(db: &Database, telegram: &FakeTelegram) -> Config {
    let mut c = polling_config(db, telegram);
    c.webhook_url = Some(reqwest::Url::parse(HOOK_URL).unwrap());
    c.webhook_secret = Some(Secret::new(SECRET));
    c
}

fn polling_config(db: &Database, telegram: &FakeTelegram) -> Config {
    let mut c = Config::local(db.url.clone());
    c.telegram_token = Some(Secret::new(TOKEN));
    c.telegram_api_url = Some(telegram.url());
    c.jwt_secret = Some(Secret::new(JWT_SECRET));
    c.poll_interval = 24 * HOUR;
    let closed = reqwest::Url::parse("http://127.0.0.1:9/").unwrap();
    c.open_meteo_api_url = closed.clone();
    c.open_meteo_geocoding_url = closed.clone();
    c.owm_api_url = closed;
    c
}

struct Running {
    addr: SocketAddr,
    store: Store,
    client: reqwest::Client,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

async fn start(config: Config) -> Running {
    let app = App::build(config).await.expect("app builds");
    let addr = app.local_addr();
    let store = app.store().clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(app.run_until(async {
        stopped.await.ok();
    }));
    Running {
        addr,
        store,
        client: reqwest::Client::new(),
        stop,
        task,
    }
}

impl Running {
    /// Graceful stop, bounded.
    async fn stop(self) {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(20), self.task)
            .await
            .expect("the app stops within 20 s")
            .expect("the app task does not panic")
            .expect("the app stops cleanly");
    }

    /// POSTs `body` to the webhook path with `secret` (none: no header);
    /// returns the status.
    async fn post(&self, secret: Option<&str>, body: impl Into<reqwest::Body>) -> u16 {
        let mut request = self
            .client
            .post(format!("http://{}{HOOK_PATH}", self.addr))
            .header("content-type", "application/json")
            .body(body);
        if let Some(secret) = secret {
            request = request.header("X-Telegram-Bot-Api-Secret-Token", secret);
        }
        request.send().await.expect("POST").status().as_u16()
    }

    async fn deliver(&self, update: &Value) -> u16 {
        self.post(Some(SECRET), update.to_string()).await
    }

    async fn handled(&self, update_id: i64) -> bool {
        self.store
            .inbound_row(update_id)
            .await
            .expect("read")
            .is_some_and(|row| row.handled_at_ms.is_some())
    }
}

/// `/readyz` once it answers 200 (workers start asynchronously).
async fn readyz_until_ready(app: &Running) -> Value {
    let url = format!("http://{}/readyz", app.addr);
    let mut last = Value::Null;
    wait_for("/readyz 200", async || {
        let response = app.client.get(&url).send().await.unwrap();
        let ok = response.status().as_u16() == 200;
        last = response.json().await.unwrap_or_default();
        ok
    })
    .await;
    last
}

/// What the user of `chat` says, as the update Telegram would POST.
fn says(telegram: &FakeTelegram, chat: i64, text: &str) -> (i64, Value) {
    telegram.user_says(chat, text);
    let update = telegram
        .take_updates()
        .pop()
        .expect("the update just built");
    (update["update_id"].as_i64().unwrap(), update)
}

/// A list of strings, sent as JSON or as its JSON text (multipart).
fn sorted(values: &Value) -> Vec<String> {
    let values = match values {
        Value::String(text) => serde_json::from_str(text).expect("a JSON list"),
        other => other.clone(),
    };
    let mut kinds: Vec<String> = values
        .as_array()
        .expect("a list")
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    kinds.sort();
    kinds
}

#[tokio::test]
async fn set_webhook_is_called_at_start_with_the_url_the_secret_and_the_kinds_polling_asks_for() {
    let telegram = FakeTelegram::start().await;
    let db = Database::new().await;
    let app = start(webhook_config(&db, &telegram)).await;
    wait_for("setWebhook", async || {
        !telegram.calls("setWebhook").is_empty()
    })
    .await;
    let call = telegram.calls("setWebhook").remove(0);
    assert_eq!(call.status, 200);
    assert_eq!(call.params["url"], json!(HOOK_URL));
    assert_eq!(call.params["secret_token"], json!(SECRET));
    let webhook_kinds = sorted(&call.params["allowed_updates"]);
    // Ready, with the webhook worker in place of the long-polling dispatcher.
    let body = readyz_until_ready(&app).await;
    let workers: Vec<&str> = body["workers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["name"].as_str().unwrap())
        .collect();
    assert!(workers.contains(&"webhook"), "{body}");
    assert!(!workers.contains(&"dispatcher"), "{body}");
    app.stop().await;
    // Stopped: it never polled and never deleted its webhook.
    assert!(telegram.calls("getUpdates").is_empty());
    assert!(telegram.calls("deleteWebhook").is_empty());

    // Long polling (the default) asks for the same kinds.
    let polling = FakeTelegram::start().await;
    let db = Database::new().await;
    let app = start(polling_config(&db, &polling)).await;
    wait_for("a getUpdates with allowed_updates", async || {
        polling.allowed_updates().is_some()
    })
    .await;
    let mut polling_kinds = polling.allowed_updates().unwrap();
    polling_kinds.sort();
    assert_eq!(webhook_kinds, polling_kinds);
    assert!(polling.calls("setWebhook").is_empty());
    app.stop().await;
}

#[tokio::test]
async fn a_wrong_or_missing_secret_is_401_and_a_body_that_is_no_update_is_400() {
    let telegram = FakeTelegram::start().await;
    let db = Database::new().await;
    let app = start(webhook_config(&db, &telegram)).await;
    let (_, update) = says(&telegram, 1, "/start");
    let body = update.to_string();
    assert_eq!(app.post(None, body.clone()).await, 401);
    assert_eq!(app.post(Some("wrong"), body.clone()).await, 401);
    assert_eq!(
        app.post(Some(&format!("{SECRET}x")), body.clone()).await,
        401
    );
    assert_eq!(app.post(Some(""), body).await, 401);
    for not_an_update in ["", "not json", "[]", "{}", r#"{"message":{"text":"hi"}}"#] {
        assert_eq!(
            app.post(Some(SECRET), not_an_update).await,
            400,
            "{not_an_update:?}"
        );
    }
    // Too large for an update.
    let huge = format!(r#"{{"update_id":1,"pad":"{}"}}"#, "x".repeat(2 << 20));
    assert_eq!(app.post(Some(SECRET), huge).await, 413);
    assert_eq!(
        app.store.inbound_count().await.unwrap(),
        0,
        "nothing recorded"
    );
    // Other admin routes are untouched.
    let health = app
        .client
        .get(format!("http://{}/healthz", app.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status().as_u16(), 200);
    app.stop().await;
}

#[tokio::test]
async fn start_posted_to_the_webhook_gets_its_reply() {
    let telegram = FakeTelegram::start().await;
    let db = Database::new().await;
    let app = start(webhook_config(&db, &telegram)).await;
    let chat = 4242;
    let (update_id, update) = says(&telegram, chat, "/start");
    assert_eq!(app.deliver(&update).await, 200);
    // Answered 200: recorded, whatever comes next.
    assert!(app.store.inbound_row(update_id).await.unwrap().is_some());
    wait_for("the reply to /start", async || {
        !telegram.texts_to(chat).is_empty()
    })
    .await;
    assert!(
        telegram.texts_to(chat)[0].starts_with("Hello Ada!"),
        "{:?}",
        telegram.texts_to(chat)
    );
    wait_for("the update marked handled", async || {
        app.handled(update_id).await
    })
    .await;
    // A dialogue goes on over the webhook: the next update is handled after.
    let (next_id, next) = says(&telegram, chat, "/help");
    assert_eq!(app.deliver(&next).await, 200);
    wait_for("the /help update handled", async || {
        app.handled(next_id).await
    })
    .await;
    assert_eq!(telegram.texts_to(chat).len(), 2);
    app.stop().await;
}

#[tokio::test]
async fn an_update_delivered_twice_to_one_or_two_replicas_is_handled_once() {
    let telegram = FakeTelegram::start().await;
    let db = Database::new().await;
    let one = start(webhook_config(&db, &telegram)).await;
    let two = start(webhook_config(&db, &telegram)).await;
    let chat = 77;
    let (update_id, update) = says(&telegram, chat, "/start");
    assert_eq!(one.deliver(&update).await, 200);
    assert_eq!(two.deliver(&update).await, 200);
    assert_eq!(one.deliver(&update).await, 200);
    wait_for("the update handled", async || one.handled(update_id).await).await;
    // Handled means its handlers finished: every reply is out.
    assert_eq!(
        telegram.texts_to(chat).len(),
        1,
        "{:?}",
        telegram.texts_to(chat)
    );
    // Delivered again after it was handled: still once.
    assert_eq!(two.deliver(&update).await, 200);
    assert_eq!(one.store.inbound_count().await.unwrap(), 1);
    assert!(two.handled(update_id).await);
    assert_eq!(telegram.texts_to(chat).len(), 1);
    one.stop().await;
    two.stop().await;
}

#[tokio::test]
async fn an_update_recorded_by_an_app_stopped_before_handling_it_is_handled_by_the_next() {
    let db = Database::new().await;
    // The first app cannot use Telegram (its getMe is refused), so it
    // records but never handles.
    let unreachable = FakeTelegram::start().await;
    unreachable.reply_next_call("getMe", 1_000_000, Reply::unauthorized());
    let first = start(webhook_config(&db, &unreachable)).await;
    let chat = 5150;
    let (update_id, update) = says(&unreachable, chat, "/start");
    assert_eq!(first.deliver(&update).await, 200);
    let row = first.store.inbound_row(update_id).await.unwrap().unwrap();
    assert_eq!(row.handled_at_ms, None);
    first.stop().await;
    assert!(unreachable.received().is_empty());

    let telegram = FakeTelegram::start().await;
    let next = start(webhook_config(&db, &telegram)).await;
    wait_for("the reply from the next app", async || {
        !telegram.texts_to(chat).is_empty()
    })
    .await;
    wait_for("the update handled", async || next.handled(update_id).await).await;
    assert_eq!(telegram.texts_to(chat).len(), 1);
    next.stop().await;
}
