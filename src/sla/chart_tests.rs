use super::*;

const LABELS: ChartLabels<'static> = ChartLabels {
    value: "value",
    range: "allowed range",
    violations: "violations",
    forecast: "forecast (95 %)",
    time: "time (UTC)",
};

/// Decodes `png`: its size and its RGB pixels.
fn decode(png: &[u8]) -> ((u32, u32), Vec<[u8; 3]>) {
    let decoder = png::Decoder::new(std::io::Cursor::new(png));
    let mut reader = decoder.read_info().expect("a PNG header");
    let mut buf = vec![0; reader.output_buffer_size().expect("a sane size")];
    let info = reader.next_frame(&mut buf).expect("a PNG frame");
    assert_eq!(info.color_type, png::ColorType::Rgb);
    let pixels = buf[..info.buffer_size()]
        .chunks_exact(3)
        .map(|c| [c[0], c[1], c[2]])
        .collect();
    ((info.width, info.height), pixels)
}

fn count(pixels: &[[u8; 3]], colour: RGBColor) -> usize {
    let want = [colour.0, colour.1, colour.2];
    pixels.iter().filter(|p| **p == want).count()
}

/// Two hours a minute apart around 50, crossing the maximum of 80 twice.
fn series() -> Vec<(i64, f64)> {
    let start = 1_790_000_000_000;
    (0..120)
        .map(|i| {
            let v = if i == 40 || i == 90 {
                95.0
            } else {
                50.0 + (i % 7) as f64
            };
            (start + i * 60_000, v)
        })
        .collect()
}

fn band_after(series: &[(i64, f64)]) -> Vec<BandPoint> {
    let last = series[series.len() - 1].0;
    (1..=60)
        .map(|i| BandPoint {
            at_ms: last + i * 60_000,
            mean: 55.0,
            lower: 55.0 - i as f64 * 0.3,
            upper: 55.0 + i as f64 * 0.3,
        })
        .collect()
}

#[test]
fn draws_the_range_the_forecast_band_and_the_violations() {
    let series = series();
    let violations: Vec<_> = series.iter().copied().filter(|(_, v)| *v > 80.0).collect();
    let band = band_after(&series);
    let input = ChartInput {
        title: "http_latency (api) — last 2 h",
        note: None,
        labels: LABELS,
        window: (series[0].0, series[119].0),
        series: &series,
        range: MetricRange::new(80.0, Some(20.0)).unwrap(),
        violations: &violations,
        forecast: &band,
    };
    let started = std::time::Instant::now();
    let png = render_png(&input).unwrap();
    eprintln!("rendered in {:?}, {} bytes", started.elapsed(), png.len());
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let (size, pixels) = decode(&png);
    assert_eq!(size, (WIDTH, HEIGHT));
    // The range band covers most of the plotting area.
    assert!(
        count(&pixels, RANGE_FILL) > 50_000,
        "{}",
        count(&pixels, RANGE_FILL)
    );
    assert!(count(&pixels, FORECAST_FILL) > 1_000);
    assert!(count(&pixels, VIOLATION) > 20);
    assert!(count(&pixels, BACKGROUND) > 10_000);
}

#[test]
fn without_a_forecast_there_is_no_forecast_band() {
    let series = series();
    let input = ChartInput {
        title: "up (meteobot)",
        note: Some("no forecast: fewer than 10 samples"),
        labels: LABELS,
        // Two hours asked, five minutes of samples: the rest is empty.
        window: (series[0].0, series[119].0),
        series: &series[..5],
        // No minimum: the band reaches down to the axis.
        range: MetricRange::new(80.0, None).unwrap(),
        violations: &[],
        forecast: &[],
    };
    let (size, pixels) = decode(&render_png(&input).unwrap());
    assert_eq!(size, (WIDTH, HEIGHT));
    assert!(count(&pixels, RANGE_FILL) > 50_000);
    assert_eq!(count(&pixels, FORECAST_FILL), 0);
    assert_eq!(count(&pixels, VIOLATION), 0);
}

#[test]
fn odd_inputs_still_draw_or_say_why_not() {
    let range = MetricRange::new(1.0, None).unwrap();
    let input = |series| ChartInput {
        title: "t",
        note: None,
        labels: LABELS,
        window: (0, 0),
        series,
        range,
        violations: &[],
        forecast: &[],
    };
    // One point, a flat value equal to the bound, huge values.
    for series in [
        &[(0, 1.0)][..],
        &[(0, 1.0), (60_000, 1.0)][..],
        &[(0, 3e12), (60_000, -3e12)][..],
    ] {
        let (size, _) = decode(&render_png(&input(series)).unwrap());
        assert_eq!(size, (WIDTH, HEIGHT));
    }
    assert_eq!(render_png(&input(&[])), Err(ChartError::Empty));
    assert_eq!(render_png(&input(&[(0, f64::NAN)])), Err(ChartError::Empty));
}

#[test]
fn axis_labels_are_short() {
    assert_eq!(number_label(0.25), "0.25");
    assert_eq!(number_label(80.0), "80");
    assert_eq!(number_label(12_500.0), "12.5k");
    assert_eq!(number_label(-3_200_000.0), "-3.2M");
    assert_eq!(number_label(1.5e9), "1.5G");
    assert_eq!(number_label(0.0), "0");
    let at = 1_790_000_000_000; // 2026-09-21 14:13:20 UTC
    assert_eq!(time_label(at, 3_600_000), "14:13");
    assert_eq!(time_label(at, 48 * 3_600_000), "21/09 14:13");
}
