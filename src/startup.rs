//! Builds the whole application from a [`Config`]: store, provider, accounts,
//! admin HTTP port. `main` and the integration tests use exactly this.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use teloxide::Bot;
use tokio::net::TcpListener;
use tokio::sync::Notify;

use crate::accounts::{self, Accounts};
use crate::admin::{self, AppState};
use crate::alerts::{Poller, PollerSettings};
use crate::bot::{self, BotContext};
use crate::config::{Config, ProviderKind};
use crate::forecasts::{ForecastSettings, Forecasts};
use crate::metrics::Metrics;
use crate::notifier::Notifier;
use crate::shutdown;
use crate::sla::{Evaluator, SlaService};
use crate::store::Store;
use crate::subscribe::Subscriber;
use crate::sysmetrics::SystemMetrics;
use crate::weather::{self, Instrumented, OpenMeteo, OpenWeatherMap, WeatherProvider};

pub struct App {
    listener: TcpListener,
    local_addr: SocketAddr,
    router: axum::Router,
    store: Store,
    metrics: Metrics,
    workers: Option<Workers>,
    system_metrics: SystemMetrics,
    sla_evaluator: Evaluator,
    sla_eval_interval: Duration,
}

/// The background half: it runs only with a bot token (nobody to tell otherwise).
struct Workers {
    poller: Poller,
    poll_interval: Duration,
    notifier: Notifier,
    bot: Bot,
    bot_context: BotContext,
}

impl App {
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let store = Store::connect(&config.database_url).await?;
        let metrics = Metrics::new();
        let provider = build_provider(&config, &metrics)?;
        let sla = SlaService::from_config(&config, store.clone(), &metrics);
        let sla_evaluator = sla.evaluator(metrics.clone(), config.sla_retention);
        let system_metrics =
            SystemMetrics::new(store.clone(), &config.database_url, metrics.clone());
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
        };
        let workers = build_workers(&config, &store, &forecasts, &metrics, bot_context)?;
        let state = AppState {
            store: store.clone(),
            accounts,
            subscriber,
            metrics: metrics.clone(),
            sla,
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
            router: admin::router(state),
            store,
            metrics,
            workers,
            system_metrics,
            sla_evaluator,
            sla_eval_interval: config.sla_eval_interval,
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

    /// Runs until Ctrl-C / SIGTERM.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let signal = shutdown::os_signal().context("installing signal handlers")?;
        self.run_until(signal).await
    }

    /// Runs until `signal` resolves, then lets every task finish its current
    /// unit of work (in-flight HTTP requests complete) and closes the store.
    pub async fn run_until(
        self,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        tracing::info!(local_addr = %self.local_addr, "admin port listening");
        let (trigger, listener) = shutdown::channel();
        tokio::spawn(async move {
            signal.await;
            trigger.trigger();
        });
        let mut tasks = tokio::task::JoinSet::new();
        // Always, bot or not: /metrics and the SLA evaluator read these.
        tasks.spawn(self.system_metrics.run(listener.clone()));
        // Always too: SLAs watch the service whether or not a bot runs.
        tasks.spawn(
            self.sla_evaluator
                .run(self.sla_eval_interval, listener.clone()),
        );
        if let Some(w) = self.workers {
            tasks.spawn(w.poller.run(w.poll_interval, listener.clone()));
            tasks.spawn(w.notifier.run(listener.clone()));
            tasks.spawn(bot::run(w.bot, w.bot_context, listener.clone()));
        } else {
            tracing::warn!("TELOXIDE_TOKEN is not set: no polling and no alerts, REST only");
        }
        let mut http_stop = listener.clone();
        let server = axum::serve(self.listener, self.router)
            .with_graceful_shutdown(async move { http_stop.stopped().await });
        let result = server.await.context("admin HTTP server failed");
        // Each worker finishes its current unit of work, then returns.
        while tasks.join_next().await.is_some() {}
        self.store.close().await;
        tracing::info!("stopped");
        result
    }
}

fn build_workers(
    config: &Config,
    store: &Store,
    forecasts: &Forecasts,
    metrics: &Metrics,
    bot_context: BotContext,
) -> anyhow::Result<Option<Workers>> {
    let Some(token) = &config.telegram_token else {
        return Ok(None);
    };
    let mut bot = Bot::new(token.expose());
    if let Some(url) = &config.telegram_api_url {
        bot = bot.set_api_url(url.clone());
    }
    let wake = Arc::new(Notify::new());
    let poller = Poller::new(
        store.clone(),
        forecasts.clone(),
        metrics.clone(),
        PollerSettings {
            remind_every: config.remind_interval,
            heads_up_probability: config.heads_up_probability,
            admin_chats: config.admin_chat_ids.clone(),
        },
        Arc::clone(&wake),
    );
    let notifier = Notifier::new(store.clone(), bot.clone(), metrics.clone(), wake);
    Ok(Some(Workers {
        poller,
        poll_interval: config.poll_interval,
        notifier,
        bot,
        bot_context,
    }))
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
