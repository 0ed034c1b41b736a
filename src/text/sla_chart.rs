//! The words of `/sla chart` and of the chart image, one block per language.
//! The REST route draws its image in English.

use super::{Language, fill};
use crate::sla::chart::ChartLabels;
use crate::sla::{ChartData, ForecastError};

pub struct SlaChartTexts {
    pub title: &'static str,
    pub caption: &'static str,
    pub caption_no_forecast: &'static str,
    /// Drawn under the title when there is no forecast band.
    pub note: &'static str,
    pub too_few: &'static str,
    pub no_model: &'static str,
    pub no_data: &'static str,
    pub labels: ChartLabels<'static>,
}

pub static EN: SlaChartTexts = SlaChartTexts {
    title: "{} ({}), last {} h",
    caption: "📈 {} ({}), range {}, last {} h. Dashed: the forecast for the next hour with its 95 % band (model {}, {} samples).",
    caption_no_forecast: "📈 {} ({}), range {}, last {} h. No forecast: {}.",
    note: "no forecast: {}",
    too_few: "{} samples in the last 6 hours, at least {} needed",
    no_model: "no forecasting model fits these samples",
    no_data: "No samples of {} ({}) in the last {} h: nothing to draw yet.",
    labels: ChartLabels {
        value: "value",
        range: "allowed range",
        violations: "violations",
        forecast: "forecast, 95 %",
        time: "time (UTC)",
    },
};

pub static IT: SlaChartTexts = SlaChartTexts {
    title: "{} ({}), ultime {} h",
    caption: "📈 {} ({}), intervallo {}, ultime {} h. Tratteggio: la previsione per la prossima ora con la sua banda al 95 % (modello {}, {} campioni).",
    caption_no_forecast: "📈 {} ({}), intervallo {}, ultime {} h. Nessuna previsione: {}.",
    note: "nessuna previsione: {}",
    too_few: "{} campioni nelle ultime 6 ore, ne servono almeno {}",
    no_model: "nessun modello di previsione si adatta a questi campioni",
    no_data: "Nessun campione di {} ({}) nelle ultime {} h: ancora niente da disegnare.",
    labels: ChartLabels {
        value: "valore",
        range: "intervallo ammesso",
        violations: "violazioni",
        forecast: "previsione, 95 %",
        time: "ora (UTC)",
    },
};

pub fn sla_chart_texts(lang: Language) -> &'static SlaChartTexts {
    match lang {
        Language::En => &EN,
        Language::It => &IT,
    }
}

/// What is written on the image: its title, a note when there is no
/// forecast, and the legend's words.
pub struct ChartWords {
    pub title: String,
    pub note: Option<String>,
    pub labels: ChartLabels<'static>,
}

pub fn chart_words(lang: Language, data: &ChartData) -> ChartWords {
    let t = sla_chart_texts(lang);
    let (metric, job) = names(data);
    ChartWords {
        title: fill(t.title, &[&metric, &job, &data.hours.get().to_string()]),
        note: data
            .forecast
            .as_ref()
            .err()
            .map(|e| fill(t.note, &[&why_not(t, e)])),
        labels: t.labels,
    }
}

/// The photo's caption: what is shown and what the forecast rests on.
pub fn chart_caption(lang: Language, data: &ChartData) -> String {
    let t = sla_chart_texts(lang);
    let (metric, job) = names(data);
    let (range, hours) = (data.sla.range.to_string(), data.hours.get().to_string());
    match &data.forecast {
        Ok(band) => fill(
            t.caption,
            &[
                &metric,
                &job,
                &range,
                &hours,
                &band.model,
                &band.samples.to_string(),
            ],
        ),
        Err(e) => fill(
            t.caption_no_forecast,
            &[&metric, &job, &range, &hours, &why_not(t, e)],
        ),
    }
}

/// Said instead of a chart when the window holds no sample.
pub fn chart_no_data(lang: Language, data: &ChartData) -> String {
    let (metric, job) = names(data);
    fill(
        sla_chart_texts(lang).no_data,
        &[&metric, &job, &data.hours.get().to_string()],
    )
}

fn names(data: &ChartData) -> (String, String) {
    (data.sla.metric.to_string(), data.sla.job.to_string())
}

fn why_not(t: &SlaChartTexts, err: &ForecastError) -> String {
    match err {
        ForecastError::NotEnoughData { have, need } => {
            fill(t.too_few, &[&have.to_string(), &need.to_string()])
        }
        ForecastError::Model(_) => t.no_model.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_languages_fill_the_same_blanks() {
        let pairs = |t: &SlaChartTexts| {
            [
                t.title,
                t.caption,
                t.caption_no_forecast,
                t.note,
                t.too_few,
                t.no_model,
                t.no_data,
            ]
        };
        for (en, it) in pairs(&EN).into_iter().zip(pairs(&IT)) {
            assert_eq!(en.matches("{}").count(), it.matches("{}").count(), "{en}");
        }
    }
}
