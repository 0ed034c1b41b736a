use super::*;

/// Parses flags only (the environment of whoever runs the tests is
/// ignored); the base flags are added unless the case sets them itself.
fn config(extra: &[&str]) -> Result<Config, ConfigError> {
    let base = [
        ("--teloxide-token", "123456:test-token"),
        ("--database-url", "sqlite::memory:"),
        ("--weather-provider", "open-meteo"),
        ("--admin-addr", "127.0.0.1:0"),
    ];
    let mut argv = vec!["meteobot"];
    for (flag, value) in base {
        if !extra.contains(&flag) {
            argv.extend([flag, value]);
        }
    }
    argv.extend_from_slice(extra);
    Config::from_args(Args::parse_without_env(argv).expect("flags parse"))
}

/// The flags and `--help` as clap builds them, without `-h`/`-V`.
fn settings() -> Vec<clap::Arg> {
    Args::command()
        .get_arguments()
        .filter(|arg| !matches!(arg.get_id().as_str(), "help" | "version"))
        .cloned()
        .collect()
}

/// Issue 9: a setting added to `Args` must come with its variable (the
/// upper-cased field name, as errors report it) and show in `--help`
/// what it defaults to: clap's `[default: …]`, or a doc that says
/// "(default: …)" or "required".
#[test]
fn every_setting_has_a_variable_and_a_default_in_help() {
    let help = Args::command().render_long_help().to_string();
    let settings = settings();
    assert_eq!(settings.len(), 33, "a setting was added or lost");
    for arg in settings {
        let id = arg.get_id().as_str();
        let flag = arg.get_long().unwrap_or(id);
        let env = arg.get_env().and_then(|e| e.to_str());
        let expected = id.to_ascii_uppercase();
        assert_eq!(env, Some(expected.as_str()), "--{flag} needs #[arg(env)]");
        assert_eq!(variable(id), expected);
        assert!(
            help.contains(&format!("[env: {expected}")),
            "--help lacks {expected}"
        );
        assert!(
            !arg.is_hide_set() && !arg.is_hide_default_value_set(),
            "--{flag} is hidden from --help"
        );
        match arg.get_default_values() {
            [default] => {
                let default = default.to_str().unwrap();
                assert!(
                    help.contains(&format!("[default: {default}]")),
                    "--help lacks the default of {expected}"
                );
            }
            [] => {
                let doc = arg.get_long_help().or(arg.get_help()).unwrap().to_string();
                assert!(
                    doc.contains("(default: ") || doc.contains("required"),
                    "{expected} has no default_value: its doc must say what unset means"
                );
            }
            many => panic!("{expected} has several defaults: {many:?}"),
        }
    }
}

/// `Config::local` is the command line with nothing set, but for what
/// tests need: no bot token, a database of their own and port 0.
#[test]
fn local_is_an_empty_command_line() {
    let parsed = Config::from_args(
        Args::parse_without_env(["meteobot", "--teloxide-token", "1:t"]).unwrap(),
    )
    .unwrap();
    let local = Config::local("sqlite::memory:");
    assert_eq!(local.telegram_token, None);
    assert_eq!(local.database_url, "sqlite::memory:");
    assert_eq!(local.admin_addr, SocketAddr::from(([127, 0, 0, 1], 0)));
    assert_eq!(local.instance_name, "");
    let parsed = Config {
        telegram_token: None,
        database_url: local.database_url.clone(),
        admin_addr: local.admin_addr,
        instance_name: String::new(),
        ..parsed
    };
    // Every other field, compared through Debug (Config has no PartialEq:
    // secrets are not compared).
    assert_eq!(format!("{local:?}"), format!("{parsed:?}"));
}

/// Defaults other modules keep for themselves must not drift from the
/// ones an operator sees in `--help`.
#[test]
fn other_modules_agree_with_the_defaults() {
    let local = Config::local("sqlite::memory:");
    assert_eq!(
        local.notify_max_attempts,
        crate::notifier::DEFAULT_MAX_ATTEMPTS
    );
    assert_eq!(local.notify_max_age, crate::notifier::DEFAULT_MAX_AGE);
    assert_eq!(
        local.outbox_retention,
        crate::notifier::DEFAULT_OUTBOX_RETENTION
    );
    assert_eq!(
        local.weather_grid,
        crate::weather::grid::DEFAULT_GRID_DEGREES
    );
}

/// The five secrets: hidden from `--help` (no `NAME=value`), and neither
/// `Debug` of `Args` or `Config` nor any error shows them.
#[test]
fn secrets_never_show() {
    let secret: Vec<String> = settings()
        .iter()
        .filter(|arg| arg.is_hide_env_values_set())
        .map(|arg| arg.get_id().to_string())
        .collect();
    assert_eq!(
        secret,
        [
            "teloxide_token",
            "webhook_secret",
            "owm_api_key",
            "admin_token",
            "jwt_secret"
        ]
    );
    let mark = "SeCrEt-1234567890";
    for id in &secret {
        let flag = format!("--{}", id.replace('_', "-"));
        let value = format!("424242:{mark}");
        let args = Args::parse_without_env(["meteobot", &flag, &value]).unwrap();
        assert!(
            !format!("{args:?}").contains(mark),
            "Debug of Args shows {id}"
        );
        if let Ok(c) = Config::from_args(args) {
            assert!(
                !format!("{c:?}").contains(mark),
                "Debug of Config shows {id}"
            );
        }
    }
    // Malformed or short secrets are refused without being quoted.
    for (flag, value) in [
        ("--teloxide-token", mark),
        ("--jwt-secret", "SeCrEt-1"),
        ("--webhook-secret", "SeCrEt/1"),
    ] {
        let e = config(&[flag, value]).unwrap_err();
        assert!(!format!("{e} {e:?}").contains(value), "{e}");
    }
}

#[test]
fn defaults_are_valid() {
    let c = config(&["--poll-interval", "10m"]).unwrap();
    assert_eq!(c.poll_interval, Duration::from_secs(600));
    assert_eq!(c.provider, ProviderKind::OpenMeteo);
}

#[test]
fn bad_duration_names_the_variable() {
    let e = config(&["--poll-interval", "soon"]).unwrap_err();
    assert_eq!(e.variable, "POLL_INTERVAL");
    assert!(e.to_string().starts_with("POLL_INTERVAL: 'soon'"));
    assert_eq!(
        config(&["--remind-interval", "0s"]).unwrap_err().variable,
        "REMIND_INTERVAL"
    );
}

#[test]
fn the_bot_token_is_required_and_never_printed() {
    let c = config(&[]).unwrap();
    assert_eq!(
        c.telegram_token.as_ref().map(Secret::expose),
        Some("123456:test-token")
    );
    assert!(!format!("{c:?}").contains("test-token"));
    let e = config(&["--teloxide-token", " "]).unwrap_err();
    assert_eq!(e.variable, "TELOXIDE_TOKEN");
    assert!(e.message.contains("@BotFather"));
    let e = config(&["--teloxide-token", "not-a-token-secret"]).unwrap_err();
    assert_eq!(e.variable, "TELOXIDE_TOKEN");
    assert!(!e.to_string().contains("not-a-token-secret"));
}

#[test]
fn notifier_settings_have_defaults_and_are_checked() {
    let c = config(&[]).unwrap();
    assert_eq!(c.notify_max_attempts, 10);
    assert_eq!(c.notify_max_age, Duration::from_secs(24 * 3600));
    assert_eq!(c.outbox_retention, Duration::from_secs(7 * 86400));
    let local = Config::local("sqlite::memory:");
    assert_eq!(
        (
            local.notify_max_attempts,
            local.notify_max_age,
            local.outbox_retention
        ),
        (c.notify_max_attempts, c.notify_max_age, c.outbox_retention)
    );
    let c = config(&[
        "--notify-max-attempts",
        "3",
        "--notify-max-age",
        "2h",
        "--outbox-retention",
        "30d",
    ])
    .unwrap();
    assert_eq!(c.notify_max_attempts, 3);
    assert_eq!(c.notify_max_age, Duration::from_secs(7200));
    assert_eq!(c.outbox_retention, Duration::from_secs(30 * 86400));
    for (flag, value, variable) in [
        ("--notify-max-attempts", "0", "NOTIFY_MAX_ATTEMPTS"),
        ("--notify-max-attempts", "ten", "NOTIFY_MAX_ATTEMPTS"),
        ("--notify-max-age", "0s", "NOTIFY_MAX_AGE"),
        ("--outbox-retention", "forever", "OUTBOX_RETENTION"),
    ] {
        assert_eq!(config(&[flag, value]).unwrap_err().variable, variable);
    }
}

#[test]
fn sla_settings_are_checked() {
    let c = config(&["--sla-retention", "2d", "--metrics-job", " api "]).unwrap();
    assert_eq!(c.sla_retention, Duration::from_secs(2 * 86400));
    assert_eq!(c.metrics_job.as_str(), "api");
    let e = config(&["--sla-retention", "never"]).unwrap_err();
    assert_eq!(e.variable, "SLA_RETENTION");
    let e = config(&["--metrics-job", " "]).unwrap_err();
    assert_eq!(e.variable, "METRICS_JOB");
}

#[test]
fn forecast_settings_are_checked() {
    let c = config(&[]).unwrap();
    assert_eq!(c.weather_refresh, Duration::from_secs(3600));
    assert_eq!(c.weather_grid, 0.05);
    assert_eq!(c.weather_daily_budget, None);
    assert_eq!(c.weather_max_age, Duration::from_secs(3 * 3600));
    assert_eq!(c.heads_up_probability, 50);
    let c = config(&[
        "--weather-daily-budget",
        "5000",
        "--weather-grid",
        "0.1",
        "--heads-up-probability",
        "70%",
    ])
    .unwrap();
    assert_eq!(c.weather_daily_budget, Some(5000.0));
    assert_eq!(c.weather_grid, 0.1);
    assert_eq!(c.heads_up_probability, 70);
    for (flag, value, variable) in [
        ("--weather-refresh", "hourly", "WEATHER_REFRESH"),
        ("--weather-grid", "0", "WEATHER_GRID"),
        ("--weather-grid", "5", "WEATHER_GRID"),
        ("--weather-grid", "NaN", "WEATHER_GRID"),
        ("--weather-daily-budget", "0", "WEATHER_DAILY_BUDGET"),
        ("--weather-daily-budget", "1.5", "WEATHER_DAILY_BUDGET"),
        ("--weather-max-age", "0s", "WEATHER_MAX_AGE"),
        ("--heads-up-probability", "0", "HEADS_UP_PROBABILITY"),
        ("--heads-up-probability", "101", "HEADS_UP_PROBABILITY"),
    ] {
        assert_eq!(
            config(&[flag, value]).unwrap_err().variable,
            variable,
            "{flag} {value}"
        );
    }
}

/// Issue 11: webhook mode needs an https URL and a well-formed secret;
/// each refusal names its variable and never quotes the secret.
#[test]
fn webhook_settings_are_checked() {
    let c = config(&[]).unwrap();
    assert_eq!((c.webhook_url, c.webhook_secret), (None, None));
    let secret = "a".repeat(256);
    let c = config(&[
        "--webhook-url",
        "https://bot.example.org/tg/hook",
        "--webhook-secret",
        &secret,
    ])
    .unwrap();
    assert_eq!(c.webhook_url.unwrap().path(), "/tg/hook");
    assert_eq!(
        c.webhook_secret.as_ref().map(Secret::expose),
        Some(secret.as_str())
    );
    assert!(!format!("{:?}", c.webhook_secret).contains("aaaa"));
    let ok = config(&[
        "--webhook-url",
        "https://x.org/h",
        "--webhook-secret",
        "Az09_-",
    ]);
    assert!(ok.is_ok());
    let too_long = "b".repeat(257);
    for (extra, variable) in [
        (
            vec!["--webhook-url", "http://x.org/h", "--webhook-secret", "s"],
            "WEBHOOK_URL",
        ),
        (
            vec!["--webhook-url", "not a url", "--webhook-secret", "s"],
            "WEBHOOK_URL",
        ),
        (vec!["--webhook-url", "https://x.org/h"], "WEBHOOK_SECRET"),
        (
            vec!["--webhook-url", "https://x.org/h", "--webhook-secret", " "],
            "WEBHOOK_SECRET",
        ),
        (
            vec![
                "--webhook-url",
                "https://x.org/h",
                "--webhook-secret",
                "bad secret!",
            ],
            "WEBHOOK_SECRET",
        ),
        (
            vec![
                "--webhook-url",
                "https://x.org/h",
                "--webhook-secret",
                &too_long,
            ],
            "WEBHOOK_SECRET",
        ),
        (vec!["--webhook-secret", "s:3cret"], "WEBHOOK_SECRET"),
    ] {
        let e = config(&extra).unwrap_err();
        assert_eq!(e.variable, variable, "{extra:?}");
        assert!(!e.to_string().contains('\n'), "one line: {e}");
        assert!(
            !e.to_string().contains("bad secret") && !e.to_string().contains("s:3cret"),
            "{e}"
        );
    }
}

/// Issue 11: INSTANCE_NAME names the replica; a bad one is refused.
#[test]
fn instance_name_is_a_plain_name() {
    assert!(!config(&[]).unwrap().instance_name.is_empty());
    let c = config(&["--instance-name", "meteobot-2.eu_1"]).unwrap();
    assert_eq!(c.instance_name, "meteobot-2.eu_1");
    let e = config(&["--instance-name", "a b"]).unwrap_err();
    assert_eq!(e.variable, "INSTANCE_NAME");
}

#[test]
fn unknown_provider_is_refused() {
    let e = config(&["--weather-provider", "accuweather"]).unwrap_err();
    assert_eq!(e.variable, "WEATHER_PROVIDER");
}

#[test]
fn owm_needs_a_key_that_is_never_printed() {
    let e = config(&["--weather-provider", "openweathermap"]).unwrap_err();
    assert_eq!(e.variable, "OWM_API_KEY");
    let c = config(&[
        "--weather-provider",
        "openweathermap",
        "--owm-api-key",
        "k3y-value",
    ])
    .unwrap();
    assert!(!format!("{c:?}").contains("k3y-value"));
}

#[test]
fn public_admin_addr_needs_a_token() {
    let e = config(&["--admin-addr", "0.0.0.0:8080"]).unwrap_err();
    assert_eq!(e.variable, "ADMIN_ADDR");
    assert!(config(&["--admin-addr", "0.0.0.0:8080", "--admin-token", "t"]).is_ok());
    assert_eq!(
        config(&["--admin-addr", "localhost"]).unwrap_err().variable,
        "ADMIN_ADDR"
    );
}

#[test]
fn chat_ids_and_urls_are_checked() {
    let c = config(&["--admin-chat-ids", "1, -1002, 3"]).unwrap();
    assert_eq!(c.admin_chat_ids, vec![1, -1002, 3]);
    assert_eq!(
        config(&["--admin-chat-ids", "1,x"]).unwrap_err().variable,
        "ADMIN_CHAT_IDS"
    );
    assert_eq!(
        config(&["--prometheus-url", "ftp://x"])
            .unwrap_err()
            .variable,
        "PROMETHEUS_URL"
    );
    let other = config(&["--database-url", "mysql://bot:hunter2@db/x"]).unwrap_err();
    assert_eq!(other.variable, "DATABASE_URL");
    let message = other.to_string();
    assert!(message.contains("postgres://"), "{message}");
    assert!(
        !message.contains("hunter2"),
        "the password leaked: {message}"
    );
    for url in [
        "sqlite:m.db",
        "postgres://bot:pw@db:5432/meteobot",
        "postgresql://db/meteobot?sslmode=require",
    ] {
        let c = config(&["--database-url", url]).unwrap();
        assert_eq!(c.database_url, url);
    }
    assert_eq!(
        config(&["--jwt-secret", "short"]).unwrap_err().variable,
        "JWT_SECRET"
    );
}
