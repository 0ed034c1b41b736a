//! Both weather providers against a fake upstream (wiremock) serving the
//! documented response shapes, success and failure.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use meteobot::secret::Secret;
use meteobot::weather::*;
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

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
