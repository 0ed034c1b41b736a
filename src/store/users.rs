//! Accounts.

use anyhow::Context;

use super::{Store, WriteError, conflict_or, now_unix};
use crate::domain::{ChatId, Username};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub password_hash: String,
    pub chat_id: i64,
    pub created_at: i64,
}

pub struct NewUser<'a> {
    pub username: &'a Username,
    pub password_hash: &'a str,
    pub chat_id: ChatId,
}

impl Store {
    pub async fn insert_user(&self, new: NewUser<'_>) -> Result<User, WriteError> {
        let result = sqlx::query_as::<_, User>(
            "INSERT INTO users (username, password_hash, chat_id, created_at)
             VALUES (?, ?, ?, ?)
             RETURNING id, username, password_hash, chat_id, created_at",
        )
        .bind(new.username.as_str())
        .bind(new.password_hash)
        .bind(new.chat_id.get())
        .bind(now_unix())
        .fetch_one(&self.pool)
        .await;
        result.map_err(|e| {
            let what = match &e {
                sqlx::Error::Database(db) if db.message().contains("chat_id") => {
                    "this Telegram chat id"
                }
                _ => "this username",
            };
            conflict_or(e, what, "inserting a user")
        })
    }

    pub async fn user_by_name(&self, username: &str) -> anyhow::Result<Option<User>> {
        sqlx::query_as::<_, User>(
            "SELECT id, username, password_hash, chat_id, created_at FROM users WHERE username = ?",
        )
        .bind(username)
        .fetch_optional(&self.pool)
        .await
        .context("looking up a user by name")
    }

    pub async fn user_by_id(&self, id: i64) -> anyhow::Result<Option<User>> {
        sqlx::query_as::<_, User>(
            "SELECT id, username, password_hash, chat_id, created_at FROM users WHERE id = ?",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .context("looking up a user by id")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::temp_store;

    #[tokio::test]
    async fn names_and_chats_are_unique() {
        let (store, _dir) = temp_store().await;
        let name = Username::parse("'; DROP TABLE users; --").unwrap();
        let user = store
            .insert_user(NewUser {
                username: &name,
                password_hash: "h",
                chat_id: ChatId::new(1).unwrap(),
            })
            .await
            .unwrap();
        assert_eq!(user.username, name.as_str());
        assert_eq!(
            store.user_by_name(name.as_str()).await.unwrap(),
            Some(user.clone())
        );
        assert_eq!(store.user_by_id(user.id).await.unwrap(), Some(user));

        let again = store
            .insert_user(NewUser {
                username: &name,
                password_hash: "h",
                chat_id: ChatId::new(2).unwrap(),
            })
            .await;
        assert!(matches!(again, Err(WriteError::Conflict("this username"))));
        let other = Username::parse("other").unwrap();
        let same_chat = store
            .insert_user(NewUser {
                username: &other,
                password_hash: "h",
                chat_id: ChatId::new(1).unwrap(),
            })
            .await;
        assert!(matches!(
            same_chat,
            Err(WriteError::Conflict("this Telegram chat id"))
        ));
    }
}
