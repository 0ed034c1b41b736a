//! teloxide's dialogue `Storage` over our SQLite store, so dialogue states
//! live in the same file and survive restarts. SQL stays in `store`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use teloxide::dispatching::dialogue::Storage;
use teloxide::types::ChatId;

use super::state::State;
use crate::store::Store;

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

pub struct SqlDialogues {
    store: Store,
}

impl SqlDialogues {
    pub fn new(store: Store) -> Arc<Self> {
        Arc::new(Self { store })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DialogueError {
    #[error("dialogue storage: {0:#}")]
    Store(#[from] anyhow::Error),
    #[error("dialogue state is unreadable: {0}")]
    Json(#[from] serde_json::Error),
}

impl Storage<State> for SqlDialogues {
    type Error = DialogueError;

    fn remove_dialogue(self: Arc<Self>, chat_id: ChatId) -> BoxFuture<Result<(), DialogueError>> {
        Box::pin(async move { Ok(self.store.delete_dialogue(chat_id.0).await?) })
    }

    fn update_dialogue(
        self: Arc<Self>,
        chat_id: ChatId,
        dialogue: State,
    ) -> BoxFuture<Result<(), DialogueError>> {
        Box::pin(async move {
            // The idle state is the absence of a row: nothing to keep.
            if dialogue == State::Idle {
                return Ok(self.store.delete_dialogue(chat_id.0).await?);
            }
            let json = serde_json::to_string(&dialogue)?;
            Ok(self.store.save_dialogue(chat_id.0, &json).await?)
        })
    }

    fn get_dialogue(
        self: Arc<Self>,
        chat_id: ChatId,
    ) -> BoxFuture<Result<Option<State>, DialogueError>> {
        Box::pin(async move {
            let Some(json) = self.store.dialogue(chat_id.0).await? else {
                return Ok(None);
            };
            // A state written by an older version that no longer parses
            // restarts the dialogue instead of wedging the chat.
            match serde_json::from_str(&json) {
                Ok(state) => Ok(Some(state)),
                Err(e) => {
                    tracing::warn!(chat_id = chat_id.0, error = %e, "dropping an unreadable dialogue state");
                    Ok(None)
                }
            }
        })
    }
}
