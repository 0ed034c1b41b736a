//! Both weather providers against a fake upstream (wiremock) serving the
//! documented response shapes, success and failure.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use meteobot::secret::Secret;
use meteobot::weather::*;
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

#[path = "support/fake_weather.rs"]
mod fake_weather;
use fake_weather::{FakeForecast, Mode, SeriesScript};

const OWM_KEY: &str = "sk-test-0123456789abcdef";

fn url(text: &str) -> reqwest::Url {
    reqwest::Url::parse(text).unwrap()
}

fn client() -> reqwest::Client {
    http_client(Duration::from_secs(5))
}

fn open_meteo(server: &MockServer) -> OpenMeteo {
    OpenMeteo::new(client(), url(&server.uri()), url(&server.uri()))
}

fn owm_with(server_uri: &str, client: reqwest::Client) -> OpenWeatherMap {
    OpenWeatherMap::new(client, url(server_uri), Secret::new(OWM_KEY))
}

fn owm(server: &MockServer) -> OpenWeatherMap {
    owm_with(&server.uri(), client())
}

fn point(latitude: f64, longitude: f64) -> Coordinates {
    Coordinates {
        latitude,
        longitude,
    }
}

/// One location of an Open-Meteo `/v1/forecast` answer.
fn om_location(temperature: Value, rain: f64, showers: f64, snowfall: f64, code: u16) -> Value {
    json!({
        "latitude": 45.46, "longitude": 9.18, "generationtime_ms": 0.05,
        "utc_offset_seconds": 0, "timezone": "GMT", "timezone_abbreviation": "GMT",
        "elevation": 120.0,
        "current_units": { "time": "iso8601", "interval": "seconds", "temperature_2m": "°C" },
        "current": {
            "time": "2024-06-01T12:00", "interval": 900, "temperature_2m": temperature,
            "rain": rain, "showers": showers, "snowfall": snowfall, "weather_code": code
        }
    })
}

fn dry(temperature: f64) -> Value {
    om_location(json!(temperature), 0.0, 0.0, 0.0, 1)
}

/// Answers `/v1/forecast` with one location per requested latitude, its
/// temperature equal to the latitude, so order and chunking are visible.
struct EchoLocations;

impl Respond for EchoLocations {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let latitudes: Vec<f64> = request
            .url
            .query_pairs()
            .find(|(key, _)| key == "latitude")
            .map(|(_, list)| list.split(',').map(|x| x.parse().unwrap()).collect())
            .unwrap_or_default();
        let body: Vec<Value> = latitudes.into_iter().map(dry).collect();
        ResponseTemplate::new(200).set_body_json(body)
    }
}

fn latitudes_asked(request: &Request) -> usize {
    let (_, list) = request
        .url
        .query_pairs()
        .find(|(key, _)| key == "latitude")
        .unwrap();
    list.split(',').count()
}

// ---------------------------------------------------------------- Open-Meteo

#[tokio::test]
async fn open_meteo_single_location_is_an_object() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/forecast"))
        .and(query_param("latitude", "45.4642"))
        .and(query_param("longitude", "9.1900"))
        .and(query_param(
            "current",
            "temperature_2m,rain,showers,snowfall,weather_code",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(dry(21.3)))
        .expect(1)
        .mount(&server)
        .await;

    let results = open_meteo(&server).current(&[point(45.4642, 9.19)]).await;

    assert_eq!(results.len(), 1);
    let obs = results[0].as_ref().unwrap();
    assert_eq!(obs.temperature_c, 21.3);
    assert!(!obs.raining && !obs.snowing);
    assert_eq!(obs.observed_at.to_rfc3339(), "2024-06-01T12:00:00+00:00");
    assert_eq!(obs.description.as_deref(), Some("mainly clear"));
}

#[tokio::test]
async fn open_meteo_many_locations_take_one_request_and_keep_order() {
    let server = MockServer::start().await;
    let body = json!([
        om_location(json!(18.0), 0.0, 0.0, 0.0, 0),
        om_location(json!(12.5), 0.4, 0.0, 0.0, 3),
        om_location(json!(-2.0), 0.0, 0.0, 1.1, 3),
    ]);
    Mock::given(method("GET"))
        .and(path("/v1/forecast"))
        .and(query_param("latitude", "45.4642,41.9028,46.0700"))
        .and(query_param("longitude", "9.1900,12.4964,11.1200"))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .expect(1)
        .mount(&server)
        .await;

    let points = [
        point(45.4642, 9.19),
        point(41.9028, 12.4964),
        point(46.07, 11.12),
    ];
    let results = open_meteo(&server).current(&points).await;

    let judged: Vec<(f64, bool, bool)> = results
        .into_iter()
        .map(|r| r.map(|o| (o.temperature_c, o.raining, o.snowing)).unwrap())
        .collect();
    assert_eq!(
        judged,
        [
            (18.0, false, false),
            (12.5, true, false),
            (-2.0, false, true)
        ]
    );
}

#[tokio::test]
async fn open_meteo_rain_and_snow_from_codes_and_amounts() {
    let cases = [
        (om_location(json!(9.0), 0.0, 0.0, 0.0, 61), (true, false)),
        (om_location(json!(9.0), 0.0, 0.0, 0.0, 81), (true, false)),
        (om_location(json!(9.0), 0.0, 0.0, 0.0, 95), (true, false)),
        (om_location(json!(9.0), 0.0, 0.2, 0.0, 2), (true, false)),
        (om_location(json!(0.0), 0.0, 0.0, 0.0, 73), (false, true)),
        (om_location(json!(0.0), 0.0, 0.0, 0.0, 85), (false, true)),
        (om_location(json!(0.0), 0.0, 0.0, 0.5, 3), (false, true)),
        (om_location(json!(0.0), 0.3, 0.0, 0.5, 3), (true, true)),
        (om_location(json!(20.0), 0.0, 0.0, 0.0, 45), (false, false)),
    ];
    let server = MockServer::start().await;
    let body: Vec<Value> = cases.iter().map(|(location, _)| location.clone()).collect();
    Mock::given(path("/v1/forecast"))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(&server)
        .await;

    let points: Vec<_> = (0..cases.len()).map(|i| point(i as f64, 0.0)).collect();
    let results = open_meteo(&server).current(&points).await;

    for ((_, expected), result) in cases.iter().zip(results) {
        let obs = result.unwrap();
        assert_eq!((obs.raining, obs.snowing), *expected, "{obs:?}");
    }
}

#[tokio::test]
async fn open_meteo_splits_more_than_100_points_into_chunks() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/forecast"))
        .respond_with(EchoLocations)
        .expect(2)
        .mount(&server)
        .await;

    let points: Vec<_> = (0..150).map(|i| point(f64::from(i) / 10.0, 1.0)).collect();
    let results = open_meteo(&server).current(&points).await;

    assert_eq!(results.len(), 150);
    for (i, result) in results.into_iter().enumerate() {
        assert_eq!(result.unwrap().temperature_c, i as f64 / 10.0);
    }
    let requests = server.received_requests().await.unwrap();
    let sizes: Vec<usize> = requests.iter().map(latitudes_asked).collect();
    assert_eq!(sizes, [100, 50]);
}

#[tokio::test]
async fn open_meteo_a_failed_chunk_costs_only_its_points() {
    let server = MockServer::start().await;
    // The full first chunk fails, the 20-point second one succeeds.
    Mock::given(path("/v1/forecast"))
        .respond_with(|request: &Request| {
            if latitudes_asked(request) == 100 {
                ResponseTemplate::new(502).set_body_string("<html>bad gateway</html>")
            } else {
                EchoLocations.respond(request)
            }
        })
        .expect(2)
        .mount(&server)
        .await;

    let points: Vec<_> = (0..120).map(|i| point(f64::from(i), 0.0)).collect();
    let results = open_meteo(&server).current(&points).await;

    let failure = WeatherError::UpstreamStatus {
        status: 502,
        message: "Bad Gateway".into(),
    };
    assert!(results[..100].iter().all(|r| r.as_ref() == Err(&failure)));
    assert!(results[100..].iter().all(Result::is_ok));
}

#[tokio::test]
async fn open_meteo_wrong_location_count_is_malformed_for_the_chunk() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/forecast"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([dry(1.0), dry(2.0)])))
        .mount(&server)
        .await;

    let points = [point(1.0, 1.0), point(2.0, 2.0), point(3.0, 3.0)];
    let results = open_meteo(&server).current(&points).await;

    assert_eq!(results.len(), 3);
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Err(WeatherError::Malformed(_))))
    );
}

#[tokio::test]
async fn open_meteo_null_temperature_fails_only_that_location() {
    let server = MockServer::start().await;
    let body = json!([
        dry(5.0),
        om_location(Value::Null, 0.0, 0.0, 0.0, 0),
        dry(7.0)
    ]);
    Mock::given(path("/v1/forecast"))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(&server)
        .await;

    let points = [point(1.0, 1.0), point(2.0, 2.0), point(3.0, 3.0)];
    let results = open_meteo(&server).current(&points).await;

    assert_eq!(results[0].as_ref().unwrap().temperature_c, 5.0);
    assert!(matches!(results[1], Err(WeatherError::Malformed(_))));
    assert_eq!(results[2].as_ref().unwrap().temperature_c, 7.0);
}

#[tokio::test]
async fn open_meteo_400_carries_the_reason() {
    let server = MockServer::start().await;
    let reason = "Latitude must be in range of -90 to 90°. Given: 100.0.";
    Mock::given(path("/v1/forecast"))
        .respond_with(
            ResponseTemplate::new(400).set_body_json(json!({ "error": true, "reason": reason })),
        )
        .mount(&server)
        .await;

    let results = open_meteo(&server).current(&[point(100.0, 0.0)]).await;

    assert_eq!(
        results,
        [Err(WeatherError::UpstreamStatus {
            status: 400,
            message: reason.into()
        })]
    );
}

#[tokio::test]
async fn open_meteo_garbage_is_malformed() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/forecast"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>maintenance</html>"))
        .mount(&server)
        .await;
    Mock::given(path("/v1/search"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{\"results\": [tru"))
        .mount(&server)
        .await;

    let provider = open_meteo(&server);
    let results = provider.current(&[point(1.0, 1.0)]).await;
    assert!(matches!(results[0], Err(WeatherError::Malformed(_))));
    let found = provider.geocode("Milano").await;
    assert!(matches!(found, Err(WeatherError::Malformed(_))));
}

#[tokio::test]
async fn open_meteo_no_points_means_no_request() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/forecast"))
        .respond_with(EchoLocations)
        .expect(0)
        .mount(&server)
        .await;

    assert!(open_meteo(&server).current(&[]).await.is_empty());
}

#[tokio::test]
async fn open_meteo_geocoding_maps_results_in_order() {
    let server = MockServer::start().await;
    let body = json!({
        "results": [
            {
                "id": 3173435, "name": "Milan", "latitude": 45.46427, "longitude": 9.18951,
                "elevation": 122.0, "feature_code": "PPLA", "country_code": "IT",
                "admin1": "Lombardy", "population": 1371498, "country": "Italy",
                "timezone": "Europe/Rome"
            },
            {
                "id": 4710826, "name": "Milan", "latitude": 35.91979,
                "longitude": -88.75895, "country_code": "us", "admin1": "Tennessee"
            },
            { "id": 1, "name": "Milan", "latitude": 0.5, "longitude": 0.5 }
        ],
        "generationtime_ms": 0.9
    });
    Mock::given(method("GET"))
        .and(path("/v1/search"))
        .and(query_param("name", "Milan"))
        .and(query_param("count", "10"))
        .and(query_param("language", "en"))
        .and(query_param("format", "json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .expect(1)
        .mount(&server)
        .await;

    let places = open_meteo(&server).geocode("Milan").await.unwrap();

    assert_eq!(
        places[0],
        Place {
            name: "Milan".into(),
            country: "IT".into(),
            region: Some("Lombardy".into()),
            coordinates: point(45.46427, 9.18951),
            population: Some(1_371_498),
        }
    );
    assert_eq!(places[1].country, "US");
    assert_eq!(places[1].population, None);
    assert_eq!(places[2].country, "");
    assert_eq!(places[2].region, None);
}

#[tokio::test]
async fn open_meteo_geocoding_without_results_is_empty() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/search"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "generationtime_ms": 0.4 })))
        .mount(&server)
        .await;

    let places = open_meteo(&server).geocode("Nowhereville").await.unwrap();

    assert!(places.is_empty());
}

#[tokio::test]
async fn open_meteo_base_urls_may_have_a_prefix_and_trailing_slash() {
    let server = MockServer::start().await;
    Mock::given(path("/om/v1/forecast"))
        .respond_with(ResponseTemplate::new(200).set_body_json(dry(3.0)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/geo/v1/search"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .expect(1)
        .mount(&server)
        .await;

    let provider = OpenMeteo::new(
        client(),
        url(&format!("{}/om/", server.uri())),
        url(&format!("{}/geo", server.uri())),
    );

    assert!(provider.current(&[point(1.0, 2.0)]).await[0].is_ok());
    assert_eq!(provider.geocode("Rome").await, Ok(vec![]));
}

// ------------------------------------------------------- Open-Meteo forecast

const FORECAST_T0: i64 = 1_717_243_200;

/// One location of an Open-Meteo forecast answer (`timeformat=unixtime`,
/// `timezone=auto`), abridged to 3 quarter hours and 3 hours, its
/// temperature everywhere `temperature`.
fn om_forecast(temperature: f64) -> Value {
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

/// Like `EchoLocations`, for forecasts: temperature = latitude.
fn echo_forecast(request: &Request) -> ResponseTemplate {
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

#[tokio::test]
async fn open_meteo_forecast_carries_the_documented_parameters() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/forecast"))
        .and(query_param("latitude", "45.4642,41.9028"))
        .and(query_param("longitude", "9.1900,12.4964"))
        .and(query_param(
            "minutely_15",
            "temperature_2m,rain,snowfall,weather_code",
        ))
        .and(query_param(
            "hourly",
            "temperature_2m,rain,showers,snowfall,precipitation_probability,weather_code",
        ))
        .and(query_param("forecast_minutely_15", "32"))
        .and(query_param("forecast_hours", "49"))
        .and(query_param("timezone", "auto"))
        .and(query_param("timeformat", "unixtime"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!([om_forecast(20.0), om_forecast(9.5)])),
        )
        .expect(1)
        .mount(&server)
        .await;

    let provider = open_meteo(&server);
    let before = chrono::Utc::now();
    let results = provider
        .forecast(&[point(45.4642, 9.19), point(41.9028, 12.4964)])
        .await;

    let request = &server.received_requests().await.unwrap()[0];
    let query = request.url.query().unwrap();
    assert!(query.contains("latitude=45.4642,41.9028&"), "{query}");
    assert!(!query.contains("current="), "{query}");
    assert_eq!(provider.forecast_weight(2), 2.0);
    assert_eq!(provider.forecast_batch(), 100);

    let series = results[0].as_ref().unwrap();
    assert!(series.fetched_at >= before);
    assert_eq!(series.utc_offset_seconds, 7200);
    assert_eq!(series.timezone.as_deref(), Some("Europe/Rome"));
    assert_eq!((series.fine.len(), series.coarse.len()), (3, 3));
    assert!(series.fine[1].raining());
    let hour = series.coarse[1];
    assert_eq!((hour.probability, hour.code), (Some(75), Some(80)));
    assert!((hour.rain_mm - 0.8).abs() < 1e-6);
    assert_eq!(results[1].as_ref().unwrap().coarse[0].temperature_c, 9.5);
}

#[tokio::test]
async fn open_meteo_forecast_single_point_is_an_object() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/forecast"))
        .respond_with(ResponseTemplate::new(200).set_body_json(om_forecast(4.0)))
        .expect(1)
        .mount(&server)
        .await;

    let results = open_meteo(&server).forecast(&[point(1.0, 2.0)]).await;

    assert_eq!(results[0].as_ref().unwrap().fine[0].temperature_c, 4.0);
}

#[tokio::test]
async fn open_meteo_forecast_150_points_take_two_requests_in_order() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/forecast"))
        .respond_with(echo_forecast)
        .expect(2)
        .mount(&server)
        .await;

    let points: Vec<_> = (0..150).map(|i| point(f64::from(i) / 4.0, 1.0)).collect();
    let results = open_meteo(&server).forecast(&points).await;

    assert_eq!(results.len(), 150);
    for (i, result) in results.into_iter().enumerate() {
        let series = result.unwrap();
        assert_eq!(series.coarse[0].temperature_c, i as f32 / 4.0, "point {i}");
    }
    let requests = server.received_requests().await.unwrap();
    let sizes: Vec<usize> = requests.iter().map(latitudes_asked).collect();
    assert_eq!(sizes, [100, 50]);
}

#[tokio::test]
async fn open_meteo_forecast_daily_limit_rate_limits_its_chunk() {
    let server = MockServer::start().await;
    let reason = "Daily API request limit exceeded. Please try again tomorrow.";
    Mock::given(path("/v1/forecast"))
        .respond_with(move |request: &Request| {
            if latitudes_asked(request) == 100 {
                ResponseTemplate::new(429).set_body_json(json!({ "error": true, "reason": reason }))
            } else {
                echo_forecast(request)
            }
        })
        .expect(2)
        .mount(&server)
        .await;

    let points: Vec<_> = (0..130).map(|i| point(f64::from(i) / 10.0, 0.0)).collect();
    let results = open_meteo(&server).forecast(&points).await;

    let limited = WeatherError::RateLimited {
        retry_after: None,
        window: Some(QuotaWindow::Day),
    };
    assert!(results[..100].iter().all(|r| r.as_ref() == Err(&limited)));
    assert!(results[100..].iter().all(Result::is_ok));
    assert!(limited.is_unavailable());
}

#[tokio::test]
async fn open_meteo_forecast_a_bad_location_costs_only_itself() {
    let mut uneven = om_forecast(2.0);
    uneven["hourly"]["rain"] = json!([0.0, 0.1]);
    let mut no_hourly = om_forecast(3.0);
    no_hourly.as_object_mut().unwrap().remove("hourly");
    let mut holes = om_forecast(4.0);
    holes["minutely_15"]["temperature_2m"] = json!([null, 4.0, null]);
    holes["hourly"]["precipitation_probability"] = json!([null, null, null]);
    let body = json!([om_forecast(1.0), uneven, no_hourly, holes]);
    let server = MockServer::start().await;
    Mock::given(path("/v1/forecast"))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(&server)
        .await;

    let points: Vec<_> = (0..4).map(|i| point(f64::from(i), 0.0)).collect();
    let results = open_meteo(&server).forecast(&points).await;

    assert!(results[0].is_ok());
    assert!(matches!(results[1], Err(WeatherError::Malformed(_))));
    assert!(matches!(results[2], Err(WeatherError::Malformed(_))));
    let holes = results[3].as_ref().unwrap();
    assert_eq!(
        holes.fine.len(),
        1,
        "steps without a temperature are dropped"
    );
    assert!(holes.coarse.iter().all(|s| s.probability.is_none()));
}

#[tokio::test]
async fn open_meteo_forecast_wrong_count_or_garbage_fails_the_chunk() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/forecast"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([om_forecast(1.0)])))
        .mount(&server)
        .await;
    let results = open_meteo(&server)
        .forecast(&[point(1.0, 1.0), point(2.0, 2.0)])
        .await;
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Err(WeatherError::Malformed(_))))
    );

    let server = MockServer::start().await;
    Mock::given(path("/v1/forecast"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{\"hourly\": NaN}"))
        .mount(&server)
        .await;
    let results = open_meteo(&server).forecast(&[point(1.0, 1.0)]).await;
    assert!(matches!(results[0], Err(WeatherError::Malformed(_))));
}

#[tokio::test]
async fn open_meteo_forecast_of_no_points_asks_nothing() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/forecast"))
        .respond_with(echo_forecast)
        .expect(0)
        .mount(&server)
        .await;

    assert!(open_meteo(&server).forecast(&[]).await.is_empty());
}

// ------------------------------------------- the fake forecast, end to end

fn minutes(n: u64) -> Duration {
    Duration::from_secs(60 * n)
}

/// The scripted fake read back through the real provider.
async fn scripted(
    script: Option<SeriesScript>,
    points: &[Coordinates],
) -> (FakeForecast, Vec<Series>) {
    let server = MockServer::start().await;
    let fake = FakeForecast::mount(&server).await;
    if let Some(script) = script {
        fake.set_series(script);
    }
    let results = open_meteo(&server).forecast(points).await;
    let series = results.into_iter().map(Result::unwrap).collect();
    // The fake's counters outlive the server.
    (fake, series)
}

fn raining_at(series: &Series, offset: Duration) -> bool {
    let at = chrono::Utc::now() + chrono::TimeDelta::from_std(offset).unwrap();
    series.sample(at).unwrap().raining
}

#[tokio::test]
async fn fake_forecast_rain_at_40_minutes() {
    let script = SeriesScript::dry(15.0).with_rain(minutes(40), Some(minutes(100)));
    let (fake, series) = scripted(Some(script), &[point(45.0, 9.0)]).await;
    let series = &series[0];

    assert!(!raining_at(series, Duration::ZERO));
    assert!(!raining_at(series, minutes(25)));
    assert!(raining_at(series, minutes(45)));
    assert!(raining_at(series, minutes(90)));
    assert!(!raining_at(series, minutes(130)));
    assert_eq!(series.fine.len(), 32);
    assert_eq!(series.coarse.len(), 49);
    let first = series.fine[0].at;
    assert_eq!(first % 900, 0, "quarter hours start on the quarter hour");
    assert!(
        first <= chrono::Utc::now().timestamp() && first > chrono::Utc::now().timestamp() - 900
    );
    assert_eq!(series.coarse[0].at % 3600, 0);
    assert_eq!(fake.requests(), 1);
    assert_eq!(fake.current_requests(), 0);
    assert_eq!(fake.locations_requested(), [(45.0, 9.0)]);
}

#[tokio::test]
async fn fake_forecast_rain_in_three_hours_and_a_dry_one() {
    let script = SeriesScript::dry(15.0).with_rain(minutes(180), None);
    let (_, wet) = scripted(Some(script), &[point(1.0, 1.0)]).await;
    assert!(!raining_at(&wet[0], minutes(150)));
    assert!(raining_at(&wet[0], minutes(185)));
    assert!(raining_at(&wet[0], minutes(24 * 60)), "coarse steps too");

    let (_, dry) = scripted(Some(SeriesScript::dry(15.0)), &[point(1.0, 1.0)]).await;
    let now = chrono::Utc::now();
    let line = dry[0].timeline(now, now + chrono::TimeDelta::hours(48));
    assert!(line.len() > 40);
    assert!(line.iter().all(|s| !s.raining() && !s.snowing()));
    assert!(line.iter().all(|s| s.probability == Some(0)));
}

#[tokio::test]
async fn fake_forecast_heat_from_now_snow_and_zone() {
    let script = SeriesScript::dry(20.0)
        .with_temperature_from(Duration::ZERO, 35.0)
        .with_snow(minutes(60), None)
        .with_probability(40)
        .with_zone("Europe/Rome", 3600);
    let points = [point(1.0, 1.0), point(2.0, 2.0), point(3.0, 3.0)];
    let (fake, series) = scripted(Some(script), &points).await;

    assert_eq!(series.len(), 3);
    let now = chrono::Utc::now();
    assert_eq!(series[2].sample(now).unwrap().temperature_c, 35.0);
    let later = series[0]
        .sample(now + chrono::TimeDelta::minutes(90))
        .unwrap();
    assert!(later.snowing && !later.raining);
    // 15-minute steps carry no probability: the timeline lends the hour's.
    assert_eq!(later.probability, None);
    let line = series[0].timeline(now, now + chrono::TimeDelta::hours(2));
    assert!(line.iter().all(|s| s.probability == Some(40)));
    assert_eq!(series[0].utc_offset_seconds, 3600);
    assert_eq!(series[0].timezone.as_deref(), Some("Europe/Rome"));
    assert_eq!(fake.requests(), 1);
    assert_eq!(
        fake.locations_requested(),
        [(1.0, 1.0), (2.0, 2.0), (3.0, 3.0)]
    );
}

#[tokio::test]
async fn fake_forecast_without_a_script_follows_the_current_mode() {
    let server = MockServer::start().await;
    let fake = FakeForecast::mount(&server).await;
    fake.set(Mode::Weather {
        temperature: 7.0,
        raining: true,
        snowing: false,
    });
    let provider = open_meteo(&server);

    let now = provider.current(&[point(1.0, 1.0)]).await;
    assert!(now[0].as_ref().unwrap().raining);
    let series = provider.forecast(&[point(1.0, 1.0), point(2.0, 2.0)]).await;
    let series = series[1].as_ref().unwrap();
    assert!(
        series
            .fine
            .iter()
            .chain(&series.coarse)
            .all(|s| s.raining())
    );
    assert_eq!(
        series.sample(chrono::Utc::now()).unwrap().temperature_c,
        7.0
    );
    assert_eq!((fake.requests(), fake.current_requests()), (1, 1));
    assert_eq!(fake.locations_requested().len(), 2);

    fake.set(Mode::ServerError);
    let failed = provider.forecast(&[point(1.0, 1.0)]).await;
    assert!(matches!(
        failed[0],
        Err(WeatherError::UpstreamStatus { status: 500, .. })
    ));
    assert_eq!(fake.requests(), 2);
    fake.reset_counts();
    assert_eq!((fake.requests(), fake.locations_requested().len()), (0, 0));
}

// ------------------------------------------------------------ OpenWeatherMap

fn owm_weather(main: &str, description: &str, temp: f64) -> Value {
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

#[tokio::test]
async fn owm_current_asks_for_metric_units_with_the_key() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/data/2.5/weather"))
        .and(query_param("lat", "45.4642"))
        .and(query_param("lon", "9.1900"))
        .and(query_param("units", "metric"))
        .and(query_param("appid", OWM_KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(owm_weather(
            "Rain",
            "light rain",
            14.2,
        )))
        .expect(1)
        .mount(&server)
        .await;

    let results = owm(&server).current(&[point(45.4642, 9.19)]).await;

    let obs = results[0].as_ref().unwrap();
    assert_eq!(obs.temperature_c, 14.2);
    assert!(obs.raining && !obs.snowing);
    assert_eq!(obs.observed_at.timestamp(), 1_717_243_200);
    assert_eq!(obs.description.as_deref(), Some("light rain"));
}

#[tokio::test]
async fn owm_rain_and_snow_from_groups_and_amounts() {
    let mut rain_amount = owm_weather("Clouds", "overcast clouds", 8.0);
    rain_amount["rain"] = json!({ "1h": 0.25 });
    let mut snow_amount = owm_weather("Clouds", "overcast clouds", -1.0);
    snow_amount["snow"] = json!({ "1h": 0.8 });
    let cases = [
        (owm_weather("Clear", "clear sky", 25.0), (false, false)),
        (owm_weather("Drizzle", "light drizzle", 12.0), (true, false)),
        (
            owm_weather("Thunderstorm", "thunderstorm", 20.0),
            (true, false),
        ),
        (owm_weather("Snow", "light snow", -3.0), (false, true)),
        (rain_amount, (true, false)),
        (snow_amount, (false, true)),
    ];
    let server = MockServer::start().await;
    for (i, (body, _)) in cases.iter().enumerate() {
        Mock::given(path("/data/2.5/weather"))
            .and(query_param("lat", format!("{i}.0000")))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .mount(&server)
            .await;
    }

    let points: Vec<_> = (0..cases.len()).map(|i| point(i as f64, 0.0)).collect();
    let results = owm(&server).current(&points).await;

    for ((_, expected), result) in cases.iter().zip(results) {
        let obs = result.unwrap();
        assert_eq!((obs.raining, obs.snowing), *expected, "{obs:?}");
    }
}

/// Records when each request arrived; answers with the latitude as temperature.
#[derive(Clone, Default)]
struct Arrivals(Arc<Mutex<Vec<Instant>>>);

impl Respond for Arrivals {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.0.lock().unwrap().push(Instant::now());
        let (_, lat) = request.url.query_pairs().find(|(k, _)| k == "lat").unwrap();
        let temp: f64 = lat.parse().unwrap();
        ResponseTemplate::new(200)
            .set_body_json(owm_weather("Clear", "clear sky", temp))
            .set_delay(Duration::from_millis(400))
    }
}

#[tokio::test]
async fn owm_runs_a_bounded_number_of_requests_and_keeps_order() {
    let server = MockServer::start().await;
    let arrivals = Arrivals::default();
    Mock::given(path("/data/2.5/weather"))
        .respond_with(arrivals.clone())
        .expect(20)
        .mount(&server)
        .await;

    let points: Vec<_> = (0..20).map(|i| point(f64::from(i), 0.0)).collect();
    let results = owm(&server).current(&points).await;

    let temps: Vec<f64> = results
        .into_iter()
        .map(|r| r.unwrap().temperature_c)
        .collect();
    assert_eq!(temps, (0..20).map(f64::from).collect::<Vec<_>>());
    let mut times = arrivals.0.lock().unwrap().clone();
    times.sort();
    // The 9th request can only start once one of the first 8 has been answered.
    assert!(times[8] - times[0] >= Duration::from_millis(400));
}

#[tokio::test]
async fn owm_geocoding_maps_matches() {
    let server = MockServer::start().await;
    let body = json!([
        {
            "name": "Paris", "local_names": { "fr": "Paris" }, "lat": 48.8588897,
            "lon": 2.3200410, "country": "FR", "state": "Ile-de-France"
        },
        { "name": "Paris", "lat": 33.6617962, "lon": -95.5555130, "country": "US", "state": "Texas" }
    ]);
    Mock::given(method("GET"))
        .and(path("/geo/1.0/direct"))
        .and(query_param("q", "Paris"))
        .and(query_param("limit", "5"))
        .and(query_param("appid", OWM_KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .expect(1)
        .mount(&server)
        .await;

    let places = owm(&server).geocode("Paris").await.unwrap();

    assert_eq!(
        places[0],
        Place {
            name: "Paris".into(),
            country: "FR".into(),
            region: Some("Ile-de-France".into()),
            coordinates: point(48.8588897, 2.3200410),
            population: None,
        }
    );
    assert_eq!(places[1].region.as_deref(), Some("Texas"));
}

#[tokio::test]
async fn owm_geocoding_empty_array_is_empty() {
    let server = MockServer::start().await;
    Mock::given(path("/geo/1.0/direct"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&server)
        .await;

    assert_eq!(owm(&server).geocode("Qwzxv").await, Ok(vec![]));
}

async fn owm_error_for(template: ResponseTemplate) -> WeatherError {
    let server = MockServer::start().await;
    Mock::given(path("/data/2.5/weather"))
        .respond_with(template)
        .mount(&server)
        .await;
    let mut results = owm(&server).current(&[point(1.0, 2.0)]).await;
    results.remove(0).unwrap_err()
}

#[tokio::test]
async fn owm_404_with_string_cod_is_not_found() {
    let body = json!({ "cod": "404", "message": "city not found" });
    let err = owm_error_for(ResponseTemplate::new(404).set_body_json(body)).await;
    assert_eq!(err, WeatherError::NotFound);
}

#[tokio::test]
async fn owm_401_with_numeric_cod_is_unauthorized() {
    let body = json!({
        "cod": 401,
        "message": "Invalid API key. Please see https://openweathermap.org/faq#error401 for more info."
    });
    let err = owm_error_for(ResponseTemplate::new(401).set_body_json(body)).await;
    assert_eq!(err, WeatherError::Unauthorized);
}

#[tokio::test]
async fn owm_429_is_rate_limited_with_retry_after() {
    let body = json!({ "cod": 429, "message": "Your account is temporary blocked" });
    let template = ResponseTemplate::new(429)
        .insert_header("Retry-After", "60")
        .set_body_json(body);
    let err = owm_error_for(template).await;
    assert_eq!(
        err,
        WeatherError::RateLimited {
            retry_after: Some(Duration::from_secs(60)),
            window: None
        }
    );
}

#[tokio::test]
async fn owm_error_cod_inside_a_200_is_still_an_error() {
    let body = json!({ "cod": "404", "message": "city not found" });
    let err = owm_error_for(ResponseTemplate::new(200).set_body_json(body)).await;
    assert_eq!(err, WeatherError::NotFound);

    let body = json!({ "cod": 500, "message": "Internal error" });
    let err = owm_error_for(ResponseTemplate::new(200).set_body_json(body)).await;
    assert_eq!(
        err,
        WeatherError::UpstreamStatus {
            status: 500,
            message: "Internal error".into()
        }
    );
}

#[tokio::test]
async fn owm_server_error_carries_the_message() {
    let body = json!({ "cod": "503", "message": "Service temporarily unavailable" });
    let err = owm_error_for(ResponseTemplate::new(503).set_body_json(body)).await;
    assert_eq!(
        err,
        WeatherError::UpstreamStatus {
            status: 503,
            message: "Service temporarily unavailable".into()
        }
    );
}

#[tokio::test]
async fn owm_garbage_is_malformed() {
    let err = owm_error_for(ResponseTemplate::new(200).set_body_string("not json at all")).await;
    assert!(matches!(err, WeatherError::Malformed(_)), "{err:?}");

    let missing_temp = json!({ "weather": [], "main": {}, "dt": 1, "cod": 200 });
    let err = owm_error_for(ResponseTemplate::new(200).set_body_json(missing_temp)).await;
    assert!(matches!(err, WeatherError::Malformed(_)), "{err:?}");
}

// --------------------------------------------------- OpenWeatherMap forecast

const OWM_T0: i64 = 1_661_871_600;

/// A `/data/2.5/forecast` answer (metric) of three 3-hourly steps, the
/// second rainy, every temperature `temp`.
fn owm_outlook(temp: f64) -> Value {
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

fn lat_of(request: &Request) -> f64 {
    let (_, lat) = request.url.query_pairs().find(|(k, _)| k == "lat").unwrap();
    lat.parse().unwrap()
}

async fn mount_owm_forecast(server: &MockServer, expected: u64) {
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

#[tokio::test]
async fn owm_forecast_makes_a_forecast_and_a_current_call_per_point() {
    let server = MockServer::start().await;
    mount_owm_forecast(&server, 3).await;
    Mock::given(method("GET"))
        .and(path("/data/2.5/weather"))
        .and(query_param("units", "metric"))
        .and(query_param("appid", OWM_KEY))
        .respond_with(|r: &Request| {
            let mut body = owm_weather("Rain", "light rain", lat_of(r) + 0.5);
            body["dt"] = json!(OWM_T0 - 1200);
            body["rain"] = json!({ "1h": 0.4 });
            ResponseTemplate::new(200).set_body_json(body)
        })
        .expect(3)
        .mount(&server)
        .await;

    let provider = owm(&server);
    let points = [point(10.0, 1.0), point(20.0, 2.0), point(30.0, 3.0)];
    let results = provider.forecast(&points).await;

    assert_eq!(provider.forecast_weight(3), 6.0);
    for (i, result) in results.iter().enumerate() {
        let series = result.as_ref().unwrap();
        let lat = 10.0 * (i + 1) as f32;
        assert_eq!(series.utc_offset_seconds, 7200);
        assert_eq!(series.fine.len(), 1);
        let observed = series.fine[0];
        assert_eq!(
            (observed.at, observed.temperature_c),
            (OWM_T0 - 1200, lat + 0.5)
        );
        assert!(observed.raining() && observed.rain_mm == 0.4);
        // The observation leads the 3-hourly steps, so "now" is covered.
        let coarse: Vec<i64> = series.coarse.iter().map(|s| s.at - OWM_T0).collect();
        assert_eq!(coarse, [-1200, 0, 3 * 3600, 6 * 3600]);
        let rainy = series.coarse[2];
        assert_eq!((rainy.temperature_c, rainy.rain_mm), (lat, 3.1));
        assert_eq!((rainy.probability, rainy.code), (Some(83), Some(63)));
        assert_eq!(series.coarse[1].code, Some(3));
    }
}

#[tokio::test]
async fn owm_forecast_without_current_weather_is_coarse_only() {
    let server = MockServer::start().await;
    mount_owm_forecast(&server, 1).await;
    Mock::given(path("/data/2.5/weather"))
        .respond_with(ResponseTemplate::new(502).set_body_string("<html>bad gateway</html>"))
        .expect(1)
        .mount(&server)
        .await;

    let results = owm(&server).forecast(&[point(5.0, 5.0)]).await;

    let series = results[0].as_ref().unwrap();
    assert!(series.fine.is_empty());
    assert_eq!(series.coarse.len(), 3);
}

#[tokio::test]
async fn owm_failed_forecast_fails_the_point_without_a_current_call() {
    let server = MockServer::start().await;
    Mock::given(path("/data/2.5/forecast"))
        .respond_with(|r: &Request| {
            if lat_of(r) == 1.0 {
                ResponseTemplate::new(429).insert_header("Retry-After", "30")
            } else {
                ResponseTemplate::new(200).set_body_json(owm_outlook(lat_of(r)))
            }
        })
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(path("/data/2.5/weather"))
        .and(query_param("lat", "2.0000"))
        .respond_with(ResponseTemplate::new(200).set_body_json(owm_weather("Clear", "clear", 2.0)))
        .expect(1)
        .mount(&server)
        .await;

    let results = owm(&server)
        .forecast(&[point(1.0, 1.0), point(2.0, 2.0)])
        .await;

    assert_eq!(
        results[0],
        Err(WeatherError::RateLimited {
            retry_after: Some(Duration::from_secs(30)),
            window: None
        })
    );
    assert!(results[1].is_ok());
}

#[tokio::test]
async fn owm_forecast_error_cod_or_empty_list_is_an_error() {
    let cases = [
        (
            json!({ "cod": "404", "message": "city not found" }),
            WeatherError::NotFound,
        ),
        (
            json!({ "cod": 401, "message": "Invalid API key" }),
            WeatherError::Unauthorized,
        ),
    ];
    for (body, expected) in cases {
        let server = MockServer::start().await;
        Mock::given(path("/data/2.5/forecast"))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .mount(&server)
            .await;
        assert_eq!(
            owm(&server).forecast(&[point(1.0, 1.0)]).await,
            [Err(expected)]
        );
    }
    let server = MockServer::start().await;
    Mock::given(path("/data/2.5/forecast"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({ "cod": "200", "message": 0, "cnt": 0, "list": [] })),
        )
        .mount(&server)
        .await;
    let results = owm(&server).forecast(&[point(1.0, 1.0)]).await;
    assert!(matches!(results[0], Err(WeatherError::Malformed(_))));
}

#[tokio::test]
async fn owm_forecast_calls_wait_on_the_pacer() {
    let server = MockServer::start().await;
    mount_owm_forecast(&server, 3).await;
    Mock::given(path("/data/2.5/weather"))
        .respond_with(ResponseTemplate::new(200).set_body_json(owm_weather("Clear", "clear", 1.0)))
        .expect(3)
        .mount(&server)
        .await;
    // 600 a minute: one call every 100 ms, six calls.
    let provider = owm(&server).with_calls_per_minute(600);

    let started = Instant::now();
    let results = provider
        .forecast(&[point(1.0, 1.0), point(2.0, 2.0), point(3.0, 3.0)])
        .await;

    assert!(results.iter().all(Result::is_ok));
    assert!(started.elapsed() >= Duration::from_millis(500));
}

#[tokio::test]
async fn owm_forecast_never_leaks_the_key() {
    let echoing_key =
        json!({ "cod": "500", "message": format!("bad appid={OWM_KEY} and {OWM_KEY}") });
    let templates = [
        ResponseTemplate::new(401)
            .set_body_json(json!({ "cod": 401, "message": "Invalid API key" })),
        ResponseTemplate::new(500).set_body_json(echoing_key.clone()),
        ResponseTemplate::new(200).set_body_json(echoing_key),
        ResponseTemplate::new(200)
            .set_body_json(json!({ "cod": "200", "list": [{ "dt": OWM_KEY }] })),
        ResponseTemplate::new(200).set_body_string(format!("{OWM_KEY} garbage")),
    ];
    let mut errors = Vec::new();
    for template in templates {
        let server = MockServer::start().await;
        Mock::given(path("/data/2.5/forecast"))
            .respond_with(template)
            .mount(&server)
            .await;
        errors.extend(
            owm(&server)
                .forecast(&[point(1.0, 1.0)])
                .await
                .into_iter()
                .filter_map(Result::err),
        );
    }
    let unreachable = owm_with("http://127.0.0.1:9", client());
    errors.extend(
        unreachable
            .forecast(&[point(1.0, 1.0)])
            .await
            .into_iter()
            .filter_map(Result::err),
    );
    assert_eq!(errors.len(), 6);
    for kind in ["Network", "Malformed", "UpstreamStatus"] {
        assert!(
            errors.iter().any(|e| format!("{e:?}").starts_with(kind)),
            "{kind}"
        );
    }
    for err in &errors {
        assert_key_hidden(err);
    }
}

// ---------------------------------------------------------------- timeouts

#[tokio::test]
async fn slow_upstreams_time_out() {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    let impatient = http_client(Duration::from_millis(200));

    let owm = owm_with(&server.uri(), impatient.clone());
    assert_eq!(
        owm.current(&[point(1.0, 1.0)]).await,
        [Err(WeatherError::Timeout)]
    );
    assert_eq!(owm.geocode("Rome").await, Err(WeatherError::Timeout));

    let om = OpenMeteo::new(impatient, url(&server.uri()), url(&server.uri()));
    assert_eq!(
        om.current(&[point(1.0, 1.0), point(2.0, 2.0)]).await,
        [Err(WeatherError::Timeout), Err(WeatherError::Timeout)]
    );
    assert!(WeatherError::Timeout.is_unavailable());
}

// ------------------------------------------------------------ secrecy

fn assert_key_hidden(err: &WeatherError) {
    for text in [err.to_string(), format!("{err:?}")] {
        assert!(!text.contains(OWM_KEY), "key leaked in {text}");
    }
}

#[tokio::test]
async fn the_api_key_never_appears_in_an_error() {
    let echoing_key =
        json!({ "cod": 500, "message": format!("bad appid={OWM_KEY} and {OWM_KEY}") });
    let key_as_value = json!({ "main": { "temp": OWM_KEY }, "dt": 1, "weather": [] });
    let templates = [
        ResponseTemplate::new(401)
            .set_body_json(json!({ "cod": 401, "message": "Invalid API key" })),
        ResponseTemplate::new(404)
            .set_body_json(json!({ "cod": "404", "message": "city not found" })),
        ResponseTemplate::new(429),
        ResponseTemplate::new(500).set_body_json(echoing_key.clone()),
        ResponseTemplate::new(200).set_body_json(echoing_key),
        ResponseTemplate::new(200).set_body_json(key_as_value),
        ResponseTemplate::new(200).set_body_string(format!("{OWM_KEY} garbage")),
    ];
    let mut errors = Vec::new();
    for template in templates {
        errors.push(owm_error_for(template.clone()).await);
        let server = MockServer::start().await;
        Mock::given(path("/geo/1.0/direct"))
            .respond_with(template)
            .mount(&server)
            .await;
        errors.push(owm(&server).geocode("Rome").await.unwrap_err());
    }

    // Nothing listens on the discard port: a connection error.
    let unreachable = owm_with("http://127.0.0.1:9", client());
    errors.push(unreachable.geocode("Rome").await.unwrap_err());
    errors.extend(
        unreachable
            .current(&[point(1.0, 1.0)])
            .await
            .into_iter()
            .filter_map(Result::err),
    );
    assert!(errors.iter().any(|e| matches!(e, WeatherError::Network(_))));
    assert!(
        errors
            .iter()
            .any(|e| matches!(e, WeatherError::Malformed(_)))
    );
    assert!(
        errors
            .iter()
            .any(|e| matches!(e, WeatherError::UpstreamStatus { .. }))
    );

    for err in &errors {
        assert_key_hidden(err);
    }
}
