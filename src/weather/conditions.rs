//! Rain and snow judgement from condition codes (DESIGN.md "Alert rules").
//!
//! Open-Meteo reports WMO weather-interpretation codes (WMO 4677, the subset
//! Open-Meteo documents); OpenWeatherMap reports condition ids
//! (`weather[].id`), mapped here onto the same codes so forecast steps of
//! both providers are judged alike. Precipitation amounts are judged with
//! the series; these functions only read codes.

/// WMO codes for drizzle, rain (including freezing), rain showers and thunderstorms.
pub fn wmo_is_raining(code: u16) -> bool {
    matches!(code, 51..=67 | 80..=82 | 95..=99)
}

/// WMO codes for snowfall, snow grains and snow showers.
pub fn wmo_is_snowing(code: u16) -> bool {
    matches!(code, 71..=77 | 85..=86)
}

/// The WMO code (Open-Meteo's subset) closest to an OpenWeatherMap condition
/// id (`weather[].id`), so forecast steps of both providers carry the same
/// kind of code. Rain and snow agree with OpenWeatherMap's groups: every
/// 2xx (thunderstorm), 3xx (drizzle) and 5xx (rain) id maps to a raining
/// code, every 6xx id to a snowing one (sleet and "rain and snow" included,
/// as OpenWeatherMap files them under "Snow"). `None` for ids OpenWeatherMap
/// does not document.
pub(crate) fn owm_id_to_wmo(id: u16) -> Option<u8> {
    let code = match id {
        // Thunderstorm, with or without rain; WMO 96/99 need hail.
        200..=232 => 95,
        // Drizzle by intensity.
        300 | 310 => 51,
        301 | 311 | 313 | 321 => 53,
        302 | 312 | 314 => 55,
        // Rain by intensity, freezing rain, showers.
        500 => 61,
        501 => 63,
        502..=504 => 65,
        511 => 66,
        520 => 80,
        521 | 531 => 81,
        522 => 82,
        // Snow by intensity; sleet as snow grains; rain and snow as snow.
        600 | 615 => 71,
        601 | 616 => 73,
        602 => 75,
        611..=613 => 77,
        620 | 621 => 85,
        622 => 86,
        // Mist, smoke, haze, dust, fog, sand, ash, squalls, tornado.
        701..=781 => 45,
        800 => 0,
        801 => 1,
        802 => 2,
        803 | 804 => 3,
        _ => return None,
    };
    Some(code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The WMO codes Open-Meteo documents.
    const OPEN_METEO_CODES: [u16; 28] = [
        0, 1, 2, 3, 45, 48, 51, 53, 55, 56, 57, 61, 63, 65, 66, 67, 71, 73, 75, 77, 80, 81, 82, 85,
        86, 95, 96, 99,
    ];

    #[test]
    fn wmo_rain_codes_follow_the_design() {
        for code in [51, 55, 61, 63, 65, 66, 67, 80, 81, 82, 95, 96, 99] {
            assert!(wmo_is_raining(code), "{code} should be rain");
        }
        for code in [0, 1, 2, 3, 45, 48, 50, 68, 71, 75, 79, 83, 85, 94, 100] {
            assert!(!wmo_is_raining(code), "{code} should not be rain");
        }
    }

    #[test]
    fn wmo_snow_codes_follow_the_design() {
        for code in [71, 73, 75, 77, 85, 86] {
            assert!(wmo_is_snowing(code), "{code} should be snow");
        }
        for code in [0, 3, 61, 67, 70, 78, 84, 87, 95] {
            assert!(!wmo_is_snowing(code), "{code} should not be snow");
        }
    }

    #[test]
    fn owm_ids_map_onto_wmo_codes() {
        let cases = [
            (200, 95),
            (232, 95),
            (300, 51),
            (301, 53),
            (302, 55),
            (500, 61),
            (501, 63),
            (502, 65),
            (504, 65),
            (511, 66),
            (520, 80),
            (522, 82),
            (600, 71),
            (601, 73),
            (602, 75),
            (611, 77),
            (622, 86),
            (701, 45),
            (741, 45),
            (781, 45),
            (800, 0),
            (801, 1),
            (802, 2),
            (803, 3),
            (804, 3),
        ];
        for (id, wmo) in cases {
            assert_eq!(owm_id_to_wmo(id), Some(wmo), "{id}");
        }
        for id in [0, 199, 233, 400, 599, 623, 700, 799, 805, 900] {
            assert_eq!(owm_id_to_wmo(id), None, "{id}");
        }
    }

    proptest! {
        #[test]
        fn no_wmo_code_is_both_rain_and_snow(code in any::<u16>()) {
            prop_assert!(!(wmo_is_raining(code) && wmo_is_snowing(code)));
        }

        #[test]
        fn wmo_codes_above_99_are_dry(code in 100u16..) {
            prop_assert!(!wmo_is_raining(code) && !wmo_is_snowing(code));
        }

        /// The mapped code judges rain and snow as the id's group does
        /// (thunderstorm, drizzle and rain are rain; snow is snow), and is
        /// one Open-Meteo uses.
        #[test]
        fn owm_ids_keep_their_group_judgement(id in 200u16..=804) {
            if let Some(code) = owm_id_to_wmo(id) {
                let code = u16::from(code);
                prop_assert_eq!(wmo_is_raining(code), matches!(id / 100, 2 | 3 | 5));
                prop_assert_eq!(wmo_is_snowing(code), id / 100 == 6);
                prop_assert!(OPEN_METEO_CODES.contains(&code));
            }
        }
    }
}
