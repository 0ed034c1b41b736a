//! Both weather providers against a fake upstream (wiremock): geocoding, and
//! how failures come back (error mapping, a failure costing only its points,
//! timeouts, the OpenWeatherMap key never in an error). The forecast series
//! themselves are in `weather_forecast`.

use std::time::Duration;

use meteobot::weather::*;
use serde_json::json;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

#[path = "support/provider_http.rs"]
mod provider_http;
use provider_http::*;

// ---------------------------------------------------------------- Open-Meteo

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
            timezone: Some("Europe/Rome".into()),
        }
    );
    assert_eq!(places[1].timezone, None);
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
        .respond_with(ResponseTemplate::new(200).set_body_json(om_forecast(3.0)))
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

    assert!(provider.forecast(&[point(1.0, 2.0)]).await[0].is_ok());
    assert_eq!(provider.geocode("Rome").await, Ok(vec![]));
}

#[tokio::test]
async fn open_meteo_forecast_a_failed_chunk_costs_only_its_points() {
    let server = MockServer::start().await;
    // The full first chunk fails, the 20-point second one is still asked
    // (only a rate limit stops a refresh) and succeeds.
    Mock::given(path("/v1/forecast"))
        .respond_with(|request: &Request| {
            if latitudes_asked(request) == 100 {
                ResponseTemplate::new(502).set_body_string("<html>bad gateway</html>")
            } else {
                echo_forecast(request)
            }
        })
        .expect(2)
        .mount(&server)
        .await;

    // Latitudes stay plausible temperatures (the echo answers one as the other).
    let points: Vec<_> = (0..120).map(|i| point(f64::from(i) / 4.0, 0.0)).collect();
    let results = open_meteo(&server).forecast(&points).await;

    let failure = WeatherError::UpstreamStatus {
        status: 502,
        message: "Bad Gateway".into(),
    };
    assert!(results[..100].iter().all(|r| r.as_ref() == Err(&failure)));
    assert!(results[100..].iter().all(Result::is_ok));
}

#[tokio::test]
async fn open_meteo_forecast_daily_limit_stops_the_refresh_at_the_first_429() {
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
        // The second chunk is never asked: it would only be refused too.
        .expect(1)
        .mount(&server)
        .await;

    let points: Vec<_> = (0..130).map(|i| point(f64::from(i) / 10.0, 0.0)).collect();
    let results = open_meteo(&server).forecast(&points).await;

    let limited = WeatherError::RateLimited {
        retry_after: None,
        window: Some(QuotaWindow::Day),
    };
    assert_eq!(results.len(), 130);
    assert!(results.iter().all(|r| r.as_ref() == Err(&limited)));
    assert!(limited.is_unavailable());
}

#[tokio::test]
async fn open_meteo_forecast_400_carries_the_reason() {
    let server = MockServer::start().await;
    let reason = "Latitude must be in range of -90 to 90°. Given: 100.0.";
    Mock::given(path("/v1/forecast"))
        .respond_with(
            ResponseTemplate::new(400).set_body_json(json!({ "error": true, "reason": reason })),
        )
        .mount(&server)
        .await;

    let results = open_meteo(&server).forecast(&[point(100.0, 0.0)]).await;

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
    let results = provider.forecast(&[point(1.0, 1.0)]).await;
    assert!(matches!(results[0], Err(WeatherError::Malformed(_))));
    let found = provider.geocode("Milano").await;
    assert!(matches!(found, Err(WeatherError::Malformed(_))));
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

// ------------------------------------------------------------ OpenWeatherMap

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
            timezone: None,
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

/// The error a forecast of one point gets when `/data/2.5/forecast` answers
/// `template` (a failed forecast fails the point before any current call).
async fn owm_error_for(template: ResponseTemplate) -> WeatherError {
    let server = MockServer::start().await;
    Mock::given(path("/data/2.5/forecast"))
        .respond_with(template)
        .mount(&server)
        .await;
    let mut results = owm(&server).forecast(&[point(1.0, 2.0)]).await;
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

    let missing_temp = json!({ "cod": "200", "list": [{ "dt": 1, "main": {}, "weather": [] }] });
    let err = owm_error_for(ResponseTemplate::new(200).set_body_json(missing_temp)).await;
    assert!(matches!(err, WeatherError::Malformed(_)), "{err:?}");
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
        owm.forecast(&[point(1.0, 1.0)]).await,
        [Err(WeatherError::Timeout)]
    );
    assert_eq!(owm.geocode("Rome").await, Err(WeatherError::Timeout));

    let om = OpenMeteo::new(impatient, url(&server.uri()), url(&server.uri()));
    assert_eq!(
        om.forecast(&[point(1.0, 1.0), point(2.0, 2.0)]).await,
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

#[tokio::test]
async fn the_api_key_never_appears_in_an_error() {
    let echoing_key =
        json!({ "cod": 500, "message": format!("bad appid={OWM_KEY} and {OWM_KEY}") });
    let key_as_value = json!({ "cod": "200", "list": [{ "dt": 1, "main": { "temp": OWM_KEY } }] });
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
            .forecast(&[point(1.0, 1.0)])
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
