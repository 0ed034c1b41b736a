-- Accounts (issue 9).
--
-- username_key: the name as compared (NFKC, lower case), unique, so `Ada`,
-- `ada` and `ａｄａ` are one account. Existing rows get SQLite's lower()
-- (ASCII case only; NFKC has no SQL form): the oldest of any case-duplicates
-- keeps the plain key, later ones get `#id` appended so the index can be
-- built (they can still log in with their exact name, see store/users.rs).
--
-- token_salt: a random per-account id that every token carries and every
-- request checks, so an account id reused after a deletion cannot inherit
-- the old account's tokens. Existing accounts keep '' (their tokens carry
-- none), new accounts get 128 random bits.
ALTER TABLE users ADD COLUMN username_key TEXT;
ALTER TABLE users ADD COLUMN token_salt TEXT NOT NULL DEFAULT '';

UPDATE users SET username_key = lower(trim(username))
 WHERE id IN (SELECT min(id) FROM users GROUP BY lower(trim(username)));
UPDATE users SET username_key = lower(trim(username)) || '#' || id
 WHERE username_key IS NULL;

CREATE UNIQUE INDEX users_by_key ON users (username_key);
