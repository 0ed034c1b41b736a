//! A scriptable Open-Meteo forecast endpoint for wiremock: answers any number
//! of comma-separated points with the current weather the test sets, and can
//! be switched to fail (500, garbage, slow) for a cycle.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

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

#[derive(Clone)]
pub struct FakeForecast {
    mode: Arc<Mutex<Mode>>,
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
}

impl Respond for FakeForecast {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mode = *self.mode.lock().unwrap();
        let (temperature, raining, snowing) = match mode {
            Mode::ServerError => {
                return ResponseTemplate::new(500)
                    .set_body_json(json!({"error": true, "reason": "boom"}));
            }
            Mode::Garbage => {
                return ResponseTemplate::new(200).set_body_string("<html>not json</html>");
            }
            Mode::Slow(d) => {
                return ResponseTemplate::new(200)
                    .set_delay(d)
                    .set_body_json(json!({}));
            }
            Mode::Weather {
                temperature,
                raining,
                snowing,
            } => (temperature, raining, snowing),
        };
        let latitudes = request
            .url
            .query_pairs()
            .find(|(k, _)| k == "latitude")
            .map(|(_, v)| v.split(',').count())
            .unwrap_or(0);
        let one = |i: usize| -> Value {
            json!({
                "latitude": i as f64, "longitude": 0.0, "utc_offset_seconds": 0,
                "current": {
                    "time": "2026-11-26T12:00", "interval": 900,
                    "temperature_2m": temperature,
                    "rain": if raining { 1.2 } else { 0.0 }, "showers": 0.0,
                    "snowfall": if snowing { 0.7 } else { 0.0 },
                    "weather_code": if raining { 63 } else if snowing { 73 } else { 1 }
                }
            })
        };
        let body = if latitudes == 1 {
            one(0)
        } else {
            Value::Array((0..latitudes).map(one).collect())
        };
        ResponseTemplate::new(200).set_body_json(body)
    }
}
