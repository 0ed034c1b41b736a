//! The SLA evaluator against a fake Prometheus (wiremock) and against the
//! in-process registry, retention, and violation windows with an injected
//! clock.

mod support;

use chrono::{Duration as Span, TimeZone, Utc};
use meteobot::sla::{Bound, Horizon, MetricRange, SlaError, SlaState};
use serde_json::json;
use support::sla::{
    RETENTION, SlaRig, answer_any_query, answer_query, metric_value, store_samples, vector,
};
use wiremock::MockServer;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

const UP_QUERY: &str = r#"up{job="meteobot"}"#;

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 6, 1, 12, 0, 0).unwrap()
}

fn counter(rig: &SlaRig, name: &str) -> f64 {
    metric_value(&rig.metrics.render(), name).unwrap_or(0.0)
}

#[tokio::test]
async fn a_matching_series_is_sampled_and_judged() {
    let prometheus = MockServer::start().await;
    let rig = SlaRig::prometheus(&prometheus.uri()).await;
    let id = rig.add("up", "meteobot", 0.5, None).await;
    answer_query(
        &prometheus,
        UP_QUERY,
        vector(&[(
            &[("__name__", "up"), ("job", "meteobot"), ("instance", "a:1")],
            "1",
        )]),
    )
    .await;

    let report = rig.evaluator.evaluate_once(now()).await.unwrap();
    assert_eq!((report.slas, report.sampled, report.violations), (1, 1, 1));
    assert_eq!(rig.samples(id).await, vec![(now().timestamp_millis(), 1.0)]);
    assert_eq!(counter(&rig, "sla_violations_total"), 1.0);
    let key = rig.service.parse_key("up", "meteobot").unwrap();
    let (_, counts) = rig.service.past_violations(&key, now()).await.unwrap();
    assert_eq!(counts.last_hour, 1);
}

#[tokio::test]
async fn several_instances_of_the_job_are_summed_and_other_jobs_ignored() {
    let prometheus = MockServer::start().await;
    let rig = SlaRig::prometheus(&prometheus.uri()).await;
    let id = rig.add("up", "meteobot", 5.0, Some(1.0)).await;
    answer_query(
        &prometheus,
        UP_QUERY,
        vector(&[
            (&[("job", "meteobot"), ("instance", "a")], "1"),
            (&[("job", "node"), ("instance", "b")], "40"),
            (&[("job", "meteobot"), ("instance", "c")], "1"),
        ]),
    )
    .await;
    let report = rig.evaluator.evaluate_once(now()).await.unwrap();
    assert_eq!((report.sampled, report.violations), (1, 0));
    assert_eq!(rig.samples(id).await[0].1, 2.0);
}

#[tokio::test]
async fn a_series_for_another_job_only_is_no_data() {
    let prometheus = MockServer::start().await;
    let rig = SlaRig::prometheus(&prometheus.uri()).await;
    let id = rig.add("up", "meteobot", 0.5, None).await;
    answer_any_query(
        &prometheus,
        200,
        &vector(&[(&[("job", "node")], "1")]).to_string(),
    )
    .await;
    let report = rig.evaluator.evaluate_once(now()).await.unwrap();
    assert_eq!((report.no_data, report.sampled, report.failed), (1, 0, 0));
    assert!(rig.samples(id).await.is_empty());
    let key = rig.service.parse_key("up", "meteobot").unwrap();
    let (_, state) = rig.service.current_state(&key).await.unwrap();
    assert_eq!(state, SlaState::NoData);
}

#[tokio::test]
async fn an_empty_result_is_no_data() {
    let prometheus = MockServer::start().await;
    let rig = SlaRig::prometheus(&prometheus.uri()).await;
    rig.add("up", "meteobot", 0.5, None).await;
    answer_query(&prometheus, UP_QUERY, vector(&[])).await;
    let report = rig.evaluator.evaluate_once(now()).await.unwrap();
    assert_eq!((report.no_data, report.failed), (1, 0));
    assert_eq!(counter(&rig, "sla_evaluation_errors_total"), 0.0);
}

#[tokio::test]
async fn a_failing_prometheus_costs_one_evaluation() {
    let prometheus = MockServer::start().await;
    let rig = SlaRig::prometheus(&prometheus.uri()).await;
    let id = rig.add("up", "meteobot", 0.5, None).await;
    answer_any_query(&prometheus, 500, "internal error").await;
    let report = rig.evaluator.evaluate_once(now()).await.unwrap();
    assert_eq!((report.failed, report.sampled), (1, 0));
    assert_eq!(counter(&rig, "sla_evaluation_errors_total"), 1.0);
    let key = rig.service.parse_key("up", "meteobot").unwrap();
    match rig.service.current_state(&key).await {
        Err(SlaError::Source(e)) => assert!(e.is_unavailable(), "{e}"),
        other => panic!("expected a source error, got {other:?}"),
    }

    // Prometheus is back: the next evaluation samples again.
    prometheus.reset().await;
    answer_query(
        &prometheus,
        UP_QUERY,
        vector(&[(&[("job", "meteobot")], "0")]),
    )
    .await;
    let later = now() + Span::minutes(1);
    let report = rig.evaluator.evaluate_once(later).await.unwrap();
    assert_eq!((report.failed, report.sampled), (0, 1));
    assert_eq!(rig.samples(id).await, vec![(later.timestamp_millis(), 0.0)]);
}

#[tokio::test]
async fn garbage_answers_are_failures_not_crashes() {
    for (status, body) in [
        (200, "<html>proxy login</html>"),
        (
            200,
            r#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#,
        ),
        (
            200,
            r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"job":"meteobot"},"value":[1,2]}]}}"#,
        ),
        (200, r#"{"status":"success"}"#),
        (502, ""),
    ] {
        let prometheus = MockServer::start().await;
        let rig = SlaRig::prometheus(&prometheus.uri()).await;
        rig.add("up", "meteobot", 0.5, None).await;
        answer_any_query(&prometheus, status, body).await;
        let report = rig.evaluator.evaluate_once(now()).await.unwrap();
        assert_eq!((report.failed, report.sampled), (1, 0), "{status} {body}");
    }
}

#[tokio::test]
async fn a_promql_expression_is_sent_as_written() {
    let prometheus = MockServer::start().await;
    let rig = SlaRig::prometheus(&prometheus.uri()).await;
    let expr = "sum(rate(http_request_duration_seconds_count[5m]))";
    let id = rig.add(expr, "meteobot", 10.0, Some(0.1)).await;
    // The aggregation dropped every label: the expression chose its job.
    answer_query(&prometheus, expr, vector(&[(&[], "0.05")])).await;
    let report = rig.evaluator.evaluate_once(now()).await.unwrap();
    assert_eq!((report.sampled, report.violations), (1, 1));
    let key = rig.service.parse_key(expr, "meteobot").unwrap();
    let (_, state) = rig.service.current_state(&key).await.unwrap();
    assert_eq!(
        state,
        SlaState::Value {
            value: 0.05,
            violation: Some(Bound::Min)
        }
    );
    assert_eq!(rig.samples(id).await.len(), 1);
}

#[tokio::test]
async fn a_bad_query_is_reported_as_such() {
    let prometheus = MockServer::start().await;
    let rig = SlaRig::prometheus(&prometheus.uri()).await;
    rig.add("rate(x[5m]", "meteobot", 1.0, None).await;
    let error = json!({"status":"error","errorType":"bad_data","error":"parse error: unclosed left parenthesis"});
    answer_any_query(&prometheus, 400, &error.to_string()).await;
    let report = rig.evaluator.evaluate_once(now()).await.unwrap();
    assert_eq!(report.failed, 1);
    let key = rig.service.parse_key("rate(x[5m]", "meteobot").unwrap();
    match rig.service.current_state(&key).await {
        Err(SlaError::Source(e)) => {
            assert_eq!(e.kind(), "bad_query");
            assert!(e.to_string().contains("unclosed"), "{e}");
        }
        other => panic!("expected a bad query, got {other:?}"),
    }
}

#[tokio::test]
async fn the_in_process_registry_is_a_source() {
    let rig = SlaRig::registry().await;
    let depth = rig.add("outbox_depth", "meteobot", 5.0, None).await;
    let users = rig
        .add("registered_users_total", "meteobot", 10.0, Some(1.0))
        .await;
    let polls = rig
        .add("poll_cycle_duration_seconds_count", "meteobot", 100.0, None)
        .await;
    let elsewhere = rig.add("outbox_depth", "node", 5.0, None).await;
    rig.metrics.outbox_depth.set(7);
    rig.metrics.poll_cycle_duration.observe(0.2);
    rig.metrics.poll_cycle_duration.observe(0.4);

    let report = rig.evaluator.evaluate_once(now()).await.unwrap();
    assert_eq!(
        (
            report.slas,
            report.sampled,
            report.no_data,
            report.violations
        ),
        (4, 3, 1, 2)
    );
    let at = now().timestamp_millis();
    assert_eq!(rig.samples(depth).await, vec![(at, 7.0)]);
    assert_eq!(rig.samples(users).await, vec![(at, 0.0)]);
    assert_eq!(rig.samples(polls).await, vec![(at, 2.0)]);
    assert!(rig.samples(elsewhere).await.is_empty());
    // The evaluator's own counter is in the same registry, and readable.
    let key = rig
        .service
        .parse_key("sla_violations_total", "meteobot")
        .unwrap();
    rig.service
        .add(&key, MetricRange::new(1.0, None).unwrap())
        .await
        .unwrap();
    let (_, state) = rig.service.current_state(&key).await.unwrap();
    assert_eq!(
        state,
        SlaState::Value {
            value: 2.0,
            violation: Some(Bound::Max)
        }
    );
}

#[tokio::test]
async fn names_are_checked_against_the_source() {
    let rig = SlaRig::registry().await;
    assert!(matches!(
        rig.service.parse_key("rate(x[5m])", "meteobot"),
        Err(SlaError::Invalid(_))
    ));
    assert!(matches!(
        rig.service.parse_key("up", " "),
        Err(SlaError::Invalid(_))
    ));
    let prometheus = MockServer::start().await;
    let rig = SlaRig::prometheus(&prometheus.uri()).await;
    assert!(rig.service.parse_key("rate(x[5m])", "meteobot").is_ok());
}

#[tokio::test]
async fn violation_windows_count_by_an_injected_clock() {
    let rig = SlaRig::registry().await;
    rig.add("outbox_depth", "meteobot", 5.0, None).await;
    rig.metrics.outbox_depth.set(9);
    for ago in [
        Span::hours(7),
        Span::hours(5),
        Span::hours(2),
        Span::minutes(30),
    ] {
        let report = rig.evaluator.evaluate_once(now() - ago).await.unwrap();
        assert_eq!(report.violations, 1);
    }
    let key = rig.service.parse_key("outbox_depth", "meteobot").unwrap();
    let (sla, counts) = rig.service.past_violations(&key, now()).await.unwrap();
    assert_eq!(sla.range.max(), 5.0);
    assert_eq!(
        (counts.last_hour, counts.last_3_hours, counts.last_6_hours),
        (1, 2, 3)
    );
    // Seen from 6 hours later, only the -30 min one is left in the 6 h window.
    let (_, later) = rig
        .service
        .past_violations(&key, now() + Span::hours(5))
        .await
        .unwrap();
    assert_eq!((later.last_hour, later.last_6_hours), (0, 1));
}

#[tokio::test]
async fn history_older_than_the_retention_is_pruned() {
    let rig = SlaRig::registry().await;
    let id = rig.add("outbox_depth", "meteobot", 5.0, None).await;
    rig.metrics.outbox_depth.set(9);
    rig.evaluator
        .evaluate_once(now() - Span::days(8))
        .await
        .unwrap();
    rig.evaluator
        .evaluate_once(now() - Span::days(6))
        .await
        .unwrap();
    let report = rig.evaluator.evaluate_once(now()).await.unwrap();
    assert_eq!((report.pruned.samples, report.pruned.violations), (1, 1));
    assert_eq!(rig.samples(id).await.len(), 2);
}

#[tokio::test]
async fn add_update_remove() {
    let rig = SlaRig::registry().await;
    let key = rig.service.parse_key("outbox_depth", "meteobot").unwrap();
    let range = |max, min| MetricRange::new(max, min).unwrap();
    use meteobot::store::SlaUpsert::*;
    assert_eq!(
        rig.service.add(&key, range(5.0, None)).await.unwrap(),
        Added
    );
    assert_eq!(
        rig.service.add(&key, range(5.0, None)).await.unwrap(),
        Unchanged
    );
    assert_eq!(
        rig.service.add(&key, range(6.0, Some(1.0))).await.unwrap(),
        Updated
    );
    let listed = rig.service.list().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].sla.range, range(6.0, Some(1.0)));
    // outbox_depth is 0: below the minimum of 1.
    assert_eq!(
        listed[0].state,
        Ok(SlaState::Value {
            value: 0.0,
            violation: Some(Bound::Min)
        })
    );
    assert!(rig.service.remove(&key).await.unwrap());
    assert!(!rig.service.remove(&key).await.unwrap());
    assert!(matches!(
        rig.service.current_state(&key).await,
        Err(SlaError::Unknown { .. })
    ));
}

#[tokio::test]
async fn the_forecast_fits_on_prometheus_history_when_it_has_some() {
    let prometheus = MockServer::start().await;
    let rig = SlaRig::prometheus(&prometheus.uri()).await;
    rig.add("up", "meteobot", 100.0, None).await;
    // A climb of 0.5 per minute up to 59.5: it passes 100 about 81 minutes on.
    let start = (now() - Span::hours(2)).timestamp();
    let values: Vec<serde_json::Value> = (0..120)
        .map(|i| json!([start + i * 60, format!("{}", i as f64 * 0.5)]))
        .collect();
    Mock::given(method("GET"))
        .and(path("/api/v1/query_range"))
        .and(query_param("query", UP_QUERY))
        .and(query_param("step", "60.000"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "status": "success",
            "data": { "resultType": "matrix", "result": [
                { "metric": { "job": "meteobot" }, "values": values },
                { "metric": { "job": "node" }, "values": [[start, "1000"]] }
            ] }
        })))
        .mount(&prometheus)
        .await;
    let key = rig.service.parse_key("up", "meteobot").unwrap();
    let horizon = Horizon::from_minutes(90).unwrap();
    let (_, range, prevision) = rig
        .service
        .forecast(&key, horizon, None, now())
        .await
        .unwrap();
    assert_eq!(range.max(), 100.0);
    assert_eq!(prevision.samples, 120);
    assert!(prevision.probability > 0.9, "{prevision:?}");
    // A "what if" maximum far above: unlikely.
    let (_, range, far) = rig
        .service
        .forecast(&key, horizon, Some(1000.0), now())
        .await
        .unwrap();
    assert_eq!(range.max(), 1000.0);
    assert!(far.probability < 0.05, "{far:?}");
}

#[tokio::test]
async fn the_forecast_falls_back_to_stored_samples_and_needs_enough() {
    let prometheus = MockServer::start().await;
    let rig = SlaRig::prometheus(&prometheus.uri()).await;
    let id = rig.add("up", "meteobot", 10.0, Some(0.0)).await;
    Mock::given(method("GET"))
        .and(path("/api/v1/query_range"))
        .respond_with(ResponseTemplate::new(503).set_body_string("overloaded"))
        .mount(&prometheus)
        .await;
    let key = rig.service.parse_key("up", "meteobot").unwrap();
    let horizon = Horizon::from_minutes(30).unwrap();
    let points: Vec<_> = (0..5).map(|i| (now() - Span::minutes(i), 5.0)).collect();
    store_samples(&rig.store, id, 10.0, &points).await;
    match rig.service.forecast(&key, horizon, None, now()).await {
        Err(SlaError::Forecast(e)) => assert!(e.to_string().contains("not enough data"), "{e}"),
        other => panic!("expected not enough data, got {other:?}"),
    }
    let points: Vec<_> = (5..40)
        .map(|i| (now() - Span::minutes(i), 5.0 + (i % 3) as f64 * 0.1))
        .collect();
    store_samples(&rig.store, id, 10.0, &points).await;
    let (_, _, prevision) = rig
        .service
        .forecast(&key, horizon, None, now())
        .await
        .unwrap();
    assert_eq!(prevision.samples, 40);
    assert!(prevision.probability < 0.05, "{prevision:?}");
    // A desired maximum below the minimum is refused, not forecast.
    assert!(matches!(
        rig.service.forecast(&key, horizon, Some(-1.0), now()).await,
        Err(SlaError::Invalid(_))
    ));
}

/// The evaluator's own loop evaluates at the injected clock's time, not the
/// system's: a manual clock set to `now()` and then moved an hour on. (The
/// loop turns every 20 ms of real time; the test waits, bounded, for the
/// samples it expects, never for "nothing".)
#[tokio::test]
async fn the_loop_evaluates_at_the_injected_clocks_time() {
    let rig = SlaRig::registry().await;
    let id = rig
        .add("registered_users_total", "meteobot", 10.0, None)
        .await;
    let clock = meteobot::clock::ManualClock::starting_at(now());
    let (trigger, listener) = meteobot::shutdown::channel();
    let evaluator = rig.service.evaluator(rig.metrics.clone(), RETENTION);
    let task = tokio::spawn(
        evaluator
            .with_clock(std::sync::Arc::new(clock.clone()))
            .run(std::time::Duration::from_millis(20), listener),
    );
    let at = |t: chrono::DateTime<Utc>| (t.timestamp_millis(), 0.0);
    let until = |want: (i64, f64)| {
        let rig = &rig;
        async move {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
            loop {
                let samples = rig.samples(id).await;
                if samples.contains(&want) {
                    return samples;
                }
                assert!(std::time::Instant::now() < deadline, "{samples:?}");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        }
    };
    until(at(now())).await;
    clock.advance(std::time::Duration::from_secs(3600));
    let samples = until(at(now() + Span::hours(1))).await;
    trigger.trigger();
    task.await.unwrap();
    // Every sample carries one of the two times the clock showed.
    assert!(
        samples
            .iter()
            .all(|s| *s == at(now()) || *s == at(now() + Span::hours(1))),
        "{samples:?}"
    );
}
