//! A scriptable Open-Meteo forecast endpoint for wiremock: answers any number
//! of comma-separated points with the weather the test sets, and can be
//! switched to fail (500, garbage, slow) for a cycle.
//!
//! Requests that ask for `minutely_15` or `hourly` get a forecast in
//! Open-Meteo's shape (`utc_offset_seconds`, `timezone`, `minutely_15` and
//! `hourly` sections with the variables asked for, unix or ISO times as
//! asked), built from a [`SeriesScript`]: 15-minute steps from the current
//! quarter hour, hourly ones from the current hour, as the real API does.
//! Without a script the forecast repeats the current [`Mode::Weather`] at
//! every step. Forecast requests and the locations they ask for are counted.
//! Any other request (the app asks for nothing else) is counted apart and
//! refused with a 400.
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Mode {
    /// Every point reports this temperature, rain and snow flags.
    Weather {
        temperature: f64,
        raining: bool,
        snowing: bool,
    },
    ServerError,
    Garbage,
    Slow(Duration),
}

/// What the forecast says, relative to the moment of each request. Offsets
/// count from "now"; a window without an end lasts to the end of the
/// forecast. A step rains when its interval (the 15 minutes or the hour
/// *ending* at it) overlaps the rain window, so "rain from +40 min" makes
/// the quarter hour ending at the first slot after +40 min rainy.
///
/// ```ignore
/// fake.set_series(SeriesScript::dry(18.0).with_rain(Duration::from_secs(40 * 60), None));
/// fake.set_series(SeriesScript::dry(20.0).with_temperature_from(Duration::ZERO, 35.0));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesScript {
    pub base_temperature: f64,
    pub rain_from: Option<Duration>,
    pub rain_until: Option<Duration>,
    pub snow_from: Option<Duration>,
    pub snow_until: Option<Duration>,
    /// From this offset on (the step at or just before it included, so the
    /// interpolated value at the offset is exactly this) the temperature.
    pub temperature_from: Option<(Duration, f64)>,
    /// Every step's precipitation probability; `None`: 90 % for wet hours,
    /// 0 % for dry ones.
    pub probability: Option<u8>,
    pub utc_offset_seconds: i32,
    pub timezone: String,
}

impl Default for SeriesScript {
    fn default() -> Self {
        Self::dry(20.0)
    }
}

impl SeriesScript {
    /// A dry forecast at a constant temperature, in GMT.
    pub fn dry(temperature: f64) -> Self {
        Self {
            base_temperature: temperature,
            rain_from: None,
            rain_until: None,
            snow_from: None,
            snow_until: None,
            temperature_from: None,
            probability: None,
            utc_offset_seconds: 0,
            timezone: "GMT".into(),
        }
    }

    pub fn with_rain(mut self, from: Duration, until: Option<Duration>) -> Self {
        self.rain_from = Some(from);
        self.rain_until = until;
        self
    }

    pub fn with_snow(mut self, from: Duration, until: Option<Duration>) -> Self {
        self.snow_from = Some(from);
        self.snow_until = until;
        self
    }

    pub fn with_temperature_from(mut self, offset: Duration, temperature: f64) -> Self {
        self.temperature_from = Some((offset, temperature));
        self
    }

    pub fn with_probability(mut self, percent: u8) -> Self {
        self.probability = Some(percent);
        self
    }

    pub fn with_zone(mut self, timezone: &str, utc_offset_seconds: i32) -> Self {
        self.timezone = timezone.into();
        self.utc_offset_seconds = utc_offset_seconds;
        self
    }
}

/// A script resolved against one request's "now": absolute unix seconds.
struct Timeline {
    now: i64,
    base_temperature: f64,
    rain: Option<(i64, i64)>,
    snow: Option<(i64, i64)>,
    temperature_from: Option<(i64, f64)>,
    probability: Option<u8>,
}

impl Timeline {
    fn new(script: &SeriesScript, now: i64) -> Self {
        let at = |offset: Duration| now.saturating_add(offset.as_secs() as i64);
        let window = |from: Option<Duration>, until: Option<Duration>| {
            from.map(|from| (at(from), until.map_or(i64::MAX, at)))
        };
        Self {
            now,
            base_temperature: script.base_temperature,
            rain: window(script.rain_from, script.rain_until),
            snow: window(script.snow_from, script.snow_until),
            temperature_from: script.temperature_from.map(|(o, t)| (at(o), t)),
            probability: script.probability,
        }
    }

    /// The same weather at every step, past ones included.
    fn constant(temperature: f64, raining: bool, snowing: bool, now: i64) -> Self {
        let always = (i64::MIN, i64::MAX);
        Self {
            now,
            base_temperature: temperature,
            rain: raining.then_some(always),
            snow: snowing.then_some(always),
            temperature_from: None,
            probability: None,
        }
    }

    /// Does the interval (t − dt, t] overlap [from, until)?
    fn overlaps(window: Option<(i64, i64)>, t: i64, dt: i64) -> bool {
        window.is_some_and(|(from, until)| t >= from && t - dt < until)
    }

    /// The value of `variable` at step `t` of a section with steps `dt` apart.
    fn value(&self, variable: &str, t: i64, dt: i64) -> Option<Value> {
        let raining = Self::overlaps(self.rain, t, dt);
        let snowing = Self::overlaps(self.snow, t, dt);
        // Per hour: 2 mm of rain, 1.4 cm of snow; a quarter of it per quarter hour.
        let share = dt as f64 / 3600.0;
        let rain = if raining { 2.0 * share } else { 0.0 };
        let snow = if snowing { 1.4 * share } else { 0.0 };
        let value = match variable {
            "temperature_2m" => json!(match self.temperature_from {
                Some((from, temperature)) if t > from - dt => temperature,
                _ => self.base_temperature,
            }),
            "rain" => json!(rain),
            "showers" => json!(0.0),
            "snowfall" => json!(snow),
            "precipitation" => json!(rain + snow / 0.7),
            "weather_code" => json!(if raining {
                63
            } else if snowing {
                73
            } else {
                1
            }),
            "precipitation_probability" => json!(
                self.probability
                    .unwrap_or(if raining || snowing { 90 } else { 0 })
            ),
            _ => return None,
        };
        Some(value)
    }
}

#[derive(Clone)]
pub struct FakeForecast {
    mode: Arc<Mutex<Mode>>,
    script: Arc<Mutex<Option<SeriesScript>>>,
    forecast_requests: Arc<AtomicUsize>,
    current_requests: Arc<AtomicUsize>,
    locations: Arc<Mutex<Vec<(f64, f64)>>>,
}

impl FakeForecast {
    /// Mounts `/v1/forecast` on `server`, starting at 20 °C, dry.
    pub async fn mount(server: &MockServer) -> Self {
        let fake = Self {
            mode: Arc::new(Mutex::new(Mode::Weather {
                temperature: 20.0,
                raining: false,
                snowing: false,
            })),
            script: Arc::new(Mutex::new(None)),
            forecast_requests: Arc::new(AtomicUsize::new(0)),
            current_requests: Arc::new(AtomicUsize::new(0)),
            locations: Arc::new(Mutex::new(Vec::new())),
        };
        Mock::given(method("GET"))
            .and(path("/v1/forecast"))
            .respond_with(fake.clone())
            .mount(server)
            .await;
        fake
    }

    pub fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    pub fn temperature(&self, t: f64) {
        self.set(Mode::Weather {
            temperature: t,
            raining: false,
            snowing: false,
        });
    }

    /// Forecast requests answer from `script` from now on (failure modes
    /// still win).
    pub fn set_series(&self, script: SeriesScript) {
        *self.script.lock().unwrap() = Some(script);
    }

    /// Back to forecasts that repeat the current weather.
    pub fn clear_series(&self) {
        *self.script.lock().unwrap() = None;
    }

    /// Forecast (`minutely_15`/`hourly`) requests received, failed ones included.
    pub fn requests(&self) -> usize {
        self.forecast_requests.load(Ordering::SeqCst)
    }

    /// Requests that asked for no forecast (`current=` or nothing): none is
    /// expected, the app only reads forecast series.
    pub fn current_requests(&self) -> usize {
        self.current_requests.load(Ordering::SeqCst)
    }

    /// Every (latitude, longitude) the forecast requests asked for, in order.
    pub fn locations_requested(&self) -> Vec<(f64, f64)> {
        self.locations.lock().unwrap().clone()
    }

    pub fn reset_counts(&self) {
        self.forecast_requests.store(0, Ordering::SeqCst);
        self.current_requests.store(0, Ordering::SeqCst);
        self.locations.lock().unwrap().clear();
    }
}

fn param(request: &Request, key: &str) -> Option<String> {
    request
        .url
        .query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

fn degrees(request: &Request, key: &str) -> Vec<f64> {
    param(request, key)
        .map(|list| list.split(',').filter_map(|x| x.parse().ok()).collect())
        .unwrap_or_default()
}

/// One location's answer, or a 400 naming an unknown variable as the real
/// API does.
fn forecast_location(
    request: &Request,
    timeline: &Timeline,
    script: &SeriesScript,
    (latitude, longitude): (f64, f64),
) -> Result<Value, String> {
    let unix = param(request, "timeformat").as_deref() == Some("unixtime");
    let offset = i64::from(script.utc_offset_seconds);
    let mut location = json!({
        "latitude": latitude, "longitude": longitude, "generationtime_ms": 0.1,
        "utc_offset_seconds": script.utc_offset_seconds, "timezone": script.timezone,
        "timezone_abbreviation": script.timezone, "elevation": 100.0,
    });
    for (section, dt, steps_key, default_steps) in [
        ("minutely_15", 900, "forecast_minutely_15", 96),
        ("hourly", 3600, "forecast_hours", 168),
    ] {
        let Some(variables) = param(request, section) else {
            continue;
        };
        let steps: i64 = param(request, steps_key)
            .and_then(|n| n.parse().ok())
            .unwrap_or(default_steps);
        let first = timeline.now.div_euclid(dt) * dt;
        let times: Vec<i64> = (0..steps).map(|k| first + k * dt).collect();
        let mut block = serde_json::Map::new();
        let mut units = serde_json::Map::new();
        let time_values: Vec<Value> = times
            .iter()
            .map(|&t| {
                if unix {
                    json!(t)
                } else {
                    let local = DateTime::<Utc>::from_timestamp(t + offset, 0).unwrap();
                    json!(local.format("%Y-%m-%dT%H:%M").to_string())
                }
            })
            .collect();
        block.insert("time".into(), Value::Array(time_values));
        units.insert(
            "time".into(),
            json!(if unix { "unixtime" } else { "iso8601" }),
        );
        for variable in variables.split(',') {
            let column: Option<Vec<Value>> = times
                .iter()
                .map(|&t| timeline.value(variable, t, dt))
                .collect();
            let column = column.ok_or_else(|| {
                format!(
                    "Cannot initialize ForecastVariable from invalid String value {variable} for key {section}"
                )
            })?;
            block.insert(variable.into(), Value::Array(column));
            units.insert(variable.into(), json!(""));
        }
        location[format!("{section}_units")] = Value::Object(units);
        location[section] = Value::Object(block);
    }
    Ok(location)
}

impl FakeForecast {
    fn forecast(&self, request: &Request, mode: Mode) -> ResponseTemplate {
        let now = Utc::now().timestamp();
        let script = self.script.lock().unwrap().clone();
        let (timeline, script) = match (script, mode) {
            (Some(script), _) => (Timeline::new(&script, now), script),
            (
                None,
                Mode::Weather {
                    temperature,
                    raining,
                    snowing,
                },
            ) => (
                Timeline::constant(temperature, raining, snowing, now),
                SeriesScript::dry(temperature),
            ),
            (None, _) => unreachable!("failure modes answer before"),
        };
        let points: Vec<(f64, f64)> = degrees(request, "latitude")
            .into_iter()
            .zip(degrees(request, "longitude"))
            .collect();
        self.locations.lock().unwrap().extend(&points);
        let answers: Result<Vec<Value>, String> = points
            .iter()
            .map(|point| forecast_location(request, &timeline, &script, *point))
            .collect();
        match answers {
            Ok(mut answers) if answers.len() == 1 => {
                ResponseTemplate::new(200).set_body_json(answers.remove(0))
            }
            Ok(answers) => ResponseTemplate::new(200).set_body_json(answers),
            Err(reason) => {
                ResponseTemplate::new(400).set_body_json(json!({ "error": true, "reason": reason }))
            }
        }
    }
}

impl Respond for FakeForecast {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let is_forecast =
            param(request, "minutely_15").is_some() || param(request, "hourly").is_some();
        if is_forecast {
            self.forecast_requests.fetch_add(1, Ordering::SeqCst);
        } else {
            self.current_requests.fetch_add(1, Ordering::SeqCst);
        }
        let mode = *self.mode.lock().unwrap();
        match mode {
            Mode::ServerError => {
                ResponseTemplate::new(500).set_body_json(json!({"error": true, "reason": "boom"}))
            }
            Mode::Garbage => ResponseTemplate::new(200).set_body_string("<html>not json</html>"),
            Mode::Slow(d) => ResponseTemplate::new(200)
                .set_delay(d)
                .set_body_json(json!({})),
            Mode::Weather { .. } if is_forecast => self.forecast(request, mode),
            Mode::Weather { .. } => ResponseTemplate::new(400).set_body_json(
                json!({ "error": true, "reason": "the fake answers forecasts only" }),
            ),
        }
    }
}
