use super::*;
use crate::store::test_support::temp_store;
use crate::weather::budget;
use crate::weather::{Place, Step};
use async_trait::async_trait;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Answers a one-step-per-hour flat series, counts the places asked, and
/// can be told to answer a daily rate limit.
#[derive(Default)]
struct Fake {
    asked: AtomicUsize,
    limited: std::sync::atomic::AtomicBool,
}

#[async_trait]
impl WeatherProvider for Fake {
    fn name(&self) -> &'static str {
        "fake"
    }
    async fn geocode(&self, _: &str) -> Result<Vec<Place>, WeatherError> {
        Ok(Vec::new())
    }
    fn free_quota(&self) -> Quota {
        Quota {
            per_minute: 600.0,
            per_hour: 5_000.0,
            per_day: 10_000.0,
        }
    }
    fn forecast_weight(&self, points: usize) -> f64 {
        points as f64
    }
    async fn forecast(&self, points: &[Coordinates]) -> Vec<Result<Series, WeatherError>> {
        self.asked.fetch_add(points.len(), Ordering::SeqCst);
        if self.limited.load(Ordering::SeqCst) {
            let err = WeatherError::RateLimited {
                retry_after: None,
                window: Some(QuotaWindow::Day),
            };
            return points.iter().map(|_| Err(err.clone())).collect();
        }
        let start = T0 - T0 % 3600;
        let steps = (0..60)
            .map(|h| Step {
                at: start + h * 3600,
                temperature_c: 20.0,
                rain_mm: 0.0,
                snow_cm: 0.0,
                probability: None,
                code: None,
            })
            .collect();
        let series = Series {
            fetched_at: Utc::now(),
            utc_offset_seconds: 0,
            timezone: None,
            fine: Vec::new(),
            coarse: steps,
        };
        points.iter().map(|_| Ok(series.clone())).collect()
    }
}

const T0: i64 = 1_800_003_600;

fn at(minutes: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(T0 + minutes * 60, 0).unwrap()
}

fn settings(daily_budget: Option<f64>) -> ForecastSettings {
    ForecastSettings {
        grid: 0.05,
        refresh: Duration::from_secs(3600),
        max_age: Duration::from_secs(3 * 3600),
        daily_budget,
    }
}

fn cells(n: i32) -> Vec<Cell> {
    (0..n)
        .map(|i| Cell {
            lat_e4: i * 500,
            lon_e4: 0,
        })
        .collect()
}

#[tokio::test]
async fn a_restart_reuses_fresh_series_without_calling_upstream() {
    let (store, _dir) = temp_store().await;
    let fake = Arc::new(Fake::default());
    let first = Forecasts::new(store.clone(), fake.clone(), Metrics::new(), settings(None));
    let report = first.refresh(&cells(3), at(0)).await.unwrap();
    assert_eq!((report.fetched, fake.asked.load(Ordering::SeqCst)), (3, 3));
    // A new process on the same database.
    let second = Forecasts::new(store.clone(), fake.clone(), Metrics::new(), settings(None));
    let report = second.refresh(&cells(3), at(10)).await.unwrap();
    assert_eq!(report.fetched, 0);
    assert_eq!(fake.asked.load(Ordering::SeqCst), 3);
    let fresh = second
        .for_point(cells(1)[0].centre(), at(20))
        .await
        .unwrap();
    assert_eq!(fresh.age, TimeDelta::minutes(20));
    assert_eq!(fake.asked.load(Ordering::SeqCst), 3);
    // An hour later every cell is due again.
    assert_eq!(second.refresh(&cells(3), at(60)).await.unwrap().fetched, 3);
}

#[tokio::test]
async fn on_demand_reads_respect_the_budget() {
    let (store, _dir) = temp_store().await;
    let fake = Arc::new(Fake::default());
    let forecasts = Forecasts::new(store, fake.clone(), Metrics::new(), settings(Some(2.0)));
    let report = forecasts.refresh(&cells(3), at(0)).await.unwrap();
    assert_eq!((report.fetched, report.deferred), (2, 1));
    let unknown = Coordinates {
        latitude: 10.0,
        longitude: 10.0,
    };
    assert!(matches!(
        forecasts.for_point(unknown, at(1)).await,
        Err(ForecastError::OverBudget)
    ));
    assert_eq!(fake.asked.load(Ordering::SeqCst), 2);
    assert_eq!(forecasts.usage(at(1)).await.unwrap().day, 2.0);
}

#[tokio::test]
async fn a_daily_limit_holds_refreshes_until_the_next_utc_day() {
    let (store, _dir) = temp_store().await;
    let fake = Arc::new(Fake::default());
    let metrics = Metrics::new();
    let forecasts = Forecasts::new(store, fake.clone(), metrics.clone(), settings(None));
    fake.limited.store(true, Ordering::SeqCst);
    let report = forecasts.refresh(&cells(2), at(0)).await.unwrap();
    let limit = report.rate_limited.unwrap();
    assert!(limit.new_episode);
    assert_eq!(limit.until, budget::window_end(QuotaWindow::Day, at(0)));
    fake.limited.store(false, Ordering::SeqCst);
    let asked = fake.asked.load(Ordering::SeqCst);
    let before_midnight = (limit.until - at(0)).num_minutes() - 1;
    for minute in [10, before_midnight] {
        let report = forecasts.refresh(&cells(2), at(minute)).await.unwrap();
        assert_eq!((report.fetched, report.deferred), (0, 2), "minute {minute}");
    }
    assert_eq!(fake.asked.load(Ordering::SeqCst), asked);
    let next_day = forecasts.refresh(&cells(2), limit.until).await.unwrap();
    assert_eq!(next_day.fetched, 2);
    assert_eq!(metrics.weather_rate_limited.get(), 1);
}
