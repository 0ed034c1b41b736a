//! The dialogue state of a chat. Every variant carries what was already
//! parsed, so each step only checks its own answer. Stored as JSON in SQLite.

use serde::{Deserialize, Serialize};

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
}

/// What to watch, as kept in a dialogue (checked again by `Watch::new`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Limits {
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub rain: bool,
    pub snow: bool,
}

impl From<&Place> for PlaceChoice {
    fn from(p: &Place) -> Self {
        Self {
            name: p.name.clone(),
            country: p.country.clone(),
            region: p.region.clone(),
            latitude: p.coordinates.latitude,
            longitude: p.coordinates.longitude,
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
