//! The conversational side: teloxide's Dispatcher over long polling, a dptree
//! handler tree, dialogue states in SQLite. Handlers take a plain `Bot`, so
//! tests drive the very same tree with `teloxide_tests::MockBot`.

mod ahead;
mod args;
mod buttons;
mod callbacks;
mod commands;
mod digest;
mod forecast;
mod guided;
mod list;
mod membership;
mod quiet;
mod register;
mod reply;
mod settings;
mod sla;
mod sla_budget;
mod sla_chart;
mod state;
mod storage;
mod subscribe;
mod weather_now;

use std::sync::Arc;
use std::time::Duration;

use teloxide::dispatching::UpdateHandler;
use teloxide::dispatching::dialogue::{Dialogue, ErasedStorage, Storage};
use teloxide::dptree::case;
use teloxide::error_handlers::ErrorHandler;
use teloxide::prelude::*;
use teloxide::types::BotCommand;
use teloxide::update_listeners::Polling;
use teloxide::{ApiError, RequestError};

pub use args::{SubscribeArgs, parse_subscribe, tokens};
pub use buttons::alert_keyboard;
pub use commands::Command;
pub use reply::Replier;
pub use state::{Limits, PlaceChoice, State};
pub use storage::SqlDialogues;

use crate::accounts::Accounts;
use crate::secret::redact_url;
use crate::shutdown::ShutdownListener;
use crate::store::Store;
use crate::subscribe::Subscriber;
use crate::text::{COMMANDS, Language};
use crate::weather::WeatherProvider;

pub type BotError = Box<dyn std::error::Error + Send + Sync>;
pub type HandlerResult = Result<(), BotError>;
pub type DialogueStorage = ErasedStorage<State>;
pub type MyDialogue = Dialogue<State, DialogueStorage>;

/// Everything the handlers need, injected by dptree.
#[derive(Clone)]
pub struct BotContext {
    pub store: Store,
    pub accounts: Accounts,
    pub subscriber: Subscriber,
    pub provider: Arc<dyn WeatherProvider>,
    /// Stored forecast series (`/weather`, `/forecast`): no upstream call
    /// while a place's series is fresh.
    pub forecasts: crate::forecasts::Forecasts,
    pub admin_chats: Arc<Vec<i64>>,
    pub sla: crate::sla::SlaService,
    /// Paces every reply, shared with the notifier ([`crate::notifier::SendPace::telegram`]
    /// in the application; tests not about pacing may use
    /// [`crate::notifier::SendPace::unpaced`]).
    pub pace: crate::notifier::SendPace,
    /// The time handlers show and schedule from (snoozes, local times).
    pub clock: crate::clock::SharedClock,
}

impl BotContext {
    pub fn is_admin(&self, chat: ChatId) -> bool {
        self.admin_chats.contains(&chat.0)
    }

    /// The dialogue storage over this context's store.
    pub fn dialogues(&self) -> Arc<DialogueStorage> {
        SqlDialogues::new(self.store.clone()).erase()
    }
}

/// The handler tree, which is also the conversation's shape. Per message:
/// a supergroup migration, or a command for another bot, before anything
/// else; then commands, which work in every state (all but /help and
/// /cancel leave the dialogue); then a shared location; then the typed
/// answer to the question the dialogue is waiting on, one branch per state;
/// then the hints for whatever is left.
pub fn schema() -> UpdateHandler<BotError> {
    let messages = Update::filter_message()
        // A group that became a supergroup moves, before any dialogue.
        .branch(
            dptree::filter(|m: Message| membership::migration(&m).is_some())
                .endpoint(membership::on_migration),
        )
        // In a group, `/help@otherbot` is for another bot: not a word from us.
        .branch(
            dptree::filter(|m: Message, me: teloxide::types::Me| {
                addressed_to_another_bot(m.text().unwrap_or_default(), me.username())
            })
            .endpoint(|| async { Ok(()) }),
        )
        .enter_dialogue::<Message, DialogueStorage, State>()
        .map_async(reply::for_message)
        .branch(commands())
        // A shared location names the place, idle or when asked for a city.
        .branch(
            dptree::filter(|m: Message, s: State| {
                m.location().is_some() && matches!(s, State::Idle | State::SubscribeCity)
            })
            .endpoint(subscribe::on_location),
        )
        .branch(answers())
        // Not text (a photo, a location) while a question waits for text.
        .branch(
            dptree::filter(|m: Message, s: State| m.text().is_none() && s != State::Idle)
                .endpoint(commands::send_text),
        )
        // Text while idle, an unknown /command (it keeps the dialogue), a
        // sticker while idle.
        .branch(dptree::endpoint(commands::unknown));
    let callbacks = Update::filter_callback_query()
        .enter_dialogue::<CallbackQuery, DialogueStorage, State>()
        .endpoint(callbacks::handle);
    let membership = Update::filter_my_chat_member().endpoint(membership::handle);
    dptree::entry()
        .branch(messages)
        .branch(callbacks)
        .branch(membership)
}

/// Commands. `/sla` is entered only from an admin chat
/// (`BotContext::admin_chats`); anyone else's `/sla` falls through to
/// [`commands::handle`], which refuses it.
fn commands() -> UpdateHandler<BotError> {
    teloxide::filter_command::<Command, _>()
        .branch(
            dptree::filter(|m: Message, ctx: BotContext| ctx.is_admin(m.chat.id))
                .branch(case![Command::Sla(args)].endpoint(commands::sla)),
        )
        .branch(dptree::endpoint(commands::handle))
}

/// A typed answer (text that is not a /command) to the question the
/// dialogue is waiting on: one branch per state. `Idle` waits for nothing.
fn answers() -> UpdateHandler<BotError> {
    dptree::filter_map(Answer::of)
        .branch(case![State::RegisterUsername { suggestion }].endpoint(register::typed_username))
        .branch(case![State::RegisterPassword { username }].endpoint(register::on_password))
        .branch(case![State::SubscribeCity].endpoint(guided::typed_city))
        .branch(
            case![State::SubscribePlace {
                query,
                places,
                watch
            }]
            .endpoint(guided::typed_place),
        )
        .branch(case![State::SubscribeMin { place }].endpoint(guided::typed_min))
        .branch(case![State::SubscribeMax { place, min }].endpoint(guided::typed_max))
        .branch(case![State::SubscribeRain { place, min, max }].endpoint(guided::typed_rain))
        .branch(
            case![State::SubscribeSnow {
                place,
                min,
                max,
                rain
            }]
            .endpoint(guided::typed_snow),
        )
        .branch(case![State::SubscribeAhead { place, limits }].endpoint(guided::typed_ahead))
        .branch(case![State::SubscribeConfirm { place, limits }].endpoint(guided::typed_confirm))
}

/// The text of a message that answers a question: not a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer(pub String);

impl Answer {
    fn of(msg: Message) -> Option<Self> {
        msg.text()
            .filter(|text| !text.starts_with('/'))
            .map(|text| Self(text.to_owned()))
    }
}

/// Whether `text` is a command addressed to a bot other than `ours`
/// (`/start@otherbot`); the mention is case-insensitive, as Telegram's.
pub fn addressed_to_another_bot(text: &str, ours: &str) -> bool {
    let Some(command) = text.strip_prefix('/') else {
        return false;
    };
    let first = command.split_whitespace().next().unwrap_or_default();
    match first.split_once('@') {
        Some((_, mention)) => !mention.eq_ignore_ascii_case(ours),
        None => false,
    }
}

/// Registers the command menu in English (default) and Italian.
pub async fn set_commands(bot: &Bot) -> Result<(), RequestError> {
    for lang in [Language::En, Language::It] {
        let commands: Vec<BotCommand> = COMMANDS
            .iter()
            .filter(|c| !c.admin)
            .map(|c| BotCommand::new(c.name, c.description(lang)))
            .collect();
        let request = bot.set_my_commands(commands);
        match lang {
            Language::En => request.await?,
            Language::It => request.language_code("it").await?,
        };
    }
    Ok(())
}

/// Long polling until shutdown. While Telegram cannot be reached the start is
/// retried with backoff (the admin port keeps serving meanwhile).
pub async fn run(
    bot: Bot,
    ctx: BotContext,
    conflict: PollConflict,
    mut shutdown: ShutdownListener,
) {
    let mut delay = Duration::from_secs(1);
    loop {
        if shutdown.is_stopped() {
            break;
        }
        match bot.get_me().await {
            Ok(me) => {
                tracing::info!(bot = %me.username(), "connected to Telegram");
                break;
            }
            Err(e) => {
                log_request_error("cannot reach Telegram; retrying", &e, delay);
                tokio::select! {
                    _ = shutdown.stopped() => return,
                    _ = tokio::time::sleep(delay) => {}
                }
                delay = (delay * 2).min(Duration::from_secs(60));
            }
        }
    }
    if let Err(e) = set_commands(&bot).await {
        log_request_error("could not set the command menu", &e, Duration::ZERO);
    }
    let bot = long_poll_bot(&bot);
    let storage = ctx.dialogues();
    let mut dispatcher = Dispatcher::builder(bot.clone(), schema())
        .dependencies(dptree::deps![ctx, storage])
        .error_handler(Arc::new(LogHandlerError))
        .build();
    let token = dispatcher.shutdown_token();
    let forward = tokio::spawn(async move {
        shutdown.stopped().await;
        // The dispatcher may not have started yet: retry until it takes.
        loop {
            match token.shutdown() {
                Ok(done) => {
                    done.await;
                    break;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    });
    let listener = Polling::builder(bot)
        .timeout(LONG_POLL)
        .backoff_strategy(|attempt| Duration::from_secs(1 << attempt.min(6)))
        .build();
    if let Err(e) = dispatcher
        .try_dispatch_with_listener(listener, Arc::new(LogPollingError { conflict }))
        .await
    {
        log_request_error("the dispatcher stopped", &e, Duration::ZERO);
    }
    // The dispatcher is done either way: nothing left to forward shutdown to.
    forward.abort();
    tracing::info!("bot stopped");
}

/// How long one getUpdates may wait for an update at Telegram.
pub const LONG_POLL: Duration = Duration::from_secs(25);
/// The dispatcher's HTTP timeout: teloxide's default client gives up after
/// 17 s, which would cut every idle long poll short into an error and a
/// growing backoff (up to a minute before a user's message is read).
const LONG_POLL_CLIENT_TIMEOUT: Duration = Duration::from_secs(35);
const _: () = assert!(LONG_POLL.as_secs() + 5 <= LONG_POLL_CLIENT_TIMEOUT.as_secs());

/// `bot` with a client that outlasts a long poll (same token and API URL).
fn long_poll_bot(bot: &Bot) -> Bot {
    match teloxide::net::default_reqwest_settings()
        .timeout(LONG_POLL_CLIENT_TIMEOUT)
        .build()
    {
        Ok(client) => Bot::with_client(bot.token(), client).set_api_url(bot.api_url()),
        Err(e) => {
            // Only a broken TLS setup gets here: poll with the default
            // client rather than not at all.
            tracing::error!(error = %e, "cannot build the long-poll HTTP client");
            bot.clone()
        }
    }
}

fn log_request_error(what: &str, err: &RequestError, retry_in: Duration) {
    let error = redact_url(&err.to_string());
    if matches!(
        err,
        RequestError::Api(ApiError::TerminatedByOtherGetUpdates)
    ) {
        tracing::error!(
            error,
            "another process is polling this bot (409 Conflict): run one instance per token"
        );
    } else if matches!(err, RequestError::Api(ApiError::InvalidToken)) {
        tracing::error!("Telegram rejected TELOXIDE_TOKEN: check the token from @BotFather");
    } else {
        tracing::warn!(error, retry_in_s = retry_in.as_secs(), "{what}");
    }
}

/// When getUpdates last answered 409 Conflict: another process polls the
/// same token, so this one receives only some of the updates (or none). The
/// listener keeps retrying with backoff (at most 64 s apart), so while the
/// other process runs a conflict is seen again within [`Self::WINDOW`]; once
/// it stops, the problem ages out and readiness returns by itself.
#[derive(Clone, Default)]
pub struct PollConflict(Arc<std::sync::Mutex<Option<tokio::time::Instant>>>);

impl PollConflict {
    /// Longer than the listener's longest backoff plus one long poll.
    pub const WINDOW: Duration = Duration::from_secs(120);

    pub fn record(&self) {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(tokio::time::Instant::now());
    }

    /// The readiness problem while a conflict is recent.
    pub fn problem(&self) -> Option<String> {
        let last = (*self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner))?;
        (last.elapsed() <= Self::WINDOW).then(|| {
            "another process is polling this bot (409 Conflict): run one instance per token"
                .to_owned()
        })
    }
}

/// getUpdates failures: the listener retries with backoff by itself.
struct LogPollingError {
    conflict: PollConflict,
}

impl ErrorHandler<RequestError> for LogPollingError {
    fn handle_error(self: Arc<Self>, error: RequestError) -> futures_boxed::BoxFuture<'static, ()> {
        if matches!(
            error,
            RequestError::Api(ApiError::TerminatedByOtherGetUpdates)
        ) {
            self.conflict.record();
        }
        Box::pin(
            async move { log_request_error("polling Telegram failed", &error, Duration::ZERO) },
        )
    }
}

/// A handler that failed (its user already got an answer where possible).
struct LogHandlerError;

impl ErrorHandler<BotError> for LogHandlerError {
    fn handle_error(self: Arc<Self>, error: BotError) -> futures_boxed::BoxFuture<'static, ()> {
        Box::pin(async move {
            tracing::error!(error = %redact_url(&error.to_string()), "bot handler failed");
        })
    }
}

/// teloxide's `BoxFuture`, spelled without the `futures` crate.
mod futures_boxed {
    pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{PollConflict, addressed_to_another_bot};

    #[tokio::test(start_paused = true)]
    async fn a_poll_conflict_is_a_problem_until_it_ages_out() {
        let conflict = PollConflict::default();
        assert_eq!(conflict.problem(), None);
        conflict.record();
        assert!(conflict.problem().unwrap().contains("409 Conflict"));
        tokio::time::advance(PollConflict::WINDOW).await;
        assert!(conflict.problem().is_some(), "still within the window");
        conflict.record();
        tokio::time::advance(PollConflict::WINDOW - Duration::from_secs(1)).await;
        assert!(conflict.problem().is_some(), "a new conflict restarts it");
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(conflict.problem(), None);
    }

    #[test]
    fn commands_for_other_bots_are_recognised() {
        assert!(addressed_to_another_bot("/help@otherbot", "meteo_bot"));
        assert!(addressed_to_another_bot(
            "/subscribe@OtherBot Rome 5 30",
            "meteo_bot"
        ));
        assert!(!addressed_to_another_bot("/help@Meteo_Bot", "meteo_bot"));
        assert!(!addressed_to_another_bot("/help", "meteo_bot"));
        assert!(!addressed_to_another_bot("hello @otherbot", "meteo_bot"));
        assert!(!addressed_to_another_bot(
            "/weather Rome @home",
            "meteo_bot"
        ));
    }
}
