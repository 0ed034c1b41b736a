//! End to end: the whole app with a fake weather upstream and a fake Bot API.
//! A user registered over REST subscribes; when the forecast series the app
//! refreshes says the weather crossed the threshold, the alert text reaches
//! their chat, and the all-clear follows. The app runs on its own clock: a
//! short poll interval and refresh (with a budget that allows them), and
//! bounded waits for what must arrive.

mod support;

use std::time::Duration;

use meteobot::secret::Secret;
use support::fake_telegram::{FakeTelegram, TOKEN};
use support::fake_weather::FakeForecast;
use support::spawn_app_with;

/// Waits (bounded) until `chat` has received `n` messages.
async fn wait_for_messages(telegram: &FakeTelegram, chat: i64, n: usize) -> Vec<String> {
    support::e2e::eventually(&format!("{n} messages to {chat}"), async || {
        let texts = telegram.texts_to(chat);
        (texts.len() >= n).then_some(texts)
    })
    .await
}

/// Waits (bounded) until the app has fetched `n` forecasts.
async fn wait_for_forecasts(forecast: &FakeForecast, n: usize) {
    support::e2e::wait_for(&format!("{n} forecast requests"), async || {
        forecast.requests() >= n
    })
    .await
}

#[tokio::test]
async fn a_rest_user_gets_the_alert_and_the_all_clear_in_their_chat() {
    let telegram = FakeTelegram::start().await;
    let api = telegram.url();
    let app = spawn_app_with(move |c| {
        c.telegram_token = Some(Secret::new(TOKEN));
        c.telegram_api_url = Some(api);
        c.poll_interval = Duration::from_millis(200);
        // A new series at every poll or so; the free plan's 10,000 calls a
        // day would stretch that to every 9 s.
        c.weather_refresh = Duration::from_millis(200);
        c.weather_daily_budget = Some(1_000_000.0);
    })
    .await;
    let forecast = FakeForecast::mount(&app.weather).await;
    forecast.temperature(22.0);
    app.geocoding("Rome", &[("Rome", "IT", 41.89193, 12.51133, 2_318_895)])
        .await;

    let chat = 555_001;
    let token = app.register("ada", chat).await;
    let (status, body) = app
        .post_form(
            &format!("/cityevents/{token}"),
            &[("city_name", "Rome"), ("min_temp", "5"), ("max_temp", "30")],
        )
        .await;
    assert_eq!(status, 201, "{body}");

    // Comfortable weather, judged on a forecast series: nothing to send.
    wait_for_forecasts(&forecast, 2).await;

    forecast.temperature(35.2);
    let texts = wait_for_messages(&telegram, chat, 1).await;
    // The first message is the alert: nothing was sent before it.
    assert_eq!(
        texts,
        vec!["🌡 Rome, IT: 35.2 °C — above your maximum of 30 °C."]
    );

    // Still hot for a few refreshes (a request is made once the cycle before
    // it is done): no repeat — the next message below is the all-clear.
    let seen = forecast.requests();
    wait_for_forecasts(&forecast, seen + 4).await;

    forecast.temperature(24.1);
    let texts = wait_for_messages(&telegram, chat, 2).await;
    assert_eq!(
        texts[1],
        "✅ Rome, IT is back within your limits (24.1 °C)."
    );
    assert_eq!(texts.len(), 2);

    let rows = app.store.outbox_rows().await.unwrap();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(
        rows.iter()
            .all(|r| r.status == "sent" && r.telegram_message_id.is_some()),
        "{rows:?}"
    );
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("messages_sent_total 2"), "{metrics}");
    assert!(metrics.contains("poll_cycle_duration_seconds_count"));
    assert!(metrics.contains("weather_api_calls_total{provider=\"open-meteo\"}"));
    // Forecasts only: no `current` weather was asked for.
    assert_eq!(forecast.current_requests(), 0);
}
