//! The poller's step against a fake Open-Meteo (wiremock) and a temp-file
//! store, with an injected clock: every grid cell fetched once per refresh
//! in as few requests as the provider allows, no request between refreshes,
//! a daily rate limit that stops refreshes until the next UTC day while
//! alerts go on from the stored series, stale series that decide nothing,
//! conditions as separate episodes, a daily call budget that holds, and the
//! old promises: a failing upstream loses nothing, alerts are edge-triggered,
//! paused and deleted subscriptions are not judged.
//!
//! The fake builds each forecast around the wall clock of its request (see
//! `SeriesScript`), so the injected instants stay within the 48 hours such a
//! series covers, and every scripted change sits minutes away from the
//! instants polled.

mod support;

use std::time::Duration;

use chrono::TimeDelta;
use meteobot::alerts::PollReport;
use meteobot::domain::ChatId;
use meteobot::forecasts::ForecastSettings;
use meteobot::weather::Coordinates;
use support::fake_weather::{Mode, SeriesScript};
use support::poller_rig::*;

#[tokio::test]
async fn each_cell_is_fetched_once_per_refresh_in_as_few_requests_as_allowed() {
    let rig = rig().await;
    // 149 places 0.1° apart (distinct cells)...
    for i in 0..149 {
        rig.subscribe(1 + i / 20, (40.0 + i as f64 * 0.1, 10.0), max(30.0))
            .await;
    }
    // ...and two subscriptions about 1 km apart in Rome: one cell.
    rig.subscribe(100, ROME, max(30.0)).await;
    rig.subscribe(101, (ROME.0 + 0.009, ROME.1), max(30.0))
        .await;
    let poller = rig.poller();
    let clock = Clock::start();

    let report = poller.poll_once(clock.at(Duration::ZERO)).await.unwrap();
    assert_eq!(
        (report.subscriptions, report.locations, report.refreshed),
        (151, 150, 150),
        "{report:?}"
    );
    assert_eq!(rig.request_sizes().await, [100, 50]);
    let asked = counts(rig.fake.locations_requested());
    assert_eq!(asked.len(), 150);
    assert!(asked.values().all(|n| *n == 1), "a cell asked twice");
    assert_eq!(asked.get(&(419_000, 125_000)), Some(&1), "Rome's cell");
    assert_eq!(rig.store.all_series().await.unwrap().len(), 150);

    // The next refresh, an hour later: again each cell once, in two requests.
    let report = poller.poll_once(clock.at(HOUR)).await.unwrap();
    assert_eq!(report.refreshed, 150);
    assert_eq!(rig.request_sizes().await, [100, 50, 100, 50]);
    let asked = counts(rig.fake.locations_requested());
    assert_eq!(asked.len(), 150);
    assert!(asked.values().all(|n| *n == 2));
    // Weighted the provider's way: one call per location, 150 a refresh.
    assert_eq!(rig.spent_on_day_of(clock.at(Duration::ZERO)).await, 300.0);
}

#[tokio::test]
async fn no_request_between_refreshes_while_every_poll_judges_the_stored_series() {
    let rig = rig().await;
    rig.subscribe(7, ROME, max(30.0)).await;
    // 20 °C now, 35 °C from 50 minutes on (the quarter hour before it warms
    // up, so until 20 minutes it is still 20 °C).
    rig.fake
        .set_series(SeriesScript::dry(20.0).with_temperature_from(minutes(50), 35.0));
    let poller = rig.poller();
    let clock = Clock::start();

    let mut requests = Vec::new();
    let mut reports: Vec<PollReport> = Vec::new();
    for m in [0, 10, 20, 55] {
        reports.push(poller.poll_once(clock.at(minutes(m))).await.unwrap());
        requests.push(rig.fake.requests());
    }
    assert_eq!(
        requests,
        [1, 1, 1, 1],
        "one fetch, then none until the refresh"
    );
    assert!(reports.iter().all(|r| r.stale == 0), "{reports:?}");
    assert_eq!(reports[0].messages, 0);
    // Judged from the stored series, without any upstream call.
    assert_eq!(reports[3].messages, 1);
    assert_eq!(rig.kinds().await, ["alert"]);

    let report = poller.poll_once(clock.at(HOUR)).await.unwrap();
    assert_eq!((rig.fake.requests(), report.refreshed), (2, 1));
    assert_eq!(report.messages, 0, "still hot: nothing new");
}

#[tokio::test]
async fn a_daily_limit_stops_refreshes_until_the_next_utc_day() {
    let rig = rig().await;
    rig.subscribe(7, ROME, max(30.0)).await;
    let (admin_a, admin_b) = (-100_200, 4242);
    let poller = rig.poller_with(defaults(), vec![admin_a, admin_b]);
    let day = tomorrow();
    let at = |hh, mm| on(day, hh, mm);
    // 20 °C, and 35 °C from 11:30 (UTC) tomorrow: hourly steps put it at
    // 11:00 (the step holding 11:30), so the value at 10:10 is 22.5 °C and
    // from 11:00 on 35 °C.
    let rise = at(11, 30);
    rig.fake
        .set_series(SeriesScript::dry(20.0).with_temperature_from(until(rise), 35.0));

    let report = poller.poll_once(at(9, 0)).await.unwrap();
    assert_eq!((report.refreshed, rig.requests().await), (1, 1));

    // The 10:00 refresh is answered with Open-Meteo's daily-limit 429.
    rig.daily_limit_once().await;
    let report = poller.poll_once(at(10, 0)).await.unwrap();
    assert_eq!(
        (rig.requests().await, report.failed_locations, report.stale),
        (2, 1, 0),
        "{report:?}"
    );
    assert_eq!(rig.metrics.weather_rate_limited.get(), 1);
    let notices = rig.rows_of("notice").await;
    let mut told: Vec<i64> = notices.iter().map(|r| r.chat_id).collect();
    told.sort_unstable();
    assert_eq!(told, [admin_a, admin_b], "one notice per admin chat");
    let midnight = at(0, 0) + TimeDelta::days(1);
    for notice in &notices {
        assert!(notice.text.contains("daily"), "{}", notice.text);
        let until = format!("{} UTC", midnight.format("%Y-%m-%d %H:%M"));
        assert!(notice.text.contains(&until), "{}", notice.text);
    }

    // Held: no request for the rest of the day, whatever is due...
    let report = poller.poll_once(at(10, 10)).await.unwrap();
    assert_eq!((rig.requests().await, report.messages), (2, 0));
    // ...while the alerts go on from the stored series (35 °C from 11:00).
    let report = poller.poll_once(at(11, 0)).await.unwrap();
    assert_eq!((rig.requests().await, report.stale), (2, 0));
    assert_eq!(report.messages, 1, "the heat alert from the stored series");
    let report = poller.poll_once(at(23, 50)).await.unwrap();
    assert_eq!((rig.requests().await, report.refreshed), (2, 0));

    // A new UTC day: refreshes resume. The rate-limit episode was told once;
    // the heat, judged again on fresh data, is now 13 h old: a reminder.
    let report = poller.poll_once(midnight).await.unwrap();
    assert_eq!((rig.requests().await, report.refreshed), (3, 1));
    assert_eq!(rig.metrics.weather_rate_limited.get(), 1);
    assert_eq!(rig.kinds().await, ["notice", "notice", "alert", "reminder"]);
}

#[tokio::test]
async fn a_stale_series_decides_no_alert_and_no_all_clear() {
    let rig = rig().await;
    let hot = rig.subscribe(1, ROME, max(30.0)).await;
    let cold = rig
        .subscribe(
            2,
            ROME,
            Watch {
                min: Some(25.0),
                ..Watch::default()
            },
        )
        .await;
    // 35 °C, then 20 °C from three hours on: an all-clear for `hot` and an
    // alert for `cold`, if anyone still believed that series by then.
    rig.fake
        .set_series(SeriesScript::dry(35.0).with_temperature_from(3 * HOUR, 20.0));
    let poller = rig.poller();
    let clock = Clock::start();
    assert_eq!(
        poller
            .poll_once(clock.at(Duration::ZERO))
            .await
            .unwrap()
            .messages,
        1
    );

    rig.fake.set(Mode::ServerError);
    let report = poller.poll_once(clock.at(HOUR)).await.unwrap();
    assert_eq!((report.failed_locations, report.stale), (1, 0));
    // Older than WEATHER_MAX_AGE (3 h): nothing is judged.
    let report = poller
        .poll_once(clock.at(3 * HOUR + minutes(10)))
        .await
        .unwrap();
    assert_eq!(
        (report.failed_locations, report.stale, report.messages),
        (1, 2, 0),
        "{report:?}"
    );
    let episodes = rig.store.alert_episodes().await.unwrap();
    assert_eq!(
        episodes
            .iter()
            .map(|e| (e.subscription_id, e.condition.as_str()))
            .collect::<Vec<_>>(),
        [(hot, "hot")],
        "the alert state is kept as it is"
    );

    // Fresh data again: now both are told.
    rig.fake.set(Mode::Weather {
        temperature: 20.0,
        raining: false,
        snowing: false,
    });
    rig.fake.set_series(SeriesScript::dry(20.0));
    let report = poller
        .poll_once(clock.at(3 * HOUR + minutes(20)))
        .await
        .unwrap();
    assert_eq!((report.refreshed, report.messages), (1, 2));
    let rows = rig.rows().await;
    let told: Vec<(Option<i64>, &str)> = rows
        .iter()
        .map(|r| (r.subscription_id, r.kind.as_str()))
        .collect();
    assert_eq!(
        told,
        [
            (Some(hot), "alert"),
            (Some(hot), "all_clear"),
            (Some(cold), "alert")
        ]
    );
}

#[tokio::test]
async fn heat_then_rain_then_dry_are_told_as_separate_episodes() {
    let rig = rig().await;
    rig.subscribe(
        7,
        ROME,
        Watch {
            max: Some(30.0),
            rain: true,
            ..Watch::default()
        },
    )
    .await;
    let poller = rig.poller();
    let clock = Clock::start();
    let raining = |t: f64| SeriesScript::dry(t).with_rain(Duration::ZERO, None);
    for (hour, script) in [
        (0, SeriesScript::dry(35.0)),
        (1, raining(35.0)),
        (2, raining(20.0)),
        (3, SeriesScript::dry(20.0)),
    ] {
        rig.fake.set_series(script);
        let report = poller.poll_once(clock.at(hour * HOUR)).await.unwrap();
        assert_eq!((report.refreshed, report.messages), (1, 1), "hour {hour}");
    }
    assert_eq!(
        rig.kinds().await,
        ["alert", "alert", "all_clear", "all_clear"]
    );
    assert_eq!(
        rig.texts().await,
        [
            "🌡 Rome, IT: 35 °C — above your maximum of 30 °C.",
            "☔ It is raining in Rome, IT.",
            "✅ Rome, IT: 20 °C — back below your maximum of 30 °C.",
            "✅ Rome, IT is back within your limits (20 °C).",
        ]
    );
}

#[tokio::test]
async fn the_daily_budget_is_never_exceeded_and_new_places_go_first() {
    let rig = rig().await;
    for i in 0..8 {
        rig.subscribe(1, (40.0 + i as f64, 10.0), max(30.0)).await;
    }
    let settings = ForecastSettings {
        daily_budget: Some(5.0),
        ..defaults()
    };
    let poller = rig.poller_with(settings, Vec::new());

    // A whole UTC day of polls every 10 minutes.
    let day = on(tomorrow(), 0, 0);
    for tick in 0..144 {
        let now = day + TimeDelta::minutes(10 * tick);
        poller.poll_once(now).await.unwrap();
        let spent = rig.spent_on_day_of(now).await;
        assert!(spent <= 5.0, "{spent} weighted calls by {now}");
    }
    assert_eq!(rig.spent_on_day_of(day).await, 5.0);
    assert_eq!(rig.fake.locations_requested().len(), 5);
    assert_eq!(rig.metrics.weather_weighted_calls.get(), 5.0);

    // The next day the three places never fetched go first; the others'
    // interval is stretched (8 places on 5 calls a day) so they wait.
    let next = day + TimeDelta::days(1);
    let report = poller.poll_once(next).await.unwrap();
    assert_eq!(report.refreshed, 3, "{report:?}");
    let asked = counts(rig.fake.locations_requested());
    assert_eq!(asked.len(), 8, "every place fetched once");
    assert!(asked.values().all(|n| *n == 1));
    assert!(rig.spent_on_day_of(next).await <= 5.0);
}

#[tokio::test]
async fn a_failing_upstream_costs_one_cycle_and_loses_nothing() {
    let rig = rig().await;
    rig.subscribe(9, ROME, max(30.0)).await;
    rig.subscribe(9, (45.46, 9.19), max(30.0)).await;
    let poller = rig.poller();
    let clock = Clock::start();

    rig.fake.temperature(35.0);
    let report = poller.poll_once(clock.at(Duration::ZERO)).await.unwrap();
    assert_eq!(report.messages, 2);
    for (i, failure) in [
        Mode::ServerError,
        Mode::Garbage,
        Mode::Slow(Duration::from_secs(2)),
    ]
    .into_iter()
    .enumerate()
    {
        rig.fake.set(failure);
        let report = poller
            .poll_once(clock.at(HOUR + minutes(10 * i as u64)))
            .await
            .unwrap();
        assert_eq!(
            (report.failed_locations, report.stale, report.messages),
            (2, 0, 0),
            "{failure:?}"
        );
    }
    // Cooled down while we could not see: the state survived, the all-clear
    // comes with the first good refresh.
    rig.fake.temperature(20.0);
    let report = poller
        .poll_once(clock.at(HOUR + minutes(30)))
        .await
        .unwrap();
    assert_eq!((report.failed_locations, report.messages), (0, 2));
    assert_eq!(
        rig.kinds().await,
        ["alert", "alert", "all_clear", "all_clear"]
    );
}

#[tokio::test]
async fn hot_hot_cool_hot_gives_alert_nothing_all_clear_alert() {
    let rig = rig().await;
    rig.subscribe(7, ROME, max(30.0)).await;
    let poller = rig.poller();
    let clock = Clock::start();

    let mut per_cycle = Vec::new();
    for (hour, t) in [(0, 35.0), (1, 36.0), (2, 24.1), (3, 31.0)] {
        rig.fake.temperature(t);
        per_cycle.push(
            poller
                .poll_once(clock.at(hour * HOUR))
                .await
                .unwrap()
                .messages,
        );
    }
    assert_eq!(per_cycle, [1, 0, 1, 1]);
    assert_eq!(rig.kinds().await, ["alert", "all_clear", "alert"]);
    let rows = rig.rows().await;
    assert_eq!(
        rows[0].text,
        "🌡 Rome, IT: 35 °C — above your maximum of 30 °C."
    );
    assert_eq!(
        rows[1].text,
        "✅ Rome, IT is back within your limits (24.1 °C)."
    );
    assert!(rows.iter().all(|r| r.chat_id == 7 && r.status == "pending"));
}

#[tokio::test]
async fn reminders_and_language_follow_the_chat() {
    let rig = rig().await;
    rig.subscribe(8, ROME, max(30.0)).await;
    rig.store
        .set_chat_language(8, meteobot::text::Language::It)
        .await
        .unwrap();
    rig.fake.temperature(32.5);
    let poller = rig.poller();
    let clock = Clock::start();
    for m in [0, 6 * 60 - 1, 6 * 60] {
        poller.poll_once(clock.at(minutes(m))).await.unwrap();
    }
    let rows = rig.rows().await;
    assert_eq!(
        rows.iter().map(|r| r.kind.as_str()).collect::<Vec<_>>(),
        ["alert", "reminder"]
    );
    assert_eq!(
        rows[0].text,
        "🌡 Rome, IT: 32,5 °C — sopra il tuo massimo di 30 °C."
    );
    assert!(rows[1].text.starts_with("⏰ Ancora fuori dai tuoi limiti:"));
}

#[tokio::test]
async fn paused_and_deleted_subscriptions_are_neither_fetched_nor_judged() {
    let rig = rig().await;
    let keep = rig.subscribe(1, ROME, max(30.0)).await;
    let gone = rig.subscribe(2, (45.46, 9.19), max(30.0)).await;
    rig.subscribe(3, (43.77, 11.25), max(30.0)).await;
    rig.store
        .delete_subscription(ChatId::new(2).unwrap(), gone)
        .await
        .unwrap();
    rig.store
        .deactivate_chat(3, "Forbidden: bot was blocked by the user")
        .await
        .unwrap();
    rig.fake.temperature(35.0);
    let report = rig
        .poller()
        .poll_once(Clock::start().at(Duration::ZERO))
        .await
        .unwrap();
    assert_eq!((report.subscriptions, report.locations), (1, 1));
    assert_eq!(rig.fake.locations_requested(), [(41.9, 12.5)]);
    let rows = rig.rows().await;
    assert_eq!(
        rows.iter().map(|r| r.subscription_id).collect::<Vec<_>>(),
        [Some(keep)]
    );
}

#[tokio::test]
async fn no_subscriptions_means_no_request() {
    let rig = rig().await;
    let report = rig
        .poller()
        .poll_once(Clock::start().at(Duration::ZERO))
        .await
        .unwrap();
    assert_eq!(
        (report.subscriptions, report.locations, report.messages),
        (0, 0, 0)
    );
    assert_eq!(rig.requests().await, 0);
}

/// Issue 8: "chats in ADMIN_CHAT_IDS get one message per episode". An
/// episode that starts with an on-demand read (`/weather`, `/forecast` of a
/// place no series covers yet) is held and counted, but never told: the hold
/// then keeps the poller from meeting the limit itself, and only a poller's
/// refresh writes notices.
#[tokio::test]
async fn a_rate_limit_met_by_an_on_demand_read_is_told_to_the_admins_too() {
    let rig = rig().await;
    rig.subscribe(7, ROME, max(30.0)).await;
    let forecasts = rig.forecasts(defaults());
    let poller = rig.poller_on(forecasts.clone(), vec![4242]);
    let day = tomorrow();
    poller.poll_once(on(day, 9, 0)).await.unwrap();

    // /weather Milan at 09:05: its first fetch meets the daily limit.
    rig.daily_limit_once().await;
    let milan = Coordinates {
        latitude: 45.46,
        longitude: 9.19,
    };
    assert!(forecasts.for_point(milan, on(day, 9, 5)).await.is_err());
    assert_eq!(rig.metrics.weather_rate_limited.get(), 1);

    // Rome's refresh at 10:00 is held (rightly), and the admins hear nothing.
    let report = poller.poll_once(on(day, 10, 0)).await.unwrap();
    assert_eq!((report.refreshed, rig.requests().await), (0, 2));
    assert_eq!(
        rig.rows_of("notice").await.len(),
        1,
        "the admins were never told"
    );
}
