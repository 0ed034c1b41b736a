//! Builds the whole application from a [`Config`]: store, provider, accounts,
//! admin HTTP port. `main` and the integration tests use exactly this.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Extension;
use tokio::net::TcpListener;

use crate::accounts::{self, Accounts};
use crate::admin::{self, AppState};
use crate::bot::BotContext;
use crate::clock::SharedClock;
use crate::config::{Config, ProviderKind};
use crate::forecasts::{ForecastSettings, Forecasts};
use crate::health::{Health, Readiness};
use crate::metrics::Metrics;
use crate::notifier::SendPace;
use crate::server::{self, ServerLimits};
use crate::shutdown;
use crate::sla::SlaService;
use crate::store::{Leader, Store, holder_name};
use crate::subscribe::Subscriber;
use crate::sysmetrics::SystemMetrics;
use crate::weather::{self, Instrumented, OpenMeteo, OpenWeatherMap, WeatherProvider};

mod workers;

use workers::{SLA_SLACK, Supervisor, Workers, build_workers, spawn_workers};

pub struct App {
    listener: TcpListener,
    local_addr: SocketAddr,
    router: axum::Router,
    store: Store,
    metrics: Metrics,
    health: Health,
    workers: Option<Workers>,
    system_metrics: SystemMetrics,
    sla: SlaService,
    sla_retention: Duration,
    sla_eval_interval: Duration,
    /// Every schedule's wall clock (polls, digests, the outbox, SLAs, chat).
    clock: SharedClock,
    /// This replica's hold on the leader lease: only the leader polls,
    /// evaluates SLAs and composes digests (several replicas, one database).
    leader: Leader,
}

impl App {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        Self::build_with_clock(config, crate::clock::system()).await
    }

    /// [`Self::build`] with an injected wall clock (tests).
    pub async fn build_with_clock(config: Config, clock: SharedClock) -> anyhow::Result<Self> {
        let store = Store::connect(&config.database_url).await?;
        let metrics = Metrics::for_instance(Some(&config.instance_name));
        let provider = build_provider(&config, &metrics)?;
        let sla = SlaService::from_config(&config, store.clone(), &metrics);
        let system_metrics = {
            let (store, url, metrics) =
                (store.clone(), config.database_url.clone(), metrics.clone());
            // Its first CPU reading blocks on /proc.
            tokio::task::spawn_blocking(move || SystemMetrics::new(store, &url, metrics))
                .await
                .context("sampling system metrics")?
        };
        let health = Health::new();
        let readiness = Readiness::new(health.clone(), store.clone(), &config.database_url).await;
        let secret = accounts::jwt_secret(config.jwt_secret.as_ref(), &store).await?;
        let accounts = Accounts::new(store.clone(), &secret, config.token_ttl, metrics.clone());
        let subscriber = Subscriber::new(store.clone(), Arc::clone(&provider));
        let forecasts = Forecasts::new(
            store.clone(),
            Arc::clone(&provider),
            metrics.clone(),
            forecast_settings(&config),
        );
        let bot_context = BotContext {
            store: store.clone(),
            accounts: accounts.clone(),
            subscriber: subscriber.clone(),
            provider: Arc::clone(&provider),
            forecasts: forecasts.clone(),
            admin_chats: Arc::new(config.admin_chat_ids.clone()),
            sla: sla.clone(),
            // One pace for replies and the notifier's sends.
            pace: SendPace::telegram(),
            clock: Arc::clone(&clock),
        };
        let leader = Leader::new(
            store.clone(),
            holder_name(&config.instance_name),
            Arc::clone(&clock),
        )
        .with_gauge(metrics.leader.clone());
        tracing::info!(instance = %config.instance_name, holder = %leader.holder(), "replica named");
        let workers = build_workers(&config, &store, &forecasts, &metrics, bot_context, &leader);
        let state = AppState {
            store: store.clone(),
            accounts,
            subscriber,
            metrics: metrics.clone(),
            sla: sla.clone(),
            admin_token: config.admin_token.clone(),
        };
        let listener = TcpListener::bind(config.admin_addr)
            .await
            .with_context(|| format!("cannot listen on ADMIN_ADDR {}", config.admin_addr))?;
        let local_addr = listener.local_addr().context("reading the bound address")?;
        tracing::info!(provider = ?config.provider, "app built");
        Ok(Self {
            listener,
            local_addr,
            // `/readyz` finds its checks in this extension.
            router: webhook_route(admin::router(state), workers.as_ref(), &store, &clock)
                .layer(Extension(readiness)),
            store,
            metrics,
            health,
            workers,
            system_metrics,
            sla,
            sla_retention: config.sla_retention,
            sla_eval_interval: config.sla_eval_interval,
            clock,
            leader,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The worker heartbeats `/readyz` reports.
    pub fn health(&self) -> &Health {
        &self.health
    }

    /// Runs until Ctrl-C / SIGTERM.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let signal = shutdown::os_signal().context("installing signal handlers")?;
        self.run_until(signal).await
    }

    /// Runs until `signal` resolves, then lets every task finish its current
    /// unit of work (in-flight HTTP requests complete within the shutdown
    /// grace) and closes the store. The dispatcher, poller, notifier and SLA
    /// evaluator run supervised: a panic restarts them with backoff.
    pub async fn run_until(
        self,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (trigger, listener) = shutdown::channel();
        tokio::spawn(async move {
            signal.await;
            trigger.trigger();
        });
        let supervisor = Supervisor {
            health: self.health.clone(),
            metrics: self.metrics.clone(),
            listener: listener.clone(),
        };
        let mut tasks = tokio::task::JoinSet::new();
        // Always, bot or not: /metrics and the SLA evaluator read these.
        tasks.spawn(self.system_metrics.run(listener.clone()));
        // The leader lease, renewed until shutdown, then released.
        tasks.spawn(self.leader.clone().keep(listener.clone()));
        // Always too: SLAs watch the service whether or not a bot runs.
        {
            let (sla, metrics, retention, interval, clock, leader) = (
                self.sla.clone(),
                self.metrics.clone(),
                self.sla_retention,
                self.sla_eval_interval,
                Arc::clone(&self.clock),
                self.leader.clone(),
            );
            tasks.spawn(supervisor.run(
                "sla_evaluator",
                Some(interval * 2 + SLA_SLACK),
                move |listener| {
                    sla.evaluator(metrics.clone(), retention)
                        .with_clock(Arc::clone(&clock))
                        .with_leader(leader.clone())
                        .run(interval, listener)
                },
            ));
        }
        if let Some(w) = self.workers {
            spawn_workers(&supervisor, &mut tasks, w);
        } else {
            tracing::warn!("TELOXIDE_TOKEN is not set: no polling and no alerts, REST only");
        }
        // Logged once the workers are on their way (tests and CI read the
        // address from this line and may stop the process right away).
        tracing::info!(local_addr = %self.local_addr, "admin port listening");
        let mut http_stop = listener.clone();
        server::serve(
            self.listener,
            self.router,
            ServerLimits::default(),
            async move { http_stop.stopped().await },
        )
        .await;
        // Each worker finishes its current unit of work, then returns.
        while tasks.join_next().await.is_some() {}
        self.store.close().await;
        tracing::info!("stopped");
        Ok(())
    }
}

/// `router` with the webhook route in webhook mode (with a bot only: no
/// one would handle the updates otherwise).
fn webhook_route(
    router: axum::Router,
    workers: Option<&Workers>,
    store: &Store,
    clock: &SharedClock,
) -> axum::Router {
    match workers.and_then(|w| w.webhook.as_ref()) {
        Some(mode) => mode.serve(router, store.clone(), Arc::clone(clock)),
        None => router,
    }
}

pub fn forecast_settings(config: &Config) -> ForecastSettings {
    ForecastSettings {
        grid: config.weather_grid,
        refresh: config.weather_refresh,
        max_age: config.weather_max_age,
        daily_budget: config.weather_daily_budget,
    }
}

fn build_provider(config: &Config, metrics: &Metrics) -> anyhow::Result<Arc<dyn WeatherProvider>> {
    let client = weather::http_client(config.weather_timeout);
    let inner: Arc<dyn WeatherProvider> = match config.provider {
        ProviderKind::OpenMeteo => Arc::new(OpenMeteo::new(
            client,
            config.open_meteo_api_url.clone(),
            config.open_meteo_geocoding_url.clone(),
        )),
        ProviderKind::OpenWeatherMap => {
            let key = config
                .owm_api_key
                .clone()
                .context("OWM_API_KEY is required with openweathermap")?;
            Arc::new(
                OpenWeatherMap::new(client, config.owm_api_url.clone(), key)
                    .with_calls_per_minute(config.owm_calls_per_minute),
            )
        }
    };
    Ok(Arc::new(Instrumented::new(inner, metrics.clone())))
}
