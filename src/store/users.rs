//! Accounts.

use anyhow::Context;

use super::{Store, WriteError, conflict_or, now_unix};
use crate::domain::{ChatId, Username, username_key};

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub password_hash: String,
    pub chat_id: i64,
    pub created_at: i64,
    /// The account's random id that its tokens carry ('' for accounts made
    /// before migration 0006). Queries that do not select it read ''.
    #[sqlx(default)]
    pub token_salt: String,
}

pub struct NewUser<'a> {
    pub username: &'a Username,
    pub password_hash: &'a str,
    pub chat_id: ChatId,
    pub token_salt: &'a str,
}

const USER_COLUMNS: &str = "id, username, password_hash, chat_id, created_at, token_salt";

impl Store {
    /// Stores a new account; returns it once committed. A name equal to an
    /// existing one up to case and NFKC, or a chat id already used, is a
    /// `Conflict`.
    pub async fn insert_user(&self, new: NewUser<'_>) -> Result<User, WriteError> {
        with_pool!(self, |pool| {
            let mut tx = pool
                .begin_write()
                .await
                .context("insert user: begin")
                .map_err(WriteError::Other)?;
            let result = sqlx::query_as::<_, User>(&format!(
            "INSERT INTO users (username, username_key, password_hash, chat_id, created_at, token_salt)
             VALUES ($1, $2, $3, $4, $5, $6)
             RETURNING {USER_COLUMNS}"
        ))
        .bind(new.username.as_str())
        .bind(new.username.key())
        .bind(new.password_hash)
        .bind(new.chat_id.get())
        .bind(now_unix())
        .bind(new.token_salt)
        // All rows: the statement has run to its end before the commit.
        .fetch_all(&mut *tx)
        .await;
            let user = result
                .map_err(|e| {
                    let what = match &e {
                        sqlx::Error::Database(db) if db.message().contains("chat_id") => {
                            "this Telegram chat id"
                        }
                        _ => "this username",
                    };
                    conflict_or(e, what, "inserting a user")
                })?
                .pop()
                .context("inserting a user returned no row")?;
            tx.commit()
                .await
                .context("insert user: commit")
                .map_err(WriteError::Other)?;
            Ok(user)
        })
    }

    /// The account whose name is `username` up to case and NFKC (or, for an
    /// account older than migration 0006 whose key could not be built in SQL,
    /// exactly `username`).
    pub async fn user_by_name(&self, username: &str) -> anyhow::Result<Option<User>> {
        with_pool!(self, |pool| {
            sqlx::query_as::<_, User>(&format!(
                "SELECT {USER_COLUMNS} FROM users WHERE username_key = $1 OR username = $2
             ORDER BY username_key = $3 DESC LIMIT 1"
            ))
            .bind(username_key(username))
            .bind(username.trim())
            .bind(username_key(username))
            .fetch_optional(pool)
            .await
            .context("looking up a user by name")
        })
    }

    pub async fn user_by_id(&self, id: i64) -> anyhow::Result<Option<User>> {
        with_pool!(self, |pool| {
            sqlx::query_as::<_, User>(&format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1"))
                .bind(id)
                .fetch_optional(pool)
                .await
                .context("looking up a user by id")
        })
    }

    /// Deletes an account; its id may be given to the next account.
    pub async fn delete_user(&self, id: i64) -> anyhow::Result<bool> {
        with_pool!(self, |pool| {
            let done = sqlx::query("DELETE FROM users WHERE id = $1")
                .bind(id)
                .execute(pool)
                .await
                .context("deleting a user")?;
            Ok(done.rows_affected() > 0)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::temp_store;

    fn new_user<'a>(name: &'a Username, chat: i64) -> NewUser<'a> {
        NewUser {
            username: name,
            password_hash: "h",
            chat_id: ChatId::new(chat).unwrap(),
            token_salt: "salt",
        }
    }

    #[tokio::test]
    async fn names_and_chats_are_unique() {
        let (store, _dir) = temp_store().await;
        let name = Username::parse("'; DROP TABLE users; --").unwrap();
        let user = store.insert_user(new_user(&name, 1)).await.unwrap();
        assert_eq!(user.username, name.as_str());
        assert_eq!(user.token_salt, "salt");
        assert_eq!(
            store.user_by_name(name.as_str()).await.unwrap(),
            Some(user.clone())
        );
        assert_eq!(store.user_by_id(user.id).await.unwrap(), Some(user));

        let again = store.insert_user(new_user(&name, 2)).await;
        assert!(matches!(again, Err(WriteError::Conflict("this username"))));
        let other = Username::parse("other").unwrap();
        let same_chat = store.insert_user(new_user(&other, 1)).await;
        assert!(matches!(
            same_chat,
            Err(WriteError::Conflict("this Telegram chat id"))
        ));
    }

    #[tokio::test]
    async fn names_are_unique_up_to_case_and_nfkc() {
        let (store, _dir) = temp_store().await;
        let ada = Username::parse("Ada").unwrap();
        let user = store.insert_user(new_user(&ada, 1)).await.unwrap();
        for twin in ["ada", "ADA", "Ａｄａ"] {
            let twin = Username::parse(twin).unwrap();
            assert!(matches!(
                store.insert_user(new_user(&twin, 2)).await,
                Err(WriteError::Conflict("this username"))
            ));
        }
        assert_eq!(
            store.user_by_name(" aDA ").await.unwrap(),
            Some(user.clone())
        );
        assert_eq!(
            store.user_by_name("ａｄａ").await.unwrap(),
            Some(user.clone())
        );
        assert!(store.delete_user(user.id).await.unwrap());
        assert_eq!(store.user_by_name("ada").await.unwrap(), None);
    }
}
