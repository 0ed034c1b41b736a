//! Every failure answer of the REST contract: right status, JSON body with
//! `state`/`message`, and nothing stored.

mod support;

use std::time::Duration;

use serde_json::json;
use support::{JWT_SECRET, spawn_app};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

#[tokio::test]
async fn missing_register_fields_are_400_state_1() {
    let app = spawn_app().await;
    let full = [
        ("username", "ada"),
        ("password", "s3cret-pw"),
        ("telegramChatId", "42"),
    ];
    for skip in 0..full.len() {
        let fields: Vec<_> = full
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != skip)
            .map(|(_, f)| *f)
            .collect();
        let (status, body) = app.post_form("/register", &fields).await;
        assert_eq!(
            (status, body["state"].clone()),
            (400, json!(1)),
            "without {}: {body}",
            full[skip].0
        );
        assert!(
            body["message"].as_str().unwrap().contains("missing field"),
            "{body}"
        );
    }
    let (status, body) = app
        .post_form(
            "/register",
            &[
                ("username", "ada"),
                ("password", "s3cret-pw"),
                ("telegramChatId", "abc"),
            ],
        )
        .await;
    assert_eq!((status, body["state"].clone()), (400, json!(1)), "{body}");
    let (status, body) = app
        .post_form(
            "/register",
            &[
                ("username", "ada"),
                ("password", "short"),
                ("telegramChatId", "4"),
            ],
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = app.post_json("/register", json!({})).await;
    assert_eq!((status, body["state"].clone()), (400, json!(1)));
    let (status, _) = app.post_form("/login", &[("username", "ada")]).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn a_taken_username_or_chat_is_409_state_2() {
    let app = spawn_app().await;
    app.register("ada", 42).await;
    let (status, body) = app
        .post_json(
            "/register",
            json!({ "username": "ada", "password": "other-pw", "telegramChatId": 43 }),
        )
        .await;
    assert_eq!((status, body["state"].clone()), (409, json!(2)), "{body}");
    let (status, body) = app
        .post_json(
            "/register",
            json!({ "username": "bea", "password": "other-pw", "telegramChatId": 42 }),
        )
        .await;
    assert_eq!((status, body["state"].clone()), (409, json!(2)), "{body}");
    assert!(body["message"].as_str().unwrap().contains("chat"));
}

#[tokio::test]
async fn wrong_password_and_unknown_user_are_401() {
    let app = spawn_app().await;
    app.register("ada", 42).await;
    for (user, pw) in [("ada", "wrong-pw"), ("nobody", "s3cret-pw")] {
        let (status, body) = app
            .post_form("/login", &[("username", user), ("password", pw)])
            .await;
        assert_eq!((status, body["state"].clone()), (401, json!(1)), "{body}");
        assert!(body["message"].is_string());
        assert!(body.get("token").is_none());
    }
}

#[tokio::test]
async fn tampered_expired_and_missing_tokens_are_401() {
    let app = spawn_app().await;
    let token = app.register("ada", 42).await;

    // Flip one character of the signature.
    let mut tampered = token.clone().into_bytes();
    let last = tampered.len() - 2;
    tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    // A token signed with another key. Tokens carry the account's random id.
    let now = chrono::Utc::now().timestamp();
    let salt = app.store.user_by_id(1).await.unwrap().unwrap().token_salt;
    let sign = |secret: &str, exp: i64| {
        jsonwebtoken::encode(
            &jsonwebtoken::Header::default(),
            &json!({ "sub": "1", "name": "ada", "chat": 42, "salt": salt, "jti": "x", "iat": now - 7200, "exp": exp }),
            &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap()
    };
    let foreign = sign("another-secret-of-enough-length", now + 3600);
    let expired = sign(JWT_SECRET, now - 3600);
    let valid_shape = sign(JWT_SECRET, now + 3600);
    assert_eq!(
        app.get_auth("/subscriptions", &valid_shape).await.0,
        200,
        "control: a well-signed token works"
    );

    for bad in [
        tampered.as_str(),
        foreign.as_str(),
        expired.as_str(),
        "not-a-jwt",
    ] {
        let (status, body) = app.get_auth("/subscriptions", bad).await;
        assert_eq!(
            (status, body["state"].clone()),
            (401, json!(1)),
            "{bad}: {body}"
        );
        let (status, _) = app
            .post_form(&format!("/cityevents/{bad}"), &[("city_name", "Rome")])
            .await;
        assert_eq!(status, 401);
    }
    let resp = app
        .client
        .get(app.url("/subscriptions"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
}

#[tokio::test]
async fn an_unknown_city_is_422_and_nothing_is_stored() {
    let app = spawn_app().await;
    app.geocoding_unknown("Atlantis").await;
    let token = app.register("ada", 42).await;
    let (status, body) = app
        .post_form(
            &format!("/cityevents/{token}"),
            &[("city_name", "Atlantis"), ("max_temp", "30")],
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_ne!(body["state"], 0);
    assert!(body["message"].as_str().unwrap().contains("Atlantis"));
    assert!(app.subscriptions(&token).await.is_empty());
}

#[tokio::test]
async fn bad_subscription_fields_are_400_and_nothing_is_stored() {
    let app = spawn_app().await;
    app.geocoding("Rome", &[("Rome", "IT", 41.89, 12.51, 2_318_895)])
        .await;
    let token = app.register("ada", 42).await;
    let path = format!("/cityevents/{token}");
    let cases: &[&[(&str, &str)]] = &[
        &[("max_temp", "30")],                                           // no city
        &[("city_name", "  "), ("max_temp", "30")],                      // blank city
        &[("city_name", "Rome"), ("min_temp", "30"), ("max_temp", "5")], // min > max
        &[("city_name", "Rome"), ("max_temp", "hot")],                   // not a number
        &[("city_name", "Rome"), ("max_temp", "500")],                   // absurd
        &[("city_name", "Rome"), ("rain", "perhaps")],                   // not a flag
        &[("city_name", "Rome"), ("rain", "0"), ("snow", "0")],          // nothing to watch
    ];
    for fields in cases {
        let (status, body) = app.post_form(&path, fields).await;
        assert_eq!(
            (status, body["state"].clone()),
            (400, json!(1)),
            "{fields:?}: {body}"
        );
    }
    assert!(app.subscriptions(&token).await.is_empty());
}

#[tokio::test]
async fn a_bad_lead_time_is_400_and_nothing_is_stored() {
    let app = spawn_app().await;
    app.geocoding("Rome", &[("Rome", "IT", 41.89, 12.51, 2_318_895)])
        .await;
    let token = app.register("ada", 42).await;
    let path = format!("/cityevents/{token}");
    for (ahead, why) in [
        ("soon", "'soon' is not a lead time"),
        ("-3h", "cannot be negative"),
        ("0", "zero"),
        ("0m", "zero"),
        ("49h", "at most 48 h"),
        ("30s", "at least 1 minute"),
    ] {
        let (status, body) = app
            .post_form(
                &path,
                &[("city_name", "Rome"), ("rain", "1"), ("ahead", ahead)],
            )
            .await;
        assert_eq!(
            (status, body["state"].clone()),
            (400, json!(1)),
            "{ahead}: {body}"
        );
        let message = body["message"].as_str().unwrap();
        assert!(
            message.starts_with("ahead: ") && message.contains(why),
            "{ahead}: {message}"
        );
    }
    // Minutes over 48 h, and JSON values that are no lead time at all.
    for ahead in [json!(5000), json!(true), json!(false), json!([60])] {
        let (status, body) = app
            .post_json(
                &path,
                json!({ "city_name": "Rome", "rain": true, "ahead": ahead }),
            )
            .await;
        assert_eq!(
            (status, body["state"].clone()),
            (400, json!(1)),
            "{ahead}: {body}"
        );
    }
    assert!(app.subscriptions(&token).await.is_empty());
}

#[tokio::test]
async fn an_upstream_500_is_502_and_nothing_is_stored() {
    let app = spawn_app().await;
    Mock::given(method("GET"))
        .and(path("/v1/search"))
        .respond_with(ResponseTemplate::new(500).set_body_string("boom"))
        .mount(&app.weather)
        .await;
    let token = app.register("ada", 42).await;
    let (status, body) = app
        .post_form(
            &format!("/cityevents/{token}"),
            &[("city_name", "Rome"), ("max_temp", "30")],
        )
        .await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["state"], 3);
    assert!(app.subscriptions(&token).await.is_empty());
}

#[tokio::test]
async fn an_upstream_timeout_is_503_and_nothing_is_stored() {
    let app = spawn_app().await; // weather timeout 1.5 s
    Mock::given(method("GET"))
        .and(path("/v1/search"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_delay(Duration::from_secs(3))
                .set_body_json(json!({})),
        )
        .mount(&app.weather)
        .await;
    let token = app.register("ada", 42).await;
    let (status, body) = app
        .post_json(
            &format!("/cityevents/{token}"),
            json!({ "city_name": "Rome", "max_temp": 30 }),
        )
        .await;
    assert_eq!(status, 503, "{body}");
    assert!(body["message"].as_str().unwrap().contains("unavailable"));
    assert!(app.subscriptions(&token).await.is_empty());
}

#[tokio::test]
async fn malformed_bodies_get_json_errors() {
    let app = spawn_app().await;
    for (content_type, body) in [
        ("application/json", "{\"username\": \"ada\", "),
        ("application/json", "[1, 2]"),
        ("application/json", "{\"username\": {\"x\": 1}}"),
        ("multipart/form-data; boundary=zzz", "--zzz\r\nnot a part"),
    ] {
        let resp = app
            .client
            .post(app.url("/register"))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 400, "{body}");
        let json: serde_json::Value = resp.json().await.expect("a JSON error body");
        assert_eq!(json["state"], 1);
        assert!(json["message"].is_string());
    }
}

#[tokio::test]
async fn a_one_megabyte_body_is_413() {
    let app = spawn_app().await;
    let big = "x".repeat(1024 * 1024);
    for content_type in ["application/json", "application/x-www-form-urlencoded"] {
        let resp = app
            .client
            .post(app.url("/register"))
            .header("content-type", content_type)
            .body(format!("username={big}"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 413);
        let json: serde_json::Value = resp.json().await.expect("a JSON error body");
        assert_eq!(json["state"], 1);
    }
    let form = reqwest::multipart::Form::new().text("username", big);
    let resp = app
        .client
        .post(app.url("/register"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);
}

#[tokio::test]
async fn sql_looking_usernames_are_stored_literally() {
    let app = spawn_app().await;
    let name = "robert'); DROP TABLE users; --";
    let (status, body) = app
        .post_json(
            "/register",
            json!({ "username": name, "password": "s3cret-pw", "telegramChatId": 5 }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = app
        .post_form("/login", &[("username", name), ("password", "s3cret-pw")])
        .await;
    assert_eq!(status, 200, "{body}");
    let stored = app.store.user_by_name(name).await.unwrap().unwrap();
    assert_eq!(stored.username, name);
    assert!(stored.password_hash.starts_with("$argon2id$"));
    app.register("another", 6).await; // the table is still there
}

#[tokio::test]
async fn one_user_cannot_delete_anothers_subscription() {
    let app = spawn_app().await;
    app.geocoding("Rome", &[("Rome", "IT", 41.89, 12.51, 2_318_895)])
        .await;
    let ada = app.register("ada", 1).await;
    let bob = app.register("bob", 2).await;
    let (status, body) = app
        .post_form(
            &format!("/cityevents/{ada}"),
            &[("city_name", "Rome"), ("max_temp", "30")],
        )
        .await;
    assert_eq!(status, 201);
    let id = body["id"].as_i64().unwrap();
    let (status, body) = app.delete_auth(&format!("/subscriptions/{id}"), &bob).await;
    assert_eq!((status, body["state"].clone()), (404, json!(1)));
    assert_eq!(app.subscriptions(&ada).await.len(), 1);
    let (status, _) = app.delete_auth("/subscriptions/abc", &ada).await;
    assert_eq!(status, 400);
    assert!(app.subscriptions(&bob).await.is_empty());
}

#[tokio::test]
async fn no_more_than_twenty_subscriptions_per_chat() {
    let app = spawn_app().await;
    app.geocoding("Rome", &[("Rome", "IT", 41.89, 12.51, 2_318_895)])
        .await;
    let token = app.register("ada", 1).await;
    // Twenty different subscriptions (the same one twice is one subscription).
    for max in 21..41 {
        let (status, _) = app
            .post_form(
                &format!("/cityevents/{token}"),
                &[
                    ("city_name", "Rome"),
                    ("rain", "1"),
                    ("max_temp", &max.to_string()),
                ],
            )
            .await;
        assert_eq!(status, 201);
    }
    let (status, body) = app
        .post_form(
            &format!("/cityevents/{token}"),
            &[("city_name", "Rome"), ("rain", "1")],
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(app.subscriptions(&token).await.len(), 20);
}

#[tokio::test]
async fn a_store_that_cannot_write_answers_503_and_acknowledges_nothing() {
    let app = spawn_app().await;
    app.geocoding("Rome", &[("Rome", "IT", 41.89, 12.51, 2_318_895)])
        .await;
    let token = app.register("ugo", 31).await;
    // The database stops serving (as with a full disk or a lost volume).
    app.store.close().await;
    let (status, body) = app
        .post_form(
            &format!("/cityevents/{token}"),
            &[("city_name", "Rome"), ("rain", "1")],
        )
        .await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["state"], 1);
    assert!(
        body.get("id").is_none(),
        "no id for what was not stored: {body}"
    );
    let (status, body) = app
        .post_json(
            "/register",
            json!({ "username": "vera", "password": "s3cret-pw", "telegramChatId": 32 }),
        )
        .await;
    assert_eq!(status, 503, "{body}");
    assert!(
        body.get("token").is_none(),
        "no token for an account not stored: {body}"
    );
}
