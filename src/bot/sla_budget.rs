//! `/sla budget <metric> <job>` and the objective part of `/sla add …
//! [objective <percent> [window <duration>]]` (issue 12).

use super::BotContext;
use super::reply::Replier;
use crate::domain::ParseError;
use crate::sla::{Objective, SlaError};
use crate::text::slo::{budget_report, percent, window};

/// What follows `/sla add <metric> <job>`: `<max> [min]`, then optionally
/// `objective <percent>` and `window <duration>` (in that order).
pub struct AddTail<'a> {
    pub max: &'a str,
    pub min: Option<&'a str>,
    pub objective: Option<Objective>,
}

pub fn parse_add_tail<'a>(words: &[&'a str]) -> Result<AddTail<'a>, SlaError> {
    let keyword =
        |w: &&str| w.eq_ignore_ascii_case("objective") || w.eq_ignore_ascii_case("window");
    let split = words.iter().position(keyword).unwrap_or(words.len());
    let (range, rest) = words.split_at(split);
    let (max, min) = match range {
        [max] => (*max, None),
        [max, min] => (*max, Some(*min)),
        _ => return Err(usage().into()),
    };
    let objective = match rest {
        [] => None,
        [o, percent] if o.eq_ignore_ascii_case("objective") => {
            Some(Objective::parse(percent, None)?)
        }
        [o, percent, w, window]
            if o.eq_ignore_ascii_case("objective") && w.eq_ignore_ascii_case("window") =>
        {
            Some(Objective::parse(percent, Some(window))?)
        }
        [w, ..] if w.eq_ignore_ascii_case("window") => {
            return Err(ParseError::new(
                "a window needs an objective first: … objective 99.5 window 30d",
            )
            .into());
        }
        _ => return Err(usage().into()),
    };
    Ok(AddTail {
        max,
        min,
        objective,
    })
}

fn usage() -> ParseError {
    ParseError::new(
        "expected: /sla add <metric> <job> <max> [min] [objective <percent> [window <duration>]], \
         e.g. /sla add outbox_depth meteobot 1000 objective 99.5 window 30d",
    )
}

/// "≤ 1000, objective 99.5 % over 30d" — the range as the add reply shows it.
pub fn described(range: &str, objective: Option<Objective>) -> String {
    match objective {
        Some(o) => format!(
            "{range}, objective {} over {}",
            percent(Some(o.percent())),
            window(o.window())
        ),
        None => range.to_owned(),
    }
}

pub async fn budget(
    r: &Replier,
    ctx: &BotContext,
    metric: &str,
    job: &str,
) -> Result<String, SlaError> {
    let key = ctx.sla.parse_key(metric, job)?;
    let (sla, budget, firing) = ctx.sla.budget(&key, ctx.clock.now()).await?;
    Ok(budget_report(&sla, &budget, &firing, r.lang))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_add_tail_takes_a_range_then_an_optional_objective() {
        let t = parse_add_tail(&["100"]).unwrap();
        assert_eq!((t.max, t.min, t.objective), ("100", None, None));
        let t = parse_add_tail(&["100", "1", "objective", "99.5"]).unwrap();
        assert_eq!((t.max, t.min), ("100", Some("1")));
        assert_eq!(t.objective.unwrap().percent(), 99.5);
        let t = parse_add_tail(&["100", "OBJECTIVE", "99", "window", "7d"]).unwrap();
        assert_eq!(t.objective.unwrap().window().as_secs(), 7 * 86_400);
        for (words, says) in [
            (&["100", "objective"][..], "expected: /sla add"),
            (
                &["100", "objective", "100"][..],
                "strictly between 0 and 100",
            ),
            (
                &["100", "objective", "99", "window", "10m"][..],
                "between 1h and 90d",
            ),
            (&["100", "window", "7d"][..], "needs an objective"),
            (&["1", "2", "3"][..], "expected: /sla add"),
            (&["objective", "99"][..], "expected: /sla add"),
        ] {
            let err = parse_add_tail(words).err().unwrap().to_string();
            assert!(err.contains(says), "{words:?}: {err}");
        }
    }
}
