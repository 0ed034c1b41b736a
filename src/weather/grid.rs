//! Nearby points share a forecast: coordinates are snapped to a grid of
//! `WEATHER_GRID` degrees (default 0.05°, about 5 km; the models behind the
//! providers resolve 1–11 km), so a hundred GPS locations in one town cost one
//! upstream call per refresh.

use super::Coordinates;

/// The default grid step in degrees.
pub const DEFAULT_GRID_DEGREES: f64 = 0.05;
/// Finer than this is pointless (the providers' own resolution is ~1 km) and
/// coarser than 1° would merge different climates.
pub const MIN_GRID_DEGREES: f64 = 0.0001;
pub const MAX_GRID_DEGREES: f64 = 1.0;

/// A grid cell, named by its centre in units of 1e-4 degrees (~11 m): an
/// exact integer key for the store, whatever the grid step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cell {
    pub lat_e4: i32,
    pub lon_e4: i32,
}

impl Cell {
    /// The cell holding `point` on a grid of `step` degrees.
    pub fn of(point: Coordinates, step: f64) -> Self {
        let snap = |value: f64| (value / step).round() * step;
        let lat = snap(point.latitude).clamp(-90.0, 90.0);
        let mut lon = snap(point.longitude);
        if lon > 180.0 {
            lon -= 360.0;
        } else if lon <= -180.0 {
            lon += 360.0;
        }
        Self {
            lat_e4: (lat * 1e4).round() as i32,
            lon_e4: (lon * 1e4).round() as i32,
        }
    }

    /// The point the forecast is asked for: the cell's centre.
    pub fn centre(self) -> Coordinates {
        Coordinates {
            latitude: f64::from(self.lat_e4) / 1e4,
            longitude: f64::from(self.lon_e4) / 1e4,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn point(latitude: f64, longitude: f64) -> Coordinates {
        Coordinates {
            latitude,
            longitude,
        }
    }

    #[test]
    fn points_of_one_town_share_a_cell() {
        let a = Cell::of(point(41.8931, 12.4828), 0.05);
        let b = Cell::of(point(41.9100, 12.4900), 0.05);
        assert_eq!(a, b);
        assert_eq!(
            a,
            Cell {
                lat_e4: 419_000,
                lon_e4: 125_000
            }
        );
        assert_eq!(a.centre(), point(41.9, 12.5));
        assert_ne!(a, Cell::of(point(41.95, 12.4828), 0.05));
    }

    #[test]
    fn the_antimeridian_and_poles_stay_in_range() {
        let east = Cell::of(point(0.0, 179.99), 0.05);
        let west = Cell::of(point(0.0, -179.99), 0.05);
        assert_eq!(east, west);
        assert_eq!(east.lon_e4, 1_800_000);
        assert_eq!(Cell::of(point(89.99, 0.0), 0.05).lat_e4, 900_000);
    }

    proptest! {
        #[test]
        fn the_centre_is_within_half_a_step(lat in -90.0f64..=90.0, lon in -180.0f64..180.0,
                                            step in prop::sample::select(vec![0.01, 0.05, 0.1, 0.25, 1.0])) {
            let centre = Cell::of(point(lat, lon), step).centre();
            prop_assert!((centre.latitude - lat).abs() <= step / 2.0 + 1e-4);
            let dlon = (centre.longitude - lon).abs();
            prop_assert!(dlon.min(360.0 - dlon) <= step / 2.0 + 1e-4);
            prop_assert!((-90.0..=90.0).contains(&centre.latitude));
            prop_assert!(centre.longitude > -180.0 && centre.longitude <= 180.0);
        }

        #[test]
        fn snapping_is_idempotent(lat in -89.0f64..89.0, lon in -179.0f64..179.0) {
            let cell = Cell::of(point(lat, lon), 0.05);
            prop_assert_eq!(Cell::of(cell.centre(), 0.05), cell);
        }
    }
}
