//! The daily digest worker against a temp-file store and a fake Open-Meteo
//! (wiremock), with explicit instants (`step(now)`) or a manual clock: one
//! digest per chat and local day, stepping every minute across day
//! boundaries, a restart and Rome's 2026 daylight-saving changes; the
//! content read from a scripted stored series; one refresh for a stale
//! series and none for a fresh one; bounded batches.

mod support;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use meteobot::clock::ManualClock;
use meteobot::digest::{DigestReport, DigestSettings, DigestWorker};
use meteobot::domain::{ChatId, ChatZone, LocalTime, QuietHours, Temperature, TemperatureBand};
use meteobot::forecasts::{ForecastSettings, Forecasts};
use meteobot::metrics::Metrics;
use meteobot::store::{NewSubscription, OutboxRow, SeriesRow, Store};
use meteobot::weather::grid::Cell;
use meteobot::weather::{Coordinates, OpenMeteo, Series, Step, WeatherProvider, http_client};
use support::fake_weather::{FakeForecast, Mode};
use tokio::sync::Notify;
use wiremock::MockServer;

const HOUR: Duration = Duration::from_secs(3600);
const ROME: Coordinates = Coordinates {
    latitude: 41.89193,
    longitude: 12.51133,
};
const MILAN: Coordinates = Coordinates {
    latitude: 45.46427,
    longitude: 9.18951,
};

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn time(s: &str) -> LocalTime {
    LocalTime::parse(s).unwrap()
}

fn rome_zone() -> ChatZone {
    ChatZone::parse("Europe/Rome").unwrap()
}

/// What a subscription watches.
#[derive(Clone, Copy, Default)]
struct Watch {
    min: Option<f64>,
    max: Option<f64>,
    rain: bool,
}

struct Rig {
    store: Store,
    weather: MockServer,
    fake: FakeForecast,
    settings: ForecastSettings,
    _dir: tempfile::TempDir,
}

/// Series stay fresh for `max_age`.
async fn rig(max_age: Duration) -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::connect(&meteobot::store::scratch::database_url(dir.path(), "d").await)
        .await
        .unwrap();
    let weather = MockServer::start().await;
    let fake = FakeForecast::mount(&weather).await;
    Rig {
        store,
        weather,
        fake,
        settings: ForecastSettings {
            grid: 0.05,
            refresh: HOUR,
            max_age,
            daily_budget: None,
        },
        _dir: dir,
    }
}

impl Rig {
    /// A worker as `startup` builds it, with a forecast cache of its own
    /// over the shared store: a new one is a restart.
    fn worker(&self, settings: DigestSettings) -> DigestWorker {
        let url = reqwest::Url::parse(&self.weather.uri()).unwrap();
        let provider: Arc<dyn WeatherProvider> = Arc::new(OpenMeteo::new(
            http_client(Duration::from_secs(2)),
            url.clone(),
            url,
        ));
        let metrics = Metrics::new();
        let forecasts =
            Forecasts::new(self.store.clone(), provider, metrics.clone(), self.settings);
        DigestWorker::new(
            self.store.clone(),
            forecasts,
            metrics,
            Arc::new(Notify::new()),
        )
        .with_settings(settings)
    }

    fn cell(&self, point: Coordinates) -> Cell {
        Cell::of(point, self.settings.grid)
    }

    async fn subscribe(&self, chat: i64, city: &str, point: Coordinates, watch: Watch) {
        let t = |v: Option<f64>| v.map(|v| Temperature::new(v).unwrap());
        let new = NewSubscription {
            chat_id: ChatId::new(chat).unwrap(),
            city,
            country: "IT",
            latitude: point.latitude,
            longitude: point.longitude,
            band: TemperatureBand::new(t(watch.min), t(watch.max)).unwrap(),
            rain: watch.rain,
            snow: false,
            ahead: None,
        };
        self.store
            .insert_subscription(new, 20)
            .await
            .unwrap()
            .unwrap();
    }

    async fn digest_at(&self, chat: i64, zone: Option<ChatZone>, at: &str) {
        if let Some(zone) = zone {
            self.store.set_chat_timezone(chat, zone).await.unwrap();
        }
        self.store.set_digest(chat, Some(time(at))).await.unwrap();
    }

    /// Stores `series` for the cell of `point` (before a worker reads it).
    async fn store_series(&self, point: Coordinates, series: &Series) {
        let cell = self.cell(point);
        let row = SeriesRow {
            lat_e4: i64::from(cell.lat_e4),
            lon_e4: i64::from(cell.lon_e4),
            fetched_at_ms: series.fetched_at.timestamp_millis(),
            series: serde_json::to_string(series).unwrap(),
        };
        self.store.save_series(&[row]).await.unwrap();
    }

    async fn digests(&self) -> Vec<OutboxRow> {
        let mut rows = self.store.outbox_rows().await.unwrap();
        rows.retain(|r| r.kind == "digest");
        rows
    }

    /// `(dedup key, created at)` of every digest.
    async fn sent(&self) -> Vec<(String, DateTime<Utc>)> {
        self.digests()
            .await
            .into_iter()
            .map(|r| {
                let at = DateTime::from_timestamp_millis(r.created_at_ms).unwrap();
                (r.dedup_key, at)
            })
            .collect()
    }
}

/// Hourly steps from `from` for `hours` hours: `temperature(h)`, `rain(h)`
/// mm with probability `p(h)`.
fn hourly(
    fetched_at: DateTime<Utc>,
    from: DateTime<Utc>,
    hours: i64,
    step: impl Fn(i64) -> (f32, f32, Option<u8>),
) -> Series {
    Series {
        fetched_at,
        utc_offset_seconds: 7200,
        timezone: Some("Europe/Rome".into()),
        fine: vec![],
        coarse: (0..hours)
            .map(|h| {
                let (temperature_c, rain_mm, probability) = step(h);
                Step {
                    at: (from + TimeDelta::hours(h)).timestamp(),
                    temperature_c,
                    rain_mm,
                    snow_cm: 0.0,
                    probability,
                    code: None,
                }
            })
            .collect(),
    }
}

/// Steps `worker` once a minute over `[from, until)`.
async fn every_minute(worker: &DigestWorker, from: DateTime<Utc>, until: DateTime<Utc>) {
    let mut now = from;
    while now < until {
        worker.step(now).await.unwrap();
        now += TimeDelta::minutes(1);
    }
}

#[tokio::test]
async fn one_digest_per_chat_and_local_day_across_midnight_and_a_restart() {
    // Series never go stale here: no upstream call at all.
    let rig = rig(Duration::from_secs(30 * 86_400)).await;
    rig.subscribe(1, "Rome", ROME, Watch::default()).await;
    rig.store_series(
        ROME,
        &hourly(
            utc("2026-06-01T00:00:00Z"),
            utc("2026-06-01T00:00:00Z"),
            72,
            |_| (20.0, 0.0, None),
        ),
    )
    .await;
    rig.digest_at(1, Some(rome_zone()), "07:30").await;
    // Inside quiet hours: sent, without sound.
    rig.store
        .set_quiet_hours(1, Some(QuietHours::parse("22:00-08:00").unwrap()))
        .await
        .unwrap();
    // No zone: UTC. No places: the short digest.
    rig.digest_at(2, None, "07:30").await;
    // Blocked the bot: none.
    rig.subscribe(3, "Rome", ROME, Watch::default()).await;
    rig.digest_at(3, Some(rome_zone()), "07:30").await;
    rig.store.deactivate_chat(3, "blocked").await.unwrap();

    let first = rig.worker(DigestSettings::default());
    every_minute(
        &first,
        utc("2026-06-01T04:00:00Z"),
        utc("2026-06-01T12:00:00Z"),
    )
    .await;
    // A restart: a new worker over the same store, the same minutes again
    // and on past midnight.
    drop(first);
    let second = rig.worker(DigestSettings::default());
    every_minute(
        &second,
        utc("2026-06-01T05:00:00Z"),
        utc("2026-06-02T09:00:00Z"),
    )
    .await;
    assert_eq!(
        rig.sent().await,
        vec![
            ("digest:1:2026-06-01".into(), utc("2026-06-01T05:30:00Z")),
            ("digest:2:2026-06-01".into(), utc("2026-06-01T07:30:00Z")),
            ("digest:1:2026-06-02".into(), utc("2026-06-02T05:30:00Z")),
            ("digest:2:2026-06-02".into(), utc("2026-06-02T07:30:00Z")),
        ]
    );
    let silent: Vec<bool> = rig.digests().await.iter().map(|r| r.silent).collect();
    assert_eq!(silent, [true, false, true, false]);
    let texts: Vec<String> = rig.digests().await.into_iter().map(|r| r.text).collect();
    assert!(texts[0].contains("📍 Rome, IT"), "{}", texts[0]);
    assert!(texts[1].contains("you watch no places yet"), "{}", texts[1]);
    assert_eq!(rig.fake.requests(), 0);
    // Off: nothing the next day; turned on again the same day, nothing
    // twice.
    rig.store.set_digest(1, None).await.unwrap();
    rig.store.set_digest(2, None).await.unwrap();
    rig.store.set_digest(2, Some(time("08:00"))).await.unwrap();
    let third = rig.worker(DigestSettings::default());
    every_minute(
        &third,
        utc("2026-06-02T09:00:00Z"),
        utc("2026-06-02T12:00:00Z"),
    )
    .await;
    assert_eq!(rig.sent().await.len(), 4);
}

#[tokio::test]
async fn rome_daylight_saving_days_give_one_digest_each() {
    let rig = rig(Duration::from_secs(30 * 86_400)).await;
    // 02:30 does not exist on 29 March 2026 in Rome and happens twice on
    // 25 October.
    rig.digest_at(1, Some(rome_zone()), "02:30").await;
    let worker = rig.worker(DigestSettings::default());
    every_minute(
        &worker,
        utc("2026-03-28T00:00:00Z"),
        utc("2026-03-30T00:00:00Z"),
    )
    .await;
    every_minute(
        &worker,
        utc("2026-10-24T00:00:00Z"),
        utc("2026-10-26T00:00:00Z"),
    )
    .await;
    assert_eq!(
        rig.sent().await,
        vec![
            // 02:30 CET.
            ("digest:1:2026-03-28".into(), utc("2026-03-28T01:30:00Z")),
            // Skipped: the first valid minute after it, 03:00 CEST.
            ("digest:1:2026-03-29".into(), utc("2026-03-29T01:00:00Z")),
            // 02:30 CEST.
            ("digest:1:2026-10-24".into(), utc("2026-10-24T00:30:00Z")),
            // Repeated: the first 02:30 (CEST), not the second (CET).
            ("digest:1:2026-10-25".into(), utc("2026-10-25T00:30:00Z")),
        ]
    );
}

#[tokio::test]
async fn the_digest_names_the_extremes_the_wet_periods_and_the_limits_crossed() {
    let rig = rig(3 * HOUR).await;
    rig.subscribe(
        1,
        "Rome",
        ROME,
        Watch {
            max: Some(25.0),
            rain: true,
            ..Watch::default()
        },
    )
    .await;
    // Same place, a limit the day keeps within.
    rig.subscribe(
        1,
        "Rome",
        ROME,
        Watch {
            min: Some(5.0),
            ..Watch::default()
        },
    )
    .await;
    rig.subscribe(
        1,
        "Milan",
        MILAN,
        Watch {
            min: Some(15.0),
            ..Watch::default()
        },
    )
    .await;
    let now = utc("2026-06-01T05:00:00Z"); // 07:00 in Rome
    let fetched = now - TimeDelta::minutes(20);
    // From 04:00Z: 12 °C rising 1 °C an hour to 27 °C at 19:00Z, then
    // falling; rain in the hours ending 09:00Z (60 %) and 10:00Z (80 %),
    // i.e. 10:00–12:00 in Rome.
    rig.store_series(
        ROME,
        &hourly(fetched, utc("2026-06-01T04:00:00Z"), 30, |h| {
            let t = if h <= 15 { 12 + h } else { 27 - (h - 15) };
            match h {
                5 => (t as f32, 1.5, Some(60)),
                6 => (t as f32, 0.8, Some(80)),
                _ => (t as f32, 0.0, Some(5)),
            }
        }),
    )
    .await;
    rig.store_series(
        MILAN,
        &hourly(fetched, utc("2026-06-01T04:00:00Z"), 30, |_| {
            (18.0, 0.0, None)
        }),
    )
    .await;
    rig.digest_at(1, Some(rome_zone()), "07:00").await;
    let worker = rig.worker(DigestSettings::default());
    let report = worker.step(now).await.unwrap();
    assert_eq!(
        report,
        DigestReport {
            due: 1,
            written: 1,
            deferred: 0,
            refreshed: 0
        }
    );
    let text = rig.digests().await.remove(0).text;
    assert_eq!(
        text,
        "🗓 Your daily digest for today, Monday 1 June (times in Europe/Rome)\n\n\
         📍 Rome, IT\n\
         🌡 13 °C to 27 °C, warmest around 21:00\n\
         🌧 rain 10:00–12:00 (80 %)\n\
         ⚠️ beyond your limits: above 25 °C · rain\n\n\
         📍 Milan, IT\n\
         🌡 about 18 °C all along\n\
         🌤 no rain or snow expected\n\
         ✅ within your limits"
    );
    assert_eq!(rig.fake.requests(), 0);
}

#[tokio::test]
async fn a_stale_series_is_refreshed_once_and_a_fresh_one_is_not() {
    let rig = rig(3 * HOUR).await;
    // The fake builds its forecast around the wall clock.
    let now = Utc::now();
    let hour = now - TimeDelta::seconds(now.timestamp().rem_euclid(3600));
    let dry = |_| (20.0, 0.0, None);
    rig.store_series(
        ROME,
        &hourly(
            now - TimeDelta::hours(5),
            hour - TimeDelta::hours(5),
            60,
            dry,
        ),
    )
    .await;
    rig.store_series(MILAN, &hourly(now - TimeDelta::minutes(10), hour, 60, dry))
        .await;
    // Two chats in Rome's cell, one in Milan's; due all day.
    for (chat, city, point) in [(1, "Rome", ROME), (2, "Rome", ROME), (3, "Milan", MILAN)] {
        rig.subscribe(chat, city, point, Watch::default()).await;
        rig.digest_at(chat, None, "00:00").await;
    }
    let worker = rig.worker(DigestSettings::default());
    let report = worker.step(now).await.unwrap();
    assert_eq!((report.written, report.refreshed), (3, 1));
    assert_eq!(rig.fake.requests(), 1);
    let asked = rig.fake.locations_requested();
    assert_eq!(asked.len(), 1);
    let rome = rig.cell(ROME).centre();
    assert!((asked[0].0 - rome.latitude).abs() < 0.01, "{asked:?}");
    for row in rig.digests().await {
        assert!(!row.text.contains("🕒"), "nothing stale: {}", row.text);
        assert!(row.text.contains("🌡 about 20 °C all along"), "{}", row.text);
    }
}

#[tokio::test]
async fn a_stale_series_that_cannot_be_refreshed_is_shown_with_its_age() {
    let rig = rig(3 * HOUR).await;
    rig.fake.set(Mode::ServerError);
    let now = Utc::now();
    rig.store_series(
        ROME,
        &hourly(
            now - TimeDelta::hours(5),
            now - TimeDelta::hours(5),
            60,
            |_| (20.0, 0.0, None),
        ),
    )
    .await;
    rig.subscribe(1, "Rome", ROME, Watch::default()).await;
    rig.digest_at(1, None, "00:00").await;
    let report = rig
        .worker(DigestSettings::default())
        .step(now)
        .await
        .unwrap();
    assert_eq!((report.written, report.refreshed), (1, 1));
    assert_eq!(rig.fake.requests(), 1);
    let text = rig.digests().await.remove(0).text;
    assert!(
        text.contains("🕒 forecast from 5 h ago: no newer one could be fetched"),
        "{text}"
    );
}

#[tokio::test]
async fn upstream_refreshes_per_step_are_bounded() {
    let rig = rig(3 * HOUR).await;
    let now = Utc::now();
    for (chat, city, point) in [(1, "Rome", ROME), (2, "Milan", MILAN)] {
        // No stored series: each place needs one fetch.
        rig.subscribe(chat, city, point, Watch::default()).await;
        rig.digest_at(chat, None, "00:00").await;
    }
    let worker = rig.worker(DigestSettings {
        refreshes: 1,
        ..DigestSettings::default()
    });
    let first = worker.step(now).await.unwrap();
    assert_eq!((first.written, first.deferred, first.refreshed), (1, 1, 1));
    let second = worker.step(now + TimeDelta::minutes(1)).await.unwrap();
    assert_eq!(
        (second.written, second.deferred, second.refreshed),
        (1, 0, 1)
    );
    assert_eq!(rig.fake.requests(), 2);
    for row in rig.digests().await {
        assert!(row.text.contains("🌡 about 20 °C all along"), "{}", row.text);
    }
}

#[tokio::test]
async fn many_chats_are_served_in_bounded_batches() {
    let rig = rig(3 * HOUR).await;
    for chat in 1..=7 {
        rig.digest_at(chat, None, "07:30").await;
    }
    let worker = rig.worker(DigestSettings {
        batch: 3,
        ..DigestSettings::default()
    });
    let now = utc("2026-06-01T08:00:00Z");
    let mut steps = Vec::new();
    for minute in 0..4 {
        let report = worker.step(now + TimeDelta::minutes(minute)).await.unwrap();
        steps.push((report.written, report.deferred));
    }
    assert_eq!(steps, vec![(3, 4), (3, 1), (1, 0), (0, 0)]);
    assert_eq!(rig.digests().await.len(), 7);
}

#[tokio::test]
async fn the_loop_steps_at_the_injected_clock() {
    let rig = rig(3 * HOUR).await;
    rig.digest_at(1, Some(rome_zone()), "07:30").await;
    // Years away from the wall clock: only the injected clock can make it due.
    let clock = ManualClock::starting_at(utc("2031-06-01T05:31:00Z"));
    let worker = rig
        .worker(DigestSettings {
            every: Duration::from_millis(10),
            ..DigestSettings::default()
        })
        .with_clock(Arc::new(clock.clone()));
    let (trigger, listener) = meteobot::shutdown::channel();
    let task = tokio::spawn(worker.run(listener));
    let written = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Some(row) = rig.digests().await.pop() {
                return row;
            }
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the loop writes the due digest");
    assert_eq!(written.dedup_key, "digest:1:2031-06-01");
    assert_eq!(
        written.created_at_ms,
        utc("2031-06-01T05:31:00Z").timestamp_millis()
    );
    trigger.trigger();
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("the loop stops")
        .unwrap();
}
