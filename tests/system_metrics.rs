//! The system metrics as a scraper sees them: real values on `/metrics` right
//! after start (no 15 s wait for the first refresh), without a bot token.

mod support;

use std::time::{Duration, Instant};

use support::spawn_app;

/// The value of an unlabelled sample in Prometheus text, if present.
fn sample(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test]
async fn metrics_show_real_system_values_right_after_start() {
    let app = spawn_app().await;
    let deadline = Instant::now() + Duration::from_secs(5);
    let text = loop {
        let text = app
            .client
            .get(app.url("/metrics"))
            .send()
            .await
            .expect("GET /metrics")
            .text()
            .await
            .expect("body");
        if sample(&text, "disk_space_used").is_some_and(|v| v > 0.0) {
            break text;
        }
        assert!(Instant::now() < deadline, "no refresh within 5 s:\n{text}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let cpu = sample(&text, "cpu_usage_percent").expect("cpu_usage_percent");
    assert!((0.0..=100.0).contains(&cpu), "cpu {cpu}");
    let memory = sample(&text, "memory_usage_percent").expect("memory_usage_percent");
    assert!(memory > 0.0 && memory <= 100.0, "memory {memory}");
    // Connecting, migrating and reading the JWT key all used the pool.
    let connections = sample(&text, "db_connections_total").expect("db_connections_total");
    assert!(connections >= 1.0, "db_connections_total {connections}");
}
