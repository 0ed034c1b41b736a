//! The bot's flows, driven through the real handler tree with MockBot:
//! one-line and guided subscribe, ambiguous cities, bad inputs, cancel,
//! register with password deletion, and subscriptions of other chats.

mod support;

use meteobot::domain::ChatId;
use support::bot::{bot_rig, buttons, last_text, texts};
use teloxide_tests::{MockCallbackQuery, MockMessageLocation, MockMessageText, MockUser};

fn text(t: &str) -> MockMessageText {
    MockMessageText::new().text(t)
}

fn press(data: &str) -> MockCallbackQuery {
    MockCallbackQuery::new().data(data)
}

async fn chat_subscriptions(rig: &support::bot::BotRig) -> Vec<meteobot::store::Subscription> {
    rig.store
        .subscriptions_of_chat(ChatId::new(MockMessageText::new().build().chat.id.0).unwrap())
        .await
        .unwrap()
}

#[tokio::test]
async fn start_greets_in_the_users_language() {
    let rig = bot_rig(vec![]).await;
    let mut bot = rig.mock(text("/start"));
    bot.dispatch().await;
    let answer = last_text(&bot);
    assert!(answer.starts_with("Hello First! I'm meteobot"), "{answer}");
    assert!(answer.contains("/subscribe") && answer.contains("/register"));
    // MockBot holds a process-wide lock: one alive at a time.
    drop(bot);

    let rig = bot_rig(vec![]).await;
    let italian = MockMessageText::new()
        .text("/start")
        .from(MockUser::new().language_code("it-IT".to_owned()).build());
    let mut bot = rig.mock(italian);
    bot.dispatch().await;
    assert!(last_text(&bot).starts_with("Ciao First!"));
    // The language is remembered for the chat (alerts use it).
    bot.update(text("/help"));
    bot.dispatch().await;
    assert!(last_text(&bot).starts_with("Comandi:"));
}

#[tokio::test]
async fn one_line_subscribe_stores_at_once() {
    let rig = bot_rig(vec![]).await;
    rig.places(
        "Rome",
        &[("Rome", "Lazio", "IT", 41.89193, 12.51133, 2_318_895)],
    )
    .await;
    let mut bot = rig.mock(text("/subscribe Rome 5 30 yes no"));
    bot.dispatch().await;
    assert_eq!(
        last_text(&bot),
        "✅ Subscribed #1: Rome, Lazio, IT — min 5 °C · max 30 °C · ☔ rain"
    );
    let subs = chat_subscriptions(&rig).await;
    assert_eq!(subs.len(), 1);
    assert_eq!(
        (subs[0].t_min, subs[0].t_max, subs[0].rain, subs[0].snow),
        (Some(5.0), Some(30.0), true, false)
    );
    assert_eq!(subs[0].latitude, 41.8919);
}

#[tokio::test]
async fn city_names_with_spaces_work_quoted_or_not() {
    let rig = bot_rig(vec![]).await;
    rig.places(
        "New York",
        &[("New York", "New York", "US", 40.71427, -74.00597, 8_175_133)],
    )
    .await;
    let mut bot = rig.mock(text("/subscribe \"New York\" - 30 no no"));
    bot.dispatch().await;
    assert!(
        last_text(&bot).starts_with("✅ Subscribed #1: New York, US — max 30 °C"),
        "{}",
        last_text(&bot)
    );
    bot.update(text("/subscribe New York - 35 no no"));
    bot.dispatch().await;
    assert!(
        last_text(&bot).starts_with("✅ Subscribed #2: New York, US — max 35 °C"),
        "{}",
        last_text(&bot)
    );
}

#[tokio::test]
async fn guided_subscribe_with_buttons() {
    let rig = bot_rig(vec![]).await;
    rig.places(
        "Rome",
        &[("Rome", "Lazio", "IT", 41.89193, 12.51133, 2_318_895)],
    )
    .await;
    let mut bot = rig.mock(text("/subscribe"));
    bot.dispatch().await;
    assert_eq!(last_text(&bot), "Which city? (or share a location with 📎)");

    bot.update(text("Rome"));
    bot.dispatch().await;
    assert!(last_text(&bot).starts_with("📍 Rome, Lazio, IT\nMinimum temperature"));
    assert_eq!(buttons(&bot), vec!["min:none"]);

    bot.update(text("5"));
    bot.dispatch().await;
    assert!(last_text(&bot).starts_with("Maximum temperature"));

    bot.update(text("30,5"));
    bot.dispatch().await;
    assert_eq!(last_text(&bot), "Alert me when it rains?");
    assert_eq!(buttons(&bot), vec!["rain:1", "rain:0"]);

    bot.update(press("rain:1"));
    bot.dispatch().await;
    assert_eq!(last_text(&bot), "Alert me when it snows?");

    bot.update(press("snow:0"));
    bot.dispatch().await;
    assert!(last_text(&bot).starts_with("Shall I warn you ahead"));
    bot.update(press("ahead:off"));
    bot.dispatch().await;
    assert_eq!(
        last_text(&bot),
        "Please confirm:\n📍 Rome, Lazio, IT\nmin 5 °C · max 30.5 °C · ☔ rain\nno heads-up"
    );
    assert_eq!(buttons(&bot), vec!["confirm", "cancel"]);
    assert!(
        chat_subscriptions(&rig).await.is_empty(),
        "nothing stored before confirming"
    );

    bot.update(press("confirm"));
    bot.dispatch().await;
    assert!(last_text(&bot).starts_with("✅ Subscribed #1: Rome, Lazio, IT"));
    assert_eq!(chat_subscriptions(&rig).await.len(), 1);

    // The confirmation button of an old message does nothing now.
    bot.update(press("confirm"));
    bot.dispatch().await;
    assert_eq!(
        last_text(&bot),
        "This choice has expired. Start again with /subscribe."
    );
    assert_eq!(chat_subscriptions(&rig).await.len(), 1);
}

#[tokio::test]
async fn no_minimum_button_and_typed_answers() {
    let rig = bot_rig(vec![]).await;
    rig.places(
        "Oslo",
        &[("Oslo", "Oslo", "NO", 59.91273, 10.74609, 580_000)],
    )
    .await;
    let mut bot = rig.mock(text("/subscribe Oslo"));
    bot.dispatch().await;
    assert!(
        last_text(&bot).starts_with("📍 Oslo, NO"),
        "{}",
        last_text(&bot)
    );
    bot.update(press("min:none"));
    bot.dispatch().await;
    bot.update(press("max:none"));
    bot.dispatch().await;
    assert_eq!(last_text(&bot), "Alert me when it rains?");
    bot.update(text("no"));
    bot.dispatch().await;
    bot.update(text("sì"));
    bot.dispatch().await;
    bot.update(text("off"));
    bot.dispatch().await;
    assert_eq!(
        last_text(&bot),
        "Please confirm:\n📍 Oslo, NO\n❄️ snow\nno heads-up"
    );
    bot.update(press("confirm"));
    bot.dispatch().await;
    let subs = chat_subscriptions(&rig).await;
    assert_eq!(
        (subs[0].t_min, subs[0].t_max, subs[0].snow),
        (None, None, true)
    );
}

#[tokio::test]
async fn an_ambiguous_city_is_offered_as_choices() {
    let rig = bot_rig(vec![]).await;
    rig.places(
        "Paris",
        &[
            ("Paris", "Île-de-France", "FR", 48.85341, 2.3488, 2_138_551),
            ("Paris", "Texas", "US", 33.66094, -95.55551, 24_171),
        ],
    )
    .await;
    let mut bot = rig.mock(text("/subscribe Paris 0 30 no no"));
    bot.dispatch().await;
    assert_eq!(
        last_text(&bot),
        "Several places are called \"Paris\". Which one?"
    );
    assert_eq!(buttons(&bot), vec!["place:0", "place:1"]);
    assert!(chat_subscriptions(&rig).await.is_empty());

    bot.update(press("place:1"));
    bot.dispatch().await;
    assert!(
        last_text(&bot).starts_with("✅ Subscribed #1: Paris, Texas, US"),
        "{}",
        last_text(&bot)
    );
    assert_eq!(chat_subscriptions(&rig).await[0].country, "US");
}

#[tokio::test]
async fn bad_inputs_are_explained_and_nothing_is_stored() {
    let rig = bot_rig(vec![]).await;
    rig.places("Rome", &[("Rome", "Lazio", "IT", 41.89, 12.51, 2_318_895)])
        .await;
    rig.unknown_place("Atlantis").await;

    let cases = [
        (
            "/subscribe Atlantis 5 30 no no",
            "I can't find a city called \"Atlantis\"",
        ),
        (
            "/subscribe Rome hot 30 no no",
            "t_min: 'hot' is not a temperature",
        ),
        (
            "/subscribe Rome 5 300 no no",
            "t_max: 300 °C is outside -90..60 °C",
        ),
        (
            "/subscribe Rome 30 5 no no",
            "the minimum (30 °C) must be below the maximum (5 °C)",
        ),
        ("/subscribe Rome - - no no", "nothing to watch"),
        (
            "/subscribe Rome 5 30 maybe no",
            "rain: 'maybe' is not yes or no",
        ),
        (
            "/subscribe Rome 5 30",
            "Write /subscribe alone and I'll guide you",
        ),
    ];
    for (input, expected) in cases {
        let mut bot = rig.mock(text(input));
        bot.dispatch().await;
        let answer = texts(&bot).join("\n");
        assert!(answer.contains(expected), "{input}: {answer}");
    }
    assert!(chat_subscriptions(&rig).await.is_empty());

    // Guided: a bad answer is explained and the same question stands.
    let mut bot = rig.mock(text("/subscribe Rome"));
    bot.dispatch().await;
    for (answer, expected) in [
        ("warm", "'warm' is not a temperature"),
        ("-100", "-100 °C is outside"),
    ] {
        bot.update(text(answer));
        bot.dispatch().await;
        assert!(
            last_text(&bot).contains(expected),
            "{answer}: {}",
            last_text(&bot)
        );
    }
    bot.update(text("20"));
    bot.dispatch().await;
    bot.update(text("10"));
    bot.dispatch().await;
    assert!(
        last_text(&bot).contains("must be below the maximum"),
        "{}",
        last_text(&bot)
    );
    assert!(chat_subscriptions(&rig).await.is_empty());
}

#[tokio::test]
async fn more_than_twenty_subscriptions_are_refused() {
    let rig = bot_rig(vec![]).await;
    rig.places("Rome", &[("Rome", "Lazio", "IT", 41.89, 12.51, 2_318_895)])
        .await;
    // Twenty different subscriptions (the same one twice is one subscription).
    let mut bot = rig.mock(text("/subscribe Rome 5 30 no no"));
    bot.dispatch().await;
    for max in 31..50 {
        bot.update(text(&format!("/subscribe Rome 5 {max} no no")));
        bot.dispatch().await;
    }
    assert_eq!(chat_subscriptions(&rig).await.len(), 20);
    bot.update(text("/subscribe Rome 5 50 no no"));
    bot.dispatch().await;
    assert!(
        last_text(&bot).contains("You already have 20 subscriptions"),
        "{}",
        last_text(&bot)
    );
    assert_eq!(chat_subscriptions(&rig).await.len(), 20);
}

#[tokio::test]
async fn cancel_leaves_the_dialogue() {
    let rig = bot_rig(vec![]).await;
    rig.places("Rome", &[("Rome", "Lazio", "IT", 41.89, 12.51, 2_318_895)])
        .await;
    let mut bot = rig.mock(text("/subscribe Rome"));
    bot.dispatch().await;
    bot.update(text("/cancel"));
    bot.dispatch().await;
    assert_eq!(last_text(&bot), "Cancelled.");
    bot.update(text("5"));
    bot.dispatch().await;
    assert_eq!(
        last_text(&bot),
        "I didn't understand that. /help lists what I can do."
    );
    bot.update(text("/cancel"));
    bot.dispatch().await;
    assert_eq!(last_text(&bot), "There is nothing to cancel.");
    assert!(chat_subscriptions(&rig).await.is_empty());
}

#[tokio::test]
async fn a_shared_location_starts_at_the_minimum() {
    let rig = bot_rig(vec![]).await;
    let mut bot = rig.mock(MockMessageLocation::new().latitude(45.4642).longitude(9.19));
    bot.dispatch().await;
    assert!(
        last_text(&bot).starts_with("📍 Location 45.4642, 9.1900\nMinimum"),
        "{}",
        last_text(&bot)
    );
    for answer in ["-5", "35"] {
        bot.update(text(answer));
        bot.dispatch().await;
    }
    bot.update(press("rain:0"));
    bot.dispatch().await;
    bot.update(press("snow:1"));
    bot.dispatch().await;
    bot.update(press("ahead:off"));
    bot.dispatch().await;
    bot.update(press("confirm"));
    bot.dispatch().await;
    let subs = chat_subscriptions(&rig).await;
    assert_eq!(
        (subs[0].latitude, subs[0].longitude, subs[0].t_min),
        (45.4642, 9.19, Some(-5.0))
    );
}

#[tokio::test]
async fn register_deletes_the_password_message() {
    let rig = bot_rig(vec![]).await;
    let user = MockUser::new().username("ada_l".to_owned()).build();
    let mut bot = rig.mock(MockMessageText::new().text("/register").from(user));
    bot.dispatch().await;
    assert!(last_text(&bot).contains("@ada_l"), "{}", last_text(&bot));
    assert_eq!(buttons(&bot), vec!["reguser"]);

    bot.update(press("reguser"));
    bot.dispatch().await;
    assert!(
        last_text(&bot).starts_with("Now a password"),
        "{}",
        last_text(&bot)
    );

    bot.update(text("123"));
    bot.dispatch().await;
    assert!(
        last_text(&bot).contains("at least 6 characters"),
        "{}",
        last_text(&bot)
    );

    let secret = MockMessageText::new().text("correct horse").id(777);
    bot.update(secret);
    bot.dispatch().await;
    let responses = bot.get_responses();
    assert!(
        responses
            .deleted_messages
            .iter()
            .any(|d| d.message.id.0 == 777),
        "the password message was not deleted"
    );
    assert_eq!(
        last_text(&bot),
        "✅ Account ada_l created. Log in to the REST API with it; your alerts come here."
    );
    let stored = rig.store.user_by_name("ada_l").await.unwrap().unwrap();
    assert!(stored.password_hash.starts_with("$argon2id$"));

    // The same chat again: recognised, not duplicated.
    bot.update(text("/register"));
    bot.dispatch().await;
    assert_eq!(last_text(&bot), "This chat already has an account: ada_l.");
}

#[tokio::test]
async fn a_rest_account_for_this_chat_is_recognised() {
    let rig = bot_rig(vec![]).await;
    let chat = MockMessageText::new().build().chat.id.0;
    rig.ctx
        .accounts
        .register("webuser", "s3cret-pw", &chat.to_string())
        .await
        .unwrap();
    let mut bot = rig.mock(text("/register"));
    bot.dispatch().await;
    assert_eq!(
        last_text(&bot),
        "This chat already has an account: webuser."
    );
}

#[tokio::test]
async fn a_taken_username_is_asked_again() {
    let rig = bot_rig(vec![]).await;
    rig.ctx
        .accounts
        .register("taken", "s3cret-pw", "999")
        .await
        .unwrap();
    let mut bot = rig.mock(text("/register"));
    bot.dispatch().await;
    bot.update(text("taken"));
    bot.dispatch().await;
    assert_eq!(
        last_text(&bot),
        "The username taken is taken. Choose another one:"
    );
    bot.update(text("fresh"));
    bot.dispatch().await;
    assert!(last_text(&bot).starts_with("Now a password"));
}

#[tokio::test]
async fn list_and_unsubscribe_only_your_own() {
    let rig = bot_rig(vec![]).await;
    rig.places("Rome", &[("Rome", "Lazio", "IT", 41.89, 12.51, 2_318_895)])
        .await;
    // Another chat's subscription.
    let other = rig
        .ctx
        .accounts
        .register("other", "s3cret-pw", "4242")
        .await
        .unwrap()
        .0;
    let place = meteobot::weather::Place {
        name: "Rome".into(),
        country: "IT".into(),
        region: None,
        coordinates: meteobot::weather::Coordinates {
            latitude: 41.89,
            longitude: 12.51,
        },
        population: None,
        timezone: None,
    };
    let watch = meteobot::subscribe::Watch::new(None, Some(30.0), false, false).unwrap();
    let foreign = rig
        .ctx
        .subscriber
        .subscribe_at(ChatId::new(other.chat_id).unwrap(), &place, &watch)
        .await
        .unwrap();

    let mut bot = rig.mock(text("/subscriptions"));
    bot.dispatch().await;
    assert_eq!(
        last_text(&bot),
        "You have no subscriptions. /subscribe adds one."
    );

    bot.update(text("/subscribe Rome 5 30 no no"));
    bot.dispatch().await;
    bot.update(text("/subscriptions"));
    bot.dispatch().await;
    assert_eq!(
        last_text(&bot),
        "Your subscriptions (🗑 to remove):\n#2 Rome, IT — min 5 °C · max 30 °C · no heads-up"
    );
    assert_eq!(buttons(&bot), vec!["del:2"]);

    bot.update(text(&format!("/unsubscribe {}", foreign.id)));
    bot.dispatch().await;
    assert_eq!(
        last_text(&bot),
        format!(
            "You have no subscription #{}. /subscriptions shows yours.",
            foreign.id
        )
    );
    assert!(
        rig.store
            .subscriptions_of_chat(ChatId::new(4242).unwrap())
            .await
            .unwrap()
            .len()
            == 1
    );

    bot.update(press(&format!("del:{}", foreign.id)));
    bot.dispatch().await;
    assert!(last_text(&bot).starts_with("You have no subscription"));

    bot.update(press("del:2"));
    bot.dispatch().await;
    assert_eq!(last_text(&bot), "🗑 Subscription #2 removed.");
    assert!(chat_subscriptions(&rig).await.is_empty());

    bot.update(text("/unsubscribe"));
    bot.dispatch().await;
    assert!(last_text(&bot).starts_with("Which one?"));
}

#[tokio::test]
async fn settings_unknown_commands_and_free_text() {
    let rig = bot_rig(vec![]).await;
    let mut bot = rig.mock(text("/language it"));
    bot.dispatch().await;
    assert_eq!(last_text(&bot), "Va bene, parlo italiano. 🇮🇹");
    bot.update(text("/units f"));
    bot.dispatch().await;
    assert_eq!(last_text(&bot), "Va bene, temperature in °F.");
    bot.update(text("/units kelvin"));
    bot.dispatch().await;
    assert!(last_text(&bot).starts_with("Scrivi /units c"));
    bot.update(text("/frobnicate"));
    bot.dispatch().await;
    assert_eq!(last_text(&bot), "Non ho capito. /help elenca cosa so fare.");
    bot.update(text("hello there"));
    bot.dispatch().await;
    assert_eq!(last_text(&bot), "Non ho capito. /help elenca cosa so fare.");
    let chat = rig
        .store
        .chat(MockMessageText::new().build().chat.id.0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((chat.language.as_str(), chat.units.as_str()), ("it", "f"));
}

#[tokio::test]
async fn each_state_takes_its_answers_and_anything_else_gets_a_hint() {
    const SEND_TEXT: &str = "Please answer with a text message (or /cancel).";
    const UNKNOWN: &str = "I didn't understand that. /help lists what I can do.";
    let rig = bot_rig(vec![]).await;
    rig.places("Rome", &[("Rome", "Lazio", "IT", 41.89, 12.51, 2_318_895)])
        .await;
    let mut bot = rig.mock(text("/subscribe"));
    bot.dispatch().await;
    assert!(last_text(&bot).starts_with("Which city?"));
    bot.update(text("Rome"));
    bot.dispatch().await;
    assert!(last_text(&bot).contains("Minimum temperature"));
    // A location is a city's answer only; asked for the minimum it is not text.
    bot.update(MockMessageLocation::new().latitude(45.4).longitude(9.2));
    bot.dispatch().await;
    assert_eq!(last_text(&bot), SEND_TEXT);
    // An unknown command is not an answer and keeps the question standing.
    bot.update(text("/frobnicate"));
    bot.dispatch().await;
    assert_eq!(last_text(&bot), UNKNOWN);
    bot.update(text("5"));
    bot.dispatch().await;
    assert!(last_text(&bot).starts_with("Maximum temperature"));
    // A known command leaves the dialogue, a refused /sla included.
    bot.update(text("/sla list"));
    bot.dispatch().await;
    assert_eq!(last_text(&bot), "Sorry, /sla is not allowed in this chat.");
    bot.update(text("30"));
    bot.dispatch().await;
    assert_eq!(last_text(&bot), UNKNOWN);
    bot.update(MockMessageLocation::new().latitude(45.4).longitude(9.2));
    bot.dispatch().await;
    assert!(last_text(&bot).starts_with("📍 Location 45.4000, 9.2000\nMinimum"));
    assert!(chat_subscriptions(&rig).await.is_empty());
}
