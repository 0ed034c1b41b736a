//! Issue 9, the REST side of accounts and input: bounded password hashing
//! (503 + Retry-After beyond the queue), per-client rate limits (429 +
//! Retry-After), whole-field numbers, chat ids within Telegram's range,
//! NFKC/case-insensitive unique usernames without invisible characters,
//! and temperatures with an explicit unit.

mod support;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use meteobot::accounts::{Accounts, HashPool, HashPoolSettings};
use meteobot::admin::{self, AppState, rate_limit};
use meteobot::config::Config;
use meteobot::metrics::Metrics;
use meteobot::secret::Secret;
use meteobot::sla::SlaService;
use meteobot::store::Store;
use meteobot::subscribe::Subscriber;
use meteobot::weather::{self, OpenMeteo};
use serde_json::{Value, json};
use support::{TestApp, spawn_app};

/// A client whose requests come from `ip` (any 127.x.y.z is this host).
fn client_from(ip: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::from(ip))
        .build()
        .unwrap()
}

async fn post_from(
    client: &reqwest::Client,
    url: String,
    body: Value,
) -> (u16, Option<String>, Value) {
    let resp = client.post(url).json(&body).send().await.unwrap();
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let text = resp.text().await.unwrap();
    let body =
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
    (status, retry_after, body)
}

/// The admin router alone, with a hash pool of one worker and no queue,
/// served with peer addresses as the app serves it.
async fn app_with_tiny_hash_pool() -> (SocketAddr, Accounts, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let config = Config::local(meteobot::store::scratch::database_url(dir.path(), "app").await);
    let store = Store::connect(&config.database_url).await.unwrap();
    let metrics = Metrics::new();
    let pool = HashPool::new(HashPoolSettings {
        workers: 1,
        queue: 0,
        max_wait: Duration::from_secs(30),
    });
    let accounts = Accounts::with_hash_pool(
        store.clone(),
        &Secret::new(support::JWT_SECRET),
        Duration::from_secs(3600),
        metrics.clone(),
        pool,
    );
    // Never called: nothing here subscribes.
    let nowhere = reqwest::Url::parse("http://127.0.0.1:9").unwrap();
    let provider = Arc::new(OpenMeteo::new(
        weather::http_client(Duration::from_secs(1)),
        nowhere.clone(),
        nowhere,
    ));
    let state = AppState {
        store: store.clone(),
        accounts: accounts.clone(),
        subscriber: Subscriber::new(store.clone(), provider),
        metrics: metrics.clone(),
        sla: SlaService::from_config(&config, store, &metrics),
        admin_token: None,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let service = admin::router(state).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, service).await });
    (addr, accounts, dir)
}

#[tokio::test]
async fn logins_beyond_the_hashing_queue_are_503_with_retry_after() {
    let (addr, accounts, _dir) = app_with_tiny_hash_pool().await;
    let client = client_from([127, 0, 0, 1]);
    let (status, _, body) = post_from(
        &client,
        format!("http://{addr}/register"),
        json!({ "username": "ada", "password": "s3cret-pw", "telegramChatId": 42 }),
    )
    .await;
    assert_eq!(status, 201, "{body}");

    // The only place of the pool is taken: every password check is refused.
    let held = accounts.hash_pool().occupy().expect("a free place");
    for (path, body) in [
        (
            "/login",
            json!({ "username": "ada", "password": "wrong-pw" }),
        ),
        (
            "/auth/login",
            json!({ "username": "nobody", "password": "wrong-pw" }),
        ),
        (
            "/register",
            json!({ "username": "bea", "password": "s3cret-pw", "telegramChatId": 43 }),
        ),
    ] {
        let (status, retry_after, body) =
            post_from(&client, format!("http://{addr}{path}"), body).await;
        assert_eq!(
            (status, body["state"].clone()),
            (503, json!(1)),
            "{path}: {body}"
        );
        assert!(body["message"].as_str().unwrap().contains("busy"), "{body}");
        let secs: u64 = retry_after.expect("Retry-After").parse().unwrap();
        assert!(secs >= 1, "{secs}");
    }
    drop(held);
    let (status, _, _) = post_from(
        &client,
        format!("http://{addr}/login"),
        json!({ "username": "ada", "password": "s3cret-pw" }),
    )
    .await;
    assert_eq!(status, 200, "free again");
}

#[tokio::test]
async fn logins_over_the_quota_of_one_client_are_429_with_retry_after() {
    let app = spawn_app().await;
    let me = client_from([127, 0, 0, 7]);
    let wrong = json!({ "username": "nobody", "password": "wrong-pw" });
    let quota = rate_limit::LOGIN.burst as usize;
    for i in 0..quota {
        // The bare path and the gateway's count together.
        let path = if i % 2 == 0 { "/login" } else { "/auth/login" };
        let (status, _, body) = post_from(&me, app.url(path), wrong.clone()).await;
        assert_eq!(status, 401, "request {i}: {body}");
    }
    let (status, retry_after, body) = post_from(&me, app.url("/auth/login"), wrong.clone()).await;
    assert_eq!((status, body["state"].clone()), (429, json!(1)), "{body}");
    assert!(body["message"].is_string());
    let secs: u64 = retry_after.expect("Retry-After").parse().unwrap();
    assert!(
        (1..=rate_limit::LOGIN.every.as_secs()).contains(&secs),
        "{secs}"
    );
    // Another client is not concerned.
    let other = client_from([127, 0, 0, 8]);
    let (status, _, _) = post_from(&other, app.url("/login"), wrong).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn register_and_cityevents_have_their_quotas() {
    let app = spawn_app().await;
    let me = client_from([127, 0, 0, 9]);
    // Refused registrations count too (a missing password).
    for i in 0..rate_limit::REGISTER.burst {
        let (status, _, _) = post_from(&me, app.url("/register"), json!({ "username": "x" })).await;
        assert_eq!(status, 400, "request {i}");
    }
    let (status, retry_after, _) =
        post_from(&me, app.url("/auth/register"), json!({ "username": "x" })).await;
    assert_eq!(status, 429);
    assert!(retry_after.is_some());

    for i in 0..rate_limit::CITY_EVENTS.burst {
        let path = match i % 3 {
            0 => "/cityevents".to_owned(),
            1 => "/city_serv/cityevents".to_owned(),
            _ => "/cityevents/not-a-token".to_owned(),
        };
        let (status, _, _) = post_from(&me, app.url(&path), json!({ "city_name": "Rome" })).await;
        assert_eq!(status, 401, "request {i}");
    }
    let (status, retry_after, body) = post_from(
        &me,
        app.url("/city_serv/cityevents/not-a-token"),
        json!({ "city_name": "Rome" }),
    )
    .await;
    assert_eq!((status, body["state"].clone()), (429, json!(1)), "{body}");
    assert!(retry_after.is_some());
    // Routes without a quota are not limited.
    let (status, _, _) = post_from(&me, app.url("/logout"), json!({ "token": "x" })).await;
    assert_eq!(status, 401);
}

async fn rome(app: &TestApp) -> String {
    app.geocoding("Rome", &[("Rome", "IT", 41.89, 12.51, 2_318_895)])
        .await;
    app.register("ada", 42).await
}

#[tokio::test]
async fn a_number_must_be_the_whole_field() {
    let app = spawn_app().await;
    let token = rome(&app).await;
    let path = format!("/cityevents/{token}");
    for bad in ["30ccc", "30cc", "30 x", "1e1", "30.5.1", "30CF", "0x1e"] {
        let (status, body) = app
            .post_form(&path, &[("city_name", "Rome"), ("max_temp", bad)])
            .await;
        assert_eq!(
            (status, body["state"].clone()),
            (400, json!(1)),
            "{bad}: {body}"
        );
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains("maximum temperature"),
            "{body}"
        );
    }
    assert!(app.subscriptions(&token).await.is_empty());
}

#[tokio::test]
async fn a_temperature_with_a_unit_is_read_in_that_unit() {
    let app = spawn_app().await;
    let token = rome(&app).await;
    let path = format!("/cityevents/{token}");
    let (status, body) = app
        .post_form(
            &path,
            &[
                ("city_name", "Rome"),
                ("min_temp", "41F"),
                ("max_temp", "86F"),
            ],
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        (body["min_temp"].clone(), body["max_temp"].clone()),
        (json!(5.0), json!(30.0))
    );
    let (status, body) = app
        .post_json(
            &path,
            json!({ "city_name": "Rome", "min_temp": "-3 °C", "max_temp": "25C" }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        (body["min_temp"].clone(), body["max_temp"].clone()),
        (json!(-3.0), json!(25.0))
    );
    // Without a unit REST stays °C: 86 °C is no plausible weather.
    let (status, _) = app
        .post_form(&path, &[("city_name", "Rome"), ("max_temp", "86")])
        .await;
    assert_eq!(status, 400);
    let stored = app.subscriptions(&token).await;
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[0]["max_temp"], json!(30.0));
}

#[tokio::test]
async fn a_chat_id_is_a_json_number_or_numeric_string_in_telegrams_range() {
    let app = spawn_app().await;
    for (i, bad) in [
        json!(true),
        json!(false),
        json!(1.5),
        json!(1e3),
        json!("12abc"),
        json!("1e3"),
        json!(9_007_199_254_740_993_i64),
        json!(-4_503_599_627_370_496_i64),
        json!(i64::MIN),
        json!("99999999999999999999"),
        json!(0),
    ]
    .into_iter()
    .enumerate()
    {
        // One client each: more than a client's registration quota.
        let client = client_from([127, 0, 1, u8::try_from(i + 1).unwrap()]);
        let (status, _, body) = post_from(
            &client,
            app.url("/register"),
            json!({ "username": format!("user{i}"), "password": "s3cret-pw", "telegramChatId": bad }),
        )
        .await;
        assert_eq!(
            (status, body["state"].clone()),
            (400, json!(1)),
            "{bad}: {body}"
        );
        assert!(
            body["message"].as_str().unwrap().contains("chat id"),
            "{body}"
        );
    }
    // Numbers and numeric strings in range are fine, groups negative.
    app.register("num", 4_503_599_627_370_495).await;
    let (status, body) = app
        .post_json(
            "/register",
            json!({ "username": "str", "password": "s3cret-pw", "telegramChatId": "-1001234567890" }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test]
async fn usernames_equal_up_to_case_and_nfkc_are_one() {
    let app = spawn_app().await;
    app.register("Ada", 42).await;
    for (i, twin) in ["ada", "ADA", " aDa ", "Ａｄａ"].into_iter().enumerate() {
        let (status, body) = app
            .post_json(
                "/register",
                json!({ "username": twin, "password": "s3cret-pw", "telegramChatId": 100 + i }),
            )
            .await;
        assert_eq!(
            (status, body["state"].clone()),
            (409, json!(2)),
            "{twin}: {body}"
        );
    }
    for spelling in ["ada", "ＡＤＡ"] {
        let (status, body) = app
            .post_json(
                "/login",
                json!({ "username": spelling, "password": "s3cret-pw" }),
            )
            .await;
        assert_eq!(status, 200, "{spelling}: {body}");
    }
}

#[tokio::test]
async fn usernames_with_invisible_characters_are_400() {
    let app = spawn_app().await;
    for (i, name) in [
        "ada\u{200B}",
        "a\u{200C}da",
        "a\u{200D}da",
        "\u{202E}ada",
        "ada\u{202A}",
        "\u{2066}ada\u{2069}",
        "\u{FEFF}ada",
        "a\u{00AD}da",
        "ad\u{0007}a",
    ]
    .into_iter()
    .enumerate()
    {
        let (status, body) = app
            .post_json(
                "/register",
                json!({ "username": name, "password": "s3cret-pw", "telegramChatId": 200 + i }),
            )
            .await;
        assert_eq!(
            (status, body["state"].clone()),
            (400, json!(1)),
            "{name:?}: {body}"
        );
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains("invisible or control"),
            "{body}"
        );
    }
}
