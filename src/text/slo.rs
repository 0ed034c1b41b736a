//! Objectives in words: the burn-rate alerts pushed to admin chats (in
//! English, like the other operator notices) and the `/sla budget` answer.

use std::time::Duration;

use super::Language;
use crate::sla::Sla;
use crate::sla::slo::{BURN_WINDOWS, Budget, Rule, Severity};

/// "2.5×", "0×", "—" (no evaluations in the window).
pub fn rate(rate: Option<f64>) -> String {
    match rate {
        Some(r) if r >= 10.0 => format!("{r:.0}×"),
        Some(r) => format!("{:}×", trim(format!("{r:.1}"))),
        None => "—".to_owned(),
    }
}

/// A percentage with two decimals, trailing zeros dropped ("99.5 %").
pub fn percent(p: Option<f64>) -> String {
    p.map_or_else(
        || "—".to_owned(),
        |p| format!("{} %", trim(format!("{p:.2}"))),
    )
}

fn trim(text: String) -> String {
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

/// "30d", "12h" (humantime's words for whole days and hours).
pub fn window(d: Duration) -> String {
    let secs = d.as_secs();
    if secs.is_multiple_of(86_400) {
        format!("{}d", secs / 86_400)
    } else if secs.is_multiple_of(3_600) {
        format!("{}h", secs / 3_600)
    } else {
        humantime::format_duration(d).to_string()
    }
}

fn name(sla: &Sla) -> String {
    format!("{} ({})", sla.metric, sla.job)
}

fn objective_line(budget: &Budget) -> String {
    format!(
        "objective {} over {}; budget left {}",
        percent(Some(budget.objective.percent())),
        window(budget.objective.window()),
        percent(budget.remaining_percent),
    )
}

pub fn burn_started(sla: &Sla, rule: &Rule, budget: &Budget) -> String {
    let icon = match rule.severity {
        Severity::Page => "🚨",
        Severity::Ticket => "⚠️",
    };
    format!(
        "{icon} SLO burn ({}, {}): {} is spending its error budget {} as fast as allowed \
         over {} and {} over {} (alert at {}×). {}.",
        rule.severity.as_str(),
        rule.name,
        name(sla),
        rate(budget.burn[rule.long]),
        rule.long_window().name,
        rate(budget.burn[rule.short]),
        rule.short_window().name,
        rule.factor,
        objective_line(budget),
    )
}

pub fn burn_resolved(sla: &Sla, rule: &Rule, budget: &Budget, since_ms: i64, at_ms: i64) -> String {
    let lasted = Duration::from_secs(u64::try_from((at_ms - since_ms) / 1000).unwrap_or(0));
    format!(
        "✅ SLO burn resolved ({}, {}): {} after {}; now {} over {}, {} over {}. {}.",
        rule.severity.as_str(),
        rule.name,
        name(sla),
        humantime::format_duration(lasted),
        rate(budget.burn[rule.long]),
        rule.long_window().name,
        rate(budget.burn[rule.short]),
        rule.short_window().name,
        objective_line(budget),
    )
}

/// The `/sla budget` answer.
pub fn budget_report(
    sla: &Sla,
    budget: &Budget,
    firing: &[(String, i64)],
    lang: Language,
) -> String {
    let t = match lang {
        Language::En => &EN,
        Language::It => &IT,
    };
    let burn: Vec<String> = BURN_WINDOWS
        .iter()
        .zip(budget.burn)
        .map(|(w, r)| format!("{} {}", w.name, rate(r)))
        .collect();
    let firing = if firing.is_empty() {
        t.none.to_owned()
    } else {
        firing
            .iter()
            .map(|(rule, _)| rule.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let sli = if budget.counts.total == 0 {
        t.no_evaluations.to_owned()
    } else {
        super::fill(
            t.sli,
            &[
                &percent(budget.sli_percent),
                &budget.counts.bad.to_string(),
                &budget.counts.total.to_string(),
                &percent(budget.remaining_percent),
            ],
        )
    };
    super::fill(
        t.report,
        &[
            &name(sla),
            &percent(Some(budget.objective.percent())),
            &window(budget.objective.window()),
            &sli,
            &burn.join(" · "),
            &firing,
        ],
    )
}

struct Texts {
    report: &'static str,
    sli: &'static str,
    no_evaluations: &'static str,
    none: &'static str,
}

static EN: Texts = Texts {
    report: "📊 {}: objective {} over {}\n{}\nBurn rate: {}\nFiring: {}",
    sli: "SLI {} ({} bad of {} evaluations) · budget left {}",
    no_evaluations: "No evaluations in the window yet.",
    none: "none",
};

static IT: Texts = Texts {
    report: "📊 {}: obiettivo {} su {}\n{}\nVelocità di consumo: {}\nAllarmi attivi: {}",
    sli: "SLI {} ({} fuori su {} valutazioni) · budget rimasto {}",
    no_evaluations: "Ancora nessuna valutazione nella finestra.",
    none: "nessuno",
};
