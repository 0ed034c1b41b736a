//! The `meteobot` binary: parse configuration, start the app, stop on a signal.
//! `meteobot chat` runs the same app with the bot in this terminal.

use std::process::ExitCode;

use clap::FromArgMatches;
use meteobot::chat;
use meteobot::config::{Args, Command, Config};
use meteobot::startup::App;
use meteobot::telemetry;

fn main() -> ExitCode {
    // clap itself exits with code 2 on an unknown flag or a bad --chat-id,
    // and prints --help.
    let matches = chat::command_line().get_matches();
    let mut args = Args::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let (chat_id, sla_rules) = match args.command.take() {
        Some(Command::Chat { chat_id }) => {
            chat::prepare(&mut args, &matches);
            (Some(chat_id), false)
        }
        Some(Command::SlaRules) => {
            // Only DATABASE_URL is read: no bot runs, so no token is needed
            // (a placeholder satisfies the server's check, never used).
            args.teloxide_token
                .get_or_insert_with(|| "0:sla-rules".to_owned());
            (None, true)
        }
        None => (None, false),
    };
    let config = match Config::from_args(args) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("meteobot: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(&config.rust_log);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("meteobot: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let run = async {
        match chat_id {
            _ if sla_rules => meteobot::sla::rules::print(&config).await,
            Some(chat_id) => chat::run(config, chat_id).await,
            None => App::build(config).await?.run_until_stopped().await,
        }
    };
    match runtime.block_on(run) {
        Ok(()) => ExitCode::SUCCESS,
        // Like a configuration error: nothing was started, and a supervisor
        // (systemd, Kubernetes) restarts the process with its own backoff.
        Err(e)
            if e.chain()
                .any(|cause| cause.is::<meteobot::store::Unreachable>()) =>
        {
            tracing::error!(
                error = format!("{e:#}"),
                "meteobot cannot open its database"
            );
            eprintln!("meteobot: {e:#}");
            ExitCode::from(2)
        }
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "meteobot failed");
            eprintln!("meteobot: {e:#}");
            ExitCode::FAILURE
        }
    }
}
