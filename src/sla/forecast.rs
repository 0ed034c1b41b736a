//! The violation forecast: P(the metric leaves its range at some point within
//! the horizon), from an exponential-smoothing model with prediction
//! intervals.
//!
//! 1. The samples are put on a regular grid (their median spacing, at least
//!    [`FIT_WINDOW`] / [`MAX_POINTS`]; gaps are bridged linearly) and
//!    standardised, so the optimiser sees the same scale for bytes and ratios.
//! 2. augurs' AutoETS picks by AICc among additive-error models without
//!    season (level only, linear trend, damped trend) and forecasts `h` steps
//!    with 95 % intervals; each step's spread is σᵢ = interval width / (2·1.96).
//! 3. The forecast error follows the ETS state-space form: every step gets
//!    a fresh error e of the one-step spread σ₁, and that same error moves
//!    the level by α·e and the trend by β·e (damped by φ), so the error of
//!    step i is eᵢ + Σⱼ<ᵢ cᵢ₋ⱼ·eⱼ with cₖ = α + β(φ + … + φᵏ). augurs does
//!    not expose α, β, φ; they are read off the spreads, since
//!    σᵢ² = σ₁²(1 + Σₖ<ᵢ cₖ²) (`passage::Shocks`).
//!    2 000 paths are drawn with a fixed seed, step by step for all paths at
//!    once, by sequential importance sampling: at each step a path survives
//!    with the normal probability that the observation stays in [min, max],
//!    and goes on with an error drawn given that it stayed; one minus the
//!    mean product of survivals is the first-passage probability. The answer
//!    is that, but never less than the largest single-step exit probability
//!    (an exact lower bound under the model). Every horizon consumes the
//!    same draws for the same steps, so a longer horizon never gives a
//!    smaller answer.
//!
//! Calibration (tests/forecast_calibration.rs, random walks with drift whose
//! true exit probability is simulated): the first version drew the level
//! walk independently of each observation's fresh noise. Right marginals,
//! wrong paths: an observation's error did not carry into the next, paths
//! zig-zagged more than the model allows, and exits were over-stated (+0.07
//! on average at 5 minutes, MAE 0.073). Drawing the paths from the state
//! space removed that bias (MAE 0.052). What remains is mostly a drift three
//! hours of data cannot reveal (its standard error is σ/√180 a minute), felt
//! at one-hour horizons.

use std::time::Duration;

use augurs::ets::AutoETS;
use augurs::{Fit, Predict};

use super::MetricRange;
use super::passage::{SHOCK_STEPS, Shocks, first_passage};

/// Fewer samples than this and any model is a guess.
pub const MIN_SAMPLES: usize = 10;
/// The history a forecast fits on.
pub const FIT_WINDOW: Duration = Duration::from_secs(6 * 3600);
/// Most grid points fitted; with the window this sets the finest step (30 s).
pub const MAX_POINTS: usize = 720;
/// Longest horizon accepted, in grid steps of the finest size (one day).
pub const MAX_STEPS: usize = 2880;
const LEVEL: f64 = 0.95;
/// Φ⁻¹(0.975): the half-width of a 95 % interval in standard deviations.
const Z95: f64 = 1.959_963_984_540_054;

/// The answer: a probability in [0, 1] and what it rests on.
#[derive(Debug, Clone, PartialEq)]
pub struct Prevision {
    pub probability: f64,
    /// Samples used for the fit.
    pub samples: usize,
    /// Forecast steps covering the horizon, and their length.
    pub steps: usize,
    pub step: Duration,
    /// The model chosen, e.g. `ETS(A,Ad,N)`, or `constant`.
    pub model: String,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ForecastError {
    #[error("not enough data to forecast (n < k: {have} samples, at least {need} needed)")]
    NotEnoughData { have: usize, need: usize },
    #[error("no forecasting model fits these samples ({0})")]
    Model(String),
}

/// P(the metric leaves `range` within `horizon`), fitted on `history`
/// (`(unix ms, value)` points, any order).
pub fn exit_probability(
    history: &[(i64, f64)],
    range: &MetricRange,
    horizon: Duration,
) -> Result<Prevision, ForecastError> {
    let fit = project(history, horizon)?;
    let probability = match fit.shocks {
        Some(shocks) => first_passage(&fit.means, &fit.sds, shocks, range),
        // A flat series has no variance to model: it stays where it is.
        None if range.violation(fit.last_value).is_some() => 1.0,
        None => 0.0,
    };
    Ok(Prevision {
        probability,
        samples: fit.samples,
        steps: fit.means.len(),
        step: fit.step,
        model: fit.model,
    })
}

/// One forecast step: the expected value and its 95 % prediction interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BandPoint {
    pub at_ms: i64,
    pub mean: f64,
    pub lower: f64,
    pub upper: f64,
}

/// The point forecast over `horizon` with its 95 % band, one point per grid
/// step after the last sample (what `exit_probability` integrates over).
#[derive(Debug, Clone, PartialEq)]
pub struct ForecastBand {
    pub points: Vec<BandPoint>,
    pub samples: usize,
    pub model: String,
}

/// The forecast `exit_probability` rests on, as a band to draw.
pub fn forecast_band(
    history: &[(i64, f64)],
    horizon: Duration,
) -> Result<ForecastBand, ForecastError> {
    let fit = project(history, horizon)?;
    let step_ms = fit.step.as_millis() as i64;
    let points = fit
        .means
        .iter()
        .zip(&fit.sds)
        .enumerate()
        .map(|(i, (&mean, &sd))| BandPoint {
            at_ms: fit.last_ms + (i as i64 + 1) * step_ms,
            mean,
            lower: mean - Z95 * sd,
            upper: mean + Z95 * sd,
        })
        .collect();
    Ok(ForecastBand {
        points,
        samples: fit.samples,
        model: fit.model,
    })
}

const CONSTANT: &str = "constant";

/// A fitted model's forecast in the metric's own units.
struct Projection {
    samples: usize,
    step: Duration,
    /// The last sample: the forecast starts one step after it.
    last_ms: i64,
    last_value: f64,
    means: Vec<f64>,
    /// Each step's standard deviation.
    sds: Vec<f64>,
    /// How each step's error moves the level and trend (not for a
    /// constant series).
    shocks: Option<Shocks>,
    model: String,
}

/// Grids and standardises `history`, fits AutoETS and forecasts the steps
/// covering `horizon`.
fn project(history: &[(i64, f64)], horizon: Duration) -> Result<Projection, ForecastError> {
    let (grid, step_ms) = regular_grid(history)?;
    let samples = history.iter().filter(|(_, v)| v.is_finite()).count();
    let last_ms = history
        .iter()
        .filter(|(_, v)| v.is_finite())
        .map(|(t, _)| *t)
        .max()
        .unwrap_or_default();
    let horizon_ms = horizon.as_millis().max(1) as f64;
    let steps = ((horizon_ms / step_ms as f64).ceil() as usize).clamp(1, MAX_STEPS);
    let step = Duration::from_millis(step_ms as u64);
    let last_value = grid[grid.len() - 1];
    let projection = |means, sds, shocks, model| Projection {
        samples,
        step,
        last_ms,
        last_value,
        means,
        sds,
        shocks,
        model,
    };

    let (mean, spread) = standardise(&grid);
    if spread == 0.0 {
        return Ok(projection(
            vec![last_value; steps],
            vec![0.0; steps],
            None,
            CONSTANT.into(),
        ));
    }
    let y: Vec<f64> = grid.iter().map(|v| (v - mean) / spread).collect();
    let search = AutoETS::new(1, "AZN").map_err(|e| ForecastError::Model(e.to_string()))?;
    let fitted = search
        .fit(&y)
        .map_err(|e| ForecastError::Model(e.to_string()))?;
    // A few steps more than a short horizon needs, to read the shock
    // weights off the spreads.
    let forecast = fitted
        .predict(steps.max(SHOCK_STEPS), LEVEL)
        .map_err(|e| ForecastError::Model(e.to_string()))?;
    let intervals = forecast
        .intervals
        .ok_or_else(|| ForecastError::Model("the model gave no prediction intervals".into()))?;
    let mut means: Vec<f64> = forecast.point.iter().map(|m| m * spread + mean).collect();
    let mut sds: Vec<f64> = intervals
        .upper
        .iter()
        .zip(&intervals.lower)
        .map(|(u, l)| (u - l) / (2.0 * Z95) * spread)
        .collect();
    if means.len() < steps || sds.len() < steps || means.iter().chain(&sds).any(|v| !v.is_finite())
    {
        return Err(ForecastError::Model("the forecast is not finite".into()));
    }
    let shocks = Shocks::from_spreads(&sds);
    means.truncate(steps);
    sds.truncate(steps);
    let model_type = fitted.model().model_type();
    let model = format!(
        "ETS({},{}{},{})",
        model_type.error,
        model_type.trend,
        if fitted.model().damped() { "d" } else { "" },
        model_type.season
    );
    Ok(projection(means, sds, Some(shocks), model))
}

/// The finite samples on a regular grid ending at the last sample, and the
/// grid step in ms.
fn regular_grid(history: &[(i64, f64)]) -> Result<(Vec<f64>, i64), ForecastError> {
    let mut points: Vec<(i64, f64)> = history
        .iter()
        .copied()
        .filter(|(_, v)| v.is_finite())
        .collect();
    points.sort_by_key(|(t, _)| *t);
    points.dedup_by_key(|(t, _)| *t);
    let not_enough = |have| ForecastError::NotEnoughData {
        have,
        need: MIN_SAMPLES,
    };
    if points.len() < MIN_SAMPLES {
        return Err(not_enough(points.len()));
    }
    let mut gaps: Vec<i64> = points.windows(2).map(|w| w[1].0 - w[0].0).collect();
    gaps.sort_unstable();
    let finest = (FIT_WINDOW.as_millis() / MAX_POINTS as u128) as i64;
    let step = gaps[gaps.len() / 2].max(finest);
    let (first, last) = (points[0].0, points[points.len() - 1].0);
    let count = usize::try_from((last - first) / step + 1)
        .unwrap_or(usize::MAX)
        .min(MAX_POINTS);
    if count < MIN_SAMPLES {
        return Err(not_enough(count));
    }
    let mut grid = Vec::with_capacity(count);
    let mut j = 0;
    for k in 0..count {
        let t = last - (count - 1 - k) as i64 * step;
        while j + 1 < points.len() && points[j + 1].0 <= t {
            j += 1;
        }
        let (t0, v0) = points[j];
        let value = match points.get(j + 1) {
            Some(&(t1, v1)) if t > t0 => v0 + (v1 - v0) * (t - t0) as f64 / (t1 - t0) as f64,
            _ => v0,
        };
        grid.push(value);
    }
    Ok((grid, step))
}

/// Mean and standard deviation; a spread of 0 means a flat series.
fn standardise(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    let sd = var.sqrt();
    // Below this the differences are float noise, not a signal.
    if sd <= 1e-12 * mean.abs().max(1.0) {
        (mean, 0.0)
    } else {
        (mean, sd)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_bridges_gaps_and_counts() {
        // 20 samples a minute apart with a 5-minute hole; values = minutes.
        let mut pts: Vec<(i64, f64)> = (0..20).map(|i| (i * 60_000, i as f64)).collect();
        pts.retain(|(t, _)| !(5 * 60_000..10 * 60_000).contains(t));
        pts.reverse();
        let (grid, step) = regular_grid(&pts).unwrap();
        assert_eq!(step, 60_000);
        assert_eq!(grid, (0..20).map(f64::from).collect::<Vec<_>>());
        assert_eq!(
            regular_grid(&pts[..5]).unwrap_err(),
            ForecastError::NotEnoughData { have: 5, need: 10 }
        );
    }

    #[test]
    fn a_flat_series_is_judged_by_its_value() {
        let pts: Vec<(i64, f64)> = (0..30).map(|i| (i * 60_000, 5.0)).collect();
        let inside = MetricRange::new(10.0, None).unwrap();
        let outside = MetricRange::new(4.0, None).unwrap();
        let hour = Duration::from_secs(3600);
        let p = exit_probability(&pts, &inside, hour).unwrap();
        assert_eq!(
            (p.probability, p.model.as_str(), p.steps),
            (0.0, "constant", 60)
        );
        assert_eq!(
            exit_probability(&pts, &outside, hour).unwrap().probability,
            1.0
        );
    }

    #[test]
    fn the_band_follows_the_last_sample_and_widens() {
        // A noisy upward trend, one sample a minute.
        let pts: Vec<(i64, f64)> = (0..120)
            .map(|i| {
                (
                    i * 60_000,
                    i as f64 * 0.5 + if i % 2 == 0 { 1.0 } else { -1.0 },
                )
            })
            .collect();
        let band = forecast_band(&pts, Duration::from_secs(3600)).unwrap();
        assert_eq!(band.points.len(), 60);
        assert_eq!(band.points[0].at_ms, 120 * 60_000);
        assert_eq!(band.points[59].at_ms, 179 * 60_000);
        for p in &band.points {
            assert!(p.lower < p.mean && p.mean < p.upper, "{p:?}");
        }
        let width = |p: &BandPoint| p.upper - p.lower;
        assert!(width(&band.points[59]) >= width(&band.points[0]));
        let flat: Vec<(i64, f64)> = (0..30).map(|i| (i * 60_000, 5.0)).collect();
        let band = forecast_band(&flat, Duration::from_secs(600)).unwrap();
        assert_eq!(band.model, "constant");
        assert!(
            band.points
                .iter()
                .all(|p| (p.lower, p.mean, p.upper) == (5.0, 5.0, 5.0))
        );
    }
}
