//! meteobot: a Telegram weather-alert bot, its REST admin port and SLA manager,
//! in one process on one SQLite file. `main.rs` only parses configuration and
//! calls [`startup::App`]; tests build the same `App` on port 0.

pub mod accounts;
pub mod admin;
pub mod alerts;
pub mod bot;
pub mod chat;
pub mod clock;
pub mod config;
pub mod digest;
pub mod domain;
pub mod forecasts;
pub mod health;
pub mod metrics;
pub mod notifier;
pub mod secret;
pub mod server;
pub mod shutdown;
pub mod sla;
pub mod startup;
pub mod store;
pub mod subscribe;
pub mod supervise;
pub mod sysmetrics;
pub mod telemetry;
pub mod text;
pub mod weather;
pub mod webhook;
