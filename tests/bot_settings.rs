//! Issue 10, `/settings`: one card with every preference and buttons that
//! change them (stored, then the card is redrawn; the press is answered with
//! a notice).

mod support;

use meteobot::domain::{ChatZone, Language, QuietMode, Units};
use support::bot::{bot_rig, buttons, last_text};
use teloxide_tests::{MockCallbackQuery, MockMessageText};

/// MockBot's default chat.
const CHAT: i64 = 12345678;

fn text(t: &str) -> MockMessageText {
    MockMessageText::new().text(t)
}

#[tokio::test]
async fn the_card_shows_every_setting_and_its_buttons_change_them() {
    let rig = bot_rig(vec![]).await;
    let mut bot = rig.mock(text("/settings"));
    bot.dispatch().await;
    assert_eq!(
        last_text(&bot),
        "⚙️ Settings — tap a button to change one:\nLanguage: English\nUnits: °C\n\
         Time zone: UTC (until a place or /timezone sets one)\nQuiet hours: off\n\
         Daily digest: off"
    );
    assert_eq!(
        buttons(&bot),
        [
            "set:lang:en",
            "set:lang:it",
            "set:units:c",
            "set:units:f",
            "set:quiet:night",
            "set:quiet:hold",
            "set:quiet:off",
            "set:digest:0730",
            "set:digest:off",
            "set:tz",
        ]
    );

    for data in [
        "set:quiet:hold",
        "set:digest:0730",
        "set:units:f",
        "set:lang:it",
    ] {
        bot.update(MockCallbackQuery::new().data(data));
        bot.dispatch().await;
    }
    let settings = rig.store.chat_settings(CHAT).await.unwrap();
    let quiet = settings.quiet.unwrap();
    assert_eq!(
        (quiet.start.to_string(), quiet.end.to_string(), quiet.mode),
        ("22:00".into(), "07:00".into(), QuietMode::Hold)
    );
    assert_eq!(settings.digest_at.unwrap().to_string(), "07:30");
    let chat = rig.store.chat(CHAT).await.unwrap().unwrap();
    assert_eq!(
        (
            Language::from_code(&chat.language),
            Units::from_code(&chat.units)
        ),
        (Language::It, Units::Fahrenheit)
    );
    // The press is answered with a notice; the card is redrawn in Italian.
    let responses = bot.get_responses();
    let answered = &responses.answered_callback_queries;
    assert_eq!(
        answered.last().unwrap().text.as_deref(),
        Some("✅ Salvato.")
    );
    let edited = responses.edited_messages_text.last().unwrap();
    assert!(
        edited.message.text().unwrap().contains("Lingua: Italiano"),
        "{:?}",
        edited.message.text()
    );

    bot.update(MockCallbackQuery::new().data("set:quiet:off"));
    bot.dispatch().await;
    bot.update(MockCallbackQuery::new().data("set:digest:off"));
    bot.dispatch().await;
    let settings = rig.store.chat_settings(CHAT).await.unwrap();
    assert_eq!((settings.quiet, settings.digest_at), (None, None));

    // The time zone cannot be a button: its button says how.
    bot.update(MockCallbackQuery::new().data("set:tz"));
    bot.dispatch().await;
    let answered = bot.get_responses().answered_callback_queries;
    assert!(
        answered
            .last()
            .unwrap()
            .text
            .as_deref()
            .unwrap()
            .contains("/timezone"),
        "{answered:?}"
    );
    assert_eq!(rig.store.chat_settings(CHAT).await.unwrap().zone, None);
    // …and /timezone shows on the card.
    bot.update(text("/timezone Europe/Rome"));
    bot.dispatch().await;
    bot.update(text("/settings"));
    bot.dispatch().await;
    assert!(
        last_text(&bot).contains("Fuso orario: Europe/Rome"),
        "{}",
        last_text(&bot)
    );
    assert_eq!(
        rig.store.chat_settings(CHAT).await.unwrap().zone,
        ChatZone::parse("Europe/Rome").ok()
    );
}

#[tokio::test]
async fn a_forged_settings_button_changes_nothing() {
    let rig = bot_rig(vec![]).await;
    let mut bot = rig.mock(MockCallbackQuery::new().data("set:quiet:always"));
    bot.dispatch().await;
    let answered = bot.get_responses().answered_callback_queries;
    assert!(
        answered
            .last()
            .unwrap()
            .text
            .as_deref()
            .unwrap()
            .contains("expired"),
        "{answered:?}"
    );
    let settings = rig.store.chat_settings(CHAT).await.unwrap();
    assert_eq!(settings, Default::default());
}

/// Open-Meteo's geocoding names each place's zone: the chat's first
/// subscription gives the chat its zone at once (not at the next poll), and
/// one chosen with /timezone is kept.
#[tokio::test]
async fn the_first_place_gives_the_chat_its_zone_when_subscribing() {
    use wiremock::matchers::{method, path, query_param};
    use wiremock::{Mock, ResponseTemplate};
    let rig = bot_rig(vec![]).await;
    for (name, zone, lat) in [
        ("Rome", "Europe/Rome", 41.89),
        ("Tokyo", "Asia/Tokyo", 35.68),
    ] {
        Mock::given(method("GET"))
            .and(path("/v1/search"))
            .and(query_param("name", name))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "results": [{ "name": name, "country_code": "XX", "latitude": lat,
                              "longitude": 12.5, "population": 1000, "timezone": zone }]
            })))
            .mount(&rig.weather)
            .await;
    }
    let mut bot = rig.mock(text("/subscribe Rome 5 30 no no"));
    bot.dispatch().await;
    assert!(
        last_text(&bot).starts_with("✅ Subscribed"),
        "{}",
        last_text(&bot)
    );
    bot.update(text("/timezone"));
    bot.dispatch().await;
    assert!(
        last_text(&bot).starts_with("🕰 This chat's time zone is Europe/Rome"),
        "{}",
        last_text(&bot)
    );
    // A second place does not move it.
    bot.update(text("/subscribe Tokyo 5 30 no no"));
    bot.dispatch().await;
    assert_eq!(
        rig.store.chat_settings(CHAT).await.unwrap().zone,
        ChatZone::parse("Europe/Rome").ok()
    );
}
