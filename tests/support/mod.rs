//! Shared by the integration tests: the whole app on port 0 with a temp-file
//! SQLite and a wiremock server standing in for the weather provider.
#![allow(dead_code)] // each test crate uses a different part of this module

pub mod bot;
pub mod drain;
pub mod e2e;
pub mod fake_telegram;
pub mod fake_weather;
pub mod poller_rig;
pub mod sla;
pub mod storm;

use std::net::SocketAddr;
use std::time::Duration;

use meteobot::config::Config;
use meteobot::secret::Secret;
use meteobot::startup::App;
use meteobot::store::Store;
use serde_json::{Value, json};
use tempfile::TempDir;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub const JWT_SECRET: &str = "test-secret-of-enough-length";

pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub weather: MockServer,
    pub store: Store,
    _dir: TempDir,
}

/// A temp directory for the database, a wiremock weather upstream, and the
/// configuration pointing at both (then `adjust`).
async fn test_config(adjust: impl FnOnce(&mut Config)) -> (TempDir, MockServer, Config) {
    let dir = tempfile::tempdir().expect("temp dir");
    let weather = MockServer::start().await;
    let mut config = Config::local(meteobot::store::scratch::database_url(dir.path(), "app").await);
    let base = reqwest::Url::parse(&weather.uri()).unwrap();
    config.open_meteo_api_url = base.clone();
    config.open_meteo_geocoding_url = base.clone();
    config.owm_api_url = base;
    config.weather_timeout = Duration::from_millis(1500);
    config.jwt_secret = Some(Secret::new(JWT_SECRET));
    adjust(&mut config);
    (dir, weather, config)
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    spawn_app_with_clock(adjust, meteobot::clock::system()).await
}

/// [`spawn_app_with`] on an injected wall clock.
pub async fn spawn_app_with_clock(
    adjust: impl FnOnce(&mut Config),
    clock: meteobot::clock::SharedClock,
) -> TestApp {
    let (dir, weather, config) = test_config(adjust).await;
    let app = App::build_with_clock(config, clock)
        .await
        .expect("app builds");
    let addr = app.local_addr();
    let store = app.store().clone();
    tokio::spawn(app.run_until(std::future::pending()));
    TestApp {
        addr,
        client: reqwest::Client::new(),
        weather,
        store,
        _dir: dir,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn post_json(&self, path: &str, body: Value) -> (u16, Value) {
        let resp = self
            .client
            .post(self.url(path))
            .json(&body)
            .send()
            .await
            .unwrap();
        read(resp).await
    }

    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> (u16, Value) {
        let resp = self
            .client
            .post(self.url(path))
            .form(fields)
            .send()
            .await
            .unwrap();
        read(resp).await
    }

    pub async fn post_multipart(&self, path: &str, fields: &[(&str, &str)]) -> (u16, Value) {
        let mut form = reqwest::multipart::Form::new();
        for (k, v) in fields {
            form = form.text(k.to_string(), v.to_string());
        }
        let resp = self
            .client
            .post(self.url(path))
            .multipart(form)
            .send()
            .await
            .unwrap();
        read(resp).await
    }

    pub async fn get_auth(&self, path: &str, token: &str) -> (u16, Value) {
        self.with_bearer(reqwest::Method::GET, path, token).await
    }

    pub async fn delete_auth(&self, path: &str, token: &str) -> (u16, Value) {
        self.with_bearer(reqwest::Method::DELETE, path, token).await
    }

    async fn with_bearer(&self, method: reqwest::Method, path: &str, token: &str) -> (u16, Value) {
        let resp = self
            .client
            .request(method, self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        read(resp).await
    }

    /// Registers `name` with chat id `chat` and returns the token.
    pub async fn register(&self, name: &str, chat: i64) -> String {
        let (status, body) = self
            .post_json(
                "/register",
                json!({ "username": name, "password": "s3cret-pw", "telegramChatId": chat }),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body["token"].as_str().unwrap().to_owned()
    }

    pub async fn subscriptions(&self, token: &str) -> Vec<Value> {
        let (status, body) = self.get_auth("/subscriptions", token).await;
        assert_eq!(status, 200, "{body}");
        body["subscriptions"].as_array().unwrap().clone()
    }

    /// Geocoding answers for `name`: `(name, country, lat, lon, population)`.
    pub async fn geocoding(&self, name: &str, places: &[(&str, &str, f64, f64, u64)]) {
        mount_geocoding(&self.weather, name, places).await;
    }

    /// Geocoding knows nothing about `name` (Open-Meteo omits `results`).
    pub async fn geocoding_unknown(&self, name: &str) {
        Mock::given(method("GET"))
            .and(path("/v1/search"))
            .and(query_param("name", name))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(json!({ "generationtime_ms": 0.3 })),
            )
            .mount(&self.weather)
            .await;
    }
}

async fn read(resp: reqwest::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    let body =
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
    (status, body)
}

/// Where an app lives across restarts: one temp database file, one weather
/// server, one configuration. Each [`AppHome::start`] builds a new app on
/// them, so a test can stop an app and start another where it left off.
pub struct AppHome {
    pub weather: MockServer,
    config: Config,
    _dir: TempDir,
}

/// An app started by [`AppHome::start`]; [`RunningApp::stop`] shuts it down
/// gracefully, as Ctrl-C would.
pub struct RunningApp {
    pub addr: SocketAddr,
    /// Closed once the app has stopped.
    pub store: Store,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl AppHome {
    /// The configuration [`spawn_app_with`] uses, then `adjust`.
    pub async fn new(adjust: impl FnOnce(&mut Config)) -> Self {
        let (dir, weather, config) = test_config(adjust).await;
        Self {
            weather,
            config,
            _dir: dir,
        }
    }

    /// Builds and runs a new app on this home's database.
    pub async fn start(&self) -> RunningApp {
        let app = App::build(self.config.clone()).await.expect("app builds");
        let addr = app.local_addr();
        let store = app.store().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(app.run_until(async {
            stopped.await.ok();
        }));
        RunningApp {
            addr,
            store,
            stop,
            task,
        }
    }

    /// Geocoding answers for `name`, as [`TestApp::geocoding`].
    pub async fn geocoding(&self, name: &str, places: &[(&str, &str, f64, f64, u64)]) {
        mount_geocoding(&self.weather, name, places).await;
    }
}

impl RunningApp {
    /// Triggers the shutdown and waits (bounded) until every task finished
    /// and the store is closed; panics if the app fails or hangs.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        tokio::time::timeout(Duration::from_secs(20), self.task)
            .await
            .expect("the app stops within 20 s")
            .expect("the app task does not panic")
            .expect("the app stops cleanly");
    }
}

/// Geocoding answers for `name` on `server`: `(name, country, lat, lon, population)`.
pub async fn mount_geocoding(
    server: &MockServer,
    name: &str,
    places: &[(&str, &str, f64, f64, u64)],
) {
    let results: Vec<Value> = places
        .iter()
        .map(|(n, c, lat, lon, pop)| {
            json!({ "id": 1, "name": n, "country_code": c, "latitude": lat, "longitude": lon,
                    "population": pop, "admin1": "Region" })
        })
        .collect();
    Mock::given(method("GET"))
        .and(path("/v1/search"))
        .and(query_param("name", name))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "results": results, "generationtime_ms": 0.5
        })))
        .mount(server)
        .await;
}
