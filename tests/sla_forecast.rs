//! The violation forecast on generated series (seeded noise): the sanity
//! cases of the issue, monotonicity in the horizon, and "not enough data".

use std::time::Duration;

use meteobot::sla::MetricRange;
use meteobot::sla::forecast::{ForecastError, exit_probability};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const MINUTE_MS: i64 = 60_000;
const N: i64 = 120;

/// `N` samples a minute apart ending at t = 0: `level + slope·i` plus
/// uniform noise of ±`noise`.
fn series(level: f64, slope: f64, noise: f64, seed: u64) -> Vec<(i64, f64)> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..N)
        .map(|i| {
            let t = (i - (N - 1)) * MINUTE_MS;
            let v = level + slope * i as f64 + noise * (2.0 * rng.random::<f64>() - 1.0);
            (t, v)
        })
        .collect()
}

fn minutes(m: u64) -> Duration {
    Duration::from_secs(m * 60)
}

fn p(history: &[(i64, f64)], range: MetricRange, horizon: Duration) -> f64 {
    let prevision = exit_probability(history, &range, horizon).expect("forecast");
    assert!((0.0..=1.0).contains(&prevision.probability));
    assert_eq!(prevision.samples, history.len());
    prevision.probability
}

#[test]
fn a_trend_crossing_the_max_well_inside_the_horizon_is_likely() {
    for seed in 1..=3 {
        // From 0 to 59.5 over 2 h; the max of 70 is ~21 min ahead, the horizon 60.
        let history = series(0.0, 0.5, 0.3, seed);
        let prob = p(&history, MetricRange::new(70.0, None).unwrap(), minutes(60));
        assert!(prob > 0.9, "seed {seed}: {prob}");
    }
}

#[test]
fn a_flat_series_far_inside_the_range_is_unlikely() {
    for seed in 1..=3 {
        let history = series(50.0, 0.0, 1.0, seed);
        let range = MetricRange::new(100.0, Some(0.0)).unwrap();
        let prob = p(&history, range, minutes(60));
        assert!(prob < 0.05, "seed {seed}: {prob}");
    }
}

#[test]
fn a_trend_reaching_the_max_at_the_horizon_end_is_a_toss_up() {
    for seed in 1..=3 {
        // The true mean 60 minutes after the last sample (59.5) is 89.5.
        let history = series(0.0, 0.5, 0.3, seed);
        let prob = p(&history, MetricRange::new(89.5, None).unwrap(), minutes(60));
        assert!((0.4..=0.8).contains(&prob), "seed {seed}: {prob}");
    }
}

#[test]
fn a_longer_horizon_never_gives_a_smaller_probability() {
    let cases = [
        (
            series(0.0, 0.5, 0.3, 7),
            MetricRange::new(89.5, None).unwrap(),
        ),
        (
            series(50.0, 0.0, 5.0, 8),
            MetricRange::new(60.0, Some(40.0)).unwrap(),
        ),
        (
            series(10.0, -0.05, 2.0, 9),
            MetricRange::new(20.0, Some(0.0)).unwrap(),
        ),
    ];
    for (history, range) in cases {
        let mut last = 0.0;
        for m in [1, 5, 10, 20, 30, 45, 60, 90, 120, 240] {
            let prob = p(&history, range, minutes(m));
            assert!(prob >= last, "{m} min: {prob} < {last}");
            last = prob;
        }
    }
}

#[test]
fn too_few_samples_is_an_answer_not_a_guess() {
    let history = series(1.0, 0.0, 0.1, 1);
    let range = MetricRange::new(2.0, None).unwrap();
    let err = exit_probability(&history[..9], &range, minutes(10)).unwrap_err();
    assert_eq!(err, ForecastError::NotEnoughData { have: 9, need: 10 });
    assert!(err.to_string().contains("not enough data"), "{err}");
    assert!(exit_probability(&[], &range, minutes(10)).is_err());
    // NaNs do not count as samples.
    let mut nans = history[..12].to_vec();
    for s in nans.iter_mut().take(4) {
        s.1 = f64::NAN;
    }
    assert!(matches!(
        exit_probability(&nans, &range, minutes(10)),
        Err(ForecastError::NotEnoughData { have: 8, .. })
    ));
}

#[test]
fn a_value_already_outside_is_certain_and_huge_scales_work() {
    // Bytes on disk: values around 1e10 with noise; already above the max.
    let history = series(1e10, 1e6, 1e5, 3);
    let prob = p(&history, MetricRange::new(5e9, None).unwrap(), minutes(5));
    assert!(prob > 0.99, "{prob}");
    let far = p(
        &history,
        MetricRange::new(1e12, Some(0.0)).unwrap(),
        minutes(5),
    );
    assert!(far < 0.01, "{far}");
}
