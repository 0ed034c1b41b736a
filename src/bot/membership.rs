//! `my_chat_member` updates: the user blocked the bot → pause the chat's
//! subscriptions; unblocked (or re-added) → resume them.

use teloxide::types::{ChatMemberKind, ChatMemberUpdated};

use super::{BotContext, HandlerResult};

pub async fn handle(update: ChatMemberUpdated, ctx: BotContext) -> HandlerResult {
    let chat = update.chat.id.0;
    match &update.new_chat_member.kind {
        ChatMemberKind::Banned(_) | ChatMemberKind::Left => {
            ctx.store
                .deactivate_chat(chat, "the bot was blocked or removed from the chat")
                .await?;
            tracing::info!(chat_id = chat, "bot blocked: subscriptions paused");
        }
        ChatMemberKind::Member(_) | ChatMemberKind::Administrator(_) | ChatMemberKind::Owner(_) => {
            if ctx.store.reactivate_chat(chat).await? {
                tracing::info!(chat_id = chat, "bot unblocked: subscriptions resumed");
            }
        }
        ChatMemberKind::Restricted(_) => {}
    }
    Ok(())
}
