//! Shared by the provider tests (`weather_providers`, `weather_forecast`):
//! both HTTP providers pointed at a wiremock server, and answers in the
//! documented shapes of Open-Meteo's forecast and OpenWeatherMap's forecast
//! and current weather.
#![allow(dead_code)] // each test crate uses a different part of this module

use std::time::Duration;

use meteobot::secret::Secret;
use meteobot::weather::{Coordinates, OpenMeteo, OpenWeatherMap, http_client};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

pub const OWM_KEY: &str = "sk-test-0123456789abcdef";

pub fn url(text: &str) -> reqwest::Url {
    reqwest::Url::parse(text).unwrap()
}

pub fn client() -> reqwest::Client {
    http_client(Duration::from_secs(5))
}

pub fn open_meteo(server: &MockServer) -> OpenMeteo {
    OpenMeteo::new(client(), url(&server.uri()), url(&server.uri()))
}

pub fn owm_with(server_uri: &str, client: reqwest::Client) -> OpenWeatherMap {
    OpenWeatherMap::new(client, url(server_uri), Secret::new(OWM_KEY))
}

pub fn owm(server: &MockServer) -> OpenWeatherMap {
    owm_with(&server.uri(), client())
}

pub fn point(latitude: f64, longitude: f64) -> Coordinates {
    Coordinates {
        latitude,
        longitude,
    }
}

/// How many points an Open-Meteo request asks for.
pub fn latitudes_asked(request: &Request) -> usize {
    let (_, list) = request
        .url
        .query_pairs()
        .find(|(key, _)| key == "latitude")
        .unwrap();
    list.split(',').count()
}

// ------------------------------------------------------- Open-Meteo forecast

pub const FORECAST_T0: i64 = 1_717_243_200;

/// One location of an Open-Meteo forecast answer (`timeformat=unixtime`,
/// `timezone=auto`), abridged to 3 quarter hours and 3 hours, its
/// temperature everywhere `temperature`.
pub fn om_forecast(temperature: f64) -> Value {
    let t = FORECAST_T0;
    json!({
        "latitude": 45.46, "longitude": 9.18, "generationtime_ms": 0.2,
        "utc_offset_seconds": 7200, "timezone": "Europe/Rome",
        "timezone_abbreviation": "GMT+2", "elevation": 120.0,
        "minutely_15_units": {
            "time": "unixtime", "temperature_2m": "°C", "rain": "mm",
            "snowfall": "cm", "weather_code": "wmo code"
        },
        "minutely_15": {
            "time": [t, t + 900, t + 1800],
            "temperature_2m": [temperature, temperature, temperature],
            "rain": [0.0, 0.3, 0.0],
            "snowfall": [0.0, 0.0, 0.0],
            "weather_code": [3, 61, 3]
        },
        "hourly_units": {
            "time": "unixtime", "temperature_2m": "°C", "rain": "mm", "showers": "mm",
            "snowfall": "cm", "precipitation_probability": "%", "weather_code": "wmo code"
        },
        "hourly": {
            "time": [t, t + 3600, t + 7200],
            "temperature_2m": [temperature, temperature, temperature],
            "rain": [0.0, 0.3, 0.0],
            "showers": [0.0, 0.5, 0.0],
            "snowfall": [0.0, 0.0, 0.0],
            "precipitation_probability": [10, 75, 20],
            "weather_code": [3, 80, 3]
        }
    })
}

/// Answers `/v1/forecast` with one location per requested latitude, its
/// temperature equal to the latitude, so order and chunking are visible.
pub fn echo_forecast(request: &Request) -> ResponseTemplate {
    let (_, list) = request
        .url
        .query_pairs()
        .find(|(key, _)| key == "latitude")
        .unwrap();
    let body: Vec<Value> = list
        .split(',')
        .map(|x| om_forecast(x.parse().unwrap()))
        .collect();
    ResponseTemplate::new(200).set_body_json(body)
}

// ------------------------------------------------------------ OpenWeatherMap

/// A `/data/2.5/weather` answer (metric).
pub fn owm_weather(main: &str, description: &str, temp: f64) -> Value {
    json!({
        "coord": { "lon": 9.19, "lat": 45.46 },
        "weather": [{ "id": 500, "main": main, "description": description, "icon": "10d" }],
        "base": "stations",
        "main": { "temp": temp, "feels_like": temp, "pressure": 1012, "humidity": 80 },
        "visibility": 10000,
        "wind": { "speed": 2.1, "deg": 200 },
        "clouds": { "all": 75 },
        "dt": 1_717_243_200,
        "sys": { "country": "IT", "sunrise": 1_717_213_000, "sunset": 1_717_268_000 },
        "timezone": 7200, "id": 3173435, "name": "Milan", "cod": 200
    })
}

pub const OWM_T0: i64 = 1_661_871_600;

/// A `/data/2.5/forecast` answer (metric) of three 3-hourly steps, the
/// second rainy, every temperature `temp`.
pub fn owm_outlook(temp: f64) -> Value {
    let item = |dt: i64, id: u16, main: &str, pop: f64| {
        json!({
            "dt": dt,
            "main": {
                "temp": temp, "feels_like": temp, "temp_min": temp, "temp_max": temp,
                "pressure": 1015, "sea_level": 1015, "grnd_level": 933, "humidity": 69,
                "temp_kf": 0
            },
            "weather": [{ "id": id, "main": main, "description": "d", "icon": "04d" }],
            "clouds": { "all": 88 }, "wind": { "speed": 1.1, "deg": 17, "gust": 1.5 },
            "visibility": 10000, "pop": pop, "sys": { "pod": "d" },
            "dt_txt": "2022-08-30 15:00:00"
        })
    };
    let mut rainy = item(OWM_T0 + 3 * 3600, 501, "Rain", 0.83);
    rainy["rain"] = json!({ "3h": 3.1 });
    json!({
        "cod": "200", "message": 0, "cnt": 3,
        "list": [
            item(OWM_T0, 804, "Clouds", 0.0),
            rainy,
            item(OWM_T0 + 6 * 3600, 800, "Clear", 0.1)
        ],
        "city": {
            "id": 3163858, "name": "Zocca", "coord": { "lat": 44.34, "lon": 10.99 },
            "country": "IT", "population": 4593, "timezone": 7200,
            "sunrise": 1661834187, "sunset": 1661882248
        }
    })
}

pub fn lat_of(request: &Request) -> f64 {
    let (_, lat) = request.url.query_pairs().find(|(k, _)| k == "lat").unwrap();
    lat.parse().unwrap()
}

/// Mounts `/data/2.5/forecast` (metric, keyed), expected `expected` times,
/// answering `owm_outlook` at the requested latitude.
pub async fn mount_owm_forecast(server: &MockServer, expected: u64) {
    Mock::given(method("GET"))
        .and(path("/data/2.5/forecast"))
        .and(query_param("units", "metric"))
        .and(query_param("appid", OWM_KEY))
        .respond_with(|r: &Request| {
            ResponseTemplate::new(200).set_body_json(owm_outlook(lat_of(r)))
        })
        .expect(expected)
        .mount(server)
        .await;
}
