//! The poller against a fake weather upstream and a temp-file store: one
//! request per distinct location batch, edge-triggered decisions, and no loss
//! when the upstream fails for a cycle.

mod support;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use meteobot::alerts::Poller;
use meteobot::domain::{ChatId, Temperature, TemperatureBand};
use meteobot::metrics::Metrics;
use meteobot::secret::Secret;
use meteobot::store::{NewSubscription, Store};
use meteobot::weather::{OpenMeteo, OpenWeatherMap, WeatherProvider, http_client};
use serde_json::json;
use support::fake_weather::{FakeForecast, Mode};
use tokio::sync::Notify;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

struct Rig {
    store: Store,
    weather: MockServer,
    _dir: tempfile::TempDir,
}

async fn rig() -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&format!("sqlite:{}", dir.path().join("p.db").display()))
        .await
        .unwrap();
    Rig {
        store,
        weather: MockServer::start().await,
        _dir: dir,
    }
}

impl Rig {
    fn open_meteo(&self) -> Arc<dyn WeatherProvider> {
        let url = reqwest::Url::parse(&self.weather.uri()).unwrap();
        Arc::new(OpenMeteo::new(
            http_client(Duration::from_millis(800)),
            url.clone(),
            url,
        ))
    }

    fn poller(&self, provider: Arc<dyn WeatherProvider>) -> Poller {
        Poller::new(
            self.store.clone(),
            provider,
            Metrics::new(),
            Duration::from_secs(6 * 3600),
            Arc::new(Notify::new()),
        )
    }

    async fn subscribe(&self, chat: i64, lat: f64, lon: f64, max: f64) -> i64 {
        let new = NewSubscription {
            chat_id: ChatId::new(chat).unwrap(),
            city: "Rome",
            country: "IT",
            latitude: lat,
            longitude: lon,
            band: TemperatureBand::new(
                Some(Temperature::new(5.0).unwrap()),
                Some(Temperature::new(max).unwrap()),
            )
            .unwrap(),
            rain: false,
            snow: false,
            ahead: None,
        };
        self.store
            .insert_subscription(new, 20)
            .await
            .unwrap()
            .unwrap()
            .id
    }

    /// 1,000 subscriptions (50 chats × 20) spread over 50 locations.
    async fn thousand_over_fifty(&self) {
        for i in 0..1000i64 {
            let loc = i % 50;
            self.subscribe(1 + i / 20, 40.0 + loc as f64 * 0.1, 12.0, 30.0)
                .await;
        }
    }

    async fn kinds(&self) -> Vec<String> {
        self.store
            .outbox_rows()
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.kind)
            .collect()
    }
}

fn minute(m: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap() + TimeDelta::minutes(m)
}

#[tokio::test]
async fn open_meteo_gets_one_request_per_cycle_for_fifty_locations() {
    let rig = rig().await;
    rig.thousand_over_fifty().await;
    let fake = FakeForecast::mount(&rig.weather).await;
    fake.temperature(35.0);
    let poller = rig.poller(rig.open_meteo());

    let report = poller.poll_once(minute(0)).await.unwrap();
    assert_eq!(
        (
            report.subscriptions,
            report.locations,
            report.failed_locations
        ),
        (1000, 50, 0)
    );
    assert_eq!(
        report.messages, 1000,
        "every subscription enters violation once"
    );
    assert_eq!(rig.weather.received_requests().await.unwrap().len(), 1);

    let report = poller.poll_once(minute(10)).await.unwrap();
    assert_eq!(
        report.messages, 0,
        "still hot: no repeat before the reminder interval"
    );
    assert_eq!(rig.weather.received_requests().await.unwrap().len(), 2);
    assert!(report.statements <= 1 + 2 * 2, "batched writes: {report:?}");
}

#[tokio::test]
async fn openweathermap_gets_one_request_per_location() {
    let rig = rig().await;
    rig.thousand_over_fifty().await;
    Mock::given(method("GET"))
        .and(path("/data/2.5/weather"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "weather": [{"id": 800, "main": "Clear", "description": "clear sky"}],
            "main": {"temp": 21.5}, "dt": 1_800_000_000, "name": "Rome", "cod": 200
        })))
        .expect(50)
        .mount(&rig.weather)
        .await;
    let url = reqwest::Url::parse(&rig.weather.uri()).unwrap();
    let owm = OpenWeatherMap::new(http_client(Duration::from_secs(2)), url, Secret::new("k"))
        .with_calls_per_minute(60_000);
    let report = rig
        .poller(Arc::new(owm))
        .poll_once(minute(0))
        .await
        .unwrap();
    assert_eq!((report.locations, report.messages), (50, 0));
    rig.weather.verify().await;
}

#[tokio::test]
async fn hot_hot_cool_hot_gives_alert_nothing_all_clear_alert() {
    let rig = rig().await;
    rig.subscribe(7, 41.89, 12.51, 30.0).await;
    let fake = FakeForecast::mount(&rig.weather).await;
    let poller = rig.poller(rig.open_meteo());

    let mut per_cycle = Vec::new();
    for (m, t) in [(0, 35.0), (10, 36.0), (20, 24.1), (30, 31.0)] {
        fake.temperature(t);
        per_cycle.push(poller.poll_once(minute(m)).await.unwrap().messages);
    }
    assert_eq!(per_cycle, vec![1, 0, 1, 1]);
    assert_eq!(rig.kinds().await, vec!["alert", "all_clear", "alert"]);
    let rows = rig.store.outbox_rows().await.unwrap();
    assert_eq!(
        rows[0].text,
        "🌡 Rome, IT: 35 °C — above your maximum of 30 °C."
    );
    assert_eq!(
        rows[1].text,
        "✅ Rome, IT is back within your limits (24.1 °C)."
    );
    assert!(rows.iter().all(|r| r.chat_id == 7 && r.status == "pending"));
}

#[tokio::test]
async fn reminders_and_language_follow_the_chat() {
    let rig = rig().await;
    rig.subscribe(8, 41.89, 12.51, 30.0).await;
    rig.store
        .set_chat_language(8, meteobot::text::Language::It)
        .await
        .unwrap();
    let fake = FakeForecast::mount(&rig.weather).await;
    fake.temperature(32.5);
    let poller = rig.poller(rig.open_meteo());
    poller.poll_once(minute(0)).await.unwrap();
    poller.poll_once(minute(6 * 60 - 1)).await.unwrap();
    poller.poll_once(minute(6 * 60)).await.unwrap();
    let rows = rig.store.outbox_rows().await.unwrap();
    assert_eq!(
        rows.iter().map(|r| r.kind.as_str()).collect::<Vec<_>>(),
        vec!["alert", "reminder"]
    );
    assert_eq!(
        rows[0].text,
        "🌡 Rome, IT: 32,5 °C — sopra il tuo massimo di 30 °C."
    );
    assert!(rows[1].text.starts_with("⏰ Ancora fuori dai tuoi limiti:"));
}

#[tokio::test]
async fn a_failing_upstream_costs_one_cycle_and_loses_nothing() {
    let rig = rig().await;
    rig.subscribe(9, 41.89, 12.51, 30.0).await;
    rig.subscribe(9, 45.46, 9.19, 30.0).await;
    let fake = FakeForecast::mount(&rig.weather).await;
    let poller = rig.poller(rig.open_meteo());

    fake.temperature(35.0);
    assert_eq!(poller.poll_once(minute(0)).await.unwrap().messages, 2);
    for (i, failure) in [
        Mode::ServerError,
        Mode::Garbage,
        Mode::Slow(Duration::from_secs(2)),
    ]
    .into_iter()
    .enumerate()
    {
        fake.set(failure);
        let report = poller.poll_once(minute(10 + i as i64)).await.unwrap();
        assert_eq!(
            (report.failed_locations, report.messages),
            (2, 0),
            "{failure:?}"
        );
    }
    // Cooled down while we could not see: the state survived, the all-clear comes now.
    fake.temperature(20.0);
    let report = poller.poll_once(minute(20)).await.unwrap();
    assert_eq!((report.failed_locations, report.messages), (0, 2));
    assert_eq!(
        rig.kinds().await,
        vec!["alert", "alert", "all_clear", "all_clear"]
    );
}

#[tokio::test]
async fn paused_and_deleted_subscriptions_are_not_judged() {
    let rig = rig().await;
    let keep = rig.subscribe(1, 41.89, 12.51, 30.0).await;
    let gone = rig.subscribe(2, 41.89, 12.51, 30.0).await;
    rig.subscribe(3, 41.89, 12.51, 30.0).await;
    rig.store
        .delete_subscription(ChatId::new(2).unwrap(), gone)
        .await
        .unwrap();
    rig.store
        .deactivate_chat(3, "Forbidden: bot was blocked by the user")
        .await
        .unwrap();
    let fake = FakeForecast::mount(&rig.weather).await;
    fake.temperature(35.0);
    let report = rig
        .poller(rig.open_meteo())
        .poll_once(minute(0))
        .await
        .unwrap();
    assert_eq!(report.subscriptions, 1);
    let rows = rig.store.outbox_rows().await.unwrap();
    assert_eq!(
        rows.iter().map(|r| r.subscription_id).collect::<Vec<_>>(),
        vec![Some(keep)]
    );
}

#[tokio::test]
async fn no_subscriptions_means_no_request() {
    let rig = rig().await;
    FakeForecast::mount(&rig.weather).await;
    let report = rig
        .poller(rig.open_meteo())
        .poll_once(minute(0))
        .await
        .unwrap();
    assert_eq!(
        (
            report.subscriptions,
            report.locations,
            report.messages,
            report.statements
        ),
        (0, 0, 0, 1)
    );
    assert!(rig.weather.received_requests().await.unwrap().is_empty());
}
