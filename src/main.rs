//! The `meteobot` binary: parse configuration, start the app, stop on a signal.

use std::process::ExitCode;

use clap::Parser;
use meteobot::config::{Args, Config};
use meteobot::startup::App;
use meteobot::telemetry;

fn main() -> ExitCode {
    // clap itself exits with code 2 on an unknown flag and prints --help.
    let config = match Config::from_args(Args::parse()) {
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
    match runtime.block_on(async { App::build(config).await?.run_until_stopped().await }) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "meteobot failed");
            eprintln!("meteobot: {e:#}");
            ExitCode::FAILURE
        }
    }
}
