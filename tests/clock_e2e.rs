//! The whole app runs on the wall clock it is given (issue 9, "time is
//! injected"): with a manual clock ten minutes ahead of the system's, the
//! app's own poller decides an alert at the clock's instant and the
//! notifier, on the same clock, delivers it — times stored are the clock's.

mod support;

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use meteobot::clock::{Clock, ManualClock};
use meteobot::secret::Secret;
use support::e2e::wait_for;
use support::fake_telegram::{FakeTelegram, TOKEN};
use support::fake_weather::{FakeForecast, SeriesScript};
use support::spawn_app_with_clock;

#[tokio::test]
async fn the_apps_loops_decide_and_deliver_on_the_injected_clock() {
    let telegram = FakeTelegram::start().await;
    let api = telegram.url();
    // Ahead, not behind: the fake forecast starts at the system's current
    // quarter hour, so a clock behind it would find no current point (a stale
    // series, no alert) in two thirds of each quarter hour.
    let clock = ManualClock::starting_at(Utc::now() + TimeDelta::minutes(10));
    let app = spawn_app_with_clock(
        move |c| {
            c.telegram_token = Some(Secret::new(TOKEN));
            c.telegram_api_url = Some(api);
            c.poll_interval = Duration::from_millis(200);
        },
        Arc::new(clock.clone()),
    )
    .await;
    let fake = FakeForecast::mount(&app.weather).await;
    fake.set_series(SeriesScript::dry(35.0));
    app.geocoding("Rome", &[("Rome", "IT", 41.89, 12.51, 2_318_895)])
        .await;
    let token = app.register("ada", 770_001).await;
    let (status, body) = app
        .post_form(
            &format!("/cityevents/{token}"),
            &[("city_name", "Rome"), ("max_temp", "30")],
        )
        .await;
    assert_eq!(status, 201, "{body}");

    wait_for("the alert delivered", async || {
        !telegram.texts_to(770_001).is_empty()
    })
    .await;
    let rows = app.store.outbox_rows().await.unwrap();
    let alert = rows.iter().find(|r| r.kind == "alert").unwrap();
    let decided = clock.now().timestamp_millis();
    // Decided and enqueued at the clock's (frozen) instant, not the system's.
    assert_eq!(alert.created_at_ms, decided, "{alert:?}");
    assert!(
        alert.dedup_key.ends_with(&format!(":alert:{decided}")),
        "{alert:?}"
    );
    wait_for("the alert marked sent", async || {
        let rows = app.store.outbox_rows().await.unwrap();
        rows.iter().any(|r| r.kind == "alert" && r.status == "sent")
    })
    .await;
    let rows = app.store.outbox_rows().await.unwrap();
    let sent = rows.iter().find(|r| r.kind == "alert").unwrap();
    // The notifier stamps with the same clock: ten minutes ahead of the system.
    let sent_at = sent.sent_at_ms.unwrap();
    assert!(
        sent_at >= decided && sent_at > Utc::now().timestamp_millis() + 9 * 60 * 1000,
        "sent at {sent_at}, decided at {decided}"
    );
}
