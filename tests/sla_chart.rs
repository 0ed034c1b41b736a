//! SLA charts: `GET /sla/chart.png` on a real port (image, errors, auth,
//! the `/sla_manager` prefix), `/sla chart` through MockBot (answers in both
//! languages, with and without a forecast), and end to end over the fake Bot
//! API, whose `sendPhoto` keeps the uploaded bytes so the PNG is decoded.

mod support;

use chrono::{Duration as Span, Utc};
use meteobot::domain::Language;
use meteobot::secret::Secret;
use meteobot::sla::chart::{FORECAST_FILL, HEIGHT, RANGE_FILL, VIOLATION, WIDTH};
use serde_json::{Value, json};
use support::bot::{bot_rig, last_text};
use support::e2e::{bot_app, eventually};
use support::sla::{add_sla, store_samples};
use support::spawn_app_with;
use teloxide_tests::MockMessageText;

const METRIC: &str = "registered_users_total";
const CHART: &str = "/sla/chart.png?metric_name=registered_users_total&job_name=meteobot";

/// `n` samples a minute apart up to now, wobbling around 50, and two above
/// the maximum of 100 (stored as violations).
async fn samples(store: &meteobot::store::Store, id: i64, n: i64) {
    let now = Utc::now();
    let points: Vec<_> = (0..n)
        .map(|i| {
            let value = if i == 20 || i == 45 {
                120.0
            } else {
                50.0 + ((i * 7) % 5) as f64
            };
            (now - Span::minutes(i), value)
        })
        .collect();
    store_samples(store, id, 100.0, &points).await;
}

/// Size and RGB pixels of a PNG.
fn decode(png: &[u8]) -> ((u32, u32), Vec<[u8; 3]>) {
    let mut reader = png::Decoder::new(std::io::Cursor::new(png))
        .read_info()
        .expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size().expect("a sane size")];
    let info = reader.next_frame(&mut buf).expect("a frame");
    let pixels = buf[..info.buffer_size()]
        .chunks_exact(3)
        .map(|c| [c[0], c[1], c[2]])
        .collect();
    ((info.width, info.height), pixels)
}

/// Pixels of exactly one of the chart's colours.
macro_rules! count {
    ($pixels:expr, $colour:expr) => {
        $pixels
            .iter()
            .filter(|p| **p == [$colour.0, $colour.1, $colour.2])
            .count()
    };
}

async fn get_chart(
    app: &support::TestApp,
    path: &str,
    token: Option<&str>,
) -> (u16, String, Vec<u8>) {
    let mut req = app.client.get(app.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let kind = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, kind, resp.bytes().await.unwrap().to_vec())
}

fn json_of(body: &[u8]) -> Value {
    serde_json::from_slice(body).unwrap_or_else(|_| json!(String::from_utf8_lossy(body)))
}

#[tokio::test]
async fn the_rest_route_serves_the_png_or_says_why_not() {
    const TOKEN: &str = "admin-token-for-chart-tests";
    let app = spawn_app_with(|c| c.admin_token = Some(Secret::new(TOKEN))).await;
    let token = Some(TOKEN);

    // Unknown SLA: 404 in the usual JSON.
    let (status, _, body) = get_chart(&app, CHART, token).await;
    let body = json_of(&body);
    assert_eq!((status, &body["state"]), (404, &json!(1)), "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("no SLA"),
        "{body}"
    );

    let id = add_sla(&app.store, METRIC, "meteobot", 100.0, Some(10.0)).await;
    samples(&app.store, id, 90).await;
    let started = std::time::Instant::now();
    let (status, kind, png) = get_chart(&app, &format!("{CHART}&hours=3"), token).await;
    eprintln!("chart over HTTP in {:?} (debug build)", started.elapsed());
    assert_eq!((status, kind.as_str()), (200, "image/png"));
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let (size, pixels) = decode(&png);
    assert_eq!(size, (WIDTH, HEIGHT));
    assert!(count!(pixels, RANGE_FILL) > 10_000);
    assert!(count!(pixels, FORECAST_FILL) > 100);
    assert!(count!(pixels, VIOLATION) > 10);

    // The same under the gateway prefix; hours default to 6.
    let (status, kind, _) = get_chart(&app, &format!("/sla_manager{CHART}"), token).await;
    assert_eq!((status, kind.as_str()), (200, "image/png"));

    // The SLA routes' auth.
    assert_eq!(get_chart(&app, CHART, None).await.0, 401);
    assert_eq!(get_chart(&app, CHART, Some("wrong")).await.0, 401);

    for bad in ["0", "169", "abc", "1.5", "-2", ""] {
        let (status, _, body) = get_chart(&app, &format!("{CHART}&hours={bad}"), token).await;
        let body = json_of(&body);
        assert_eq!((status, &body["state"]), (400, &json!(1)), "{bad}: {body}");
        assert!(
            body["message"].as_str().unwrap().contains("from 1 to 168"),
            "{body}"
        );
    }
    let (status, _, body) = get_chart(&app, "/sla/chart.png?metric_name=x", token).await;
    assert_eq!(status, 400);
    assert_eq!(json_of(&body)["message"], json!("missing field: job_name"));

    // An SLA without samples (no series carries job `node`): no image.
    add_sla(&app.store, "outbox_depth", "node", 5.0, None).await;
    let path = "/sla/chart.png?metric_name=outbox_depth&job_name=node&hours=1";
    let (status, kind, body) = get_chart(&app, path, token).await;
    let body = json_of(&body);
    assert_eq!((status, &body["state"]), (404, &json!(2)), "{body}");
    assert!(kind.starts_with("application/json"), "{kind}");
    assert_eq!(
        body["message"],
        json!("No samples of outbox_depth (node) in the last 1 h: nothing to draw yet.")
    );
}

fn text(t: &str) -> MockMessageText {
    MockMessageText::new().text(t)
}

fn chat_id() -> i64 {
    MockMessageText::new().build().chat.id.0
}

#[tokio::test]
async fn sla_chart_sends_a_photo_or_a_sentence() {
    let rig = bot_rig(vec![chat_id()]).await;
    let ask = format!("/sla chart {METRIC} meteobot");
    let mut bot = rig.mock(text(&ask));
    bot.dispatch().await;
    assert_eq!(
        last_text(&bot),
        "no SLA for metric 'registered_users_total' and job 'meteobot'"
    );

    let id = add_sla(&rig.store, METRIC, "meteobot", 100.0, None).await;
    bot.update(text(&ask));
    bot.dispatch().await;
    assert_eq!(
        last_text(&bot),
        "No samples of registered_users_total (meteobot) in the last 6 h: nothing to draw yet."
    );
    assert!(bot.get_responses().sent_messages_photo.is_empty());

    for (bad, why) in [
        (
            format!("{ask} 500"),
            "hours must be a whole number from 1 to 168, not '500'",
        ),
        (
            format!("{ask} two"),
            "hours must be a whole number from 1 to 168, not 'two'",
        ),
    ] {
        bot.update(text(&bad));
        bot.dispatch().await;
        assert_eq!(last_text(&bot), why);
    }
    bot.update(text("/sla chart"));
    bot.dispatch().await;
    assert!(last_text(&bot).contains("/sla chart <metric> <job> [hours]"));

    // Too few samples to forecast: a chart all the same, and the caption says why.
    samples(&rig.store, id, 5).await;
    bot.update(text(&format!("{ask} 2")));
    bot.dispatch().await;
    let photos = bot.get_responses().sent_messages_photo;
    assert_eq!(photos.len(), 1);
    assert_eq!(photos[0].bot_request.file_name, "sla-chart.png");
    assert_eq!(
        photos[0].message.caption(),
        Some(
            "📈 registered_users_total (meteobot), range ≤ 100, last 2 h. \
             No forecast: 5 samples in the last 6 hours, at least 10 needed."
        )
    );

    // With an hour of samples: the forecast, and in Italian for an Italian chat.
    samples(&rig.store, id, 60).await;
    rig.store
        .set_chat_language(chat_id(), Language::It)
        .await
        .unwrap();
    bot.update(text(&ask));
    bot.dispatch().await;
    let photos = bot.get_responses().sent_messages_photo;
    let caption = photos[0].message.caption().unwrap_or_default();
    assert!(
        caption.starts_with(
            "📈 registered_users_total (meteobot), intervallo ≤ 100, ultime 6 h. Tratteggio:"
        ),
        "{caption}"
    );
    assert!(caption.contains("(modello ETS("), "{caption}");
}

#[tokio::test]
async fn end_to_end_the_photo_is_a_png_of_the_chart() {
    const ADMIN: i64 = 4242;
    let bot = bot_app(|c| c.admin_chat_ids = vec![ADMIN]).await;
    let id = add_sla(&bot.app.store, METRIC, "meteobot", 100.0, Some(10.0)).await;
    samples(&bot.app.store, id, 120).await;
    bot.telegram
        .user_says(ADMIN, &format!("/sla chart {METRIC} meteobot 3"));
    let photo = eventually("the chart photo", async || {
        bot.telegram.photos_to(ADMIN).pop()
    })
    .await;
    assert_eq!(photo.file_name.as_deref(), Some("sla-chart.png"));
    let caption = photo.caption.unwrap_or_default();
    assert!(
        caption.starts_with("📈 registered_users_total (meteobot), range [10, 100], last 3 h."),
        "{caption}"
    );
    let (size, pixels) = decode(&photo.bytes);
    assert_eq!(size, (WIDTH, HEIGHT));
    assert!(count!(pixels, RANGE_FILL) > 10_000);
    assert!(count!(pixels, VIOLATION) > 10);
}

#[tokio::test]
async fn the_chart_draws_prometheus_history_or_falls_back_to_stored_samples() {
    use meteobot::sla::ChartHours;
    use support::sla::SlaRig;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let prometheus = MockServer::start().await;
    let rig = SlaRig::prometheus(&prometheus.uri()).await;
    let id = rig.add("up", "meteobot", 100.0, None).await;
    let key = rig.service.parse_key("up", "meteobot").unwrap();
    let now = Utc::now();
    // A climb of 0.5 a minute over two hours, from Prometheus.
    let start = (now - Span::hours(2)).timestamp();
    let values: Vec<Value> = (0..120)
        .map(|i| json!([start + i * 60, format!("{}", i as f64 * 0.5)]))
        .collect();
    let range_query = Mock::given(method("GET"))
        .and(path("/api/v1/query_range"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "status": "success",
            "data": { "resultType": "matrix", "result": [
                { "metric": { "job": "meteobot" }, "values": values }
            ] }
        })))
        .mount_as_scoped(&prometheus)
        .await;
    let hours = ChartHours::parse("2").unwrap();
    let data = rig.service.chart_data(&key, hours, now).await.unwrap();
    assert_eq!(data.series.len(), 120);
    assert_eq!(data.to_ms - data.from_ms, 2 * 3_600_000);
    assert!(data.violations.is_empty());
    let band = data.forecast.as_ref().unwrap();
    assert_eq!(band.points.len(), 60, "one step a minute for an hour");
    let last = band.points.last().unwrap();
    assert!(
        last.mean > 59.5 && last.lower < last.mean && last.mean < last.upper,
        "{last:?}"
    );
    drop(range_query);

    // Prometheus down: the stored samples (and their violations) are drawn.
    Mock::given(method("GET"))
        .and(path("/api/v1/query_range"))
        .respond_with(ResponseTemplate::new(503).set_body_string("overloaded"))
        .mount(&prometheus)
        .await;
    samples(&rig.store, id, 90).await;
    let data = rig
        .service
        .chart_data(&key, hours, Utc::now())
        .await
        .unwrap();
    assert_eq!(data.series.len(), 90);
    assert_eq!(data.violations.len(), 2);
    let words = meteobot::text::chart_words(Language::En, &data);
    assert_eq!(words.title, "up (meteobot), last 2 h");
    assert_eq!(words.note, None);
    let png = data
        .render(words.title, words.note, words.labels)
        .await
        .unwrap();
    assert_eq!(decode(&png).0, (WIDTH, HEIGHT));
}
