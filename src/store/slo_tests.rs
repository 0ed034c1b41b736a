use super::*;
use crate::domain::Bound;
use crate::store::test_support::temp_store;
use crate::store::{SlaSample, StoredObjective};

const MIN: i64 = 60_000;

async fn sla_with_objective(store: &Store, window_ms: i64) -> i64 {
    let objective = StoredObjective {
        percent: 99.0,
        window_ms,
    };
    store
        .upsert_sla_with_objective("m", "j", 10.0, None, Some(objective), 0)
        .await
        .unwrap();
    store.sla("m", "j").await.unwrap().unwrap().id
}

/// One evaluation a minute from `from` to `to` (minutes), bad where `bad`.
async fn evaluations(
    store: &Store,
    id: i64,
    minutes: std::ops::Range<i64>,
    bad: impl Fn(i64) -> bool,
) {
    let samples: Vec<_> = minutes
        .map(|m| SlaSample {
            sla_id: id,
            at_ms: m * MIN,
            value: if bad(m) { 12.0 } else { 5.0 },
            violation: bad(m).then_some((Bound::Max, 10.0)),
        })
        .collect();
    store.record_sla_samples(&samples, 0).await.unwrap();
}

#[tokio::test]
async fn windows_end_at_the_evaluation_and_exclude_their_start() {
    let (store, _dir) = temp_store().await;
    let id = sla_with_objective(&store, 30 * 86_400_000).await;
    // Minutes 1..=60, bad in minutes 55..=60 and at minute 1.
    evaluations(&store, id, 1..61, |m| m >= 55 || m == 1).await;
    let counts = store
        .sla_evaluation_counts(id, 60 * MIN, &[5 * MIN, 60 * MIN, 59 * MIN])
        .await
        .unwrap();
    let c = |total, bad| EvaluationCounts { total, bad };
    // (55, 60]: 56..=60. (0, 60]: all. (1, 60]: minute 1 left out.
    assert_eq!(counts, vec![c(5, 5), c(60, 7), c(59, 6)]);
    // At an earlier evaluation time, later evaluations do not count.
    let earlier = store
        .sla_evaluation_counts(id, 30 * MIN, &[60 * MIN])
        .await
        .unwrap();
    assert_eq!(earlier, vec![c(30, 1)]);
    assert!(
        store
            .sla_evaluation_counts(id, 0, &[])
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn a_change_is_written_once_with_its_messages() {
    let (store, _dir) = temp_store().await;
    let id = sla_with_objective(&store, 86_400_000).await;
    let started = [BurnChange::Started {
        rule: "page-1h".into(),
        since_ms: 7,
    }];
    let message = |key: &str| NewMessage {
        chat_id: 42,
        kind: "notice",
        text: "burning".into(),
        dedup_key: key.into(),
        ..NewMessage::default()
    };
    // Two replicas applying the same start: one row, one message.
    for _ in 0..2 {
        store
            .apply_burn_changes(id, &started, &[message("slo:start")], 7)
            .await
            .unwrap();
    }
    assert_eq!(
        store.sla_burn_alerts(id).await.unwrap(),
        vec![("page-1h".into(), 7)]
    );
    let resolved = [BurnChange::Resolved {
        rule: "page-1h".into(),
    }];
    store
        .apply_burn_changes(id, &resolved, &[message("slo:end")], 9)
        .await
        .unwrap();
    assert!(store.sla_burn_alerts(id).await.unwrap().is_empty());
    let texts: Vec<_> = store
        .outbox_rows()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.dedup_key)
        .collect();
    assert_eq!(texts, vec!["slo:start".to_owned(), "slo:end".to_owned()]);
    // An SLA removed meanwhile: nothing written, no message.
    store.remove_sla("m", "j").await.unwrap();
    store
        .apply_burn_changes(id, &started, &[message("slo:late")], 10)
        .await
        .unwrap();
    assert_eq!(store.outbox_rows().await.unwrap().len(), 2);
}

#[tokio::test]
async fn an_objective_keeps_its_window_of_history_past_the_retention() {
    let (store, _dir) = temp_store().await;
    let id = sla_with_objective(&store, 120 * MIN).await;
    store.upsert_sla("plain", "j", 10.0, None, 0).await.unwrap();
    let plain = store.sla("plain", "j").await.unwrap().unwrap().id;
    evaluations(&store, id, 1..181, |m| m % 10 == 0).await;
    evaluations(&store, plain, 1..181, |m| m % 10 == 0).await;
    // The plain retention (here: keep the last 30 minutes) spares the
    // objective's history...
    store.record_sla_samples(&[], 150 * MIN).await.unwrap();
    assert_eq!(
        store.sla_samples_since(plain, 0, 1000).await.unwrap().len(),
        31
    );
    assert_eq!(
        store.sla_samples_since(id, 0, 1000).await.unwrap().len(),
        180
    );
    // ...which goes when older than its window (120 min) and than `keep`.
    let deleted = store
        .prune_objective_history(180 * MIN, 60 * MIN)
        .await
        .unwrap();
    assert_eq!(deleted, 59 + 5);
    assert_eq!(
        store.sla_samples_since(id, 0, 1000).await.unwrap().len(),
        121
    );
    // A keep longer than the window wins.
    store
        .prune_objective_history(180 * MIN, 150 * MIN)
        .await
        .unwrap();
    assert_eq!(
        store.sla_samples_since(id, 0, 1000).await.unwrap().len(),
        121
    );
    let upsert = |objective| store.upsert_sla_with_objective("m", "j", 10.0, None, objective, 1);
    let same = Some(StoredObjective {
        percent: 99.0,
        window_ms: 120 * MIN,
    });
    assert_eq!(
        upsert(same).await.unwrap(),
        crate::store::SlaUpsert::Unchanged
    );
    assert_eq!(
        upsert(None).await.unwrap(),
        crate::store::SlaUpsert::Updated
    );
    let row = store.sla("m", "j").await.unwrap().unwrap();
    assert_eq!((row.objective, row.slo_window_ms), (None, None));
}
