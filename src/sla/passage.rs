//! First-passage probability of a forecast: P(some future observation leaves
//! [min, max]), given each step's predictive mean and standard deviation
//! (the error model is described in `forecast`).

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::MetricRange;

const PATHS: usize = 2000;
/// Same forecast, same answer.
const SEED: u64 = 0x5EED_5A1A;

/// P(exit at some step) under the error model of the module comment,
/// floored by the largest per-step exit probability.
pub(super) fn first_passage(means: &[f64], sds: &[f64], range: &MetricRange) -> f64 {
    let marginal = means
        .iter()
        .zip(sds)
        .map(|(&m, &s)| step_exit(m, s, range))
        .fold(0.0, f64::max);
    // The one-step spread is the fresh noise every observation gets; the
    // growth beyond it is uncertainty about where the level goes.
    let noise = sds.first().copied().unwrap_or(0.0);
    let mut rng = StdRng::seed_from_u64(SEED);
    let mut level = vec![0.0; PATHS];
    let mut survival = vec![1.0; PATHS];
    let mut level_variance = 0.0f64;
    for (&m, &s) in means.iter().zip(sds) {
        let target = (s * s - noise * noise).max(0.0);
        let increment = (target - level_variance).max(0.0).sqrt();
        level_variance = level_variance.max(target);
        for pair in (0..PATHS).step_by(2) {
            // Drawn even for paths already out: every horizon consumes the
            // same numbers for the same steps.
            let (z1, z2) = normal_pair(&mut rng);
            for (i, z) in [(pair, z1), (pair + 1, z2)] {
                level[i] += increment * z;
                if survival[i] > 0.0 {
                    survival[i] *= 1.0 - step_exit(m + level[i], noise, range);
                }
            }
        }
    }
    let stayed = survival.iter().sum::<f64>() / PATHS as f64;
    (1.0 - stayed).max(marginal).clamp(0.0, 1.0)
}

/// P(X > max) + P(X < min) for X ~ N(mean, sd²).
fn step_exit(mean: f64, sd: f64, range: &MetricRange) -> f64 {
    if sd <= 0.0 {
        return if range.violation(mean).is_some() {
            1.0
        } else {
            0.0
        };
    }
    let above = 1.0 - normal_cdf((range.max() - mean) / sd);
    let below = range.min().map_or(0.0, |min| normal_cdf((min - mean) / sd));
    (above + below).min(1.0)
}

/// Box–Muller: two independent standard normals.
fn normal_pair(rng: &mut StdRng) -> (f64, f64) {
    // 1 − U is in (0, 1]: the logarithm stays finite.
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random::<f64>();
    let r = (-2.0 * u1.ln()).sqrt();
    let theta = std::f64::consts::TAU * u2;
    (r * theta.cos(), r * theta.sin())
}

/// Φ(x), through erfc (Numerical Recipes' Chebyshev fit, |error| < 1.2e-7).
fn normal_cdf(x: f64) -> f64 {
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_cdf_is_accurate() {
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-7);
        assert!((normal_cdf(1.959_964) - 0.975).abs() < 1e-6);
        assert!((normal_cdf(-1.0) - 0.158_655_25).abs() < 1e-6);
        assert!(normal_cdf(-40.0) >= 0.0 && normal_cdf(40.0) <= 1.0);
    }

    #[test]
    fn step_exit_adds_both_tails() {
        let r = MetricRange::new(1.0, Some(-1.0)).unwrap();
        let p = step_exit(0.0, 1.0, &r);
        assert!((p - 2.0 * normal_cdf(-1.0)).abs() < 1e-9);
        assert_eq!(step_exit(2.0, 0.0, &r), 1.0);
    }

    #[test]
    fn a_longer_horizon_never_lowers_the_probability() {
        let r = MetricRange::new(1.0, Some(-1.0)).unwrap();
        let means: Vec<f64> = (0..50).map(|i| f64::from(i) * 0.01).collect();
        let sds: Vec<f64> = (0..50).map(|i| 0.3 + f64::from(i) * 0.02).collect();
        let mut last = 0.0;
        for h in 1..=50 {
            let p = first_passage(&means[..h], &sds[..h], &r);
            assert!((last..=1.0).contains(&p), "{h}: {p} < {last}");
            last = p;
        }
    }
}
