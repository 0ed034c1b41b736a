//! End to end with the bot: the whole app over the fake Bot API and a fake
//! Open-Meteo, its own poller idle after a first (empty) cycle, and a
//! `Poller` of the test's own — same store, a `Forecasts` over the same fake
//! upstream — polled at explicit instants, whose rows the running app's
//! notifier delivers. "Nothing" is read from the outbox right after an
//! explicit poll, never inferred from a pause.

use std::sync::Arc;
use std::time::{Duration, Instant};

use meteobot::alerts::{Poller, PollerSettings};
use meteobot::config::Config;
use meteobot::forecasts::{ForecastSettings, Forecasts};
use meteobot::metrics::Metrics;
use meteobot::secret::Secret;
use meteobot::weather::{OpenMeteo, http_client};
use tokio::sync::Notify;

use super::fake_telegram::{FakeTelegram, TOKEN};
use super::fake_weather::FakeForecast;
use super::{TestApp, spawn_app_with};

/// The longest any single expected event may take on a loaded machine.
pub const WAIT: Duration = Duration::from_secs(20);
pub const HOUR: Duration = Duration::from_secs(3600);

pub struct BotApp {
    pub telegram: FakeTelegram,
    pub app: TestApp,
    pub fake: FakeForecast,
}

/// The app with the bot (then `adjust`), its poller done with its first
/// cycle and next due in a day.
pub async fn bot_app(adjust: impl FnOnce(&mut Config)) -> BotApp {
    let telegram = FakeTelegram::start().await;
    let api = telegram.url();
    let app = spawn_app_with(move |c| {
        c.telegram_token = Some(Secret::new(TOKEN));
        c.telegram_api_url = Some(api);
        c.poll_interval = 24 * HOUR;
        adjust(c);
    })
    .await;
    let fake = FakeForecast::mount(&app.weather).await;
    wait_for("the app's first poll cycle", async || {
        metric(&app, "poll_cycle_duration_seconds_count").await >= Some(1.0)
    })
    .await;
    BotApp {
        telegram,
        app,
        fake,
    }
}

/// A poller as `startup` builds one, over `app`'s store and fake upstream,
/// refreshing every `refresh` (the budget out of the way) and reminding
/// every `remind_every`.
pub fn own_poller(app: &TestApp, refresh: Duration, remind_every: Duration) -> Poller {
    let url = reqwest::Url::parse(&app.weather.uri()).unwrap();
    let provider = Arc::new(OpenMeteo::new(
        http_client(Duration::from_secs(5)),
        url.clone(),
        url,
    ));
    let metrics = Metrics::new();
    let forecasts = Forecasts::new(
        app.store.clone(),
        provider,
        metrics.clone(),
        ForecastSettings {
            grid: 0.05,
            refresh,
            max_age: 3 * HOUR,
            daily_budget: Some(1_000_000.0),
        },
    );
    Poller::new(
        app.store.clone(),
        forecasts,
        metrics,
        PollerSettings {
            remind_every,
            heads_up_probability: 50,
            admin_chats: Vec::new(),
        },
        Arc::new(Notify::new()),
    )
}

/// Waits (bounded) until `cond` holds; `what` names it in the panic.
pub async fn wait_for(what: &str, mut cond: impl AsyncFnMut() -> bool) {
    eventually(what, async || cond().await.then_some(())).await
}

/// Waits (bounded by [`WAIT`]) for something expected from another task —
/// the app's notifier, its dispatcher — and returns it. The one polling
/// pause of the end-to-end tests: those apps run on the wall clock, so only
/// positive outcomes are waited for; "nothing happened" is read from the
/// store right after an explicit step, never inferred from a pause.
pub async fn eventually<T>(what: &str, probe: impl AsyncFnMut() -> Option<T>) -> T {
    eventually_within(what, WAIT, probe).await
}

/// [`eventually`] with a limit of its own (a takeover that waits for a
/// dead replica's claims to end).
pub async fn eventually_within<T>(
    what: &str,
    limit: Duration,
    mut probe: impl AsyncFnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(found) = probe().await {
            return found;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A sample's value from the app's `/metrics`.
pub async fn metric(app: &TestApp, name: &str) -> Option<f64> {
    let body = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    body.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}
