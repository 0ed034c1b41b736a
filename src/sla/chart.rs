//! Draws an SLA chart as a PNG: the metric's series, the SLA's range as a
//! band with dashed bounds, violations as red dots, and the forecast with its
//! 95 % band. Pure: points in, PNG bytes out (no store, no clock).
//!
//! Everything is pure Rust: plotters draws into an RGB buffer, text is
//! rasterised by ab_glyph from the DejaVu Sans font compiled into the binary
//! (assets/fonts/, Bitstream Vera licence), and `png` encodes the buffer, so
//! the host needs no font or image library.

use std::sync::OnceLock;

use chrono::DateTime;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{FontStyle, register_font};

use super::MetricRange;
use super::forecast::BandPoint;

pub const WIDTH: u32 = 800;
pub const HEIGHT: u32 = 450;

/// The colours a reader (and the tests) can rely on.
pub const BACKGROUND: RGBColor = RGBColor(255, 255, 255);
pub const RANGE_FILL: RGBColor = RGBColor(220, 241, 220);
pub const FORECAST_FILL: RGBColor = RGBColor(206, 224, 250);
pub const VIOLATION: RGBColor = RGBColor(211, 47, 47);
const SERIES: RGBColor = RGBColor(31, 87, 170);
const FORECAST_LINE: RGBColor = RGBColor(66, 120, 210);
const BOUND: RGBColor = RGBColor(46, 125, 50);
const GRID: RGBColor = RGBColor(232, 232, 232);

static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
/// The name the font is registered under in plotters' (process-wide) table.
const FAMILY: &str = "meteobot-sans";

/// The words drawn on the image, from the text module in the reader's language.
#[derive(Debug, Clone, Copy)]
pub struct ChartLabels<'a> {
    pub value: &'a str,
    pub range: &'a str,
    pub violations: &'a str,
    pub forecast: &'a str,
    /// The time axis' description (times are UTC).
    pub time: &'a str,
}

/// What to draw. Times are unix ms; `series` and `violations` oldest first.
#[derive(Debug, Clone, Copy)]
pub struct ChartInput<'a> {
    pub title: &'a str,
    /// A line under the title (e.g. why there is no forecast).
    pub note: Option<&'a str>,
    pub labels: ChartLabels<'a>,
    /// The time span asked for (`from_ms`, `to_ms`): drawn whole even where
    /// there are no samples, so a gap shows as a gap.
    pub window: (i64, i64),
    pub series: &'a [(i64, f64)],
    pub range: MetricRange,
    pub violations: &'a [(i64, f64)],
    /// Empty: no forecast band.
    pub forecast: &'a [BandPoint],
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ChartError {
    #[error("nothing to draw: the series has no finite value")]
    Empty,
    #[error("drawing the chart failed: {0}")]
    Draw(String),
}

/// The chart as a `WIDTH`×`HEIGHT` RGB PNG.
pub fn render_png(input: &ChartInput<'_>) -> Result<Vec<u8>, ChartError> {
    font_registered()?;
    let series: Vec<(i64, f64)> = finite(input.series);
    let violations = finite(input.violations);
    if series.is_empty() {
        return Err(ChartError::Empty);
    }
    let forecast: Vec<&BandPoint> = input
        .forecast
        .iter()
        .filter(|p| p.mean.is_finite() && p.lower.is_finite() && p.upper.is_finite())
        .collect();
    let (x_from, x_to) = x_bounds(input.window, &series, &violations, &forecast);
    let (y_lo, y_hi) = y_bounds(&series, &violations, &forecast, &input.range);

    let mut rgb = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
    draw(
        input,
        &series,
        &violations,
        &forecast,
        (x_from, x_to),
        (y_lo, y_hi),
        &mut rgb,
    )
    .map_err(|e| ChartError::Draw(e.to_string()))?;
    encode(&rgb)
}

type DrawResult = Result<(), Box<dyn std::error::Error>>;

fn draw(
    input: &ChartInput<'_>,
    series: &[(i64, f64)],
    violations: &[(i64, f64)],
    forecast: &[&BandPoint],
    (x_from, x_to): (i64, i64),
    (y_lo, y_hi): (f64, f64),
    rgb: &mut [u8],
) -> DrawResult {
    let root = BitMapBackend::with_buffer(rgb, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&BACKGROUND)?;
    let span_ms = x_to - x_from;
    let mut chart = ChartBuilder::on(&root)
        .caption(input.title, (FAMILY, 18).into_font())
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(x_from..x_to, y_lo..y_hi)?;

    // The range band first: the grid and the data are drawn over it.
    let range = input.range;
    let band = (range.min().unwrap_or(y_lo).max(y_lo), range.max().min(y_hi));
    if band.0 < band.1 {
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(x_from, band.0), (x_to, band.1)],
                RANGE_FILL.filled(),
            )))?
            .label(input.labels.range)
            .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 16, y + 5)], RANGE_FILL.filled()));
    }
    if !forecast.is_empty() {
        // Upper edge forwards, lower edge back: one polygon, the 95 % band.
        let outline = forecast
            .iter()
            .map(|p| (p.at_ms, p.upper))
            .chain(forecast.iter().rev().map(|p| (p.at_ms, p.lower)))
            .collect::<Vec<_>>();
        chart
            .draw_series(std::iter::once(Polygon::new(
                outline,
                FORECAST_FILL.filled(),
            )))?
            .label(input.labels.forecast)
            .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 16, y + 5)], FORECAST_FILL.filled()));
    }
    chart
        .configure_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(GRID)
        .x_labels(7)
        .y_labels(7)
        .x_label_formatter(&|ms| time_label(*ms, span_ms))
        .y_label_formatter(&|v| number_label(*v))
        .x_desc(input.labels.time)
        .label_style((FAMILY, 12).into_font())
        .axis_desc_style((FAMILY, 12).into_font())
        .draw()?;

    // Bounds as dashed lines across the whole width, visible over the forecast.
    for bound in [Some(range.max()), range.min()].into_iter().flatten() {
        if (y_lo..=y_hi).contains(&bound) {
            chart.draw_series(DashedLineSeries::new(
                [(x_from, bound), (x_to, bound)],
                6,
                4,
                BOUND.stroke_width(1),
            ))?;
        }
    }
    if !forecast.is_empty() {
        // From the last sample into the forecast, so the two lines join.
        let last = series[series.len() - 1];
        let mean = std::iter::once(last).chain(forecast.iter().map(|p| (p.at_ms, p.mean)));
        chart.draw_series(DashedLineSeries::new(
            mean,
            5,
            3,
            FORECAST_LINE.stroke_width(2),
        ))?;
    }
    chart
        .draw_series(LineSeries::new(
            series.iter().copied(),
            SERIES.stroke_width(2),
        ))?
        .label(input.labels.value)
        .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], SERIES.stroke_width(2)));
    if !violations.is_empty() {
        chart
            .draw_series(
                violations
                    .iter()
                    .map(|&p| Circle::new(p, 3, VIOLATION.filled())),
            )?
            .label(input.labels.violations)
            .legend(|(x, y)| Circle::new((x + 8, y), 3, VIOLATION.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(BACKGROUND.mix(0.85))
        .border_style(GRID)
        .label_font((FAMILY, 12).into_font())
        .draw()?;
    if let Some(note) = input.note {
        let style = (FAMILY, 12)
            .into_font()
            .color(&RGBColor(90, 90, 90))
            .pos(Pos::new(HPos::Right, VPos::Top));
        root.draw_text(note, &style, (WIDTH as i32 - 14, 34))?;
    }
    root.present()?;
    Ok(())
}

/// Registers the embedded font once per process.
fn font_registered() -> Result<(), ChartError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| register_font(FAMILY, FontStyle::Normal, FONT).is_ok());
    if ok {
        Ok(())
    } else {
        Err(ChartError::Draw("the embedded font is unreadable".into()))
    }
}

fn finite(points: &[(i64, f64)]) -> Vec<(i64, f64)> {
    points
        .iter()
        .copied()
        .filter(|(_, v)| v.is_finite())
        .collect()
}

/// The window, widened to every point drawn (forecast included); a single
/// instant is widened to a minute each side.
fn x_bounds(
    window: (i64, i64),
    series: &[(i64, f64)],
    violations: &[(i64, f64)],
    forecast: &[&BandPoint],
) -> (i64, i64) {
    let times = series
        .iter()
        .chain(violations)
        .map(|(t, _)| *t)
        .chain(forecast.iter().map(|p| p.at_ms))
        .chain([window.0, window.1]);
    let (from, to) = times.fold((i64::MAX, i64::MIN), |(lo, hi), t| (lo.min(t), hi.max(t)));
    if from >= to {
        (from - 60_000, from + 60_000)
    } else {
        (from, to)
    }
}

/// Every value, bound and band edge fits, with a margin of 8 %.
fn y_bounds(
    series: &[(i64, f64)],
    violations: &[(i64, f64)],
    forecast: &[&BandPoint],
    range: &MetricRange,
) -> (f64, f64) {
    let values = series
        .iter()
        .chain(violations)
        .map(|(_, v)| *v)
        .chain(forecast.iter().flat_map(|p| [p.lower, p.upper]))
        .chain([Some(range.max()), range.min()].into_iter().flatten());
    let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    let pad = if hi > lo {
        (hi - lo) * 0.08
    } else {
        (hi.abs() * 0.1).max(1.0)
    };
    (lo - pad, hi + pad)
}

/// `14:30` within a day, `27/11 14:30` beyond.
fn time_label(ms: i64, span_ms: i64) -> String {
    let Some(at) = DateTime::from_timestamp_millis(ms) else {
        return String::new();
    };
    if span_ms <= 24 * 3_600_000 {
        at.format("%H:%M").to_string()
    } else {
        at.format("%d/%m %H:%M").to_string()
    }
}

/// Short enough for the axis: `0.25`, `80`, `12.5k`, `3.2M`, `1.5G`.
fn number_label(v: f64) -> String {
    let trim = |s: String| {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_owned()
        } else {
            s
        }
    };
    let a = v.abs();
    // Thousands only from 10 000: "2500" reads better than "2.5k".
    for (from, scale, unit) in [
        (1e12, 1e12, "T"),
        (1e9, 1e9, "G"),
        (1e6, 1e6, "M"),
        (1e4, 1e3, "k"),
    ] {
        if a >= from {
            return format!("{}{unit}", trim(format!("{:.2}", v / scale)));
        }
    }
    let digits = if a >= 100.0 {
        0
    } else if a >= 1.0 {
        2
    } else {
        4
    };
    trim(format!("{v:.digits$}"))
}

fn encode(rgb: &[u8]) -> Result<Vec<u8>, ChartError> {
    let failed = |e: png::EncodingError| ChartError::Draw(format!("encoding the PNG: {e}"));
    let mut out = Vec::with_capacity(64 * 1024);
    let mut encoder = png::Encoder::new(&mut out, WIDTH, HEIGHT);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(failed)?;
    writer.write_image_data(rgb).map_err(failed)?;
    writer.finish().map_err(failed)?;
    Ok(out)
}

#[cfg(test)]
#[path = "chart_tests.rs"]
mod tests;
