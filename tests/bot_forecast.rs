//! Heads-ups and forecasts in chat, through the real handler tree with
//! MockBot: the lead time in one-line and guided /subscribe, /ahead,
//! /subscriptions, /forecast over an Open-Meteo-shaped answer, and /weather
//! read from the stored series with its age.

mod support;

use chrono::{DateTime, FixedOffset, TimeDelta, Utc};
use meteobot::domain::ChatId;
use meteobot::weather::{Coordinates, Series, Step};
use serde_json::json;
use support::bot::{BotRig, Hour, bot_rig, buttons, forecast_answer, last_text, texts, this_hour};
use teloxide_tests::{MockCallbackQuery, MockMessageText};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

fn text(t: &str) -> MockMessageText {
    MockMessageText::new().text(t)
}

fn press(data: &str) -> MockCallbackQuery {
    MockCallbackQuery::new().data(data)
}

fn chat() -> ChatId {
    ChatId::new(MockMessageText::new().build().chat.id.0).unwrap()
}

async fn leads(rig: &BotRig) -> Vec<Option<i64>> {
    rig.store
        .subscriptions_of_chat(chat())
        .await
        .unwrap()
        .iter()
        .map(|s| s.ahead_s)
        .collect()
}

const ROME: Coordinates = Coordinates {
    latitude: 41.89193,
    longitude: 12.51133,
};

async fn rome(rig: &BotRig) {
    rig.places(
        "Rome",
        &[(
            "Rome",
            "Lazio",
            "IT",
            ROME.latitude,
            ROME.longitude,
            2_318_895,
        )],
    )
    .await;
}

#[tokio::test]
async fn one_line_subscribe_takes_a_lead_time() {
    let rig = bot_rig(vec![]).await;
    rome(&rig).await;
    rig.places(
        "New York",
        &[("New York", "New York", "US", 40.71427, -74.00597, 8_175_133)],
    )
    .await;
    let mut bot = rig.mock(text("/subscribe Rome 5 30 yes no 3h"));
    bot.dispatch().await;
    assert_eq!(
        last_text(&bot),
        "✅ Subscribed #1: Rome, Lazio, IT — min 5 °C · max 30 °C · ☔ rain · ⏰ heads-up 3h ahead"
    );
    // Minutes, an unquoted "1h 30m", a city of two words, and off.
    for line in [
        "/subscribe Rome 5 31 yes no 40",
        "/subscribe New York - 30 no no 1h 30m",
        "/subscribe \"New York\" - 31 no no off",
        "/subscribe Rome 5 32 yes no",
    ] {
        bot.update(text(line));
        bot.dispatch().await;
        assert!(
            last_text(&bot).starts_with("✅ Subscribed"),
            "{line}: {}",
            last_text(&bot)
        );
    }
    assert_eq!(
        leads(&rig).await,
        vec![Some(3 * 3600), Some(40 * 60), Some(90 * 60), None, None]
    );
}

#[tokio::test]
async fn bad_lead_times_are_explained_and_nothing_is_stored() {
    let rig = bot_rig(vec![]).await;
    rome(&rig).await;
    for (input, expected) in [
        (
            "/subscribe Rome 5 30 yes no soon",
            "ahead: 'soon' is not a lead time",
        ),
        ("/subscribe Rome 5 30 yes no -2h", "cannot be negative"),
        (
            "/subscribe Rome 5 30 yes no 0",
            "a lead time of zero is not a heads-up",
        ),
        ("/subscribe Rome 5 30 yes no 49h", "at most 48 h"),
        ("/subscribe Rome 5 30 yes no 3000", "at most 48 h"),
    ] {
        let mut bot = rig.mock(text(input));
        bot.dispatch().await;
        let answer = texts(&bot).join("\n");
        assert!(answer.contains(expected), "{input}: {answer}");
        assert!(answer.contains("/subscribe <city>"), "{input}: usage shown");
    }
    assert!(leads(&rig).await.is_empty());
}

#[tokio::test]
async fn the_guided_subscribe_asks_for_the_lead() {
    let rig = bot_rig(vec![]).await;
    rome(&rig).await;
    let mut bot = rig.mock(text("/subscribe Rome"));
    bot.dispatch().await;
    for answer in ["5", "30"] {
        bot.update(text(answer));
        bot.dispatch().await;
    }
    bot.update(press("rain:1"));
    bot.dispatch().await;
    bot.update(press("snow:0"));
    bot.dispatch().await;
    assert!(
        last_text(&bot).starts_with("Shall I warn you ahead"),
        "{}",
        last_text(&bot)
    );
    assert_eq!(
        buttons(&bot),
        vec![
            "ahead:off",
            "ahead:60",
            "ahead:180",
            "ahead:720",
            "ahead:1440"
        ]
    );

    // A bad typed answer is explained and the buttons stay.
    bot.update(text("99h"));
    bot.dispatch().await;
    assert!(
        last_text(&bot).contains("at most 48 h"),
        "{}",
        last_text(&bot)
    );
    assert_eq!(buttons(&bot).len(), 5);
    // A forged button is refused.
    bot.update(press("ahead:7"));
    bot.dispatch().await;
    assert!(last_text(&bot).starts_with("This choice has expired"));

    bot.update(press("ahead:180"));
    bot.dispatch().await;
    assert_eq!(
        last_text(&bot),
        "Please confirm:\n📍 Rome, Lazio, IT\nmin 5 °C · max 30 °C · ☔ rain\n⏰ heads-up 3h ahead"
    );
    assert!(
        leads(&rig).await.is_empty(),
        "nothing stored before confirming"
    );
    bot.update(press("confirm"));
    bot.dispatch().await;
    assert!(
        last_text(&bot).ends_with("· ⏰ heads-up 3h ahead"),
        "{}",
        last_text(&bot)
    );
    assert_eq!(leads(&rig).await, vec![Some(3 * 3600)]);
    // The lead button of an old message does nothing now.
    bot.update(press("ahead:60"));
    bot.dispatch().await;
    assert!(last_text(&bot).starts_with("This choice has expired"));

    // Typed answers: a duration, then off.
    for (typed, stored, max) in [("2h", Some(7200), "35"), ("off", None, "36")] {
        bot.update(text("/subscribe Rome"));
        bot.dispatch().await;
        for answer in ["-", max, "no", "no"] {
            bot.update(text(answer));
            bot.dispatch().await;
        }
        bot.update(text(typed));
        bot.dispatch().await;
        assert!(last_text(&bot).starts_with("Please confirm:"), "{typed}");
        bot.update(press("confirm"));
        bot.dispatch().await;
        assert_eq!(
            leads(&rig).await.last().copied().flatten(),
            stored,
            "{typed}"
        );
    }
}

#[tokio::test]
async fn a_dialogue_stored_before_heads_ups_still_confirms() {
    let rig = bot_rig(vec![]).await;
    let old = json!({ "SubscribeConfirm": {
        "place": { "name": "Rome", "country": "IT", "region": "Lazio",
                   "latitude": 41.8919, "longitude": 12.5113 },
        "limits": { "min": 5.0, "max": 30.0, "rain": true, "snow": false }
    }});
    rig.store
        .save_dialogue(chat().get(), &old.to_string())
        .await
        .unwrap();
    let mut bot = rig.mock(press("confirm"));
    bot.dispatch().await;
    assert_eq!(
        last_text(&bot),
        "✅ Subscribed #1: Rome, Lazio, IT — min 5 °C · max 30 °C · ☔ rain"
    );
    assert_eq!(leads(&rig).await, vec![None]);
}

#[tokio::test]
async fn ahead_changes_only_the_chats_own_subscriptions() {
    let rig = bot_rig(vec![]).await;
    rome(&rig).await;
    let other = ChatId::new(4242).unwrap();
    let place = meteobot::weather::Place {
        name: "Rome".into(),
        country: "IT".into(),
        region: None,
        coordinates: ROME,
        population: None,
        timezone: None,
    };
    let watch = meteobot::subscribe::Watch::new(None, Some(30.0), false, false).unwrap();
    let foreign = rig
        .ctx
        .subscriber
        .subscribe_at(other, &place, &watch)
        .await
        .unwrap();

    let mut bot = rig.mock(text("/subscribe Rome 5 30 yes no"));
    bot.dispatch().await;
    bot.update(text("/ahead 2 3h"));
    bot.dispatch().await;
    assert_eq!(last_text(&bot), "✅ #2: heads-up 3h ahead.");
    assert_eq!(leads(&rig).await, vec![Some(3 * 3600)]);

    bot.update(text("/ahead #2 1h 30m"));
    bot.dispatch().await;
    assert_eq!(last_text(&bot), "✅ #2: heads-up 1h30m ahead.");

    bot.update(text(&format!("/ahead {} 3h", foreign.id)));
    bot.dispatch().await;
    assert_eq!(
        last_text(&bot),
        format!(
            "There is no subscription #{} in this chat. /subscriptions shows yours.",
            foreign.id
        )
    );
    let untouched = rig.store.subscriptions_of_chat(other).await.unwrap();
    assert_eq!(untouched[0].ahead_s, None);

    for (input, expected) in [
        (
            "/ahead 2 49h",
            "ahead: a heads-up lead time can be at most 48 h",
        ),
        ("/ahead 2 soon", "ahead: 'soon' is not a lead time"),
        ("/ahead 2 0", "a lead time of zero"),
        ("/ahead 2", "Write /ahead <id> <lead>"),
        ("/ahead", "Write /ahead <id> <lead>"),
        ("/ahead two 3h", "Write /ahead <id> <lead>"),
    ] {
        bot.update(text(input));
        bot.dispatch().await;
        assert!(
            last_text(&bot).contains(expected),
            "{input}: {}",
            last_text(&bot)
        );
    }
    assert_eq!(
        leads(&rig).await,
        vec![Some(90 * 60)],
        "bad input changed nothing"
    );

    bot.update(text("/subscriptions"));
    bot.dispatch().await;
    assert_eq!(
        last_text(&bot),
        "Your subscriptions (🗑 to remove):\n#2 Rome, IT — min 5 °C · max 30 °C · ☔ rain · ⏰ heads-up 1h30m ahead"
    );

    bot.update(text("/ahead 2 off"));
    bot.dispatch().await;
    assert_eq!(last_text(&bot), "✅ #2: no heads-up.");
    assert_eq!(leads(&rig).await, vec![None]);
    bot.update(text("/subscriptions"));
    bot.dispatch().await;
    assert!(
        last_text(&bot).ends_with("☔ rain · no heads-up"),
        "{}",
        last_text(&bot)
    );

    bot.update(text("/language it"));
    bot.dispatch().await;
    bot.update(text("/ahead 2 3h"));
    bot.dispatch().await;
    assert_eq!(last_text(&bot), "✅ #2: preavviso di 3h.");
}

#[tokio::test]
async fn help_lists_the_new_commands() {
    let rig = bot_rig(vec![]).await;
    let mut bot = rig.mock(text("/help"));
    bot.dispatch().await;
    let help = last_text(&bot);
    assert!(help.contains("/ahead <id> <lead|off>"), "{help}");
    assert!(help.contains("/forecast <city>"), "{help}");
    assert!(
        help.contains("/subscribe [city t_min t_max rain snow [lead]]"),
        "{help}"
    );
}

/// 30 hours from the current hour: 10 °C + 1 per hour; rain in hours 4 and
/// 5 (70 % and 40 %), snow in hour 13 (30 %).
fn script() -> Vec<Hour> {
    (0..30)
        .map(|h| {
            let t = 10.0 + h as f64;
            match h {
                4 => (t, 1.5, 0.0, 70),
                5 => (t, 0.3, 0.0, 40),
                13 => (t, 0.0, 0.5, 30),
                _ => (t, 0.0, 0.0, 5),
            }
        })
        .collect()
}

#[tokio::test]
async fn forecast_shows_the_next_24_hours_in_local_time() {
    let rig = bot_rig(vec![]).await;
    rome(&rig).await;
    let start = this_hour();
    rig.forecast(forecast_answer(start, 3600, &script())).await;
    let mut bot = rig.mock(text("/forecast Rome"));
    bot.dispatch().await;
    let answer = last_text(&bot);
    let mut lines: Vec<&str> = answer.lines().collect();
    assert_eq!(
        lines.first().copied(),
        Some("🗓 Rome, IT — the next 24 hours (local time):")
    );
    assert_eq!(lines.last().copied(), Some("🕒 data from just now"));
    lines.retain(|l| *l != "— tomorrow —");
    let rome_time = FixedOffset::east_opt(3600).unwrap();
    let label = |block: i64| {
        DateTime::<Utc>::from_timestamp(start + block * 3 * 3600, 0)
            .unwrap()
            .with_timezone(&rome_time)
            .format("%H:%M")
            .to_string()
    };
    let expected: Vec<String> = (0..8)
        .map(|b| {
            let wet = match b {
                1 => "  🌧 70 %",
                4 => "  ❄️ 30 %",
                _ => "",
            };
            format!("{}  {} °C{wet}", label(b), 10 + 3 * b)
        })
        .collect();
    assert_eq!(lines[1..lines.len() - 1], expected);
    drop(bot);

    // Read again: from the stored series, no second upstream call.
    let mut bot = rig.mock(text("/forecast Rome"));
    bot.dispatch().await;
    assert!(last_text(&bot).starts_with("🗓 Rome, IT"));
    let calls = rig.weather.received_requests().await.unwrap();
    let forecasts = calls
        .iter()
        .filter(|r| r.url.path() == "/v1/forecast")
        .count();
    assert_eq!(forecasts, 1);

    bot.update(text("/language it"));
    bot.dispatch().await;
    bot.update(text("/forecast Rome"));
    bot.dispatch().await;
    assert!(
        last_text(&bot).starts_with("🗓 Rome, IT — le prossime 24 ore (ora locale):"),
        "{}",
        last_text(&bot)
    );
    assert!(last_text(&bot).ends_with("🕒 dati di adesso"));
}

#[tokio::test]
async fn forecast_mistakes_and_outages_are_said_plainly() {
    let rig = bot_rig(vec![]).await;
    rome(&rig).await;
    rig.unknown_place("Atlantis").await;
    Mock::given(method("GET"))
        .and(path("/v1/forecast"))
        .respond_with(
            ResponseTemplate::new(500).set_body_json(json!({"error": true, "reason": "boom"})),
        )
        .mount(&rig.weather)
        .await;
    for (input, expected) in [
        ("/forecast", "Which city? Write /forecast <city>"),
        (
            "/forecast Atlantis",
            "I can't find a city called \"Atlantis\"",
        ),
        (
            "/forecast Rome",
            "Weather data is unavailable right now. Please try again later.",
        ),
        (
            "/weather Rome",
            "Weather data is unavailable right now. Please try again later.",
        ),
    ] {
        let mut bot = rig.mock(text(input));
        bot.dispatch().await;
        assert!(
            last_text(&bot).starts_with(expected),
            "{input}: {}",
            last_text(&bot)
        );
    }
}

/// A series as the poller would have stored it `age` ago: hourly steps
/// from an hour before then to 30 h after, all at `celsius`, clear.
fn stored(age: TimeDelta, celsius: f32) -> Series {
    let fetched_at = Utc::now() - age;
    let from = fetched_at.timestamp() - fetched_at.timestamp().rem_euclid(3600) - 3600;
    Series {
        fetched_at,
        utc_offset_seconds: 3600,
        timezone: Some("Europe/Rome".into()),
        fine: vec![],
        coarse: (0..32)
            .map(|h| Step {
                at: from + h * 3600,
                temperature_c: celsius,
                rain_mm: 0.0,
                snow_cm: 0.0,
                probability: Some(0),
                code: Some(0),
            })
            .collect(),
    }
}

#[tokio::test]
async fn weather_reads_the_stored_series_and_says_its_age() {
    let rig = bot_rig(vec![]).await;
    rome(&rig).await;
    rig.stored_series(ROME, &stored(TimeDelta::minutes(25), 31.4))
        .await;
    // A fresh series means no upstream call at all.
    Mock::given(method("GET"))
        .and(path("/v1/forecast"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&rig.weather)
        .await;
    let mut bot = rig.mock(text("/subscribe Rome 5 30 no no"));
    bot.dispatch().await;
    bot.update(text("/subscribe Rome - 35 no no"));
    bot.dispatch().await;
    bot.update(text("/weather Rome"));
    bot.dispatch().await;
    assert_eq!(
        last_text(&bot),
        "Rome, IT: 31.4 °C, clear sky\n🕒 data from 25 min ago\n⚠️ #1 outside your limits:\n🌡 Rome, IT: 31.4 °C — above your maximum of 30 °C.\n✅ #2 within your limits"
    );
    bot.update(text("/language it"));
    bot.dispatch().await;
    bot.update(text("/weather Rome"));
    bot.dispatch().await;
    assert!(
        last_text(&bot).starts_with("Rome, IT: 31,4 °C, cielo sereno\n🕒 dati di 25 min fa\n"),
        "{}",
        last_text(&bot)
    );
    bot.update(text("/weather"));
    bot.dispatch().await;
    assert!(last_text(&bot).starts_with("Quale città?"));
    drop(bot);
    rig.weather.verify().await;
}

#[tokio::test]
async fn weather_on_old_data_says_alerts_are_paused() {
    let rig = bot_rig(vec![]).await;
    rome(&rig).await;
    rig.stored_series(ROME, &stored(TimeDelta::hours(4), 12.0))
        .await;
    // The refresh fails: the old series is all there is.
    Mock::given(method("GET"))
        .and(path("/v1/forecast"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&rig.weather)
        .await;
    let mut bot = rig.mock(text("/weather Rome"));
    bot.dispatch().await;
    assert_eq!(
        last_text(&bot),
        "Rome, IT: 12 °C, clear sky\n⚠️ This data is from 4 h ago, too old to judge: alerts for this place are paused until it is refreshed."
    );
    bot.update(text("/forecast Rome"));
    bot.dispatch().await;
    assert!(
        last_text(&bot)
            .ends_with("too old to judge: alerts for this place are paused until it is refreshed."),
        "{}",
        last_text(&bot)
    );
}
