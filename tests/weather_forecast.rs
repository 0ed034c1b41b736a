//! Forecast series of both weather providers against a fake upstream
//! (wiremock) serving the documented answer shapes: the requests made, the
//! series read from them, batching, concurrency and pacing; and the scripted
//! Open-Meteo fake (tests/support/fake_weather.rs) read back through the
//! real provider. Failures and geocoding are in `weather_providers`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use meteobot::weather::*;
use serde_json::json;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

#[path = "support/fake_weather.rs"]
mod fake_weather;
use fake_weather::{FakeForecast, Mode, SeriesScript};

#[path = "support/provider_http.rs"]
mod provider_http;
use provider_http::*;

// ------------------------------------------------------- Open-Meteo forecast

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
    assert_eq!((fake.requests(), fake.current_requests()), (1, 0));
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

// --------------------------------------------------- OpenWeatherMap forecast

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

/// Records when each forecast request arrived; answers, slowly, a forecast
/// with the latitude as temperature.
#[derive(Clone, Default)]
struct Arrivals(Arc<Mutex<Vec<Instant>>>);

impl Respond for Arrivals {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.0.lock().unwrap().push(Instant::now());
        ResponseTemplate::new(200)
            .set_body_json(owm_outlook(lat_of(request)))
            .set_delay(Duration::from_millis(400))
    }
}

#[tokio::test]
async fn owm_forecast_runs_a_bounded_number_of_points_and_keeps_order() {
    let server = MockServer::start().await;
    let arrivals = Arrivals::default();
    Mock::given(path("/data/2.5/forecast"))
        .respond_with(arrivals.clone())
        .expect(20)
        .mount(&server)
        .await;
    // Without a current answer each series is coarse only.
    Mock::given(path("/data/2.5/weather"))
        .respond_with(ResponseTemplate::new(404))
        .expect(20)
        .mount(&server)
        .await;

    let points: Vec<_> = (0..20).map(|i| point(f64::from(i), 0.0)).collect();
    let results = owm(&server).forecast(&points).await;

    let temps: Vec<f32> = results
        .into_iter()
        .map(|r| r.unwrap().coarse[0].temperature_c)
        .collect();
    assert_eq!(temps, (0..20u8).map(f32::from).collect::<Vec<_>>());
    let mut times = arrivals.0.lock().unwrap().clone();
    times.sort();
    // The 9th point can only start once one of the first 8 has been answered.
    assert!(times[8] - times[0] >= Duration::from_millis(400));
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
