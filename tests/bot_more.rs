//! More bot behaviour through MockBot: /weather, /sla for admins and
//! strangers, blocked/unblocked updates, and a property test that any text
//! gets an answer without a panic.

mod support;

use meteobot::domain::ChatId;
use proptest::prelude::*;
use serde_json::json;
use support::bot::{bot_rig, forecast_answer, last_text, texts, this_hour};
use teloxide::types::Update;
use teloxide_tests::MockMessageText;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

fn text(t: &str) -> MockMessageText {
    MockMessageText::new().text(t)
}

fn chat_id() -> i64 {
    MockMessageText::new().build().chat.id.0
}

#[tokio::test]
async fn weather_now_with_the_chats_subscriptions_there() {
    let rig = bot_rig(vec![]).await;
    rig.places(
        "Rome",
        &[("Rome", "Lazio", "IT", 41.89193, 12.51133, 2_318_895)],
    )
    .await;
    // Read from the place's forecast series (31.4 °C, clear, all day).
    rig.forecast(forecast_answer(
        this_hour(),
        3600,
        &[(31.4, 0.0, 0.0, 0); 30],
    ))
    .await;
    let mut bot = rig.mock(text("/subscribe Rome 5 30 no no"));
    bot.dispatch().await;
    bot.update(text("/subscribe Rome - 35 no no"));
    bot.dispatch().await;
    bot.update(text("/weather Rome"));
    bot.dispatch().await;
    assert_eq!(
        last_text(&bot),
        "Rome, IT: 31.4 °C, mainly clear\n🕒 data from just now\n⚠️ #1 outside your limits:\n🌡 Rome, IT: 31.4 °C — above your maximum of 30 °C.\n✅ #2 within your limits"
    );
    bot.update(text("/weather"));
    bot.dispatch().await;
    assert!(last_text(&bot).starts_with("Which city?"));
}

#[tokio::test]
async fn weather_service_down_is_said_plainly() {
    let rig = bot_rig(vec![]).await;
    Mock::given(method("GET"))
        .and(path("/v1/search"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&rig.weather)
        .await;
    let mut bot = rig.mock(text("/weather Rome"));
    bot.dispatch().await;
    assert!(
        last_text(&bot).starts_with("The weather service is not answering"),
        "{}",
        last_text(&bot)
    );
    bot.update(text("/subscribe Rome 5 30 no no"));
    bot.dispatch().await;
    assert!(last_text(&bot).starts_with("The weather service is not answering"));
    assert!(
        rig.store
            .subscriptions_of_chat(ChatId::new(chat_id()).unwrap())
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn sla_commands_are_for_admin_chats_only() {
    let stranger = bot_rig(vec![]).await;
    let mut bot = stranger.mock(text("/sla list"));
    bot.dispatch().await;
    assert_eq!(last_text(&bot), "Sorry, /sla is not allowed in this chat.");
    drop(bot);

    let rig = bot_rig(vec![chat_id()]).await;
    let mut bot = rig.mock(text("/sla list"));
    bot.dispatch().await;
    assert!(
        last_text(&bot).starts_with("No SLAs yet."),
        "{}",
        last_text(&bot)
    );

    bot.update(text("/sla add registered_users_total meteobot 100"));
    bot.dispatch().await;
    assert_eq!(
        last_text(&bot),
        "✅ SLA added: registered_users_total (meteobot) within ≤ 100."
    );

    bot.update(text("/sla add registered_users_total meteobot 100"));
    bot.dispatch().await;
    assert!(
        last_text(&bot).starts_with("This SLA already exists, identical"),
        "{}",
        last_text(&bot)
    );

    bot.update(text("/sla status registered_users_total meteobot"));
    bot.dispatch().await;
    assert!(
        last_text(&bot).starts_with("✅ registered_users_total (meteobot): 0 within"),
        "{}",
        last_text(&bot)
    );

    bot.update(text("/sla violations registered_users_total meteobot"));
    bot.dispatch().await;
    assert!(
        last_text(&bot).contains("violations in the last hour: 0 · 3 hours: 0 · 6 hours: 0"),
        "{}",
        last_text(&bot)
    );

    bot.update(text("/sla forecast registered_users_total meteobot 30"));
    bot.dispatch().await;
    assert!(
        last_text(&bot).contains("not enough data"),
        "{}",
        last_text(&bot)
    );

    bot.update(text("/sla add bad-name! meteobot 1"));
    bot.dispatch().await;
    assert!(!last_text(&bot).starts_with("✅"), "{}", last_text(&bot));

    bot.update(text("/sla list"));
    bot.dispatch().await;
    assert!(
        last_text(&bot).starts_with("SLAs:\n✅ registered_users_total (meteobot)"),
        "{}",
        last_text(&bot)
    );

    bot.update(text("/sla remove registered_users_total meteobot"));
    bot.dispatch().await;
    assert_eq!(
        last_text(&bot),
        "🗑 SLA removed: registered_users_total (meteobot)."
    );
    bot.update(text("/sla remove registered_users_total meteobot"));
    bot.dispatch().await;
    assert_eq!(
        last_text(&bot),
        "There is no SLA for registered_users_total (meteobot)."
    );

    bot.update(text("/sla frobnicate"));
    bot.dispatch().await;
    assert!(last_text(&bot).starts_with("Usage:\n/sla list"));
}

fn member_update(chat: i64, status: &str) -> Update {
    let user = json!({ "id": 12345678u64, "is_bot": false, "first_name": "Ada" });
    let bot_user =
        json!({ "id": 123456, "is_bot": true, "first_name": "Test", "username": "test_bot" });
    // Telegram sends `until_date` only with the "kicked" status.
    let member = |status: &str| match status {
        "kicked" => json!({ "user": bot_user, "status": "kicked", "until_date": 0 }),
        other => json!({ "user": bot_user, "status": other }),
    };
    let old = if status == "kicked" {
        "member"
    } else {
        "kicked"
    };
    // teloxide's Update parses from JSON text (from a `Value` it yields an
    // `UpdateKind::Error`).
    let update = json!({
        "update_id": 1,
        "my_chat_member": {
            "chat": { "id": chat, "type": "private", "first_name": "Ada" },
            "from": user,
            "date": 1_800_000_000,
            "old_chat_member": member(old),
            "new_chat_member": member(status)
        }
    });
    serde_json::from_str(&update.to_string()).expect("a valid my_chat_member update")
}

#[tokio::test]
async fn blocking_pauses_and_unblocking_resumes() {
    let rig = bot_rig(vec![]).await;
    rig.places("Rome", &[("Rome", "Lazio", "IT", 41.89, 12.51, 2_318_895)])
        .await;
    let mut bot = rig.mock(text("/subscribe Rome 5 30 no no"));
    bot.dispatch().await;
    let chat = ChatId::new(chat_id()).unwrap();
    let active = |subs: Vec<meteobot::store::Subscription>| {
        subs.iter().map(|s| s.active).collect::<Vec<_>>()
    };

    bot.update(member_update(chat_id(), "kicked"));
    bot.dispatch().await;
    assert_eq!(
        active(rig.store.subscriptions_of_chat(chat).await.unwrap()),
        vec![false]
    );
    assert!(!rig.store.chat(chat_id()).await.unwrap().unwrap().active);

    bot.update(member_update(chat_id(), "member"));
    bot.dispatch().await;
    assert_eq!(
        active(rig.store.subscriptions_of_chat(chat).await.unwrap()),
        vec![true]
    );
}

proptest! {
    // Each case starts a fake Bot API server: keep the count modest.
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    /// Any text, and any /subscribe arguments, get an answer and never panic.
    #[test]
    fn any_text_gets_an_answer(input in prop_oneof![
        "\\PC{1,60}",
        "\\PC{0,40}".prop_map(|s| format!("/subscribe {s}")),
        (-200i32..200, -200i32..200, "[a-z]{0,6}", "[a-zì]{0,4}")
            .prop_map(|(a, b, r, s)| format!("/subscribe Rome {a} {b} {r} {s}")),
    ]) {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let rig = bot_rig(vec![]).await;
            rig.places("Rome", &[("Rome", "Lazio", "IT", 41.89, 12.51, 2_318_895)]).await;
            Mock::given(method("GET")).and(path("/v1/search"))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
                .mount(&rig.weather).await;
            let mut bot = rig.mock(text(&input));
            bot.dispatch().await;
            let answers = texts(&bot);
            prop_assert!(!answers.is_empty(), "no answer to {:?}", input);
            prop_assert!(answers.iter().all(|a| !a.trim().is_empty()));
            Ok(())
        })?;
    }
}

#[tokio::test]
async fn commands_for_another_bot_get_no_answer_and_ours_do() {
    let rig = bot_rig(vec![]).await;
    let mut bot = rig.mock(text("/help@otherbot"));
    bot.dispatch().await;
    assert!(texts(&bot).is_empty(), "answered: {:?}", texts(&bot));
    bot.update(text("/subscribe@OtherBot Rome 5 30 no no"));
    bot.dispatch().await;
    assert!(texts(&bot).is_empty(), "answered: {:?}", texts(&bot));
    // Addressed to us (MockBot's username), the command works.
    bot.update(text("/help@test_bot"));
    bot.dispatch().await;
    assert!(!texts(&bot).is_empty());
}

#[tokio::test]
async fn the_same_subscription_twice_is_said_and_not_stored() {
    let rig = bot_rig(vec![]).await;
    rig.places(
        "Rome",
        &[("Rome", "Lazio", "IT", 41.89193, 12.51133, 2_318_895)],
    )
    .await;
    let mut bot = rig.mock(text("/subscribe Rome 5 30 yes no"));
    bot.dispatch().await;
    bot.update(text("/subscribe Rome 5 30 yes no"));
    bot.dispatch().await;
    assert_eq!(
        last_text(&bot),
        "You already have this subscription: #1 for Rome, IT. Nothing changed."
    );
    let subs = rig
        .store
        .subscriptions_of_chat(ChatId::new(chat_id()).unwrap())
        .await
        .unwrap();
    assert_eq!(subs.len(), 1);
}

#[tokio::test]
async fn a_group_that_became_a_supergroup_takes_its_subscriptions_along() {
    let rig = bot_rig(vec![]).await;
    rig.places(
        "Rome",
        &[("Rome", "Lazio", "IT", 41.89193, 12.51133, 2_318_895)],
    )
    .await;
    let mut bot = rig.mock(text("/subscribe Rome 5 30 yes no"));
    bot.dispatch().await;
    let old = ChatId::new(chat_id()).unwrap();
    assert_eq!(rig.store.subscriptions_of_chat(old).await.unwrap().len(), 1);
    // Telegram's service message in the old group: "migrated to" the new id.
    let new_id = -1_001_234_567_890;
    bot.update(teloxide_tests::MockMessageMigrationToChat::new().migrate_to_chat_id(new_id));
    bot.dispatch().await;
    assert!(
        rig.store
            .subscriptions_of_chat(old)
            .await
            .unwrap()
            .is_empty()
    );
    let moved = rig
        .store
        .subscriptions_of_chat(ChatId::new(new_id).unwrap())
        .await
        .unwrap();
    assert_eq!(moved.len(), 1);
    assert_eq!(moved[0].city, "Rome");
}

#[tokio::test]
async fn after_units_f_thresholds_typed_in_chat_are_fahrenheit() {
    let rig = bot_rig(vec![]).await;
    rig.places(
        "Oslo",
        &[("Oslo", "Oslo", "NO", 59.91273, 10.74609, 580_000)],
    )
    .await;
    let mut bot = rig.mock(text("/units f"));
    bot.dispatch().await;
    // Today's bug: "86 °C is outside -90..60 °C" while /weather shows °F.
    bot.update(text("/subscribe Oslo 41 86 no no"));
    bot.dispatch().await;
    assert!(
        last_text(&bot).starts_with("✅ Subscribed"),
        "{}",
        last_text(&bot)
    );
    // An explicit suffix wins over the chat's units.
    bot.update(text("/subscribe Oslo 0C 35C no no"));
    bot.dispatch().await;
    assert!(
        last_text(&bot).starts_with("✅ Subscribed"),
        "{}",
        last_text(&bot)
    );
    let subs = rig
        .store
        .subscriptions_of_chat(ChatId::new(chat_id()).unwrap())
        .await
        .unwrap();
    let bands: Vec<_> = subs.iter().map(|s| (s.t_min, s.t_max)).collect();
    assert_eq!(
        bands,
        vec![(Some(5.0), Some(30.0)), (Some(0.0), Some(35.0))]
    );
}
