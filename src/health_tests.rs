use super::*;
use crate::clock::ManualClock;

fn registry() -> (Health, ManualClock) {
    let clock = ManualClock::default();
    (Health::with_clock(Arc::new(clock.clone())), clock)
}

fn one(health: &Health, name: &str) -> WorkerReport {
    health
        .report()
        .into_iter()
        .find(|w| w.name == name)
        .expect("registered")
}

#[test]
fn a_registered_worker_is_not_ready_until_started() {
    let (health, _clock) = registry();
    let hb = health.register("poller", Some(Duration::from_secs(60)));
    let w = one(&health, "poller");
    assert!(!w.ok && !w.running);
    assert_eq!(w.problem.as_deref(), Some("not running (not started)"));
    hb.started();
    assert!(one(&health, "poller").ok);
}

#[test]
fn a_worker_is_stalled_once_its_period_passes_without_a_beat() {
    let (health, clock) = registry();
    let hb = health.register("poller", Some(Duration::from_secs(60)));
    hb.started();
    // The grace before the first beat is one period from the start.
    clock.advance(Duration::from_secs(59));
    assert!(one(&health, "poller").ok);
    clock.advance(Duration::from_secs(2));
    let w = one(&health, "poller");
    assert!(!w.ok);
    assert_eq!(
        w.problem.as_deref(),
        Some("no progress for 61 s (expected within 60 s)")
    );
    hb.beat();
    let w = one(&health, "poller");
    assert!(w.ok);
    assert_eq!(w.last_progress_s, Some(0));
    clock.advance(Duration::from_secs(45));
    hb.beat();
    clock.advance(Duration::from_secs(45));
    let w = one(&health, "poller");
    assert!(w.ok, "{w:?}");
    assert_eq!(w.last_progress_s, Some(45));
    clock.advance(Duration::from_secs(16));
    assert!(!one(&health, "poller").ok);
}

#[test]
fn alive_is_enough_without_a_period() {
    let (health, clock) = registry();
    let hb = health.register("dispatcher", None);
    hb.started();
    clock.advance(Duration::from_secs(86_400));
    assert!(one(&health, "dispatcher").ok);
    hb.stopped("panicked");
    let w = one(&health, "dispatcher");
    assert!(!w.ok);
    assert_eq!(w.problem.as_deref(), Some("not running (panicked)"));
    hb.started();
    hb.restarted();
    let w = one(&health, "dispatcher");
    assert!(w.ok);
    assert_eq!(w.restarts, 1);
}

#[test]
fn problems_and_checks_keep_a_worker_unready() {
    let (health, _clock) = registry();
    let hb = health.register("notifier", Some(Duration::from_secs(60)));
    hb.started();
    hb.set_problem(Some("cannot reach Telegram".into()));
    assert_eq!(
        one(&health, "notifier").problem.as_deref(),
        Some("cannot reach Telegram")
    );
    hb.set_problem(None);
    assert!(one(&health, "notifier").ok);
    let bad = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let seen = Arc::clone(&bad);
    hb.add_check(Arc::new(move || {
        seen.load(std::sync::atomic::Ordering::SeqCst)
            .then(|| "bot token rejected".to_owned())
    }));
    assert!(one(&health, "notifier").ok);
    bad.store(true, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(
        one(&health, "notifier").problem.as_deref(),
        Some("bot token rejected")
    );
}

#[test]
fn a_restart_gives_a_fresh_grace_period() {
    let (health, clock) = registry();
    let hb = health.register("sla_evaluator", Some(Duration::from_secs(120)));
    hb.started();
    clock.advance(Duration::from_secs(500));
    assert!(!one(&health, "sla_evaluator").ok);
    hb.stopped("panicked");
    hb.started();
    assert!(one(&health, "sla_evaluator").ok);
}

#[tokio::test]
async fn readiness_reports_the_database_and_every_worker() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite:{}", dir.path().join("r.db").display());
    let store = Store::connect(&url).await.expect("store");
    let (health, _clock) = registry();
    let hb = health.register("poller", Some(Duration::from_secs(60)));
    let readiness = Readiness::new(health, store.clone(), &url).await;
    let report = readiness.check().await;
    assert!(!report.ready);
    assert!(report.database.ok && report.migrations.ok, "{report:?}");
    assert_eq!(report.problems, ["poller: not running (not started)"]);
    hb.started();
    let report = readiness.check().await;
    assert!(report.ready, "{report:?}");

    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(dir.path().join(format!("r.db{suffix}")));
    }
    let report = readiness.check().await;
    assert!(!report.ready);
    assert!(!report.database.ok);
    assert!(
        report.problems[0].starts_with("database: database file"),
        "{report:?}"
    );
    store.close().await;
}
