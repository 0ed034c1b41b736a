//! /forecast <city>: the next 24 hours at a place, one line per 3-hour block
//! in the place's local time — the temperature at the block's start, and
//! rain or snow expected in it with the highest probability given — read
//! from the stored series (fetched once under the budget when it is not
//! fresh).

use chrono::{DateTime, TimeDelta, Timelike, Utc};

use super::reply::Replier;
use super::weather_now::{age_line, lookup, series_for};
use super::{BotContext, HandlerResult};
use crate::text::{self, Language, Units, fill, forecast_texts};
use crate::weather::series::{MIN_AMOUNT, MIN_SNOW_CM};
use crate::weather::{Series, Step};

const BLOCKS: i64 = 8;
const BLOCK_HOURS: i64 = 3;

pub async fn show(r: &Replier, city: &str, ctx: &BotContext) -> HandlerResult {
    let t = forecast_texts(r.lang);
    let Some(place) = lookup(r, city, t.usage, ctx).await? else {
        return Ok(());
    };
    let now = ctx.clock.now();
    let Some(fresh) = series_for(r, &place, now, ctx).await? else {
        return Ok(());
    };
    let label = text::place(&place.name, &place.country);
    let rows = table(&fresh.series, now, r.lang, r.units);
    if rows.is_empty() {
        r.say(fill(t.no_data, &[&label])).await?;
        return Ok(());
    }
    let answer = format!(
        "{}\n{}\n{}",
        fill(t.head, &[&label]),
        rows.join("\n"),
        age_line(r, &fresh, now, ctx)
    );
    r.say(answer).await?;
    Ok(())
}

/// The rows from the current local hour on; a block the series does not
/// cover is left out, and a line marks where tomorrow begins.
fn table(series: &Series, now: DateTime<Utc>, lang: Language, units: Units) -> Vec<String> {
    let offset = series.local_offset();
    let local_now = now.with_timezone(&offset);
    // Whole local hours, so rows read 15:00, 18:00… (offsets like +05:30
    // included: the floor is taken in local time).
    let floor = TimeDelta::minutes(i64::from(local_now.minute()))
        + TimeDelta::seconds(i64::from(local_now.second()));
    let start = now - floor;
    let block = TimeDelta::hours(BLOCK_HOURS);
    let steps = series.timeline(start, start + block * BLOCKS as i32);
    let today = local_now.date_naive();
    let mut rows = Vec::new();
    let mut marked_tomorrow = false;
    for i in 0..BLOCKS {
        let from = start + block * i as i32;
        let to = from + block;
        // Amounts belong to the interval ending at their step: the block
        // holds the steps after its start up to its end.
        let inside: Vec<&Step> = steps
            .iter()
            .filter(|s| s.at > from.timestamp() && s.at <= to.timestamp())
            .collect();
        let Some(celsius) = series
            .sample(from)
            .or_else(|| series.sample(from.max(now)))
            .map(|s| s.temperature_c)
            .or_else(|| inside.first().map(|s| f64::from(s.temperature_c)))
        else {
            continue;
        };
        let local = from.with_timezone(&offset);
        if local.date_naive() != today && !marked_tomorrow {
            rows.push(forecast_texts(lang).tomorrow.to_owned());
            marked_tomorrow = true;
        }
        let rain = expected(&inside, |s| s.rain_mm >= MIN_AMOUNT);
        let snow = expected(&inside, |s| s.snow_cm >= MIN_SNOW_CM);
        rows.push(text::block_line(
            &local.format("%H:%M").to_string(),
            celsius,
            rain,
            snow,
            units,
        ));
    }
    // Only the marker left means nothing to show.
    if rows.iter().all(|r| r == forecast_texts(lang).tomorrow) {
        rows.clear();
    }
    rows
}

/// `Some(highest probability, if any is given)` when a step matches.
fn expected(steps: &[&Step], wet: impl Fn(&Step) -> bool) -> Option<Option<u8>> {
    let wet: Vec<&&Step> = steps.iter().filter(|s| wet(s)).collect();
    if wet.is_empty() {
        return None;
    }
    Some(wet.iter().filter_map(|s| s.probability).max())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-06-01T12:40Z; in Rome (UTC+2) 14:40.
    const NOW: i64 = 1_780_315_200 + 40 * 60;

    fn step(at: i64, t: f32, rain: f32, snow: f32, p: Option<u8>) -> Step {
        Step {
            at,
            temperature_c: t,
            rain_mm: rain,
            snow_cm: snow,
            probability: p,
            code: None,
        }
    }

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(s, 0).unwrap()
    }

    /// Hourly from 12:00Z for 30 h: 20 °C + 1 per hour; rain at 16:00Z
    /// (70 %) and 17:00Z (40 %); snow (no probability) at 07:00Z tomorrow.
    fn rome() -> Series {
        let hour0 = NOW - 40 * 60;
        let coarse = (0..30)
            .map(|h| {
                let at = hour0 + h * 3600;
                match h {
                    4 => step(at, 20.0 + h as f32, 1.2, 0.0, Some(70)),
                    5 => step(at, 20.0 + h as f32, 0.3, 0.0, Some(40)),
                    19 => step(at, 1.0, 0.0, 0.5, None),
                    _ => step(at, 20.0 + h as f32, 0.0, 0.0, Some(10)),
                }
            })
            .collect();
        Series {
            fetched_at: at(NOW - 25 * 60),
            utc_offset_seconds: 7200,
            timezone: Some("Europe/Rome".into()),
            fine: vec![],
            coarse,
        }
    }

    #[test]
    fn three_hourly_rows_in_local_time() {
        let rows = table(&rome(), at(NOW), Language::En, Units::Celsius);
        assert_eq!(
            rows,
            vec![
                "14:00  20 °C",
                "17:00  23 °C  🌧 70 %",
                "20:00  26 °C",
                "23:00  29 °C",
                "— tomorrow —",
                "02:00  32 °C",
                "05:00  35 °C",
                "08:00  38 °C  ❄️",
                "11:00  41 °C",
            ]
        );
    }

    #[test]
    fn italian_and_fahrenheit() {
        let rows = table(&rome(), at(NOW), Language::It, Units::Fahrenheit);
        assert_eq!(rows[0], "14:00  68 °F");
        assert_eq!(rows[4], "— domani —");
    }

    #[test]
    fn an_uncovered_window_has_no_rows() {
        let mut old = rome();
        old.coarse.truncate(1);
        old.coarse[0].at = NOW - 5 * 86_400;
        assert!(table(&old, at(NOW), Language::En, Units::Celsius).is_empty());
    }
}
