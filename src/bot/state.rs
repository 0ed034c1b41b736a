//! The dialogue state of a chat. Every variant carries what was already
//! parsed, so each step only checks its own answer. Stored as JSON in SQLite.

use serde::{Deserialize, Serialize};

use crate::domain::LeadTime;
use crate::weather::{Coordinates, Place};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub enum State {
    #[default]
    Idle,
    RegisterUsername {
        suggestion: Option<String>,
    },
    RegisterPassword {
        username: String,
    },
    SubscribeCity,
    /// Several places match: the user picks one. `watch` is set when the
    /// limits came in one line with the city.
    SubscribePlace {
        query: String,
        places: Vec<PlaceChoice>,
        watch: Option<Limits>,
    },
    SubscribeMin {
        place: PlaceChoice,
    },
    SubscribeMax {
        place: PlaceChoice,
        min: Option<f64>,
    },
    SubscribeRain {
        place: PlaceChoice,
        min: Option<f64>,
        max: Option<f64>,
    },
    SubscribeSnow {
        place: PlaceChoice,
        min: Option<f64>,
        max: Option<f64>,
        rain: bool,
    },
    /// Limits are in: how long ahead to warn (off, 1 h, 3 h, …).
    SubscribeAhead {
        place: PlaceChoice,
        limits: Limits,
    },
    SubscribeConfirm {
        place: PlaceChoice,
        limits: Limits,
    },
}

/// A resolved place, as kept in a dialogue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlaceChoice {
    pub name: String,
    pub country: String,
    pub region: Option<String>,
    pub latitude: f64,
    pub longitude: f64,
    /// The place's IANA zone; absent in dialogues stored before it existed.
    #[serde(default)]
    pub timezone: Option<String>,
}

/// What to watch, as kept in a dialogue (checked again by `Watch::new`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Limits {
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub rain: bool,
    pub snow: bool,
    /// Heads-up lead time in seconds (`None`: off). Defaulted so a dialogue
    /// stored before heads-ups existed still reads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ahead_s: Option<i64>,
}

impl Limits {
    /// The lead time; a stored value that is no longer valid reads as off.
    pub fn ahead(&self) -> Option<LeadTime> {
        self.ahead_s.and_then(|s| LeadTime::from_secs(s).ok())
    }

    pub fn with_ahead(self, ahead: Option<LeadTime>) -> Self {
        Self {
            ahead_s: ahead.map(LeadTime::as_secs),
            ..self
        }
    }
}

impl From<&Place> for PlaceChoice {
    fn from(p: &Place) -> Self {
        Self {
            name: p.name.clone(),
            country: p.country.clone(),
            region: p.region.clone(),
            latitude: p.coordinates.latitude,
            longitude: p.coordinates.longitude,
            timezone: p.timezone.clone(),
        }
    }
}

impl From<&PlaceChoice> for Place {
    fn from(p: &PlaceChoice) -> Self {
        Place {
            name: p.name.clone(),
            country: p.country.clone(),
            region: p.region.clone(),
            coordinates: Coordinates {
                latitude: p.latitude,
                longitude: p.longitude,
            },
            population: None,
            timezone: p.timezone.clone(),
        }
    }
}

impl PlaceChoice {
    /// "Rome, Lazio, IT" — the region tells same-named places apart.
    pub fn label(&self) -> String {
        let mut parts = vec![self.name.as_str()];
        if let Some(r) = self
            .region
            .as_deref()
            .filter(|r| !r.is_empty() && *r != self.name)
        {
            parts.push(r);
        }
        if !self.country.is_empty() {
            parts.push(&self.country);
        }
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_stored_before_heads_ups_still_reads() {
        let old = r#"{"SubscribeConfirm":{"place":{"name":"Rome","country":"IT","region":"Lazio","latitude":41.89,"longitude":12.51},"limits":{"min":5.0,"max":30.0,"rain":true,"snow":false}}}"#;
        let State::SubscribeConfirm { limits, .. } = serde_json::from_str(old).unwrap() else {
            panic!("not a confirmation")
        };
        assert_eq!((limits.min, limits.ahead()), (Some(5.0), None));
    }

    #[test]
    fn the_lead_round_trips() {
        let lead = LeadTime::parse_optional("3h").unwrap();
        let limits = Limits {
            min: None,
            max: Some(30.0),
            rain: false,
            snow: false,
            ahead_s: None,
        }
        .with_ahead(lead);
        let place = PlaceChoice {
            name: "Rome".into(),
            country: "IT".into(),
            region: None,
            latitude: 41.89,
            longitude: 12.51,
            timezone: Some("Europe/Rome".into()),
        };
        let state = State::SubscribeAhead { place, limits };
        let json = serde_json::to_string(&state).unwrap();
        assert_eq!(serde_json::from_str::<State>(&json).unwrap(), state);
        assert_eq!(limits.ahead(), lead);
    }
}
