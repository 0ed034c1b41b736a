//! Issue 12, item 5: the REST contract as OpenAPI 3. The document lists
//! every route the router serves, in both spellings, with the body types
//! the handlers read and the `ApiError` body on every error; `/docs` is
//! served from the binary and names no other host.

mod support;

use std::collections::{BTreeMap, BTreeSet};

use meteobot::admin::openapi::{ADMIN_TOKEN, DOCS_PATH, DOCUMENT_PATH, JWT, LEGACY_PREFIXES};
use serde_json::Value;
use support::{TestApp, spawn_app};

const METHODS: [&str; 5] = ["get", "post", "put", "delete", "patch"];

async fn document(app: &TestApp) -> Value {
    let resp = app.client.get(app.url(DOCUMENT_PATH)).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    resp.json().await.unwrap()
}

/// path → its documented methods.
fn operations(doc: &Value) -> BTreeMap<String, BTreeSet<String>> {
    doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .map(|(path, item)| {
            let methods = METHODS
                .iter()
                .filter(|m| item.get(**m).is_some())
                .map(|m| (*m).to_owned())
                .collect();
            (path.clone(), methods)
        })
        .collect()
}

/// A concrete URL path for a template (`{id}` → 1, `{token}` → x).
fn concrete(path: &str) -> String {
    path.replace("{id}", "1").replace("{token}", "x")
}

/// The router's own answers for a path it does not serve, or a method it
/// does not serve there (`admin::not_found`, `admin::method_not_allowed`).
fn unrouted(status: u16, body: &Value) -> bool {
    (status == 404 && body["message"] == "no such route")
        || (status == 405 && body["message"] == "method not allowed on this route")
}

async fn call(app: &TestApp, method: &str, path: &str) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
    let resp = app
        .client
        .request(method, app.url(path))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test]
async fn every_documented_operation_is_served_and_nothing_else_on_its_path() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let ops = operations(&doc);
    assert!(ops.len() > 20, "{:?}", ops.keys());
    for (path, methods) in &ops {
        for method in METHODS {
            let (status, body) = call(&app, method, &concrete(path)).await;
            if methods.contains(method) {
                assert!(
                    !unrouted(status, &body),
                    "{method} {path} is documented but not served: {status} {body}"
                );
            } else {
                // Served but undocumented would be a hole in the contract.
                assert_eq!(
                    (status, body["message"].as_str()),
                    (405, Some("method not allowed on this route")),
                    "{method} {path} is served but not documented"
                );
            }
        }
    }
    for path in ["/openapi.json/x", "/register/x", "/nope"] {
        let (status, body) = call(&app, "get", path).await;
        assert!(unrouted(status, &body), "{path}: {status} {body}");
    }
}

#[tokio::test]
async fn each_route_is_documented_at_its_bare_path_and_under_its_legacy_prefix() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    let ops = operations(&doc);
    // Which prefix serves a group: the reference gateway's routing.
    let prefix_of_tag = BTreeMap::from([
        ("accounts", LEGACY_PREFIXES[0]),
        ("subscriptions", LEGACY_PREFIXES[1]),
        ("sla", LEGACY_PREFIXES[2]),
    ]);
    let mut bare = 0;
    for (path, methods) in &ops {
        if LEGACY_PREFIXES
            .iter()
            .any(|p| path.starts_with(&format!("{p}/")))
        {
            continue;
        }
        bare += 1;
        for method in methods {
            let op = &doc["paths"][path][method];
            let tag = op["tags"][0].as_str().expect("every operation has a tag");
            match prefix_of_tag.get(tag) {
                Some(prefix) => {
                    let legacy = format!("{prefix}{path}");
                    assert!(
                        ops.get(&legacy).is_some_and(|m| m.contains(method)),
                        "{method} {path} has no {legacy}"
                    );
                    let legacy_op = &doc["paths"][&legacy][method];
                    assert_eq!(legacy_op["requestBody"], op["requestBody"], "{legacy}");
                    assert_eq!(legacy_op["responses"], op["responses"], "{legacy}");
                }
                None => assert_eq!(tag, "operations", "{path}: unknown tag {tag}"),
            }
        }
    }
    // Every legacy path is the twin of a bare one.
    let legacy = ops.len() - bare;
    assert_eq!(legacy, bare - 3, "{:?}", ops.keys()); // /healthz, /readyz, /metrics: bare only
    for route in ["/healthz", "/readyz", "/metrics"] {
        assert!(ops.contains_key(route), "{route}");
    }
}

#[tokio::test]
async fn the_document_says_what_every_answer_and_body_looks_like() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes[JWT]["scheme"], "bearer");
    assert_eq!(schemes[JWT]["bearerFormat"], "JWT");
    assert_eq!(schemes[ADMIN_TOKEN]["scheme"], "bearer");
    let error = &doc["components"]["schemas"]["ApiError"];
    assert_eq!(error["required"], serde_json::json!(["state", "message"]));

    let mut ids = BTreeSet::new();
    for (path, methods) in operations(&doc) {
        for method in methods {
            let op = &doc["paths"][&path][&method];
            let id = op["operationId"].as_str().expect("operationId");
            assert!(ids.insert(id.to_owned()), "operationId {id} twice");
            // Every body in the three encodings the handlers read.
            if let Some(body) = op.get("requestBody") {
                for kind in [
                    "application/json",
                    "application/x-www-form-urlencoded",
                    "multipart/form-data",
                ] {
                    let schema = &body["content"][kind]["schema"]["$ref"];
                    assert!(schema.is_string(), "{method} {path}: no {kind} body");
                }
                let responses = op["responses"].as_object().unwrap();
                for status in ["400", "413"] {
                    assert!(
                        responses.contains_key(status),
                        "{method} {path}: no {status}"
                    );
                }
            }
            for (status, response) in op["responses"].as_object().unwrap() {
                if status.starts_with('2') || path == "/readyz" {
                    continue;
                }
                let schema = &response["content"]["application/json"]["schema"]["$ref"];
                let expected = if path.ends_with("remove_metric") && status == "404" {
                    "#/components/schemas/MetricChanged"
                } else {
                    "#/components/schemas/ApiError"
                };
                assert_eq!(schema, expected, "{method} {path} {status}");
                if status == "429" || status == "503" {
                    assert!(
                        response["headers"]["Retry-After"].is_object(),
                        "{method} {path} {status}: no Retry-After"
                    );
                }
            }
            let secured = op["security"].to_string();
            if path.contains("subscriptions") || path.ends_with("/cityevents") {
                assert!(secured.contains(JWT), "{method} {path}: {secured}");
            }
            if op["tags"][0] == "sla" {
                assert!(secured.contains(ADMIN_TOKEN), "{method} {path}: {secured}");
            }
        }
    }
}

#[tokio::test]
async fn docs_page_is_served_from_the_binary_and_names_no_other_host() {
    let app = spawn_app().await;
    // /docs redirects to /docs/ (reqwest follows it).
    let resp = app.client.get(app.url(DOCS_PATH)).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.url().path(), format!("{DOCS_PATH}/"));
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = resp.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    let assets: Vec<&str> = ["src=\"", "href=\""]
        .iter()
        .flat_map(|attr| html.split(attr).skip(1))
        .map(|rest| &rest[..rest.find('"').unwrap()])
        .collect();
    assert!(assets.len() >= 4, "{assets:?}");
    for asset in &assets {
        assert!(
            !asset.contains("//") && !asset.contains(':'),
            "/docs loads {asset} from elsewhere"
        );
        let url = app.url(&format!("{DOCS_PATH}/{}", asset.trim_start_matches("./")));
        let resp = app.client.get(&url).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{url}");
        assert!(!resp.bytes().await.unwrap().is_empty(), "{url}");
    }
    // The initializer points at our document and turns off Swagger UI's
    // default validator (validator.swagger.io).
    let init = app
        .client
        .get(app.url(&format!("{DOCS_PATH}/swagger-initializer.js")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        init.contains(&format!("\"url\": \"{DOCUMENT_PATH}\"")),
        "{init}"
    );
    assert!(init.contains("\"validatorUrl\": \"none\""), "{init}");
    assert!(
        !init.contains("http://") && !init.contains("https://"),
        "{init}"
    );
}

/// schemathesis sent a multipart part whose name holds a NUL byte: 400
/// with the ApiError body, now saying which part of the request was bad.
#[tokio::test]
async fn a_malformed_multipart_body_is_a_400_that_says_so() {
    let app = spawn_app().await;
    let boundary = "b0undary";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"\0x\"\r\n\r\nv\r\n--{boundary}--\r\n"
    );
    let resp = app
        .client
        .post(app.url("/add_metric"))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["state"], 1);
    let message = body["message"].as_str().unwrap();
    assert!(
        message.starts_with("malformed multipart/form-data body: "),
        "{message}"
    );
}
