//! The REST contract walked as a client would: register → login → subscribe
//! (multipart, urlencoded, JSON) → list → delete → logout → token refused.

mod support;

use serde_json::json;
use support::spawn_app;

#[tokio::test]
async fn a_user_walks_the_whole_contract() {
    let app = spawn_app().await;
    app.geocoding("Rome", &[("Rome", "IT", 41.89193, 12.51133, 2_318_895)])
        .await;
    app.geocoding("Milan", &[("Milan", "IT", 45.46427, 9.18951, 1_236_837)])
        .await;
    app.geocoding(
        "New York",
        &[("New York", "US", 40.71427, -74.00597, 8_175_133)],
    )
    .await;

    // Register with a browser FormData (multipart), as the reference HTML did.
    let (status, body) = app
        .post_multipart(
            "/register",
            &[
                ("username", "ada"),
                ("password", "s3cret-pw"),
                ("telegramChatId", "4242"),
            ],
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["state"], 0);
    assert!(body["token"].as_str().unwrap().len() > 20);

    // Login with an urlencoded form.
    let (status, body) = app
        .post_form("/login", &[("username", "ada"), ("password", "s3cret-pw")])
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["state"], 0);
    let token = body["token"].as_str().unwrap().to_owned();

    // Subscribe three ways.
    let (status, body) = app
        .post_multipart(
            &format!("/cityevents/{token}"),
            &[
                ("city_name", "Rome"),
                ("max_temp", "30"),
                ("min_temp", "5"),
                ("rain", "1"),
                ("snow", "0"),
            ],
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        (
            body["state"].clone(),
            body["city"].clone(),
            body["country"].clone()
        ),
        (json!(0), json!("Rome"), json!("IT"))
    );
    let rome_id = body["id"].as_i64().unwrap();

    let (status, body) = app
        .post_form(
            &format!("/cityevents/{token}"),
            &[
                ("city_name", "Milan"),
                ("max_temp", "28.5"),
                ("min_temp", ""),
                ("rain", "0"),
                ("snow", "1"),
            ],
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["min_temp"], json!(null));
    assert_eq!(body["snow"], json!(true));

    let (status, body) = app
        .post_json(
            &format!("/cityevents/{token}"),
            json!({ "city_name": "New York", "max_temp": 35, "min_temp": -10, "rain": true, "snow": false }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["country"], "US");

    // List: three, in order, with the resolved coordinates.
    let subs = app.subscriptions(&token).await;
    assert_eq!(subs.len(), 3);
    assert_eq!(subs[0]["id"].as_i64(), Some(rome_id));
    assert_eq!(subs[0]["latitude"].as_f64(), Some(41.8919));
    assert_eq!(subs[0]["max_temp"].as_f64(), Some(30.0));
    assert_eq!(subs[2]["city"], "New York");

    // Delete one.
    let (status, body) = app
        .delete_auth(&format!("/subscriptions/{rome_id}"), &token)
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = app
        .delete_auth(&format!("/subscriptions/{rome_id}"), &token)
        .await;
    assert_eq!(status, 404);
    assert_eq!(app.subscriptions(&token).await.len(), 2);

    // Logout with the token as a field, then the same token is refused everywhere.
    let (status, body) = app.post_form("/logout", &[("token", &token)]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["state"], 0);
    let (status, body) = app.get_auth("/subscriptions", &token).await;
    assert_eq!((status, body["state"].clone()), (401, json!(1)));
    let (status, _) = app
        .post_form(
            &format!("/cityevents/{token}"),
            &[("city_name", "Rome"), ("max_temp", "30")],
        )
        .await;
    assert_eq!(status, 401);
    let (status, _) = app.post_form("/logout", &[("token", &token)]).await;
    assert_eq!(status, 401, "a revoked token cannot log out twice");
}

#[tokio::test]
async fn the_reference_gateway_prefixes_still_work() {
    let app = spawn_app().await;
    app.geocoding("Rome", &[("Rome", "IT", 41.89, 12.51, 2_318_895)])
        .await;
    let (status, body) = app
        .post_form(
            "/auth/register",
            &[
                ("username", "bob"),
                ("password", "s3cret-pw"),
                ("telegramChatId", "7"),
            ],
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = app
        .post_form(
            "/auth/login",
            &[("username", "bob"), ("password", "s3cret-pw")],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let token = body["token"].as_str().unwrap().to_owned();
    let (status, body) = app
        .post_form(
            &format!("/city_serv/cityevents/{token}"),
            &[("city_name", "Rome"), ("rain", "1")],
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = app.get_auth("/city_serv/subscriptions", &token).await;
    assert_eq!(status, 200);
    assert_eq!(body["subscriptions"].as_array().unwrap().len(), 1);
    let resp = app
        .client
        .post(app.url("/auth/logout"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn cityevents_also_takes_a_bearer_token_and_post_lists() {
    let app = spawn_app().await;
    app.geocoding("Rome", &[("Rome", "IT", 41.89, 12.51, 2_318_895)])
        .await;
    let token = app.register("carla", 11).await;
    let resp = app
        .client
        .post(app.url("/cityevents"))
        .bearer_auth(&token)
        .json(&json!({ "city_name": "Rome", "max_temp": "30" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let (status, body) = app.post_form("/subscriptions", &[("token", &token)]).await;
    assert_eq!(status, 200);
    assert_eq!(body["subscriptions"][0]["city"], "Rome");
}

#[tokio::test]
async fn the_same_subscription_twice_answers_with_the_existing_one() {
    let app = spawn_app().await;
    app.geocoding("Rome", &[("Rome", "IT", 41.89, 12.51, 2_318_895)])
        .await;
    let token = app.register("dario", 12).await;
    let subscribe = || {
        app.client
            .post(app.url("/cityevents"))
            .bearer_auth(&token)
            .json(&json!({ "city_name": "Rome", "max_temp": 30, "rain": 1 }))
            .send()
    };
    let first = subscribe().await.unwrap();
    assert_eq!(first.status(), 201);
    let first: serde_json::Value = first.json().await.unwrap();
    let again = subscribe().await.unwrap();
    assert_eq!(again.status(), 200);
    let again: serde_json::Value = again.json().await.unwrap();
    assert_eq!(again["id"], first["id"]);
    assert!(
        again["message"]
            .as_str()
            .unwrap()
            .starts_with("already subscribed")
    );
    let (_, body) = app.post_form("/subscriptions", &[("token", &token)]).await;
    assert_eq!(body["subscriptions"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn an_ambiguous_name_takes_the_most_populous_place() {
    let app = spawn_app().await;
    app.geocoding(
        "paris",
        &[
            ("Paris", "US", 33.66, -95.55, 24_171),
            ("Paris", "FR", 48.85341, 2.3488, 2_138_551),
        ],
    )
    .await;
    let token = app.register("dora", 12).await;
    let (status, body) = app
        .post_json(
            &format!("/cityevents/{token}"),
            json!({ "city_name": "paris", "max_temp": 30 }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        (body["city"].as_str(), body["country"].as_str()),
        (Some("Paris"), Some("FR"))
    );
    assert_eq!(body["message"], "subscribed to Paris, FR");
}

#[tokio::test]
async fn health_metrics_cors_and_unknown_routes() {
    let app = spawn_app().await;
    let resp = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(resp.status(), 200);

    app.register("erin", 13).await;
    let (status, _) = app
        .post_form("/login", &[("username", "erin"), ("password", "s3cret-pw")])
        .await;
    assert_eq!(status, 200);
    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for needle in [
        "registered_users_total 1",
        "logged_users_total 1",
        "users_city_request_total 0",
        "# TYPE api_response_time_seconds histogram",
        "http_request_duration_seconds_count{method=\"POST\",route=\"/login\",status=\"200\"} 1",
    ] {
        assert!(text.contains(needle), "missing {needle} in\n{text}");
    }

    let resp = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/login"))
        .header("Origin", "http://clients.example")
        .header("Access-Control-Request-Method", "POST")
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    assert_eq!(resp.headers()["access-control-allow-origin"], "*");

    let resp = app.client.get(app.url("/nope")).send().await.unwrap();
    assert_eq!(resp.status(), 404);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["state"], 1);
    let resp = app.client.get(app.url("/login")).send().await.unwrap();
    assert_eq!(resp.status(), 405);
    assert!(resp.json::<serde_json::Value>().await.unwrap()["message"].is_string());
}

#[tokio::test]
async fn a_heads_up_lead_time_is_taken_and_listed() {
    let app = spawn_app().await;
    app.geocoding("Rome", &[("Rome", "IT", 41.89, 12.51, 2_318_895)])
        .await;
    let token = app.register("hana", 14).await;
    let path = format!("/cityevents/{token}");

    // Humantime in a form, minutes as a JSON number, and none at all.
    let (status, body) = app
        .post_form(
            &path,
            &[("city_name", "Rome"), ("rain", "1"), ("ahead", "3h")],
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        (body["ahead"].clone(), body["ahead_minutes"].clone()),
        (json!("3h"), json!(180))
    );
    let (status, body) = app
        .post_json(
            &path,
            json!({ "city_name": "Rome", "max_temp": 30, "ahead": 90 }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["ahead"], "1h30m");
    let (status, body) = app
        .post_multipart(
            &path,
            &[("city_name", "Rome"), ("snow", "1"), ("ahead", "off")],
        )
        .await;
    assert_eq!(status, 201, "{body}");
    app.post_form(&path, &[("city_name", "Rome"), ("min_temp", "0")])
        .await;

    let subs = app.subscriptions(&token).await;
    let leads: Vec<_> = subs
        .iter()
        .map(|s| (s["ahead"].clone(), s["ahead_minutes"].clone()))
        .collect();
    assert_eq!(
        leads,
        vec![
            (json!("3h"), json!(180)),
            (json!("1h30m"), json!(90)),
            (json!(null), json!(null)),
            (json!(null), json!(null)),
        ]
    );
    // The legacy fields are all still there.
    for field in [
        "id",
        "city",
        "country",
        "latitude",
        "longitude",
        "min_temp",
        "max_temp",
        "rain",
        "snow",
        "active",
        "created_at",
    ] {
        assert!(subs[0].get(field).is_some(), "{field} missing: {}", subs[0]);
    }
}
