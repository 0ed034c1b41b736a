//! Subscribing: parse what the user asked for, resolve the city once through
//! the weather provider, and store the subscription with its coordinates.
//! Shared by the REST port and (later) the bot.

use std::sync::Arc;

use crate::domain::{
    ChatId, CityName, LeadTime, ParseError, Temperature, TemperatureBand, parse_flag,
};
use crate::store::{Insert, NewSubscription, Store, Subscription};
use crate::weather::{Place, WeatherError, WeatherProvider};

/// More than this many subscriptions per chat is refused.
pub const MAX_SUBSCRIPTIONS_PER_CHAT: u32 = 20;

/// What to watch, parsed and checked, before the city is resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Watch {
    pub band: TemperatureBand,
    pub rain: bool,
    pub snow: bool,
    /// Heads-up lead time; `None`: off (the default).
    pub ahead: Option<LeadTime>,
}

impl Watch {
    /// Bounds may be empty / `-` / `none`; flags may be missing (= no).
    pub fn parse(
        min: Option<&str>,
        max: Option<&str>,
        rain: Option<&str>,
        snow: Option<&str>,
    ) -> Result<Self, ParseError> {
        let min = parse_bound("minimum temperature", min)?;
        let max = parse_bound("maximum temperature", max)?;
        let band = TemperatureBand::new(min, max)?;
        let rain = parse_optional_flag("rain", rain)?;
        let snow = parse_optional_flag("snow", snow)?;
        if band.is_unbounded() && !rain && !snow {
            return Err(ParseError::new(
                "nothing to watch: set a minimum or maximum temperature, rain or snow",
            ));
        }
        Ok(Self {
            band,
            rain,
            snow,
            ahead: None,
        })
    }
}

impl Watch {
    /// From already-numeric limits (a dialogue's answers), with the same checks.
    pub fn new(
        min: Option<f64>,
        max: Option<f64>,
        rain: bool,
        snow: bool,
    ) -> Result<Self, ParseError> {
        let min = min.map(Temperature::new).transpose()?;
        let max = max.map(Temperature::new).transpose()?;
        let band = TemperatureBand::new(min, max)?;
        if band.is_unbounded() && !rain && !snow {
            return Err(ParseError::new(
                "nothing to watch: set a minimum or maximum temperature, rain or snow",
            ));
        }
        Ok(Self {
            band,
            rain,
            snow,
            ahead: None,
        })
    }
}

impl Watch {
    /// The same limits with a heads-up lead time parsed from `raw` (REST's
    /// `ahead` field): absent, blank or `off` turn it off.
    pub fn with_ahead(self, raw: Option<&str>) -> Result<Self, ParseError> {
        Ok(Self {
            ahead: parse_ahead(raw)?,
            ..self
        })
    }

    /// The same limits with an already parsed lead time.
    pub fn with_lead(self, ahead: Option<LeadTime>) -> Self {
        Self { ahead, ..self }
    }
}

/// A heads-up lead time as people write it, for the bot and REST alike: a
/// humantime duration (`40m`, `3h`, `1h 30m`), a number of minutes, or
/// `off`; absent or blank is off. Errors name the field (`ahead: …`).
pub fn parse_ahead(raw: Option<&str>) -> Result<Option<LeadTime>, ParseError> {
    match raw {
        None => Ok(None),
        Some(raw) => {
            LeadTime::parse_optional(raw).map_err(|e| ParseError::new(format!("ahead: {e}")))
        }
    }
}

fn parse_bound(what: &str, raw: Option<&str>) -> Result<Option<Temperature>, ParseError> {
    match raw {
        None => Ok(None),
        Some(raw) => {
            Temperature::parse_optional(raw).map_err(|e| ParseError::new(format!("{what}: {e}")))
        }
    }
}

fn parse_optional_flag(what: &str, raw: Option<&str>) -> Result<bool, ParseError> {
    match raw.map(str::trim) {
        None | Some("") => Ok(false),
        Some(raw) => parse_flag(raw).map_err(|e| ParseError::new(format!("{what}: {e}"))),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SubscribeError {
    #[error("{0}")]
    Invalid(#[from] ParseError),
    #[error("no city called '{0}' was found")]
    UnknownCity(String),
    #[error("this chat already has {0} subscriptions, the most allowed: remove one first")]
    TooMany(u32),
    /// The chat already has this subscription (same place and thresholds):
    /// nothing new was stored, the existing one is the answer.
    #[error("this subscription exists already (#{})", .0.id)]
    AlreadySubscribed(Box<Subscription>),
    #[error("the weather service could not look up the city: {0}")]
    Upstream(#[from] WeatherError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

#[derive(Clone)]
pub struct Subscriber {
    store: Store,
    provider: Arc<dyn WeatherProvider>,
}

impl Subscriber {
    pub fn new(store: Store, provider: Arc<dyn WeatherProvider>) -> Self {
        Self { store, provider }
    }

    /// Every match for a name, best first; an unknown name is an error.
    pub async fn resolve(&self, city: &CityName) -> Result<Vec<Place>, SubscribeError> {
        let places = self.provider.geocode(city.as_str()).await?;
        if places.is_empty() {
            return Err(SubscribeError::UnknownCity(city.as_str().to_owned()));
        }
        Ok(places)
    }

    /// Resolves the city (several matches: the most populous) and stores the
    /// subscription. Nothing is stored on any error.
    pub async fn subscribe(
        &self,
        chat: ChatId,
        city: &CityName,
        watch: &Watch,
    ) -> Result<(Subscription, Place), SubscribeError> {
        let places = self.resolve(city).await?;
        let place = most_populous(places);
        let sub = self.subscribe_at(chat, &place, watch).await?;
        Ok((sub, place))
    }

    /// Stores a subscription at an already resolved place.
    pub async fn subscribe_at(
        &self,
        chat: ChatId,
        place: &Place,
        watch: &Watch,
    ) -> Result<Subscription, SubscribeError> {
        let new = NewSubscription {
            chat_id: chat,
            city: &place.name,
            country: &place.country,
            latitude: round_coordinate(place.coordinates.latitude),
            longitude: round_coordinate(place.coordinates.longitude),
            band: watch.band,
            rain: watch.rain,
            snow: watch.snow,
            ahead: watch.ahead,
        };
        // The chat's first place gives it its time zone (issue 10).
        let zone = place
            .timezone
            .as_deref()
            .and_then(|z| crate::domain::ChatZone::parse(z).ok());
        match self
            .store
            .subscribe_in_zone(new, MAX_SUBSCRIPTIONS_PER_CHAT, zone)
            .await?
        {
            Insert::Created(sub) => {
                tracing::info!(subscription_id = sub.id, chat_id = chat.get(), city = %sub.city, "subscribed");
                Ok(sub)
            }
            Insert::Existing(sub) => Err(SubscribeError::AlreadySubscribed(Box::new(sub))),
            Insert::LimitReached => Err(SubscribeError::TooMany(MAX_SUBSCRIPTIONS_PER_CHAT)),
        }
    }
}

/// The most populous match; without populations (OpenWeatherMap), the
/// provider's first, which is its best match.
pub fn most_populous(places: Vec<Place>) -> Place {
    let mut best: Option<Place> = None;
    for place in places {
        let better = match &best {
            None => true,
            Some(b) => place.population.unwrap_or(0) > b.population.unwrap_or(0),
        };
        if better {
            best = Some(place);
        }
    }
    best.expect("resolve() never returns an empty list")
}

/// Four decimals (~11 m): two subscriptions to the same city share one point,
/// so the poller fetches it once.
fn round_coordinate(value: f64) -> f64 {
    (value * 10_000.0).round() / 10_000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::weather::Coordinates;
    use proptest::prelude::*;

    fn place(name: &str, population: Option<u64>) -> Place {
        Place {
            name: name.into(),
            country: "IT".into(),
            region: None,
            coordinates: Coordinates {
                latitude: 1.0,
                longitude: 2.0,
            },
            population,
            timezone: None,
        }
    }

    #[test]
    fn picks_the_most_populous_or_the_first() {
        let p = most_populous(vec![
            place("a", Some(10)),
            place("b", Some(300)),
            place("c", None),
        ]);
        assert_eq!(p.name, "b");
        assert_eq!(
            most_populous(vec![place("x", None), place("y", None)]).name,
            "x"
        );
    }

    #[test]
    fn watch_rules() {
        let w = Watch::parse(Some("5"), Some("30"), Some("1"), Some("0")).unwrap();
        assert_eq!((w.rain, w.snow), (true, false));
        assert!(Watch::parse(Some("30"), Some("5"), None, None).is_err());
        assert!(
            Watch::parse(None, None, Some("no"), Some("0")).is_err(),
            "nothing to watch"
        );
        assert!(Watch::parse(None, None, Some("sì"), None).unwrap().rain);
        let e = Watch::parse(Some("hot"), None, None, None).unwrap_err();
        assert!(e.0.starts_with("minimum temperature:"), "{e}");
        assert!(Watch::parse(Some("1"), None, Some("maybe"), None).is_err());
    }

    #[test]
    fn lead_times_for_rest_and_bot() {
        let w = Watch::parse(Some("5"), None, None, None).unwrap();
        assert_eq!(w.ahead, None);
        let hours = |w: &Watch| w.ahead.map(|l| l.as_secs() / 3600);
        assert_eq!(hours(&w.clone().with_ahead(Some("3h")).unwrap()), Some(3));
        assert_eq!(hours(&w.clone().with_ahead(Some("180")).unwrap()), Some(3));
        for off in [None, Some(""), Some(" "), Some("off")] {
            assert_eq!(w.clone().with_ahead(off).unwrap().ahead, None, "{off:?}");
        }
        for bad in ["soon", "-1h", "0", "49h"] {
            let e = w.clone().with_ahead(Some(bad)).unwrap_err();
            assert!(e.0.starts_with("ahead: "), "{bad}: {e}");
        }
        let lead = parse_ahead(Some("40m")).unwrap();
        assert_eq!(w.with_lead(lead).ahead, lead);
    }

    proptest! {
        #[test]
        fn rounding_is_idempotent_and_close(v in -180.0f64..180.0) {
            let r = round_coordinate(v);
            prop_assert!((r - v).abs() <= 0.00005 + 1e-12);
            prop_assert_eq!(round_coordinate(r), r);
        }
    }
}
