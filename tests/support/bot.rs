//! Drives the bot's handler tree with `teloxide_tests::MockBot`: a temp-file
//! store, wiremock as Open-Meteo, and helpers to read what the bot said.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use meteobot::accounts::{Accounts, jwt_secret};
use meteobot::bot::{BotContext, BotError, schema};
use meteobot::metrics::Metrics;
use meteobot::notifier::SendPace;
use meteobot::store::Store;
use meteobot::subscribe::Subscriber;
use meteobot::weather::{OpenMeteo, WeatherProvider};
use serde_json::{Value, json};
use teloxide::dptree::deps;
use teloxide_tests::{IntoUpdate, MockBot};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub struct BotRig {
    pub ctx: BotContext,
    pub store: Store,
    pub weather: MockServer,
    _dir: tempfile::TempDir,
}

pub async fn bot_rig(admins: Vec<i64>) -> BotRig {
    let dir = tempfile::tempdir().unwrap();
    // MockBot runs every dispatch on a runtime of its own (see below).
    let store =
        Store::connect_unpooled(&meteobot::store::scratch::database_url(dir.path(), "bot").await)
            .await
            .unwrap();
    let weather = MockServer::start().await;
    let url = reqwest::Url::parse(&weather.uri()).unwrap();
    // MockBot runs every dispatch on a runtime of its own: no pooled
    // connections may outlive one.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let provider: Arc<dyn WeatherProvider> = Arc::new(OpenMeteo::new(client, url.clone(), url));
    let metrics = Metrics::new();
    let secret = jwt_secret(None, &store).await.unwrap();
    let config = meteobot::config::Config::local("sqlite::memory:");
    let sla = meteobot::sla::SlaService::from_config(&config, store.clone(), &metrics);
    let forecasts = meteobot::forecasts::Forecasts::new(
        store.clone(),
        Arc::clone(&provider),
        metrics.clone(),
        meteobot::startup::forecast_settings(&config),
    );
    let ctx = BotContext {
        store: store.clone(),
        forecasts,
        accounts: Accounts::new(store.clone(), &secret, Duration::from_secs(3600), metrics),
        sla,
        subscriber: Subscriber::new(store.clone(), Arc::clone(&provider)),
        provider,
        admin_chats: Arc::new(admins),
        // MockBot answers at once; Telegram's limits would only slow the
        // flows down (tests/bot_pacing.rs is about them).
        pace: SendPace::unpaced(),
        clock: meteobot::clock::system(),
    };
    BotRig {
        ctx,
        store,
        weather,
        _dir: dir,
    }
}

impl BotRig {
    pub fn mock(
        &self,
        update: impl IntoUpdate,
    ) -> MockBot<BotError, teloxide_tests::mock_bot::DistributionKey> {
        let mut bot = MockBot::new(update, schema());
        bot.dependencies(deps![self.ctx.clone(), self.ctx.dialogues()]);
        bot
    }

    /// Geocoding answers for `name`: `(name, region, country, lat, lon, population)`.
    pub async fn places(&self, name: &str, places: &[(&str, &str, &str, f64, f64, u64)]) {
        let results: Vec<Value> = places
            .iter()
            .map(|(n, region, c, lat, lon, pop)| {
                json!({ "name": n, "admin1": region, "country_code": c, "latitude": lat,
                        "longitude": lon, "population": pop })
            })
            .collect();
        Mock::given(method("GET"))
            .and(path("/v1/search"))
            .and(query_param("name", name))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "results": results })))
            .mount(&self.weather)
            .await;
    }

    pub async fn unknown_place(&self, name: &str) {
        Mock::given(method("GET"))
            .and(path("/v1/search"))
            .and(query_param("name", name))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(json!({ "generationtime_ms": 0.1 })),
            )
            .mount(&self.weather)
            .await;
    }
}

/// Every text the bot sent in the last dispatch.
pub fn texts<E, K>(bot: &MockBot<E, K>) -> Vec<String>
where
    E: std::fmt::Debug + Send + Sync + 'static,
    K: std::hash::Hash + Eq + Clone + Send + 'static,
{
    bot.get_responses()
        .sent_messages
        .iter()
        .filter_map(|m| m.text().map(str::to_owned))
        .collect()
}

/// The last text the bot sent in the last dispatch.
pub fn last_text<E, K>(bot: &MockBot<E, K>) -> String
where
    E: std::fmt::Debug + Send + Sync + 'static,
    K: std::hash::Hash + Eq + Clone + Send + 'static,
{
    texts(bot).pop().unwrap_or_default()
}

/// The callback data of the buttons under the last message sent.
pub fn buttons<E, K>(bot: &MockBot<E, K>) -> Vec<String>
where
    E: std::fmt::Debug + Send + Sync + 'static,
    K: std::hash::Hash + Eq + Clone + Send + 'static,
{
    let responses = bot.get_responses();
    let Some(last) = responses.sent_messages.last() else {
        return Vec::new();
    };
    let Some(markup) = last.reply_markup() else {
        return Vec::new();
    };
    markup
        .inline_keyboard
        .iter()
        .flatten()
        .filter_map(|b| match &b.kind {
            teloxide::types::InlineKeyboardButtonKind::CallbackData(d) => Some(d.clone()),
            _ => None,
        })
        .collect()
}

/// One hour of a scripted forecast: temperature °C, rain mm, snow cm,
/// precipitation probability %.
pub type Hour = (f64, f64, f64, u8);

/// An Open-Meteo forecast answer for one location, shaped like the real one
/// (`timezone=auto&timeformat=unixtime`): hourly steps from `start` (unix
/// seconds, a whole hour) and quarter-hour steps for its first hour that
/// repeat the first hour's temperature, dry.
pub fn forecast_answer(start: i64, utc_offset: i32, hours: &[Hour]) -> Value {
    let code = |(_, rain, snow, _): &Hour| {
        if *snow > 0.0 {
            73
        } else if *rain > 0.0 {
            63
        } else {
            1
        }
    };
    let quarters: Vec<i64> = (0..4).map(|q| start + q * 900).collect();
    json!({
        "latitude": 41.9, "longitude": 12.5, "generationtime_ms": 0.1,
        "utc_offset_seconds": utc_offset, "timezone": "Europe/Rome",
        "timezone_abbreviation": "GMT+1", "elevation": 21.0,
        "minutely_15": {
            "time": quarters,
            "temperature_2m": vec![hours[0].0; 4],
            "rain": vec![0.0; 4],
            "snowfall": vec![0.0; 4],
            "weather_code": vec![code(&hours[0]); 4],
        },
        "hourly": {
            "time": (0..hours.len() as i64).map(|h| start + h * 3600).collect::<Vec<_>>(),
            "temperature_2m": hours.iter().map(|h| h.0).collect::<Vec<_>>(),
            "rain": hours.iter().map(|h| h.1).collect::<Vec<_>>(),
            "showers": vec![0.0; hours.len()],
            "snowfall": hours.iter().map(|h| h.2).collect::<Vec<_>>(),
            "precipitation_probability": hours.iter().map(|h| h.3).collect::<Vec<_>>(),
            "weather_code": hours.iter().map(code).collect::<Vec<_>>(),
        }
    })
}

/// The current UTC hour, as unix seconds.
pub fn this_hour() -> i64 {
    let now = chrono::Utc::now().timestamp();
    now - now.rem_euclid(3600)
}

impl BotRig {
    /// `/v1/forecast` answers `body` (any point, any number of times).
    pub async fn forecast(&self, body: Value) {
        Mock::given(method("GET"))
            .and(path("/v1/forecast"))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .mount(&self.weather)
            .await;
    }

    /// Stores a series for the cell of `point` as if fetched at `fetched_at`
    /// (before anything reads the forecasts: they load the store once).
    pub async fn stored_series(
        &self,
        point: meteobot::weather::Coordinates,
        series: &meteobot::weather::Series,
    ) {
        let cell = self.ctx.forecasts.cell_of(point);
        let row = meteobot::store::SeriesRow {
            lat_e4: i64::from(cell.lat_e4),
            lon_e4: i64::from(cell.lon_e4),
            fetched_at_ms: series.fetched_at.timestamp_millis(),
            series: serde_json::to_string(series).unwrap(),
        };
        self.store.save_series(&[row]).await.unwrap();
    }
}
