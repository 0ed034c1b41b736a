//! `/sla chart <metric> <job> [hours]` (admin chats, routed from `sla.rs`):
//! the SLA's chart as a photo, its caption saying what the forecast rests on.

use teloxide::prelude::*;
use teloxide::types::InputFile;

use super::reply::Replier;
use super::{BotContext, HandlerResult};
use crate::sla::{ChartHours, SlaError};
use crate::text::{chart_caption, chart_no_data, chart_words, sla_texts};

/// `args`: the words after `chart`.
pub async fn handle(r: &Replier, ctx: &BotContext, args: &[&str]) -> HandlerResult {
    let (metric, job, hours) = match args {
        [metric, job] => (*metric, *job, None),
        [metric, job, hours] => (*metric, *job, Some(*hours)),
        _ => {
            r.say(sla_texts(r.lang).usage).await?;
            return Ok(());
        }
    };
    match chart(r, ctx, metric, job, hours).await {
        Ok(()) => {}
        Err(SlaError::Internal(e)) => r.internal(e).await?,
        // Every other error is a sentence meant for the admin.
        Err(e) => {
            r.say(e.to_string()).await?;
        }
    }
    Ok(())
}

async fn chart(
    r: &Replier,
    ctx: &BotContext,
    metric: &str,
    job: &str,
    hours: Option<&str>,
) -> Result<(), SlaError> {
    let key = ctx.sla.parse_key(metric, job)?;
    let hours = hours
        .map(ChartHours::parse)
        .transpose()?
        .unwrap_or(ChartHours::DEFAULT);
    let data = ctx.sla.chart_data(&key, hours, ctx.clock.now()).await?;
    if data.series.is_empty() {
        r.say(chart_no_data(r.lang, &data)).await.map_err(sent)?;
        return Ok(());
    }
    let words = chart_words(r.lang, &data);
    let png = data.render(words.title, words.note, words.labels).await?;
    let caption = chart_caption(r.lang, &data);
    r.pace
        .send(r.chat.0, || {
            r.bot
                .send_photo(
                    r.chat,
                    InputFile::memory(png.clone()).file_name("sla-chart.png"),
                )
                .caption(caption.clone())
                .into_future()
        })
        .await
        .map_err(sent)?;
    tracing::info!(
        chat_id = r.chat.0,
        sla = data.sla.id,
        bytes = png.len(),
        "SLA chart sent"
    );
    Ok(())
}

/// Telegram refused or could not be reached: logged and answered like any
/// other internal failure.
fn sent(err: teloxide::RequestError) -> SlaError {
    SlaError::Internal(anyhow::Error::new(err).context("sending an SLA chart"))
}
