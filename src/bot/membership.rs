//! `my_chat_member` updates: the user blocked the bot → pause the chat's
//! subscriptions; unblocked (or re-added) → resume them. And a group that
//! became a supergroup: its chat moves to the new id.

use teloxide::types::{ChatMemberKind, ChatMemberUpdated, Message};

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

/// The old and new chat ids of a group → supergroup migration service
/// message: `migrate_to_chat_id` (posted in the old group) or
/// `migrate_from_chat_id` (posted in the new supergroup).
pub fn migration(msg: &Message) -> Option<(i64, i64)> {
    if let Some(to) = msg.migrate_to_chat_id() {
        return Some((msg.chat.id.0, to.0));
    }
    msg.migrate_from_chat_id()
        .map(|from| (from.0, msg.chat.id.0))
}

/// A group became a supergroup: move its subscriptions, preferences and
/// pending messages to the new id (both service messages may come; the
/// second finds nothing left to move). To be routed before the dialogue:
/// `dptree::filter(|m: Message| membership::migration(&m).is_some())
///     .endpoint(membership::on_migration)`.
pub async fn on_migration(msg: Message, ctx: BotContext) -> HandlerResult {
    let Some((from, to)) = migration(&msg) else {
        return Ok(());
    };
    if ctx.store.migrate_chat(from, to).await? {
        tracing::info!(
            chat_id = from,
            new_chat_id = to,
            "group became a supergroup: chat moved"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(chat: i64, field: &str, other: i64) -> Message {
        serde_json::from_value(serde_json::json!({
            "message_id": 1,
            "date": 0,
            "chat": { "id": chat, "type": "group", "title": "g" },
            "from": { "id": 5, "is_bot": false, "first_name": "A" },
            field: other,
        }))
        .expect("a service message")
    }

    #[test]
    fn both_migration_service_messages_name_old_and_new_ids() {
        let old = -4_001;
        let new = -1_009_001;
        assert_eq!(
            migration(&service(old, "migrate_to_chat_id", new)),
            Some((old, new))
        );
        assert_eq!(
            migration(&service(new, "migrate_from_chat_id", old)),
            Some((old, new))
        );
    }
}
