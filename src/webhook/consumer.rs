//! The `webhook` worker: `setWebhook` at start, then every recorded update
//! through the bot's handler tree, each chat's in order, one at a time,
//! across replicas (a claim with a lease in `inbound_updates`).

use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Duration;

use teloxide::dispatching::UpdateHandler;
use teloxide::dptree;
use teloxide::prelude::*;
use teloxide::types::Update;
use teloxide::{ApiError, RequestError};
use tokio::task::JoinSet;

use super::{WebhookMode, allowed_updates};
use crate::bot::{self, BotContext, BotError};
use crate::clock::SharedClock;
use crate::secret::redact_url;
use crate::shutdown::ShutdownListener;
use crate::store::{InboundUpdate, Store};

/// How long a claim lasts: a replica that died mid-update hands it over to
/// another after this. Longer than [`HANDLE_TIMEOUT`], so a live consumer's
/// claim never expires under it.
pub const LEASE: Duration = Duration::from_secs(120);
/// The longest one update may take in the handlers (a few weather calls and
/// paced replies take seconds); after it the update is given up as handled.
pub const HANDLE_TIMEOUT: Duration = Duration::from_secs(90);
const _: () = assert!(HANDLE_TIMEOUT.as_secs() + 10 <= LEASE.as_secs());
/// Updates claimed at once, each of another chat, handled concurrently.
pub const BATCH: u32 = 16;
/// The fallback look at the table when no wake-up came (another replica
/// recorded the update, or an expired claim is to be taken over).
pub const POLL: Duration = Duration::from_secs(1);
/// Handled updates are kept this long, then pruned: longer than Telegram
/// retries a delivery (it keeps an update for 24 hours), so a late second
/// delivery still finds its row and is not handled again.
pub const RETENTION: Duration = Duration::from_secs(48 * 3600);
/// How often the pruning runs, and how many rows it deletes at most a time.
const PRUNE_EVERY: Duration = Duration::from_secs(600);
const PRUNE_LIMIT: u32 = 1_000;
/// The worker beats at least this often (readiness): a loop turn is at most
/// a batch (bounded by [`HANDLE_TIMEOUT`]) and a [`POLL`].
pub const PERIOD: Duration = Duration::from_secs(300);

/// Runs until shutdown: connects, sets the webhook, then consumes.
pub async fn run(mode: WebhookMode, bot: Bot, ctx: BotContext, mut listener: ShutdownListener) {
    listener.set_problem(Some("not connected to Telegram yet".to_owned()));
    let Some(me) = retry(&mut listener, "cannot reach Telegram", || bot.get_me()).await else {
        return;
    };
    tracing::info!(bot = %me.username(), "connected to Telegram (webhook mode)");
    if let Err(e) = bot::set_commands(&bot).await {
        tracing::warn!(error = %redact_url(&e.to_string()), "could not set the command menu");
    }
    let set = retry(&mut listener, "setWebhook failed", || {
        bot.set_webhook(mode.url.clone())
            .secret_token(mode.secret.expose())
            .allowed_updates(allowed_updates())
    })
    .await;
    if set.is_none() {
        return;
    }
    // The URL may carry a path secret of its own: only the host is logged.
    tracing::info!(
        host = mode.url.host_str().unwrap_or_default(),
        "webhook set"
    );
    listener.set_problem(None);
    let consumer = Consumer {
        store: ctx.store.clone(),
        clock: Arc::clone(&ctx.clock),
        handler: Arc::new(bot::schema()),
        deps: dptree::deps![ctx.clone(), ctx.dialogues(), me, bot.clone()],
    };
    consumer.run(&mode, listener).await;
    tracing::info!("webhook consumer stopped");
}

/// `call` until it succeeds (backoff 1 s doubling to 60 s), the failure as
/// the worker's readiness problem meanwhile; `None` on shutdown.
async fn retry<T, F, Fut>(listener: &mut ShutdownListener, what: &str, mut call: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: IntoFuture<Output = Result<T, RequestError>>,
{
    let mut delay = Duration::from_secs(1);
    loop {
        if listener.is_stopped() {
            return None;
        }
        match call().await {
            Ok(value) => return Some(value),
            Err(e) => {
                let error = redact_url(&e.to_string());
                if matches!(e, RequestError::Api(ApiError::InvalidToken)) {
                    tracing::error!(
                        "Telegram rejected TELOXIDE_TOKEN: check the token from @BotFather"
                    );
                    listener.set_problem(Some("Telegram rejected TELOXIDE_TOKEN".to_owned()));
                } else {
                    tracing::warn!(error, retry_in_s = delay.as_secs(), "{what}; retrying");
                    listener.set_problem(Some(format!("{what}: {error}")));
                }
            }
        }
        tokio::select! {
            _ = listener.stopped() => return None,
            _ = tokio::time::sleep(delay) => {}
        }
        delay = (delay * 2).min(Duration::from_secs(60));
    }
}

struct Consumer {
    store: Store,
    clock: SharedClock,
    handler: Arc<UpdateHandler<BotError>>,
    /// What teloxide's Dispatcher injects besides the `Update`: our
    /// `BotContext` and dialogue storage (as `run` in bot/mod.rs gives it),
    /// the `Me` of `getMe` and the `Bot`.
    deps: dptree::di::DependencyMap,
}

impl Consumer {
    fn now_ms(&self) -> i64 {
        self.clock.now().timestamp_millis()
    }

    async fn run(&self, mode: &WebhookMode, mut listener: ShutdownListener) {
        let mut last_prune: Option<tokio::time::Instant> = None;
        let lease_ms = i64::try_from(LEASE.as_millis()).unwrap_or(i64::MAX);
        loop {
            if listener.is_stopped() {
                break;
            }
            listener.beat();
            if last_prune.is_none_or(|at| at.elapsed() >= PRUNE_EVERY) {
                last_prune = Some(tokio::time::Instant::now());
                self.prune().await;
            }
            // Claimed before the wait below: a wake-up rung meanwhile is
            // kept by the Notify (one permit), so none is lost.
            match self
                .store
                .claim_inbound(self.now_ms(), lease_ms, BATCH)
                .await
            {
                Ok(claimed) if !claimed.is_empty() => {
                    // Not raced against shutdown: a started update finishes
                    // and is marked handled.
                    self.handle_all(claimed).await;
                    continue;
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(error = format!("{e:#}"), "claiming webhook updates failed");
                }
            }
            tokio::select! {
                _ = listener.stopped() => break,
                _ = mode.wake.notified() => {}
                _ = tokio::time::sleep(POLL) => {}
            }
        }
    }

    async fn prune(&self) {
        let retention_ms = i64::try_from(RETENTION.as_millis()).unwrap_or(i64::MAX);
        let before = self.now_ms().saturating_sub(retention_ms);
        match self.store.prune_inbound(before, PRUNE_LIMIT).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(pruned = n, "handled webhook updates pruned"),
            Err(e) => tracing::warn!(error = format!("{e:#}"), "pruning webhook updates failed"),
        }
    }

    /// Each of another chat: side by side, as the Dispatcher handles chats.
    async fn handle_all(&self, claimed: Vec<InboundUpdate>) {
        let mut tasks = JoinSet::new();
        for update in claimed {
            let (handler, deps) = (Arc::clone(&self.handler), self.deps.clone());
            let (store, clock) = (self.store.clone(), Arc::clone(&self.clock));
            tasks.spawn(async move {
                let update_id = update.update_id;
                handle(handler, deps, update).await;
                let now_ms = clock.now().timestamp_millis();
                if let Err(e) = store.finish_inbound(update_id, now_ms).await {
                    // Handled again once the claim expires: at least once.
                    tracing::error!(
                        update_id,
                        error = format!("{e:#}"),
                        "cannot mark a webhook update handled"
                    );
                }
            });
        }
        while tasks.join_next().await.is_some() {}
    }
}

/// One update through the handler tree, as teloxide's Dispatcher runs it: a
/// failure is logged (the user got an answer where possible), an update no
/// branch takes is logged too. A panic or a timeout gives it up: it is not
/// tried again and again.
async fn handle(
    handler: Arc<UpdateHandler<BotError>>,
    mut deps: dptree::di::DependencyMap,
    inbound: InboundUpdate,
) {
    let update_id = inbound.update_id;
    let update: Update = match serde_json::from_str(&inbound.body) {
        Ok(update) => update,
        Err(e) => {
            tracing::error!(update_id, error = %e, "a recorded update no longer parses");
            return;
        }
    };
    deps.insert(update);
    let mut task = tokio::spawn(async move { handler.dispatch(deps).await });
    match tokio::time::timeout(HANDLE_TIMEOUT, &mut task).await {
        Ok(Ok(ControlFlow::Break(Ok(())))) => {}
        Ok(Ok(ControlFlow::Break(Err(error)))) => {
            tracing::error!(update_id, error = %redact_url(&error.to_string()), "bot handler failed");
        }
        Ok(Ok(ControlFlow::Continue(_))) => {
            tracing::debug!(update_id, "an update no handler takes");
        }
        Ok(Err(e)) => tracing::error!(update_id, error = %e, "bot handler panicked"),
        Err(_) => {
            task.abort();
            tracing::error!(
                update_id,
                timeout_s = HANDLE_TIMEOUT.as_secs(),
                "bot handler took too long: given up"
            );
        }
    }
}
