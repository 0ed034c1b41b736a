//! /digest in chat, through the real handler tree with MockBot: setting a
//! time, showing it, turning it off, the chat's zone in the answers, Italian,
//! and every bad time refused with nothing stored.

mod support;

use meteobot::domain::{ChatZone, LocalTime};
use meteobot::text::Language;
use support::bot::{BotRig, bot_rig, last_text, texts};
use teloxide_tests::MockMessageText;

fn text(t: &str) -> MockMessageText {
    MockMessageText::new().text(t)
}

fn chat() -> i64 {
    MockMessageText::new().build().chat.id.0
}

async fn digest_at(rig: &BotRig) -> Option<LocalTime> {
    rig.store.chat_settings(chat()).await.unwrap().digest_at
}

#[tokio::test]
async fn digest_is_set_shown_and_turned_off() {
    let rig = bot_rig(vec![]).await;
    let mut bot = rig.mock(text("/digest"));
    bot.dispatch().await;
    assert_eq!(
        last_text(&bot),
        "No daily digest is set. Write /digest HH:MM, e.g. /digest 07:30, to get the day's \
         forecast for your places every morning."
    );
    bot.update(text("/digest 07:30"));
    bot.dispatch().await;
    assert_eq!(
        last_text(&bot),
        "✅ Daily digest every day at 07:30 (UTC): the day's forecast for each of your places."
    );
    assert_eq!(
        digest_at(&rig).await,
        Some(LocalTime::parse("07:30").unwrap())
    );
    // H:MM is a time too; the answer names the chat's zone.
    rig.store
        .set_chat_timezone(chat(), ChatZone::parse("Europe/Rome").unwrap())
        .await
        .unwrap();
    bot.update(text("/digest 7:05"));
    bot.dispatch().await;
    assert_eq!(
        last_text(&bot),
        "✅ Daily digest every day at 07:05 (Europe/Rome): the day's forecast for each of your \
         places."
    );
    bot.update(text("/digest"));
    bot.dispatch().await;
    assert_eq!(
        last_text(&bot),
        "🗓 Your daily digest comes every day at 07:05 (Europe/Rome). /digest off stops it."
    );
    bot.update(text("/digest OFF"));
    bot.dispatch().await;
    assert_eq!(last_text(&bot), "✅ Daily digest turned off.");
    assert_eq!(digest_at(&rig).await, None);
    bot.update(text("/digest"));
    bot.dispatch().await;
    assert!(last_text(&bot).starts_with("No daily digest is set."));
}

#[tokio::test]
async fn bad_times_are_refused_and_nothing_is_stored() {
    let rig = bot_rig(vec![]).await;
    let mut bot = rig.mock(text("/digest 06:45"));
    bot.dispatch().await;
    let kept = Some(LocalTime::parse("06:45").unwrap());
    assert_eq!(digest_at(&rig).await, kept);
    for input in [
        "7",
        "24:00",
        "07:60",
        "soon",
        "7:5",
        "07:30 tomorrow",
        "-1:00",
    ] {
        bot.update(text(&format!("/digest {input}")));
        bot.dispatch().await;
        let answer = texts(&bot);
        assert_eq!(
            answer,
            vec![format!(
                "⚠️ '{input}' is not a time of day. Use HH:MM from 00:00 to 23:59, e.g. \
                 /digest 07:30, or /digest off."
            )],
            "{input}"
        );
        assert_eq!(digest_at(&rig).await, kept, "{input} stored nothing");
    }
}

#[tokio::test]
async fn digest_answers_in_italian() {
    let rig = bot_rig(vec![]).await;
    rig.store
        .set_chat_language(chat(), Language::It)
        .await
        .unwrap();
    let mut bot = rig.mock(text("/digest 07:30"));
    bot.dispatch().await;
    assert_eq!(
        last_text(&bot),
        "✅ Riepilogo giornaliero ogni giorno alle 07:30 (UTC): la previsione del giorno per \
         ciascuno dei tuoi posti."
    );
    bot.update(text("/digest 25:00"));
    bot.dispatch().await;
    assert_eq!(
        last_text(&bot),
        "⚠️ '25:00' non è un orario. Usa HH:MM da 00:00 a 23:59, es. /digest 07:30, oppure \
         /digest off."
    );
    bot.update(text("/digest off"));
    bot.dispatch().await;
    assert_eq!(last_text(&bot), "✅ Riepilogo giornaliero disattivato.");
}

#[tokio::test]
async fn help_lists_digest() {
    let rig = bot_rig(vec![]).await;
    let mut bot = rig.mock(text("/help"));
    bot.dispatch().await;
    assert!(
        last_text(&bot).contains("/digest HH:MM|off — a daily forecast of your places"),
        "{}",
        last_text(&bot)
    );
}
