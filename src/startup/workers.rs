//! The supervised background workers: what they are built from, how they
//! are spawned under the supervisor (restart with backoff, readiness), and
//! the probe that keeps the dispatcher unready until Telegram answers.

use std::sync::Arc;
use std::time::Duration;

use teloxide::prelude::Requester;
use teloxide::{ApiError, Bot, RequestError};
use tokio::sync::Notify;

use crate::alerts::{Poller, PollerSettings};
use crate::bot::{self, BotContext};
use crate::clock::SharedClock;
use crate::config::Config;
use crate::digest::{DigestSettings, DigestWorker};
use crate::forecasts::Forecasts;
use crate::health::Health;
use crate::metrics::Metrics;
use crate::notifier::{Notifier, Policy, WorkerStatus};
use crate::shutdown::ShutdownListener;
use crate::store::{Leader, Store};
use crate::supervise::{Backoff, supervise};
use crate::webhook::{self, WebhookMode};

/// Slack on top of two poll intervals before the poller counts as stalled
/// (a cycle that refreshes many cells takes a while).
pub(super) const POLLER_SLACK: Duration = Duration::from_secs(60);
/// Slack on top of two digest steps: a step may refresh a few places' series
/// from upstream, each within `WEATHER_TIMEOUT`.
pub(super) const DIGEST_SLACK: Duration = Duration::from_secs(300);
/// Slack on top of two SLA evaluation intervals (reads may wait on
/// Prometheus).
pub(super) const SLA_SLACK: Duration = Duration::from_secs(30);
/// The notifier beats at the top of each loop turn; a turn is one step (at
/// most a batch of paced sends) and an idle pause of at most a second.
pub(super) const NOTIFIER_PERIOD: Duration = Duration::from_secs(120);

/// The background half: it runs only with a bot token (nobody to tell
/// otherwise). Ingredients rather than built workers: a supervisor builds a
/// worker again after it panicked.
pub(super) struct Workers {
    store: Store,
    forecasts: Forecasts,
    metrics: Metrics,
    poller_settings: PollerSettings,
    poll_interval: Duration,
    /// The poller rings the notifier after writing rows.
    wake: Arc<Notify>,
    /// Webhook mode (`WEBHOOK_URL`): the `webhook` worker instead of the
    /// long-polling dispatcher.
    pub(super) webhook: Option<WebhookMode>,
    /// Give-up and pruning limits of the notifier (NOTIFY_MAX_*, OUTBOX_RETENTION).
    notifier_policy: Policy,
    bot: Bot,
    bot_context: BotContext,
    clock: SharedClock,
    leader: Leader,
}

/// Starts supervised workers: each registered in the health registry, its
/// listener carrying its heartbeat.
pub(super) struct Supervisor {
    pub(super) health: Health,
    pub(super) metrics: Metrics,
    pub(super) listener: ShutdownListener,
}

impl Supervisor {
    /// The supervised run of worker `name`, built by `make` from a listener
    /// that carries its heartbeat; `expect_every` as in
    /// [`Health::register`].
    pub(super) fn run<F, Fut>(
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

pub(super) fn spawn_workers(
    supervisor: &Supervisor,
    tasks: &mut tokio::task::JoinSet<()>,
    w: Workers,
) {
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

pub(super) fn build_workers(
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
