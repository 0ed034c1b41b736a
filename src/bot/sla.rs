//! `/sla …` for admin chats (`ADMIN_CHAT_IDS`): the same SLA service as the
//! REST routes, answers formatted for reading.

use super::args::tokens;
use super::reply::Replier;
use super::{BotContext, HandlerResult};
use crate::sla::{Bound, Horizon, MetricRange, SlaError, SlaKey, SlaState, SlaUpsert};
use crate::text::{fill, sla_texts};

/// Only admin chats get here: `schema` filters before the `/sla` branch
/// (everyone else is refused by `commands::handle`).
pub async fn handle(r: &Replier, args: &str, ctx: &BotContext) -> HandlerResult {
    let words = tokens(args);
    let t = sla_texts(r.lang);
    let answer = match words
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["list"] => list(r, ctx).await,
        ["add", metric, job, tail @ ..] if !tail.is_empty() => add(r, ctx, metric, job, tail).await,
        ["budget", metric, job] => super::sla_budget::budget(r, ctx, metric, job).await,
        ["remove", metric, job] => remove(r, ctx, metric, job).await,
        ["status", metric, job] => status(r, ctx, metric, job).await,
        ["violations", metric, job] => violations(r, ctx, metric, job).await,
        ["forecast", metric, job, minutes] => forecast(r, ctx, metric, job, minutes).await,
        ["chart", rest @ ..] => return super::sla_chart::handle(r, ctx, rest).await,
        _ => Ok(t.usage.to_owned()),
    };
    match answer {
        Ok(text) => {
            r.say(text).await?;
        }
        Err(SlaError::Internal(e)) => r.internal(e).await?,
        // Every other error is a sentence meant for the admin.
        Err(e) => {
            r.say(format!("{e}")).await?;
        }
    }
    Ok(())
}

fn key(ctx: &BotContext, metric: &str, job: &str) -> Result<SlaKey, SlaError> {
    ctx.sla.parse_key(metric, job)
}

fn state_line(
    r: &Replier,
    metric: &str,
    job: &str,
    range: &MetricRange,
    state: SlaState,
) -> String {
    let t = sla_texts(r.lang);
    match state {
        SlaState::NoData => fill(t.no_data, &[metric, job]),
        SlaState::Value { value, violation } => {
            let v = format_value(value);
            match violation {
                None => fill(t.ok, &[metric, job, &v, &range.to_string()]),
                Some(Bound::Max) => fill(t.above, &[metric, job, &v, &format_value(range.max())]),
                Some(Bound::Min) => {
                    let min = range.min().map(format_value).unwrap_or_default();
                    fill(t.below, &[metric, job, &v, &min])
                }
            }
        }
    }
}

/// Up to three decimals, trailing zeros dropped ("12.5", "80", "0.125").
fn format_value(v: f64) -> String {
    let text = format!("{v:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

async fn list(r: &Replier, ctx: &BotContext) -> Result<String, SlaError> {
    let t = sla_texts(r.lang);
    let all = ctx.sla.list().await?;
    if all.is_empty() {
        return Ok(t.none.to_owned());
    }
    let mut out = String::from(t.head);
    for o in all {
        let (metric, job) = (o.sla.metric.to_string(), o.sla.job.to_string());
        let line = match o.state {
            Ok(state) => state_line(r, &metric, &job, &o.sla.range, state),
            Err(e) => fill(t.unreadable, &[&metric, &job, &e.to_string()]),
        };
        out.push('\n');
        out.push_str(&line);
    }
    Ok(out)
}

async fn add(
    r: &Replier,
    ctx: &BotContext,
    metric: &str,
    job: &str,
    tail: &[&str],
) -> Result<String, SlaError> {
    let t = sla_texts(r.lang);
    let key = key(ctx, metric, job)?;
    let tail = super::sla_budget::parse_add_tail(tail)?;
    let range = MetricRange::parse(tail.max, tail.min)?;
    let template = match ctx.sla.define(&key, range, tail.objective).await? {
        SlaUpsert::Added => t.added,
        SlaUpsert::Updated => t.updated,
        SlaUpsert::Unchanged => t.unchanged,
    };
    Ok(fill(
        template,
        &[
            &key.metric.to_string(),
            &key.job.to_string(),
            &super::sla_budget::described(&range.to_string(), tail.objective),
        ],
    ))
}

async fn remove(
    r: &Replier,
    ctx: &BotContext,
    metric: &str,
    job: &str,
) -> Result<String, SlaError> {
    let t = sla_texts(r.lang);
    let key = key(ctx, metric, job)?;
    let template = if ctx.sla.remove(&key).await? {
        t.removed
    } else {
        t.not_found
    };
    Ok(fill(
        template,
        &[&key.metric.to_string(), &key.job.to_string()],
    ))
}

async fn status(
    r: &Replier,
    ctx: &BotContext,
    metric: &str,
    job: &str,
) -> Result<String, SlaError> {
    let key = key(ctx, metric, job)?;
    let (sla, state) = ctx.sla.current_state(&key).await?;
    Ok(state_line(
        r,
        &sla.metric.to_string(),
        &sla.job.to_string(),
        &sla.range,
        state,
    ))
}

async fn violations(
    r: &Replier,
    ctx: &BotContext,
    metric: &str,
    job: &str,
) -> Result<String, SlaError> {
    let t = sla_texts(r.lang);
    let key = key(ctx, metric, job)?;
    let (sla, c) = ctx.sla.past_violations(&key, ctx.clock.now()).await?;
    Ok(fill(
        t.violations,
        &[
            &sla.metric.to_string(),
            &sla.job.to_string(),
            &sla.range.to_string(),
            &c.last_hour.to_string(),
            &c.last_3_hours.to_string(),
            &c.last_6_hours.to_string(),
        ],
    ))
}

async fn forecast(
    r: &Replier,
    ctx: &BotContext,
    metric: &str,
    job: &str,
    minutes: &str,
) -> Result<String, SlaError> {
    let t = sla_texts(r.lang);
    let key = key(ctx, metric, job)?;
    let horizon = Horizon::parse(minutes)?;
    let (sla, range, p) = ctx
        .sla
        .forecast(&key, horizon, None, ctx.clock.now())
        .await?;
    let percent = format!("{:.0}%", p.probability * 100.0);
    Ok(fill(
        t.forecast,
        &[
            &sla.metric.to_string(),
            &sla.job.to_string(),
            &range.to_string(),
            minutes.trim(),
            &percent,
            &p.samples.to_string(),
            &p.model,
        ],
    ))
}
