//! Quiet hours (issue 10). In `silent` mode a message decided inside the
//! chat's quiet hours is sent without sound; in `hold` mode its happenings
//! are kept as held events instead, and when the quiet hours end the chat
//! gets ONE summary of what happened per place — an episode that started
//! and ended inside the window appears there, never as an alert followed by
//! an all-clear. Pure functions; the poller stores and releases.

use chrono::{DateTime, Utc};

use super::rules::{Condition, Rule};
use super::state::Happening;
use crate::domain::{ChatZone, Language, Units};
use crate::text::{self, Away};

/// What a held event records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeldKind {
    Start,
    End,
    HeadsUp,
    HeadsUpCancelled,
}

impl HeldKind {
    pub fn code(self) -> &'static str {
        match self {
            HeldKind::Start => "start",
            HeldKind::End => "end",
            HeldKind::HeadsUp => "heads_up",
            HeldKind::HeadsUpCancelled => "heads_up_cancelled",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        [
            Self::Start,
            Self::End,
            Self::HeadsUp,
            Self::HeadsUpCancelled,
        ]
        .into_iter()
        .find(|k| k.code() == code)
    }
}

/// One happening kept for the summary.
#[derive(Debug, Clone, PartialEq)]
pub struct Held {
    pub condition: Condition,
    pub kind: HeldKind,
    /// When it happened; for a heads-up, when it is forecast.
    pub at: DateTime<Utc>,
    /// The crossed limit as the chat reads it ("30 °C"); empty otherwise.
    pub limit: String,
}

/// The happenings of one poll as held events (reminders are not kept: the
/// summary says what is still going on).
pub fn hold(
    rule: &Rule,
    happenings: &[(Condition, Happening)],
    now: DateTime<Utc>,
    lang: Language,
    units: Units,
) -> Vec<Held> {
    let limit = |c: Condition| {
        let value = match c {
            Condition::Hot => rule.t_max,
            Condition::Cold => rule.t_min,
            Condition::Rain | Condition::Snow => None,
        };
        value.map_or_else(String::new, |v| text::temperature(v, lang, units))
    };
    happenings
        .iter()
        .filter_map(|(c, h)| {
            let (kind, at) = match h {
                Happening::Started(_) => (HeldKind::Start, now),
                Happening::Reminder(_) => return None,
                Happening::Ended => (HeldKind::End, now),
                Happening::HeadsUp(hit) => {
                    let at = match c {
                        Condition::Rain | Condition::Snow => hit.start,
                        Condition::Hot | Condition::Cold => hit.peak_at,
                    };
                    (HeldKind::HeadsUp, at)
                }
                Happening::HeadsUpCancelled { start } => (HeldKind::HeadsUpCancelled, *start),
            };
            Some(Held {
                condition: *c,
                kind,
                at,
                limit: limit(*c),
            })
        })
        .collect()
}

/// A held event of one subscription, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct HeldOf {
    pub subscription_id: Option<i64>,
    /// "Rome, IT".
    pub place: String,
    pub held: Held,
}

/// The one message summing up a chat's held events (in the order they
/// happened); `None` when nothing is left worth saying (a heads-up that
/// came and went inside the window).
pub fn summary(events: &[HeldOf], zone: ChatZone, lang: Language) -> Option<String> {
    let mut lines = Vec::new();
    // Group by subscription and condition, keeping first-seen order.
    let mut keys: Vec<(Option<i64>, Condition)> = Vec::new();
    for e in events {
        let key = (e.subscription_id, e.held.condition);
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    for key in keys {
        let of: Vec<&HeldOf> = events
            .iter()
            .filter(|e| (e.subscription_id, e.held.condition) == key)
            .collect();
        let place = &of[0].place;
        for item in condition_story(&of, zone) {
            lines.push(text::away_line(place, &item.as_away(), lang));
        }
    }
    if lines.is_empty() {
        return None;
    }
    let head = text::quiet_texts(lang).away_head;
    Some(format!("{head}\n{}", lines.join("\n")))
}

/// What the summary says about one condition of one subscription.
struct Item {
    condition: Condition,
    limit: String,
    what: ItemKind,
}

enum ItemKind {
    Episode {
        from: Option<String>,
        until: Option<String>,
    },
    Expected(String),
    NoLonger(String),
}

impl Item {
    fn as_away(&self) -> Away<'_> {
        match &self.what {
            ItemKind::Episode { from, until } => Away::Episode {
                condition: self.condition,
                limit: &self.limit,
                from: from.as_deref(),
                until: until.as_deref(),
            },
            ItemKind::Expected(at) => Away::Expected {
                condition: self.condition,
                limit: &self.limit,
                at,
            },
            ItemKind::NoLonger(at) => Away::NoLongerExpected {
                condition: self.condition,
                at,
            },
        }
    }
}

/// Episodes pair a start with the end that follows it; a heads-up is told
/// only if nothing later (a start, a cancellation) overtook it, and a
/// cancellation only of a heads-up told before the window.
fn condition_story(events: &[&HeldOf], zone: ChatZone) -> Vec<Item> {
    let mut items = Vec::new();
    let mut open: Option<String> = None;
    let mut pending_heads_up: Option<(String, String)> = None;
    let item = |e: &HeldOf, what| Item {
        condition: e.held.condition,
        limit: e.held.limit.clone(),
        what,
    };
    for e in events {
        let at = zone.hhmm(e.held.at);
        match e.held.kind {
            HeldKind::Start => {
                pending_heads_up = None;
                if let Some(from) = open.take() {
                    items.push(item(
                        e,
                        ItemKind::Episode {
                            from: Some(from),
                            until: None,
                        },
                    ));
                }
                open = Some(at);
            }
            HeldKind::End => {
                let from = open.take();
                items.push(item(
                    e,
                    ItemKind::Episode {
                        from,
                        until: Some(at),
                    },
                ));
            }
            HeldKind::HeadsUp => pending_heads_up = Some((at, e.held.limit.clone())),
            HeldKind::HeadsUpCancelled => {
                if pending_heads_up.take().is_none() {
                    items.push(item(e, ItemKind::NoLonger(at)));
                }
            }
        }
    }
    let last = events.last().expect("a story has events");
    if let Some(from) = open {
        items.push(item(
            last,
            ItemKind::Episode {
                from: Some(from),
                until: None,
            },
        ));
    }
    if let Some((at, limit)) = pending_heads_up {
        items.push(Item {
            condition: last.held.condition,
            limit,
            what: ItemKind::Expected(at),
        });
    }
    items
}

#[cfg(test)]
#[path = "quiet_tests.rs"]
mod tests;
