//! Issue 10 in chat, driven through the real handler tree with MockBot:
//! `/timezone`, `/quiet`, `/snooze` and the 🔕 / 🗑 buttons under an alert,
//! refusals included. Every case checks what the bot said AND what the store
//! holds afterwards (a refusal changes nothing).

mod support;

use chrono::{DateTime, Days, TimeDelta, TimeZone, Utc};
use chrono_tz::Tz;
use meteobot::domain::{ChatId, ChatZone, LocalTime, QuietHours, QuietMode};
use meteobot::store::ChatSettings;
use support::bot::{BotRig, bot_rig, last_text, texts};
use teloxide_tests::{MockCallbackQuery, MockMessageText};

/// The chat another user subscribes in.
const OTHER_CHAT: i64 = 4242;

fn text(t: &str) -> MockMessageText {
    MockMessageText::new().text(t)
}

fn press(data: &str) -> MockCallbackQuery {
    MockCallbackQuery::new().data(data)
}

/// The chat MockBot's messages and presses come from.
fn chat() -> i64 {
    MockMessageText::new().build().chat.id.0
}

async fn settings(rig: &BotRig) -> ChatSettings {
    rig.store.chat_settings(chat()).await.unwrap()
}

/// `snoozed_until` of every watched subscription, by id.
async fn snoozes(rig: &BotRig) -> Vec<(i64, Option<i64>)> {
    let mut all: Vec<(i64, Option<i64>)> = rig
        .store
        .watched_subscriptions()
        .await
        .unwrap()
        .into_iter()
        .map(|w| (w.id, w.snoozed_until))
        .collect();
    all.sort();
    all
}

async fn snoozed_until(rig: &BotRig, id: i64) -> Option<i64> {
    snoozes(rig)
        .await
        .into_iter()
        .find(|(sub, _)| *sub == id)
        .unwrap_or_else(|| panic!("subscription #{id} is not watched"))
        .1
}

/// "28/11 07:00" in `tz`, as the bot writes a snooze's end.
fn when(tz: Tz, at: DateTime<Utc>) -> String {
    at.with_timezone(&tz).format("%d/%m %H:%M").to_string()
}

fn at(unix: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(unix, 0).unwrap()
}

/// Rome for the geocoder.
async fn rome(rig: &BotRig) {
    rig.places("Rome", &[("Rome", "Lazio", "IT", 41.89, 12.51, 2_318_895)])
        .await;
}

/// A subscription of another chat, made before ours (so it has id 1).
async fn foreign_subscription(rig: &BotRig) -> i64 {
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
    rig.ctx
        .subscriber
        .subscribe_at(ChatId::new(OTHER_CHAT).unwrap(), &place, &watch)
        .await
        .unwrap()
        .id
}

/// The ids of this chat's subscriptions.
async fn ours(rig: &BotRig) -> Vec<i64> {
    rig.store
        .subscriptions_of_chat(ChatId::new(chat()).unwrap())
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect()
}

/// Asserts `value` lies in `lo..=hi` (instants read around a dispatch).
fn assert_between(what: &str, value: i64, lo: i64, hi: i64) {
    assert!(
        (lo..=hi).contains(&value),
        "{what}: {value} not in {lo}..={hi}"
    );
}

#[tokio::test]
async fn help_lists_timezone_quiet_and_snooze() {
    let rig = bot_rig(vec![]).await;
    let mut bot = rig.mock(text("/help"));
    bot.dispatch().await;
    let help = last_text(&bot);
    for line in [
        "\n/timezone <Area/City> — the time zone of your times",
        "\n/quiet <from-to> [hold]|off — quiet hours: no sound at night",
        "\n/snooze <id|all> <duration|off> — pause alerts for a while",
    ] {
        assert!(help.contains(line), "{line:?} missing in:\n{help}");
    }
}

#[tokio::test]
async fn timezone_is_explained_set_and_an_unknown_one_refused() {
    let rig = bot_rig(vec![]).await;

    // Unset: times are UTC, and the bot says so.
    let mut bot = rig.mock(text("/timezone"));
    bot.dispatch().await;
    assert_eq!(
        last_text(&bot),
        "🕰 No time zone yet: times are shown in UTC until you subscribe to a place or set one, e.g. /timezone Europe/Rome."
    );
    assert_eq!(settings(&rig).await.zone, None);

    // An unknown zone: a clear message, nothing stored.
    let refusal = "unknown time zone 'Mars/Olympus': use an IANA name like Europe/Rome\n\
                   Write /timezone followed by an IANA time zone name, e.g. /timezone Europe/Rome or /timezone America/New_York.";
    bot.update(text("/timezone Mars/Olympus"));
    bot.dispatch().await;
    assert_eq!(last_text(&bot), refusal);
    assert_eq!(settings(&rig).await, ChatSettings::default());

    // Set: stored, and the reply names it with its local time.
    let rome = ChatZone::parse("Europe/Rome").unwrap();
    let before = Utc::now();
    bot.update(text("/timezone Europe/Rome"));
    bot.dispatch().await;
    let after = Utc::now();
    let answer = last_text(&bot);
    let said = |at: DateTime<Utc>| {
        format!(
            "✅ Time zone set to Europe/Rome (local time now {}).",
            rome.hhmm(at)
        )
    };
    assert!(answer == said(before) || answer == said(after), "{answer}");
    assert_eq!(settings(&rig).await.zone, Some(rome));

    // A later unknown zone leaves the chosen one alone.
    bot.update(text("/timezone Mars/Olympus"));
    bot.dispatch().await;
    assert_eq!(last_text(&bot), refusal);
    assert_eq!(settings(&rig).await.zone, Some(rome));

    // Asked again: the stored zone is shown.
    let before = Utc::now();
    bot.update(text("/timezone"));
    bot.dispatch().await;
    let after = Utc::now();
    let answer = last_text(&bot);
    let shown = |at: DateTime<Utc>| {
        format!(
            "🕰 This chat's time zone is Europe/Rome (local time now {}).",
            rome.hhmm(at)
        )
    };
    assert!(
        answer == shown(before) || answer == shown(after),
        "{answer}"
    );
}

#[tokio::test]
async fn quiet_hours_are_set_shown_held_and_turned_off() {
    let rig = bot_rig(vec![]).await;
    let ten_to_seven = |mode| QuietHours {
        start: LocalTime::parse("22:00").unwrap(),
        end: LocalTime::parse("07:00").unwrap(),
        mode,
    };

    let mut bot = rig.mock(text("/quiet"));
    bot.dispatch().await;
    assert_eq!(
        last_text(&bot),
        "🔔 No quiet hours. Set them with e.g. /quiet 22:00-07:00 (or /quiet 22:00-07:00 hold)."
    );
    assert_eq!(settings(&rig).await.quiet, None);

    bot.update(text("/quiet 22:00-07:00"));
    bot.dispatch().await;
    assert_eq!(
        last_text(&bot),
        "🌙 Quiet hours 22:00-07:00 (UTC): alerts in them come without sound."
    );
    assert_eq!(
        settings(&rig).await.quiet,
        Some(ten_to_seven(QuietMode::Silent))
    );

    bot.update(text("/quiet 22:00-07:00 hold"));
    bot.dispatch().await;
    let held = "🌙 Quiet hours 22:00-07:00 (UTC): alerts in them are held and summed up in one message when they end.";
    assert_eq!(last_text(&bot), held);
    assert_eq!(
        settings(&rig).await.quiet,
        Some(ten_to_seven(QuietMode::Hold))
    );

    // Shown as stored, in the chat's zone once it has one.
    bot.update(text("/quiet"));
    bot.dispatch().await;
    assert_eq!(last_text(&bot), held);
    bot.update(text("/timezone Europe/Rome"));
    bot.dispatch().await;
    bot.update(text("/quiet"));
    bot.dispatch().await;
    assert_eq!(
        last_text(&bot),
        "🌙 Quiet hours 22:00-07:00 (Europe/Rome): alerts in them are held and summed up in one message when they end."
    );

    bot.update(text("/quiet off"));
    bot.dispatch().await;
    assert_eq!(
        last_text(&bot),
        "✅ Quiet hours off: alerts come with sound at any time."
    );
    let s = settings(&rig).await;
    assert_eq!(s.quiet, None);
    assert_eq!(
        s.zone,
        ChatZone::parse("Europe/Rome").ok(),
        "the zone stays"
    );
    bot.update(text("/quiet"));
    bot.dispatch().await;
    assert!(last_text(&bot).starts_with("🔔 No quiet hours."));
}

#[tokio::test]
async fn bad_quiet_hours_are_refused_and_change_nothing() {
    let rig = bot_rig(vec![]).await;
    let usage = "Write /quiet <from>-<to> [hold], e.g. /quiet 22:00-07:00 — alerts in those hours come silently; add hold to get them as one summary when the quiet hours end. /quiet off turns them off.";
    let cases = [
        (
            "/quiet 25:00-07:00",
            "'25:00' is not a time of day: use HH:MM, like 07:30",
        ),
        (
            "/quiet 07:00-07:00",
            "the quiet hours must start and end at different times",
        ),
        (
            "/quiet 22:00-07:00 loud",
            "'loud' is neither hold nor silent",
        ),
    ];

    // On a chat without quiet hours: none appear.
    let mut bot = rig.mock(text("/quiet"));
    for (input, reason) in cases {
        bot.update(text(input));
        bot.dispatch().await;
        assert_eq!(last_text(&bot), format!("{reason}\n{usage}"), "{input}");
        assert_eq!(settings(&rig).await, ChatSettings::default(), "{input}");
    }

    // On a chat with quiet hours: they stay as they were.
    bot.update(text("/quiet 23:30-06:15 hold"));
    bot.dispatch().await;
    let set = settings(&rig).await.quiet;
    assert_eq!(set, QuietHours::parse("23:30-06:15 hold").ok());
    for (input, reason) in cases {
        bot.update(text(input));
        bot.dispatch().await;
        assert_eq!(last_text(&bot), format!("{reason}\n{usage}"), "{input}");
        assert_eq!(settings(&rig).await.quiet, set, "{input}");
    }
}

#[tokio::test]
async fn snooze_one_all_and_off() {
    let rig = bot_rig(vec![]).await;
    rome(&rig).await;
    let foreign = foreign_subscription(&rig).await;
    let mut bot = rig.mock(text("/subscribe Rome 5 30 no no"));
    bot.dispatch().await;
    bot.update(text("/subscribe Rome - 35 yes no"));
    bot.dispatch().await;
    let ids = ours(&rig).await;
    assert_eq!(ids.len(), 2, "{ids:?}");
    let (first, second) = (ids[0], ids[1]);

    // One subscription for three hours.
    let before = Utc::now().timestamp();
    bot.update(text(&format!("/snooze {first} 3h")));
    bot.dispatch().await;
    let after = Utc::now().timestamp();
    let until = snoozed_until(&rig, first).await.expect("snoozed");
    assert_between("snoozed_until", until, before + 3 * 3600, after + 3 * 3600);
    assert_eq!(
        last_text(&bot),
        format!(
            "🔕 #{first} snoozed until {}. If it is still going on then, I'll remind you once.",
            when(Tz::UTC, at(until))
        )
    );
    assert_eq!(snoozed_until(&rig, second).await, None);
    assert_eq!(snoozed_until(&rig, foreign).await, None);

    // All of this chat's subscriptions for a day; the other chat's stays.
    let before = Utc::now().timestamp();
    bot.update(text("/snooze all 1d"));
    bot.dispatch().await;
    let after = Utc::now().timestamp();
    for id in [first, second] {
        let until = snoozed_until(&rig, id).await.expect("snoozed");
        assert_between("snoozed_until", until, before + 86_400, after + 86_400);
    }
    let until = snoozed_until(&rig, first).await.unwrap();
    assert_eq!(
        last_text(&bot),
        format!(
            "🔕 All your subscriptions are snoozed until {}.",
            when(Tz::UTC, at(until))
        )
    );
    assert_eq!(snoozed_until(&rig, foreign).await, None);

    // Off: every one of them wakes.
    bot.update(text("/snooze off"));
    bot.dispatch().await;
    assert_eq!(last_text(&bot), "🔔 Snooze off: alerts come again.");
    assert_eq!(
        snoozes(&rig).await,
        [(foreign, None), (first, None), (second, None)]
    );
}

#[tokio::test]
async fn snooze_end_is_shown_in_the_chats_zone() {
    let rig = bot_rig(vec![]).await;
    rome(&rig).await;
    let mut bot = rig.mock(text("/subscribe Rome 5 30 no no"));
    bot.dispatch().await;
    let id = ours(&rig).await[0];
    bot.update(text("/timezone America/New_York"));
    bot.dispatch().await;
    bot.update(text(&format!("/snooze #{id} 90m")));
    bot.dispatch().await;
    let until = snoozed_until(&rig, id).await.expect("snoozed");
    assert_eq!(
        last_text(&bot),
        format!(
            "🔕 #{id} snoozed until {}. If it is still going on then, I'll remind you once.",
            when(chrono_tz::America::New_York, at(until))
        )
    );
}

#[tokio::test]
async fn bad_snoozes_are_refused_and_change_nothing() {
    let rig = bot_rig(vec![]).await;
    rome(&rig).await;
    let foreign = foreign_subscription(&rig).await;
    let mut bot = rig.mock(text("/subscribe Rome 5 30 no no"));
    bot.dispatch().await;
    let mine = ours(&rig).await[0];
    let untouched = [(foreign, None), (mine, None)];
    assert_eq!(snoozes(&rig).await, untouched);

    let usage = "Write /snooze <id|all> <duration>, e.g. /snooze 12 3h or /snooze all 1d (up to 30 days), or /snooze off. /subscriptions shows the ids.";
    let cases = [
        (
            "/snooze 0".to_owned(),
            "0 — use a duration from 1 minute to 30 days, e.g. 3h, 90m, 2d.".to_owned(),
        ),
        (
            "/snooze 400d".to_owned(),
            "400d — use a duration from 1 minute to 30 days, e.g. 3h, 90m, 2d.".to_owned(),
        ),
        (
            format!("/snooze {mine} 31d"),
            "31d — use a duration from 1 minute to 30 days, e.g. 3h, 90m, 2d.".to_owned(),
        ),
        (
            "/snooze 99999 3h".to_owned(),
            "There is no subscription #99999 in this chat. /subscriptions shows yours.".to_owned(),
        ),
        // Another chat's subscription is not this chat's to snooze.
        (
            format!("/snooze {foreign} 3h"),
            format!(
                "There is no subscription #{foreign} in this chat. /subscriptions shows yours."
            ),
        ),
        ("/snooze".to_owned(), usage.to_owned()),
        ("/snooze x12 3h".to_owned(), usage.to_owned()),
        ("/snooze 1 2 3".to_owned(), usage.to_owned()),
    ];
    for (input, expected) in &cases {
        bot.update(text(input));
        bot.dispatch().await;
        assert_eq!(&last_text(&bot), expected, "{input}");
        assert_eq!(texts(&bot).len(), 1, "{input}: one answer");
        assert_eq!(snoozes(&rig).await, untouched, "{input}");
    }
}

#[tokio::test]
async fn snooze_without_subscriptions_says_there_is_nothing() {
    let rig = bot_rig(vec![]).await;
    let mut bot = rig.mock(text("/snooze all 1d"));
    bot.dispatch().await;
    assert_eq!(
        last_text(&bot),
        "You have no subscriptions to snooze yet. Start with /subscribe."
    );
    assert!(snoozes(&rig).await.is_empty());
}

#[tokio::test]
async fn the_3h_button_snoozes_and_answers_the_press() {
    let rig = bot_rig(vec![]).await;
    rome(&rig).await;
    let mut bot = rig.mock(text("/subscribe Rome 5 30 no no"));
    bot.dispatch().await;
    let id = ours(&rig).await[0];

    let before = Utc::now().timestamp();
    bot.update(press(&format!("snz:{id}:180")));
    bot.dispatch().await;
    let after = Utc::now().timestamp();
    let until = snoozed_until(&rig, id).await.expect("snoozed");
    assert_between("snoozed_until", until, before + 3 * 3600, after + 3 * 3600);
    let responses = bot.get_responses();
    let answered = &responses.answered_callback_queries;
    assert_eq!(answered.len(), 1, "the press is answered once");
    assert_eq!(
        answered[0].text.as_deref(),
        Some(
            format!(
                "🔕 #{id} snoozed until {}. If it is still going on then, I'll remind you once.",
                when(Tz::UTC, at(until))
            )
            .as_str()
        )
    );
    // The notice is on the press; the chat gets no message.
    assert!(texts(&bot).is_empty(), "{:?}", texts(&bot));
}

#[tokio::test]
async fn the_until_tomorrow_button_snoozes_to_the_next_local_seven() {
    let rig = bot_rig(vec![]).await;
    rome(&rig).await;
    let mut bot = rig.mock(text("/subscribe Rome 5 30 no no"));
    bot.dispatch().await;
    let id = ours(&rig).await[0];
    // A zone far from UTC, so "07:00 local" cannot be mistaken for UTC.
    bot.update(text("/timezone Asia/Tokyo"));
    bot.dispatch().await;
    let tokyo = chrono_tz::Asia::Tokyo;

    // The first 07:00 in Tokyo after `now`.
    let next_seven = |now: DateTime<Utc>| {
        let today = now.with_timezone(&tokyo).date_naive();
        [today, today + Days::new(1)]
            .into_iter()
            .map(|day| {
                tokyo
                    .from_local_datetime(&day.and_hms_opt(7, 0, 0).unwrap())
                    .single()
                    .unwrap()
                    .with_timezone(&Utc)
            })
            .find(|t| *t > now)
            .unwrap()
    };
    let before = next_seven(Utc::now());
    bot.update(press(&format!("snz:{id}:am")));
    bot.dispatch().await;
    let after = next_seven(Utc::now());
    let until = at(snoozed_until(&rig, id).await.expect("snoozed"));
    assert!(until == before || until == after, "{until} vs {before}");
    assert_eq!(
        until.with_timezone(&tokyo).format("%H:%M").to_string(),
        "07:00"
    );
    assert!(until > Utc::now() && until - Utc::now() <= TimeDelta::hours(24));
    let responses = bot.get_responses();
    let answered = &responses.answered_callback_queries;
    assert_eq!(answered.len(), 1);
    assert_eq!(
        answered[0].text.as_deref(),
        Some(
            format!(
                "🔕 #{id} snoozed until {}. If it is still going on then, I'll remind you once.",
                when(tokyo, until)
            )
            .as_str()
        )
    );
}

#[tokio::test]
async fn a_button_for_another_chats_subscription_changes_nothing() {
    let rig = bot_rig(vec![]).await;
    rome(&rig).await;
    let foreign = foreign_subscription(&rig).await;
    let mut bot = rig.mock(text("/subscribe Rome 5 30 no no"));
    bot.dispatch().await;
    let mine = ours(&rig).await[0];
    let untouched = [(foreign, None), (mine, None)];

    for data in [format!("snz:{foreign}:180"), format!("snz:{foreign}:am")] {
        bot.update(press(&data));
        bot.dispatch().await;
        let responses = bot.get_responses();
        let answered = &responses.answered_callback_queries;
        assert_eq!(answered.len(), 1, "{data}");
        assert_eq!(
            answered[0].text.as_deref(),
            Some(
                format!(
                    "There is no subscription #{foreign} in this chat. /subscriptions shows yours."
                )
                .as_str()
            ),
            "{data}"
        );
        assert_eq!(snoozes(&rig).await, untouched, "{data}");
    }

    // Its 🗑 does not remove it either.
    bot.update(press(&format!("del:{foreign}")));
    bot.dispatch().await;
    let not_yours = format!("You have no subscription #{foreign}. /subscriptions shows yours.");
    assert_eq!(last_text(&bot), not_yours);
    assert_eq!(
        bot.get_responses().answered_callback_queries[0]
            .text
            .as_deref(),
        Some(not_yours.as_str())
    );
    assert_eq!(snoozes(&rig).await, untouched);
}

#[tokio::test]
async fn a_malformed_snooze_button_is_expired_and_changes_nothing() {
    let rig = bot_rig(vec![]).await;
    rome(&rig).await;
    let mut bot = rig.mock(text("/subscribe Rome 5 30 no no"));
    bot.dispatch().await;
    let id = ours(&rig).await[0];
    let expired = "This choice has expired. Start again with /subscribe.";
    for data in [
        "snz:x:180".to_owned(),
        format!("snz:{id}:0"),
        format!("snz:{id}:pm"),
        format!("snz:{id}"),
        format!("snz:0{id}:180"),
    ] {
        bot.update(press(&data));
        bot.dispatch().await;
        let responses = bot.get_responses();
        let answered = &responses.answered_callback_queries;
        assert_eq!(answered.len(), 1, "{data}");
        assert_eq!(answered[0].text.as_deref(), Some(expired), "{data}");
        assert_eq!(last_text(&bot), expired, "{data}");
        assert_eq!(snoozes(&rig).await, [(id, None)], "{data}");
    }
}

#[tokio::test]
async fn the_unsubscribe_button_removes_the_subscription() {
    let rig = bot_rig(vec![]).await;
    rome(&rig).await;
    let mut bot = rig.mock(text("/subscribe Rome 5 30 no no"));
    bot.dispatch().await;
    bot.update(text("/subscribe Rome - 35 yes no"));
    bot.dispatch().await;
    let ids = ours(&rig).await;
    let (gone, kept) = (ids[0], ids[1]);

    bot.update(press(&format!("del:{gone}")));
    bot.dispatch().await;
    let removed = format!("🗑 Subscription #{gone} removed.");
    let responses = bot.get_responses();
    assert_eq!(
        responses.answered_callback_queries[0].text.as_deref(),
        Some(removed.as_str())
    );
    // Said in the chat too.
    assert_eq!(last_text(&bot), removed);
    assert_eq!(ours(&rig).await, [kept]);
    assert_eq!(snoozes(&rig).await, [(kept, None)]);

    // Pressed again (an older alert's button): nothing left to remove.
    bot.update(press(&format!("del:{gone}")));
    bot.dispatch().await;
    assert_eq!(
        last_text(&bot),
        format!("You have no subscription #{gone}. /subscriptions shows yours.")
    );
    assert_eq!(ours(&rig).await, [kept]);
}
