//! The SLA REST routes on a real port: every route's success and failure,
//! form, multipart and JSON bodies, the `/sla_manager` prefix, the admin
//! token, and the Prometheus source.

mod support;

use chrono::{Duration as Span, Utc};
use meteobot::secret::Secret;
use serde_json::{Value, json};
use support::sla::{add_sla, answer_any_query, answer_query, store_samples, vector};
use support::{TestApp, spawn_app, spawn_app_with};
use wiremock::MockServer;

const ADMIN_TOKEN: &str = "admin-token-for-tests";

async fn get(app: &TestApp, path: &str, token: Option<&str>) -> (u16, Value) {
    let mut req = app.client.get(app.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

async fn post_bearer(app: &TestApp, path: &str, token: &str, body: Value) -> (u16, Value) {
    let resp = app
        .client
        .post(app.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap())
}

#[tokio::test]
async fn add_metric_adds_updates_and_spots_identical() {
    let app = spawn_app().await;
    let (status, body) = app
        .post_json(
            "/add_metric",
            json!({ "metric_name": "outbox_depth", "job_name": "meteobot", "desired_value": 100 }),
        )
        .await;
    assert_eq!(
        (status, &body["message"], &body["result"]),
        (200, &json!(0), &json!("added"))
    );
    // The reference HTML clients post multipart forms, under the gateway prefix.
    let fields = [
        ("metric_name", "outbox_depth"),
        ("job_name", "meteobot"),
        ("desired_value", "100"),
    ];
    let (status, body) = app.post_multipart("/sla_manager/add_metric", &fields).await;
    assert_eq!((status, &body["message"]), (200, &json!(1)), "{body}");
    let (status, body) = app
        .post_form(
            "/add_metric",
            &[
                ("metric_name", "outbox_depth"),
                ("job_name", "meteobot"),
                ("desired_value", "100"),
                ("min_value", "1"),
            ],
        )
        .await;
    assert_eq!(
        (status, &body["message"], &body["result"]),
        (200, &json!(0), &json!("updated"))
    );
    let row = app
        .store
        .sla("outbox_depth", "meteobot")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((row.max_value, row.min_value), (100.0, Some(1.0)));
}

#[tokio::test]
async fn add_metric_refuses_bad_input_with_400() {
    let app = spawn_app().await;
    let cases = [
        json!({ "job_name": "meteobot", "desired_value": 1 }),
        json!({ "metric_name": "up", "desired_value": 1 }),
        json!({ "metric_name": "up", "job_name": "meteobot" }),
        json!({ "metric_name": "cpu-usage", "job_name": "meteobot", "desired_value": 1 }),
        // An expression needs PROMETHEUS_URL.
        json!({ "metric_name": "rate(x[5m])", "job_name": "meteobot", "desired_value": 1 }),
        json!({ "metric_name": "up", "job_name": "meteobot", "desired_value": "lots" }),
        json!({ "metric_name": "up", "job_name": "meteobot", "desired_value": 1, "min_value": 2 }),
        json!({ "metric_name": "up", "job_name": "meteobot", "desired_value": "inf" }),
        json!({ "metric_name": ["up"], "job_name": "meteobot", "desired_value": 1 }),
    ];
    for body in cases {
        let (status, answer) = app.post_json("/add_metric", body.clone()).await;
        assert_eq!(status, 400, "{body} → {answer}");
        assert!(answer["message"].is_string(), "{answer}");
    }
    assert!(app.store.slas().await.unwrap().is_empty());
}

#[tokio::test]
async fn remove_metric_finds_or_404s() {
    let app = spawn_app().await;
    add_sla(&app.store, "outbox_depth", "meteobot", 5.0, None).await;
    let fields = [("metric_name", "outbox_depth"), ("job_name", "meteobot")];
    let (status, body) = app.post_form("/sla_manager/remove_metric", &fields).await;
    assert_eq!((status, &body["message"]), (200, &json!(0)));
    let (status, body) = app.post_form("/remove_metric", &fields).await;
    assert_eq!((status, &body["message"]), (404, &json!(1)), "{body}");
    let (status, _) = app
        .post_json("/remove_metric", json!({ "metric_name": "x" }))
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn current_state_reads_the_in_process_registry() {
    let app = spawn_app().await;
    app.register("ada", 1001).await;
    add_sla(&app.store, "registered_users_total", "meteobot", 0.5, None).await;
    add_sla(&app.store, "registered_users_total", "node", 0.5, None).await;
    let ask = |job: &str| json!({ "metric_name": "registered_users_total", "job_name": job });

    let (status, body) = app.post_json("/sla_current_state", ask("meteobot")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (
            &body["state"],
            &body["current_value"],
            &body["desired_value"],
            &body["violation"]
        ),
        (&json!(0), &json!(1.0), &json!(0.5), &json!(true))
    );
    let (status, body) = app
        .post_json("/sla_manager/sla_current_state", ask("node"))
        .await;
    assert_eq!((status, &body["state"]), (200, &json!(2)), "{body}");
    let (status, body) = app.post_json("/sla_current_state", ask("nobody")).await;
    assert_eq!((status, &body["state"]), (404, &json!(1)), "{body}");
}

#[tokio::test]
async fn past_violations_count_the_last_1_3_6_hours() {
    let app = spawn_app().await;
    let id = add_sla(&app.store, "outbox_depth", "meteobot", 5.0, None).await;
    let now = Utc::now();
    let at = [
        Span::minutes(30),
        Span::hours(2),
        Span::hours(5),
        Span::hours(7),
    ];
    let points: Vec<_> = at.iter().map(|ago| (now - *ago, 9.0)).collect();
    store_samples(&app.store, id, 5.0, &points).await;

    let fields = [("metric_name", "outbox_depth"), ("job_name", "meteobot")];
    let (status, body) = app.post_multipart("/sla_past_violations", &fields).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({
            "state": 0, "desired_value": 5.0, "min_value": null,
            "violations_count_last_hour": 1,
            "violations_count_last_3_hours": 2,
            "violations_count_last_6_hours": 3,
        })
    );
    let (status, body) = app
        .post_form(
            "/sla_manager/sla_past_violations",
            &[("metric_name", "outbox_depth"), ("job_name", "x")],
        )
        .await;
    assert_eq!((status, &body["state"]), (404, &json!(1)));
}

#[tokio::test]
async fn probability_needs_data_then_answers_a_probability() {
    let app = spawn_app().await;
    let id = add_sla(&app.store, "outbox_depth", "meteobot", 100.0, Some(0.0)).await;
    let ask = |minutes: Value| json!({ "metric_name": "outbox_depth", "job_name": "meteobot", "minutes": minutes });
    let (status, body) = app
        .post_json("/sla_probability_violations", ask(json!(30)))
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["state"], json!(2));
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("not enough data"),
        "{body}"
    );

    // An hour of samples a minute apart, wobbling around 50.
    let now = Utc::now();
    let points: Vec<_> = (0..60)
        .map(|i| (now - Span::minutes(i), 50.0 + ((i * 7) % 5) as f64))
        .collect();
    store_samples(&app.store, id, 100.0, &points).await;
    let (status, body) = app
        .post_json("/sla_probability_violations", ask(json!(30)))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["state"], json!(0), "{body}");
    // The app's own evaluator may add a sample of its own meanwhile.
    let samples = body["samples"].as_u64().unwrap();
    assert!((60..=62).contains(&samples), "{body}");
    let p = body["prevision"].as_f64().unwrap();
    assert!((0.0..0.05).contains(&p), "{body}");

    // A "what if" maximum just above the values, through the prefix, as a form.
    let (status, body) = app
        .post_form(
            "/sla_manager/sla_probability_violations",
            &[
                ("metric_name", "outbox_depth"),
                ("job_name", "meteobot"),
                ("minutes", "30"),
                ("desired_value", "53"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["desired_value"], json!(53.0));
    assert!(body["prevision"].as_f64().unwrap() > p, "{body}");

    for bad in [json!(0), json!("soon"), json!(-5), json!(100_000)] {
        let (status, body) = app.post_json("/sla_probability_violations", ask(bad)).await;
        assert_eq!(status, 400, "{body}");
    }
    let mut below_min = ask(json!(30));
    below_min["desired_value"] = json!(-1);
    assert_eq!(
        app.post_json("/sla_probability_violations", below_min)
            .await
            .0,
        400
    );
    let unknown = json!({ "metric_name": "up", "job_name": "meteobot", "minutes": 30 });
    assert_eq!(
        app.post_json("/sla_probability_violations", unknown)
            .await
            .0,
        404
    );
}

#[tokio::test]
async fn get_sla_lists_every_sla_with_its_state() {
    let app = spawn_app().await;
    add_sla(&app.store, "outbox_depth", "meteobot", 5.0, None).await;
    add_sla(&app.store, "outbox_depth", "node", 5.0, Some(1.0)).await;
    let (status, body) = get(&app, "/sla", None).await;
    assert_eq!(status, 200, "{body}");
    let slas = body["slas"].as_array().unwrap();
    assert_eq!(slas.len(), 2);
    assert_eq!(
        (
            &slas[0]["job_name"],
            &slas[0]["state"],
            &slas[0]["current_value"],
            &slas[0]["violation"]
        ),
        (&json!("meteobot"), &json!(0), &json!(0.0), &json!(false))
    );
    assert_eq!(
        (&slas[1]["state"], &slas[1]["min_value"]),
        (&json!(2), &json!(1.0))
    );
    let (status, _) = get(&app, "/sla_manager/sla", None).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn the_admin_token_guards_the_sla_routes_only() {
    let app = spawn_app_with(|c| c.admin_token = Some(Secret::new(ADMIN_TOKEN))).await;
    let body = json!({ "metric_name": "outbox_depth", "job_name": "meteobot", "desired_value": 5 });
    let (status, answer) = app.post_json("/add_metric", body.clone()).await;
    assert_eq!(status, 401, "{answer}");
    assert!(answer["message"].as_str().unwrap().contains("Bearer"));
    assert_eq!(
        post_bearer(&app, "/add_metric", "wrong-token", body.clone())
            .await
            .0,
        401
    );
    assert_eq!(
        post_bearer(
            &app,
            "/add_metric",
            &format!("{ADMIN_TOKEN}x"),
            body.clone()
        )
        .await
        .0,
        401
    );
    assert_eq!(get(&app, "/sla_manager/sla", None).await.0, 401);
    let (status, answer) = post_bearer(&app, "/sla_manager/add_metric", ADMIN_TOKEN, body).await;
    assert_eq!((status, &answer["message"]), (200, &json!(0)));
    assert_eq!(get(&app, "/sla", Some(ADMIN_TOKEN)).await.0, 200);
    // Users' routes do not need it.
    assert_eq!(get(&app, "/healthz", None).await.0, 200);
    app.register("bob", 2002).await;
    // A user's JWT is not the admin token.
    let jwt = app.register("eve", 2003).await;
    assert_eq!(get(&app, "/sla", Some(&jwt)).await.0, 401);
}

#[tokio::test]
async fn with_prometheus_expressions_are_allowed_and_failures_are_not_500() {
    let prometheus = MockServer::start().await;
    let url = prometheus.uri().parse().unwrap();
    let app = spawn_app_with(|c| c.prometheus_url = Some(url)).await;
    let expr = "sum(rate(http_request_duration_seconds_count[5m]))";
    let (status, body) = app
        .post_json(
            "/add_metric",
            json!({ "metric_name": expr, "job_name": "meteobot", "desired_value": 50 }),
        )
        .await;
    assert_eq!((status, &body["message"]), (200, &json!(0)), "{body}");
    answer_query(&prometheus, expr, vector(&[(&[], "12.5")])).await;
    let ask = json!({ "metric_name": expr, "job_name": "meteobot" });
    let (status, body) = app.post_json("/sla_current_state", ask.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (&body["current_value"], &body["violation"]),
        (&json!(12.5), &json!(false))
    );

    // Prometheus down → 503; garbage → 502; both with a JSON message.
    prometheus.reset().await;
    answer_any_query(&prometheus, 500, "boom").await;
    let (status, body) = app.post_json("/sla_current_state", ask.clone()).await;
    assert_eq!((status, &body["state"]), (503, &json!(3)), "{body}");
    prometheus.reset().await;
    answer_any_query(&prometheus, 200, "not json").await;
    let (status, body) = app.post_json("/sla_current_state", ask).await;
    assert_eq!((status, &body["state"]), (502, &json!(3)), "{body}");
    // The list still answers, with the error per SLA.
    let (status, body) = get(&app, "/sla", None).await;
    assert_eq!(
        (status, &body["slas"][0]["state"]),
        (200, &json!(3)),
        "{body}"
    );
}
