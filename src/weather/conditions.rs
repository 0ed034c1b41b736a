//! Rain and snow judgement from provider condition codes (DESIGN.md "Alert rules").
//!
//! Open-Meteo reports WMO weather-interpretation codes (WMO 4677, the subset
//! Open-Meteo documents); OpenWeatherMap reports a condition group name in
//! `weather[].main`. Precipitation amounts are judged by the providers; these
//! functions only read codes.

/// WMO codes for drizzle, rain (including freezing), rain showers and thunderstorms.
pub fn wmo_is_raining(code: u16) -> bool {
    matches!(code, 51..=67 | 80..=82 | 95..=99)
}

/// WMO codes for snowfall, snow grains and snow showers.
pub fn wmo_is_snowing(code: u16) -> bool {
    matches!(code, 71..=77 | 85..=86)
}

/// OpenWeatherMap groups that mean liquid precipitation. A thunderstorm counts:
/// people who asked for rain alerts want to hear about it.
pub fn owm_is_raining(main: &str) -> bool {
    matches!(main, "Rain" | "Drizzle" | "Thunderstorm")
}

/// OpenWeatherMap's snow group.
pub fn owm_is_snowing(main: &str) -> bool {
    main == "Snow"
}

/// A short English summary of a WMO code, `None` for codes Open-Meteo does not use.
pub(crate) fn wmo_description(code: u16) -> Option<&'static str> {
    let text = match code {
        0 => "clear sky",
        1 => "mainly clear",
        2 => "partly cloudy",
        3 => "overcast",
        45 => "fog",
        48 => "depositing rime fog",
        51 => "light drizzle",
        53 => "moderate drizzle",
        55 => "dense drizzle",
        56 => "light freezing drizzle",
        57 => "dense freezing drizzle",
        61 => "light rain",
        63 => "moderate rain",
        65 => "heavy rain",
        66 => "light freezing rain",
        67 => "heavy freezing rain",
        71 => "light snow",
        73 => "moderate snow",
        75 => "heavy snow",
        77 => "snow grains",
        80 => "light rain showers",
        81 => "moderate rain showers",
        82 => "violent rain showers",
        85 => "light snow showers",
        86 => "heavy snow showers",
        95 => "thunderstorm",
        96 => "thunderstorm with light hail",
        99 => "thunderstorm with heavy hail",
        _ => return None,
    };
    Some(text)
}

/// The WMO code (Open-Meteo's subset) closest to an OpenWeatherMap condition
/// id (`weather[].id`), so forecast steps of both providers carry the same
/// kind of code. Rain and snow agree with the group rules above: every 2xx,
/// 3xx and 5xx id maps to a raining code, every 6xx id to a snowing one
/// (sleet and "rain and snow" included, as OpenWeatherMap files them under
/// "Snow"). `None` for ids OpenWeatherMap does not document.
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
    fn owm_groups_follow_the_design() {
        for main in ["Rain", "Drizzle", "Thunderstorm"] {
            assert!(owm_is_raining(main));
            assert!(!owm_is_snowing(main));
        }
        assert!(owm_is_snowing("Snow"));
        assert!(!owm_is_raining("Snow"));
        for main in ["Clear", "Clouds", "Mist", "Fog", "rain", ""] {
            assert!(!owm_is_raining(main) && !owm_is_snowing(main), "{main}");
        }
    }

    #[test]
    fn every_precipitation_code_has_a_description() {
        assert_eq!(wmo_description(0), Some("clear sky"));
        assert_eq!(wmo_description(75), Some("heavy snow"));
        assert_eq!(wmo_description(4), None);
        for code in 0..=99 {
            if wmo_is_raining(code) || wmo_is_snowing(code) {
                // Gaps inside the ranges are codes Open-Meteo never sends.
                let unused = matches!(code, 52 | 54 | 58..=60 | 62 | 64 | 72 | 74 | 76 | 97 | 98);
                assert_eq!(wmo_description(code).is_some(), !unused, "{code}");
            }
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

        /// The mapped code judges rain and snow as the id's group does.
        #[test]
        fn owm_ids_keep_their_group_judgement(id in 200u16..=804) {
            let group = match id / 100 {
                2 => "Thunderstorm",
                3 => "Drizzle",
                5 => "Rain",
                6 => "Snow",
                _ => "Clouds",
            };
            if let Some(code) = owm_id_to_wmo(id) {
                prop_assert_eq!(wmo_is_raining(u16::from(code)), owm_is_raining(group));
                prop_assert_eq!(wmo_is_snowing(u16::from(code)), owm_is_snowing(group));
                prop_assert!(wmo_description(u16::from(code)).is_some());
            }
        }

        #[test]
        fn owm_groups_are_case_sensitive_and_exact(main in "[A-Za-z ]{0,14}") {
            let rain = ["Rain", "Drizzle", "Thunderstorm"].contains(&main.as_str());
            prop_assert_eq!(owm_is_raining(&main), rain);
            prop_assert_eq!(owm_is_snowing(&main), main == "Snow");
        }
    }
}
