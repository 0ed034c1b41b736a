//! First-passage probability of a forecast: P(some future observation leaves
//! [min, max]), given each step's predictive mean and standard deviation
//! (the error model is described in `forecast`).

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::MetricRange;

const PATHS: usize = 2000;
/// Same forecast, same answer.
const SEED: u64 = 0x5EED_5A1A;
/// Forecast steps needed to read the shock weights off the spreads.
pub(super) const SHOCK_STEPS: usize = 4;

/// How one step's error moves every later observation in an additive-error
/// ETS model: the level by α·e, the trend by β·e, the trend damped by φ. The
/// error of observation i is then eᵢ + Σⱼ<ᵢ c₍ᵢ₋ⱼ₎·eⱼ with
/// cₖ = α + β·(φ + … + φᵏ).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Shocks {
    alpha: f64,
    beta: f64,
    phi: f64,
}

impl Shocks {
    /// Read off the forecast's spreads, which are σᵢ² = σ₁²·(1 + Σₖ<ᵢ cₖ²):
    /// c₁…c₃ give α, β and φ (augurs does not expose its parameters). Fewer
    /// than [`SHOCK_STEPS`] spreads: a level-only walk (α = c₁ when known).
    pub(super) fn from_spreads(sds: &[f64]) -> Self {
        let noise = sds.first().copied().unwrap_or(0.0);
        let c: Vec<f64> = sds
            .windows(2)
            .map(|w| {
                if noise > 0.0 {
                    (w[1] * w[1] - w[0] * w[0]).max(0.0).sqrt() / noise
                } else {
                    0.0
                }
            })
            .collect();
        let alpha = c.first().copied().unwrap_or(1.0);
        if c.len() < 3 {
            return Self {
                alpha,
                beta: 0.0,
                phi: 1.0,
            };
        }
        // c₂ − c₁ = β·φ², c₃ − c₂ = β·φ³. Below 1e-9 the trend moves nothing
        // the float noise of the intervals would not.
        let (d2, d3) = (c[1] - c[0], c[2] - c[1]);
        if d2 <= 1e-9 {
            return Self {
                alpha,
                beta: 0.0,
                phi: 1.0,
            };
        }
        let phi = (d3 / d2).clamp(0.0, 1.0);
        if phi == 0.0 {
            return Self {
                alpha,
                beta: 0.0,
                phi: 1.0,
            };
        }
        let beta = d2 / (phi * phi);
        Self {
            alpha: c[0] - beta * phi,
            beta,
            phi,
        }
    }
}

/// P(exit at some step) under the error model of the module comment,
/// floored by the largest per-step exit probability. `sds[0]` is the
/// one-step spread σ₁, the size of every step's fresh error.
pub(super) fn first_passage(
    means: &[f64],
    sds: &[f64],
    shocks: Shocks,
    range: &MetricRange,
) -> f64 {
    let marginal = means
        .iter()
        .zip(sds)
        .map(|(&m, &s)| step_exit(m, s, range))
        .fold(0.0, f64::max);
    let noise = sds.first().copied().unwrap_or(0.0);
    if noise <= 0.0 {
        return marginal;
    }
    let Shocks { alpha, beta, phi } = shocks;
    let mut rng = StdRng::seed_from_u64(SEED);
    // Per path: the sum of past errors (what the level absorbed, over α) and
    // their damped cumulative sum (what the trend absorbed, over β).
    let mut level = vec![0.0; PATHS];
    let mut trend = vec![0.0; PATHS];
    let mut survival = vec![1.0; PATHS];
    for &m in means {
        for i in 0..PATHS {
            // Drawn even for paths already out: every horizon consumes the
            // same numbers for the same steps.
            let u: f64 = rng.random();
            if survival[i] == 0.0 {
                continue;
            }
            let centre = m + alpha * level[i] + beta * trend[i];
            let hi = (range.max() - centre) / noise;
            let lo = range
                .min()
                .map_or(f64::NEG_INFINITY, |min| (min - centre) / noise);
            let (inside, z) = truncated_normal(lo, hi, u);
            // Sequential importance sampling: the path survives this step
            // with probability `inside`, and goes on with an error drawn
            // given that it stayed, so the mean of the products is exactly
            // P(no exit) (the chain rule), without the 0/1 noise of counting.
            survival[i] *= inside;
            if survival[i] < 1e-300 {
                survival[i] = 0.0;
                continue;
            }
            level[i] += noise * z;
            trend[i] = phi * (trend[i] + level[i]);
        }
    }
    let stayed = survival.iter().sum::<f64>() / PATHS as f64;
    (1.0 - stayed).max(marginal).clamp(0.0, 1.0)
}

/// For Z ~ N(0, 1) and lo < hi: P(lo ≤ Z ≤ hi), and the draw of Z given
/// that, by inverting the CDF at `u` ∈ [0, 1). Worked on the side of 0 where
/// the tail probabilities keep their precision.
fn truncated_normal(lo: f64, hi: f64, u: f64) -> (f64, f64) {
    if lo > 0.0 {
        let (p, z) = truncated_normal(-hi, -lo, u);
        return (p, -z);
    }
    let (below_lo, below_hi) = (normal_cdf(lo), normal_cdf(hi));
    let inside = (below_hi - below_lo).max(0.0);
    if inside <= 0.0 {
        return (0.0, lo.max(hi.min(0.0)));
    }
    let z = normal_quantile(below_lo + u * inside).clamp(lo, hi);
    (inside, z)
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

/// Φ⁻¹(p) for p in (0, 1) (Acklam's rational fit, relative error
/// < 1.2e-9, ample for drawing); ±∞ at 0 and 1.
fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    const TAIL: f64 = 0.024_25;
    let poly = |coefs: &[f64], x: f64| coefs.iter().fold(0.0, |acc, c| acc * x + c);
    if p <= 0.0 {
        f64::NEG_INFINITY
    } else if p >= 1.0 {
        f64::INFINITY
    } else if p < TAIL {
        let q = (-2.0 * p.ln()).sqrt();
        poly(&C, q) / (poly(&D, q) * q + 1.0)
    } else if p <= 1.0 - TAIL {
        let q = p - 0.5;
        let r = q * q;
        poly(&A, r) * q / (poly(&B, r) * r + 1.0)
    } else {
        -normal_quantile(1.0 - p)
    }
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
    fn normal_quantile_inverts_the_cdf() {
        for p in [
            1e-9,
            1e-4,
            0.01,
            0.024,
            0.1,
            0.3,
            0.5,
            0.8,
            0.976,
            0.999,
            1.0 - 1e-7,
        ] {
            let x = normal_quantile(p);
            let back = normal_cdf(x);
            assert!(
                (back - p).abs() <= 1e-6 * p.min(1.0 - p),
                "{p}: {x} → {back}"
            );
        }
        assert!((normal_quantile(0.975) - 1.959_964).abs() < 1e-6);
    }

    #[test]
    fn truncated_draws_stay_inside_and_follow_the_normal() {
        let (p, _) = truncated_normal(-1.0, 1.0, 0.5);
        assert!((p - (1.0 - 2.0 * normal_cdf(-1.0))).abs() < 1e-6);
        // The draw at u is the u-quantile of the truncated law.
        let (p, z) = truncated_normal(f64::NEG_INFINITY, 0.0, 0.5);
        assert!((p - 0.5).abs() < 1e-6 && (normal_cdf(z) - 0.25).abs() < 1e-6);
        // Far in the upper tail, where 1 − Φ would have lost every digit.
        let (p, z) = truncated_normal(8.0, 9.0, 0.0);
        assert!(p > 0.0 && p < 1e-14 && (8.0..=9.0).contains(&z), "{p} {z}");
        assert!(truncated_normal(f64::NEG_INFINITY, 0.0, 0.999_999).1 <= 0.0);
    }

    /// Spreads of an additive ETS model: σᵢ² = σ₁²·(1 + Σₖ<ᵢ cₖ²).
    fn spreads(alpha: f64, beta: f64, phi: f64, steps: usize) -> Vec<f64> {
        let mut var = 1.0;
        let mut sum_phi = 0.0;
        let mut out = vec![2.0];
        for k in 1..steps {
            sum_phi += phi.powi(k as i32);
            var += (alpha + beta * sum_phi).powi(2);
            out.push(2.0 * f64::sqrt(var));
        }
        out
    }

    #[test]
    fn the_shock_weights_are_read_back_from_the_spreads() {
        for (a, b, f) in [
            (0.9, 0.0, 1.0),
            (0.5, 0.1, 1.0),
            (0.8, 0.05, 0.9),
            (0.3, 0.2, 0.85),
        ] {
            let s = Shocks::from_spreads(&spreads(a, b, f, 10));
            let close = |x: f64, y: f64| (x - y).abs() < 1e-9;
            assert!(close(s.alpha, a) && close(s.beta, b), "{a} {b} {f}: {s:?}");
            assert!(b == 0.0 || close(s.phi, f), "{a} {b} {f}: {s:?}");
        }
        let short = Shocks::from_spreads(&[1.0, 2.0_f64.sqrt()]);
        assert!((short.alpha - 1.0).abs() < 1e-12 && short.beta == 0.0);
    }

    #[test]
    fn a_random_walk_exits_as_often_as_simulated() {
        // α = 1, no trend: the observations are a Gaussian random walk of
        // unit steps. P(max of 10 steps > 2), counted over 200 000 walks,
        // is 0.4205 ± 0.0022 (2σ); the old error model (fresh noise around
        // an independent level walk) said 0.53.
        let r = MetricRange::new(2.0, None).unwrap();
        let sds: Vec<f64> = (1..=10).map(|i| f64::from(i).sqrt()).collect();
        let shocks = Shocks::from_spreads(&sds);
        let p = first_passage(&[0.0; 10], &sds, shocks, &r);
        assert!((p - 0.4205).abs() < 0.02, "{p}");
    }

    #[test]
    fn a_longer_horizon_never_lowers_the_probability() {
        let r = MetricRange::new(1.0, Some(-1.0)).unwrap();
        let means: Vec<f64> = (0..50).map(|i| f64::from(i) * 0.01).collect();
        let sds = spreads(0.6, 0.02, 0.95, 50);
        let shocks = Shocks::from_spreads(&sds);
        let mut last = 0.0;
        for h in 1..=50 {
            let p = first_passage(&means[..h], &sds[..h], shocks, &r);
            assert!((last..=1.0).contains(&p), "{h}: {p} < {last}");
            last = p;
        }
    }
}
