//! Objectives, error budgets and burn-rate alerts (issue 12): the evaluator
//! over three days of stored history and an hour of burning, driven minute by
//! minute by an injected time; `POST /sla_budget`, `add_metric`'s objective
//! fields and `/sla budget` in chat.

mod support;

use chrono::{DateTime, Duration as Span, TimeZone, Utc};
use meteobot::sla::Evaluator;
use serde_json::{Value, json};
use support::bot::{bot_rig, last_text};
use support::sla::{EVAL_INTERVAL, RETENTION, SlaRig, store_samples};
use support::spawn_app;
use teloxide_tests::MockMessageText;

const ADMINS: [i64; 2] = [4242, -100_777];
const MAX: f64 = 10.0;

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 6, 1, 0, 0, 0).unwrap()
}

/// The rig's registry as the source, an SLA on `outbox_depth` (≤ 10) with
/// 99 % over 30 days, and an evaluator that tells the admin chats.
async fn rig() -> (SlaRig, Evaluator, i64) {
    let rig = SlaRig::registry().await;
    let key = rig.service.parse_key("outbox_depth", "meteobot").unwrap();
    let range = meteobot::sla::MetricRange::new(MAX, None).unwrap();
    let objective = meteobot::sla::Objective::parse("99", None).unwrap();
    rig.service
        .define(&key, range, Some(objective))
        .await
        .unwrap();
    let id = rig
        .store
        .sla("outbox_depth", "meteobot")
        .await
        .unwrap()
        .unwrap()
        .id;
    let evaluator = rig
        .service
        .clone()
        .with_admin_chats(ADMINS.to_vec())
        .evaluator(rig.metrics.clone(), RETENTION);
    (rig, evaluator, id)
}

/// Burn-rate messages so far: `(chat, text)`.
async fn told(rig: &SlaRig) -> Vec<(i64, String)> {
    let rows = rig.store.outbox_rows().await.unwrap();
    rows.into_iter()
        .filter(|r| r.dedup_key.starts_with("slo:"))
        .map(|r| (r.chat_id, r.text))
        .collect()
}

fn rule_of(text: &str) -> &str {
    ["page-1h", "page-6h", "ticket-1d", "ticket-3d"]
        .into_iter()
        .find(|rule| text.contains(&format!(", {rule})")))
        .unwrap_or("?")
}

/// One evaluation a minute at `at`, the metric at `value`; returns the
/// rules that started and resolved then.
async fn minute(
    rig: &SlaRig,
    evaluator: &Evaluator,
    at: DateTime<Utc>,
    value: i64,
) -> (usize, usize) {
    rig.metrics.outbox_depth.set(value);
    let report = evaluator.evaluate_once(at).await.unwrap();
    assert_eq!(report.sampled, 1);
    (report.burn.started, report.burn.resolved)
}

#[tokio::test]
async fn each_rule_fires_once_when_burning_starts_and_resolves_once_when_it_stops() {
    let (rig, evaluator, id) = rig().await;
    // Three days of good evaluations, one a minute, before `start`.
    let history: Vec<_> = (1..=3 * 1440)
        .map(|m| (start() - Span::minutes(m), 1.0))
        .collect();
    store_samples(&rig.store, id, MAX, &history).await;

    // An hour of bad evaluations. With 99 % (1 % allowed), a rule starts
    // when its long window's share of bad evaluations passes factor × 1 %:
    // page-1h after 9 bad minutes (9/60 > 14.4 %), page-6h after 22
    // (22/360 > 6 %), ticket-1d and ticket-3d after 44 (44/1440 > 3 %,
    // 44/4320 > 1 %); their short windows are all bad by then.
    let mut started_at = Vec::new();
    for m in 0..60 {
        let (started, resolved) = minute(&rig, &evaluator, start() + Span::minutes(m), 100).await;
        assert_eq!(resolved, 0);
        started_at.extend(std::iter::repeat_n(m + 1, started));
    }
    assert_eq!(started_at, vec![9, 22, 44, 44]);
    let key = rig.service.parse_key("outbox_depth", "meteobot").unwrap();
    let (_, budget, firing) = rig
        .service
        .budget(&key, start() + Span::minutes(59))
        .await
        .unwrap();
    assert_eq!(firing.len(), 4);
    // 60 bad of 4,380: 1.37 % against 1 % allowed, the budget overspent.
    assert_eq!((budget.counts.total, budget.counts.bad), (4_380, 60));
    assert!((budget.remaining_percent.unwrap() - (100.0 - 100.0 * 60.0 / 43.8)).abs() < 1e-6);

    // Good again: each rule resolves when its short window has cooled —
    // page-1h after 5 good minutes (≤ 14.4 % of 5), page-6h after 29
    // (1 of 30), ticket-1d after 117 (3 of 120), ticket-3d after 357
    // (3 of 360).
    let mut resolved_at = Vec::new();
    for m in 60..60 + 420 {
        let (started, resolved) = minute(&rig, &evaluator, start() + Span::minutes(m), 1).await;
        assert_eq!(started, 0, "minute {m}");
        resolved_at.extend(std::iter::repeat_n(m - 59, resolved));
    }
    assert_eq!(resolved_at, vec![5, 29, 117, 357]);

    // One message per change and admin chat, none per evaluation.
    let messages = told(&rig).await;
    assert_eq!(messages.len(), 8 * ADMINS.len());
    for chat in ADMINS {
        let texts: Vec<_> = messages
            .iter()
            .filter(|(c, _)| *c == chat)
            .map(|(_, t)| t)
            .collect();
        let order: Vec<_> = texts
            .iter()
            .map(|t| (t.starts_with("✅"), rule_of(t)))
            .collect();
        assert_eq!(
            order,
            [
                (false, "page-1h"),
                (false, "page-6h"),
                (false, "ticket-1d"),
                (false, "ticket-3d"),
                (true, "page-1h"),
                (true, "page-6h"),
                (true, "ticket-1d"),
                (true, "ticket-3d"),
            ]
        );
        assert!(texts[0].contains("outbox_depth (meteobot)"), "{}", texts[0]);
        assert!(texts[0].contains("objective 99 % over 30d"), "{}", texts[0]);
    }
    // The same evaluation again (another replica, a retry): nothing new.
    minute(&rig, &evaluator, start() + Span::minutes(479), 1).await;
    assert_eq!(told(&rig).await.len(), 8 * ADMINS.len());
}

#[tokio::test]
async fn gauges_follow_the_budget_and_go_with_the_objective() {
    let (rig, evaluator, _) = rig().await;
    minute(&rig, &evaluator, start(), 100).await;
    minute(&rig, &evaluator, start() + Span::minutes(1), 1).await;
    let text = rig.metrics.render();
    let line = |needle: &str| {
        text.lines()
            .find(|l| l.starts_with(needle))
            .unwrap_or_else(|| panic!("no {needle} in\n{text}"))
            .to_owned()
    };
    // 1 bad of 2: 50 % bad against 1 % allowed.
    assert!(line("sla_error_budget_remaining_percent{").ends_with(" -4900"));
    assert!(line("sla_burn_rate{").contains("metric_name=\"outbox_depth\""));
    assert_eq!(text.matches("sla_burn_rate{").count(), 7);
    // Added again without an objective: its series go.
    let key = rig.service.parse_key("outbox_depth", "meteobot").unwrap();
    let range = meteobot::sla::MetricRange::new(MAX, None).unwrap();
    rig.service.add(&key, range).await.unwrap();
    minute(&rig, &evaluator, start() + Span::minutes(2), 1).await;
    let text = rig.metrics.render();
    assert!(!text.contains("sla_burn_rate{"), "{text}");
    assert!(!text.contains("sla_error_budget_remaining_percent{"));
    assert_eq!(EVAL_INTERVAL.as_secs(), 60);
}

#[tokio::test]
async fn the_budget_route_answers_and_bad_objectives_change_nothing() {
    let app = spawn_app().await;
    let add = |body: Value| app.post_json("/add_metric", body);
    let base =
        json!({ "metric_name": "outbox_depth", "job_name": "meteobot", "desired_value": 100 });
    let with = |extra: Value| {
        let mut body = base.clone();
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    };
    for (bad, says) in [
        (json!({ "objective": 100 }), "strictly between 0 and 100"),
        (json!({ "objective": 0 }), "strictly between 0 and 100"),
        (json!({ "objective": "lots" }), "not a number"),
        (
            json!({ "objective": 99, "slo_window": "30m" }),
            "between 1h and 90d",
        ),
        (
            json!({ "objective": 99, "slo_window": "forever" }),
            "not a duration",
        ),
        (json!({ "slo_window": "7d" }), "needs an objective"),
    ] {
        let (status, body) = add(with(bad.clone())).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(
            body["message"].as_str().unwrap().contains(says),
            "{bad}: {body}"
        );
    }
    assert!(app.store.slas().await.unwrap().is_empty(), "nothing stored");

    // No SLA, then an SLA without an objective: 404 with the usual JSON.
    let ask = json!({ "metric_name": "outbox_depth", "job_name": "meteobot" });
    let (status, body) = app.post_json("/sla_budget", ask.clone()).await;
    assert_eq!((status, &body["state"]), (404, &json!(1)), "{body}");
    add(base.clone()).await;
    let (status, body) = app.post_json("/sla_budget", ask.clone()).await;
    assert_eq!(status, 404, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("no objective"),
        "{body}"
    );

    let (status, body) = add(with(json!({ "objective": "99.5", "slo_window": "7d" }))).await;
    assert_eq!(
        (status, &body["result"]),
        (200, &json!("updated")),
        "{body}"
    );
    let (status, body) = app
        .post_form(
            "/sla_manager/sla_budget",
            &[("metric_name", "outbox_depth"), ("job_name", "meteobot")],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["objective"], json!(99.5));
    assert_eq!(body["slo_window"], json!("7d"));
    assert_eq!(body["slo_window_seconds"], json!(7 * 86_400));
    // Nothing evaluated yet: counts of zero, no ratios made up.
    assert_eq!(
        (body["evaluations"].clone(), body["sli"].clone()),
        (json!(0), Value::Null)
    );
    assert_eq!(body["burn_rates"]["5m"], Value::Null);
    assert_eq!(body["firing"], json!([]));
    let (_, list) = app
        .client
        .get(app.url("/sla"))
        .send()
        .await
        .map(|r| (0, r))
        .unwrap();
    let list: Value = list.json().await.unwrap();
    assert_eq!(list["slas"][0]["objective"], json!(99.5));
}

#[tokio::test]
async fn sla_budget_in_chat() {
    let chat = MockMessageText::new().build().chat.id.0;
    let rig = bot_rig(vec![chat]).await;
    let text = |t: &str| MockMessageText::new().text(t);
    let mut bot = rig.mock(text(
        "/sla add registered_users_total meteobot 100 objective 99.5 window 7d",
    ));
    bot.dispatch().await;
    assert_eq!(
        last_text(&bot),
        "✅ SLA added: registered_users_total (meteobot) within ≤ 100, objective 99.5 % over 7d."
    );
    bot.update(text("/sla budget registered_users_total meteobot"));
    bot.dispatch().await;
    let answer = last_text(&bot);
    assert!(
        answer.starts_with("📊 registered_users_total (meteobot): objective 99.5 % over 7d"),
        "{answer}"
    );
    assert!(
        answer.contains("No evaluations in the window yet."),
        "{answer}"
    );
    assert!(answer.contains("Firing: none"), "{answer}");
    bot.update(text(
        "/sla add registered_users_total meteobot 100 objective 120",
    ));
    bot.dispatch().await;
    assert!(
        last_text(&bot).contains("strictly between 0 and 100"),
        "{}",
        last_text(&bot)
    );
    bot.update(text("/sla budget nope meteobot"));
    bot.dispatch().await;
    assert!(
        last_text(&bot).contains("no SLA for metric 'nope'"),
        "{}",
        last_text(&bot)
    );
}

#[tokio::test]
async fn the_number_of_slas_is_bounded_and_a_refused_add_stores_nothing() {
    let app = spawn_app().await;
    for i in 0..meteobot::store::MAX_SLAS {
        app.store
            .upsert_sla(&format!("m{i}"), "meteobot", 1.0, None, 0)
            .await
            .unwrap();
    }
    let add = |metric: &str| {
        app.post_json(
            "/add_metric",
            json!({ "metric_name": metric, "job_name": "meteobot", "desired_value": 5 }),
        )
    };
    let (status, body) = add("outbox_depth").await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("remove one first"),
        "{body}"
    );
    assert!(
        app.store
            .sla("outbox_depth", "meteobot")
            .await
            .unwrap()
            .is_none()
    );
    // Changing one that exists is still fine.
    let (status, body) = add("m7").await;
    assert_eq!(
        (status, &body["result"]),
        (200, &json!("updated")),
        "{body}"
    );
}
