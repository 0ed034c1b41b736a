//! Builds the whole application from a [`Config`]: store, provider, accounts,
//! admin HTTP port. `main` and the integration tests use exactly this.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Extension;
use teloxide::prelude::Requester;
use teloxide::{ApiError, Bot, RequestError};
use tokio::net::TcpListener;
use tokio::sync::Notify;

use crate::accounts::{self, Accounts};
use crate::admin::{self, AppState};
use crate::alerts::{Poller, PollerSettings};
use crate::bot::{self, BotContext};
use crate::clock::SharedClock;
use crate::config::{Config, ProviderKind};
use crate::digest::{DigestSettings, DigestWorker};
use crate::forecasts::{ForecastSettings, Forecasts};
use crate::health::{Health, Readiness};
use crate::metrics::Metrics;
use crate::notifier::{Notifier, Policy, SendPace, WorkerStatus};
use crate::server::{self, ServerLimits};
use crate::shutdown::{self, ShutdownListener};
use crate::sla::SlaService;
use crate::store::{Leader, Store, holder_name};
use crate::subscribe::Subscriber;
use crate::supervise::{Backoff, supervise};
use crate::sysmetrics::SystemMetrics;
use crate::weather::{self, Instrumented, OpenMeteo, OpenWeatherMap, WeatherProvider};
use crate::webhook::{self, WebhookMode};

/// Slack on top of two poll intervals before the poller counts as stalled
/// (a cycle that refreshes many cells takes a while).
const POLLER_SLACK: Duration = Duration::from_secs(60);
/// Slack on top of two digest steps: a step may refresh a few places' series
/// from upstream, each within `WEATHER_TIMEOUT`.
const DIGEST_SLACK: Duration = Duration::from_secs(300);
/// Slack on top of two SLA evaluation intervals (reads may wait on
/// Prometheus).
const SLA_SLACK: Duration = Duration::from_secs(30);
/// The notifier beats at the top of each loop turn; a turn is one step (at
/// most a batch of paced sends) and an idle pause of at most a second.
const NOTIFIER_PERIOD: Duration = Duration::from_secs(120);

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

/// The background half: it runs only with a bot token (nobody to tell
/// otherwise). Ingredients rather than built workers: a supervisor builds a
/// worker again after it panicked.
struct Workers {
    store: Store,
    forecasts: Forecasts,
    metrics: Metrics,
    poller_settings: PollerSettings,
    poll_interval: Duration,
    /// The poller rings the notifier after writing rows.
    wake: Arc<Notify>,
    /// Webhook mode (`WEBHOOK_URL`): the `webhook` worker instead of the
    /// long-polling dispatcher.
    webhook: Option<WebhookMode>,
    /// Give-up and pruning limits of the notifier (NOTIFY_MAX_*, OUTBOX_RETENTION).
    notifier_policy: Policy,
    bot: Bot,
    bot_context: BotContext,
    clock: SharedClock,
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

/// Starts supervised workers: each registered in the health registry, its
/// listener carrying its heartbeat.
struct Supervisor {
    health: Health,
    metrics: Metrics,
    listener: ShutdownListener,
}

impl Supervisor {
    /// The supervised run of worker `name`, built by `make` from a listener
    /// that carries its heartbeat; `expect_every` as in
    /// [`Health::register`].
    fn run<F, Fut>(
        &self,
        name: &'static str,
        expect_every: Option<Duration>,
        mut make: F,
    ) -> impl Future<Output = ()> + Send + 'static
    where
        F: FnMut(ShutdownListener) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let heartbeat = self.health.register(name, expect_every);
        let worker_listener = self.listener.clone().with_heartbeat(heartbeat.clone());
        supervise(
            heartbeat,
            self.metrics.worker_restarts.clone(),
            self.listener.clone(),
            Backoff::default(),
            move || make(worker_listener.clone()),
        )
    }

    /// Adds a problem check to worker `name` (registered by [`Self::run`]).
    fn check(&self, name: &'static str, check: crate::health::ProblemCheck) {
        self.health.add_check(name, check);
    }
}

fn spawn_workers(supervisor: &Supervisor, tasks: &mut tokio::task::JoinSet<()>, w: Workers) {
    let Workers {
        store,
        forecasts,
        metrics,
        poller_settings,
        poll_interval,
        wake,
        webhook,
        notifier_policy,
        bot,
        bot_context,
        clock,
        leader,
    } = w;
    // The notifier claims outbox rows under the replica's name.
    let holder = leader.holder().to_owned();
    {
        let (store, forecasts, metrics, wake, clock, leader) = (
            store.clone(),
            forecasts.clone(),
            metrics.clone(),
            Arc::clone(&wake),
            Arc::clone(&clock),
            leader.clone(),
        );
        tasks.spawn(supervisor.run(
            "poller",
            Some(poll_interval * 2 + POLLER_SLACK),
            move |listener| {
                Poller::new(
                    store.clone(),
                    forecasts.clone(),
                    metrics.clone(),
                    poller_settings.clone(),
                    Arc::clone(&wake),
                )
                .with_clock(Arc::clone(&clock))
                .with_leader(leader.clone())
                .run(poll_interval, listener)
            },
        ));
    }
    {
        // The daily digests: due ones written to the outbox each minute.
        let (store, forecasts, metrics, wake, clock) = (
            store.clone(),
            forecasts.clone(),
            metrics.clone(),
            Arc::clone(&wake),
            Arc::clone(&clock),
        );
        let every = DigestSettings::default().every;
        tasks.spawn(
            supervisor.run("digest", Some(every * 2 + DIGEST_SLACK), move |listener| {
                DigestWorker::new(
                    store.clone(),
                    forecasts.clone(),
                    metrics.clone(),
                    Arc::clone(&wake),
                )
                .with_clock(Arc::clone(&clock))
                .with_leader(leader.clone())
                .run(listener)
            }),
        );
    }
    {
        let (bot, pace) = (bot.clone(), bot_context.pace.clone());
        // One status across restarts: a rejected bot token stays reported.
        let status = WorkerStatus::new();
        let notifier = supervisor.run("notifier", Some(NOTIFIER_PERIOD), {
            let status = status.clone();
            move |listener| {
                Notifier::new(
                    store.clone(),
                    bot.clone(),
                    metrics.clone(),
                    Arc::clone(&wake),
                )
                .with_policy(notifier_policy.clone())
                .with_status(status.clone())
                .with_pace(pace.clone())
                .with_clock(Arc::clone(&clock))
                .with_holder(holder.clone())
                .run(listener)
            }
        });
        supervisor.check(
            "notifier",
            Arc::new(move || {
                (!status.healthy()).then(|| {
                    status
                        .problem()
                        .unwrap_or_else(|| "stopped sending".to_owned())
                })
            }),
        );
        tasks.spawn(notifier);
    }
    if let Some(mode) = webhook {
        // Webhook mode: updates come recorded by the route; no long polling.
        tasks.spawn(supervisor.run(
            "webhook",
            Some(webhook::consumer::PERIOD),
            move |listener| {
                webhook::consumer::run(mode.clone(), bot.clone(), bot_context.clone(), listener)
            },
        ));
        return;
    }
    // One record across restarts, as the notifier's status.
    let conflict = bot::PollConflict::default();
    let dispatcher = supervisor.run("dispatcher", None, {
        let conflict = conflict.clone();
        move |listener| {
            // Unready until the probe hears from Telegram.
            listener.set_problem(Some("not connected to Telegram yet".to_owned()));
            let run = bot::run(
                bot.clone(),
                bot_context.clone(),
                conflict.clone(),
                listener.clone(),
            );
            let probe = watch_telegram(bot.clone(), listener);
            async move {
                let probe = tokio::spawn(probe);
                run.await;
                probe.abort();
            }
        }
    });
    supervisor.check("dispatcher", Arc::new(move || conflict.problem()));
    tasks.spawn(dispatcher);
}

/// Keeps the dispatcher unready until Telegram answered `getMe` (the bot's
/// own start-up retries the same way; this only reports it). The reason
/// names no URL: the Bot API URL carries the token.
async fn watch_telegram(bot: Bot, mut listener: ShutdownListener) {
    let mut delay = Duration::from_secs(1);
    loop {
        match bot.get_me().await {
            Ok(_) => {
                listener.set_problem(None);
                listener.beat();
                return;
            }
            Err(e) => listener.set_problem(Some(telegram_problem(&e).to_owned())),
        }
        tokio::select! {
            _ = listener.stopped() => return,
            _ = tokio::time::sleep(delay) => {}
        }
        delay = (delay * 2).min(Duration::from_secs(60));
    }
}

fn telegram_problem(err: &RequestError) -> &'static str {
    match err {
        RequestError::Api(ApiError::InvalidToken) => "Telegram rejected TELOXIDE_TOKEN",
        RequestError::Api(ApiError::TerminatedByOtherGetUpdates) => {
            "another process is polling this bot (409 Conflict)"
        }
        RequestError::Network(_) | RequestError::Io(_) => "cannot reach Telegram",
        _ => "Telegram did not answer getMe",
    }
}

fn build_workers(
    config: &Config,
    store: &Store,
    forecasts: &Forecasts,
    metrics: &Metrics,
    bot_context: BotContext,
    leader: &Leader,
) -> Option<Workers> {
    let token = config.telegram_token.as_ref()?;
    let mut bot = Bot::new(token.expose());
    if let Some(url) = &config.telegram_api_url {
        bot = bot.set_api_url(url.clone());
    }
    Some(Workers {
        store: store.clone(),
        forecasts: forecasts.clone(),
        metrics: metrics.clone(),
        poller_settings: PollerSettings {
            remind_every: config.remind_interval,
            heads_up_probability: config.heads_up_probability,
            admin_chats: config.admin_chat_ids.clone(),
        },
        poll_interval: config.poll_interval,
        wake: Arc::new(Notify::new()),
        webhook: WebhookMode::from_config(config),
        notifier_policy: Policy::from_config(config),
        bot,
        clock: Arc::clone(&bot_context.clock),
        bot_context,
        leader: leader.clone(),
    })
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
