use std::time::Duration;

use proptest::prelude::*;

use super::*;

fn objective(percent: f64) -> Objective {
    Objective::new(percent, DEFAULT_WINDOW).unwrap()
}

fn counts(total: u64, bad: u64) -> Counts {
    Counts { total, bad }
}

#[test]
fn objectives_and_windows_are_parsed_at_the_edge() {
    let o = Objective::parse("99.5", None).unwrap();
    assert_eq!((o.percent(), o.window()), (99.5, DEFAULT_WINDOW));
    assert_eq!(
        Objective::parse("99,9 %", Some("7d")).unwrap().percent(),
        99.9
    );
    assert_eq!(
        Objective::parse("90", Some("12h")).unwrap().window(),
        Duration::from_secs(12 * 3600)
    );
    for (objective, window, says) in [
        ("0", None, "strictly between 0 and 100"),
        ("100", None, "strictly between 0 and 100"),
        ("-3", None, "strictly between 0 and 100"),
        ("abc", None, "not a number"),
        ("NaN", None, "not a number"),
        ("99", Some("30 minutes"), "between 1h and 90d"),
        ("99", Some("59m"), "between 1h and 90d"),
        ("99", Some("91d"), "between 1h and 90d"),
        ("99", Some("soon"), "not a duration"),
        ("99", Some("30"), "not a duration"),
    ] {
        let err = Objective::parse(objective, window).unwrap_err();
        assert!(err.0.contains(says), "{objective} {window:?}: {err}");
    }
}

#[test]
fn sli_budget_and_burn_rate_arithmetic() {
    // 99 % allows 1 % bad: 2 bad of 400 is half the budget.
    let windows = [counts(5, 0), counts(30, 0), counts(60, 3), counts(0, 0)]
        .into_iter()
        .chain([counts(400, 2); 3])
        .collect::<Vec<_>>()
        .try_into()
        .unwrap();
    let b = Budget::new(objective(99.0), counts(400, 2), &windows);
    assert!((b.sli_percent.unwrap() - 99.5).abs() < 1e-9);
    assert!((b.remaining_percent.unwrap() - 50.0).abs() < 1e-9);
    assert_eq!(b.burn[0], Some(0.0));
    // 3 of 60 bad is 5 %: five times the allowed 1 %.
    assert!((b.burn[2].unwrap() - 5.0).abs() < 1e-9);
    // No evaluations: nothing is known, not "100 % fine".
    assert_eq!(b.burn[3], None);
    // Overspent: 4 % bad against 1 % allowed leaves −300 %.
    let over = Budget::new(objective(99.0), counts(100, 4), &[counts(0, 0); 7]);
    assert!((over.remaining_percent.unwrap() + 300.0).abs() < 1e-9);
    let empty = Budget::new(objective(99.0), counts(0, 0), &[counts(0, 0); 7]);
    assert_eq!((empty.sli_percent, empty.remaining_percent), (None, None));
    assert!(empty.firing().is_empty());
}

/// Burn rates that make exactly `rule` fire: its two windows above its
/// factor, every other window at zero.
fn burning(rule: &Rule) -> [Option<f64>; 7] {
    let mut burn = [Some(0.0); 7];
    burn[rule.long] = Some(rule.factor * 1.01);
    burn[rule.short] = Some(rule.factor * 1.01);
    burn
}

#[test]
fn each_rule_needs_both_of_its_windows_above_its_factor() {
    for rule in &RULES {
        assert!(rule.fires(&burning(rule)), "{}", rule.name);
        let mut only_long = burning(rule);
        only_long[rule.short] = Some(rule.factor);
        assert!(
            !rule.fires(&only_long),
            "{}: short at the factor",
            rule.name
        );
        let mut only_short = burning(rule);
        only_short[rule.long] = None;
        assert!(!rule.fires(&only_short), "{}: no long data", rule.name);
    }
    let names: Vec<_> = RULES
        .iter()
        .map(|r| {
            (
                r.name,
                r.long_window().name,
                r.short_window().name,
                r.factor,
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            ("page-1h", "1h", "5m", 14.4),
            ("page-6h", "6h", "30m", 6.0),
            ("ticket-1d", "1d", "2h", 3.0),
            ("ticket-3d", "3d", "6h", 1.0),
        ]
    );
}

#[test]
fn each_rule_starts_once_and_resolves_once() {
    for rule in &RULES {
        let mut stored: Vec<(String, i64)> = Vec::new();
        let mut started = 0;
        let mut resolved = 0;
        // Five evaluations burning, five quiet: one start, one end.
        for step in 0..10 {
            let burn = if step < 5 {
                burning(rule)
            } else {
                [Some(0.0); 7]
            };
            let firing: Vec<_> = RULES.iter().filter(|r| r.fires(&burn)).collect();
            let t = transitions(&stored, &firing);
            started += t.started.len();
            resolved += t.resolved.len();
            stored.retain(|(name, _)| !t.resolved.iter().any(|(r, _)| r.name == *name));
            stored.extend(t.started.iter().map(|r| (r.name.to_owned(), step)));
        }
        assert_eq!((started, resolved), (1, 1), "{}", rule.name);
    }
}

#[test]
fn a_stored_rule_that_no_longer_exists_is_forgotten_silently() {
    let stored = vec![("page-old".to_owned(), 5), ("page-1h".to_owned(), 7)];
    let t = transitions(&stored, &[]);
    assert_eq!(t.forgotten, vec!["page-old".to_owned()]);
    assert_eq!(t.resolved, vec![(&RULES[0], 7)]);
    assert!(t.started.is_empty());
}

proptest! {
    /// Spending the whole budget leaves 0 %, none of it 100 %, and the
    /// remaining share falls as bad evaluations grow.
    #[test]
    fn the_budget_left_falls_with_every_bad_evaluation(
        percent in 50.0f64..99.99,
        total in 1u64..100_000,
        bad in 0u64..1_000,
    ) {
        let bad = bad.min(total);
        let o = objective(percent);
        let left = |bad| Budget::new(o, counts(total, bad), &[counts(0, 0); 7])
            .remaining_percent
            .unwrap();
        prop_assert!((left(0) - 100.0).abs() < 1e-9);
        if bad < total {
            prop_assert!(left(bad + 1) < left(bad));
        }
        let spent = (bad as f64 / total as f64) / o.allowed_bad();
        prop_assert!((left(bad) - 100.0 * (1.0 - spent)).abs() < 1e-6);
    }
}
