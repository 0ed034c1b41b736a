//! Telegram's limits across replicas: the shared start slots of sends.
//!
//! Why a slot row and not a token bucket or an advisory lock held while
//! sending: a send takes 20–500 ms and several are in flight at once, so
//! nothing may be held for its duration; what must be shared is only *when
//! the next send may start*. Each sender reserves `n` consecutive slots
//! `spacing` apart in one statement (a batch of the notifier, or one reply)
//! and waits for them; the row's lock serialises reservations, so the starts
//! of all replicas together are `spacing` apart (34 ms: 29.4/s). A reserved
//! slot its sender does not use is lost, never lent: the rate only errs low.

use anyhow::Context;

use super::{Engine, Pool, Store};

/// The transaction-level advisory lock that orders send starts on
/// PostgreSQL ("sendslot"): not the store's write lock, which a poll's
/// transaction may hold for a second.
const PG_SEND_LOCK: i64 = 0x7365_6e64_736c_6f74;
/// Starts whose last moment is older than this are deleted as new ones are
/// recorded.
const KEEP_STARTS_MS: i64 = 60_000;
/// How long a send counts as in flight until its answer is recorded: past
/// the Bot API client's timeout (17 s) and the notifier's half claim (30 s),
/// so an answer never comes later; a replica that died mid-send holds its
/// place in the window this long.
const IN_FLIGHT_MS: i64 = 30_000;

/// A reservation further ahead than this is a clock that jumped (or a
/// replica's clock far ahead): the slots restart from now instead of making
/// every sender wait for it. No sender reserves beyond its claim (a minute).
const MAX_AHEAD_MS: i64 = 10 * 60_000;

impl Store {
    /// Reserves `n` start slots `spacing_ms` apart at or after `now_ms` (unix
    /// ms) and returns the first; the others follow it. Only when the first
    /// is at most `horizon_ms` ahead: otherwise nothing is reserved and
    /// `Err` is when the next free slot is (the queue of reservations never
    /// grows past what its senders can start). Slots do not accumulate while
    /// idle: a quiet minute never turns into a burst.
    pub async fn reserve_send_slots(
        &self,
        now_ms: i64,
        spacing_ms: i64,
        n: u32,
        horizon_ms: i64,
    ) -> anyhow::Result<Result<i64, i64>> {
        let span = spacing_ms.saturating_mul(i64::from(n));
        with_pool!(self, |pool| {
            let sql = format!(
                "UPDATE send_slots SET next_ms =
                     CASE WHEN next_ms > $1 + $3 THEN $1 ELSE {}(next_ms, $1) END + $2
                 WHERE id = 1 AND (next_ms > $1 + $3 OR next_ms <= $1 + $4)
                 RETURNING next_ms",
                pool.dialect().greatest()
            );
            // All rows: the statement has run to its end (see users.rs).
            let next: Vec<i64> = sqlx::query_scalar(&sql)
                .bind(now_ms)
                .bind(span)
                .bind(MAX_AHEAD_MS)
                .bind(horizon_ms)
                .fetch_all(pool)
                .await
                .context("reserving send slots")?;
            if let Some(next) = next.first() {
                return Ok(Ok(next - span));
            }
            let free: i64 = sqlx::query_scalar("SELECT next_ms FROM send_slots WHERE id = 1")
                .fetch_one(pool)
                .await
                .context("reading the next free send slot")?;
            Ok(Err(free))
        })
    }
    /// Records that a send starts now (`now()`, unix ms, read once the
    /// transaction holds the lock) and returns its id for
    /// [`Self::send_answered`], unless `max` sends of any replica may arrive
    /// at Telegram within the `window_ms` before now, or one started less
    /// than `min_gap_ms` ago; then `Err` is when there is room again.
    ///
    /// A send may arrive any time between its start and its answer, so the
    /// window counts the sends answered within it and those still in flight
    /// (not only those *started* within it): a request delayed on its way —
    /// a process just started, a busy host — arrives bunched with the next
    /// ones, and counting by start let 31 arrive in one second. The check
    /// and the record are one serialised transaction, so two replicas cannot
    /// both take the last place. The time is read after the lock, not
    /// before: senders that queued for it would otherwise all be recorded at
    /// the moment they asked and sent together.
    pub async fn try_start_send(
        &self,
        now: impl Fn() -> i64,
        window_ms: i64,
        max: u32,
        min_gap_ms: i64,
    ) -> anyhow::Result<Result<i64, i64>> {
        macro_rules! take {
            ($tx:ident) => {{
                let now_ms = now();
                // Newest last moments first: the max-th is the one whose
                // leaving makes room.
                let recent: Vec<i64> = sqlx::query_scalar(
                    "SELECT until_ms FROM send_starts WHERE until_ms > $1 - $2
                     ORDER BY until_ms DESC LIMIT $3",
                )
                .bind(now_ms)
                .bind(window_ms)
                .bind(i64::from(max))
                .fetch_all(&mut *$tx)
                .await
                .context("reading recent send starts")?;
                if max == 0 || recent.len() >= max as usize {
                    let oldest = recent.last().copied().unwrap_or(now_ms);
                    return Ok(Err(oldest + window_ms));
                }
                // Starts bunched by replicas that asked at the same moment
                // arrive bunched, and a late one then tips a second over.
                let latest: Option<i64> = sqlx::query_scalar("SELECT MAX(at_ms) FROM send_starts")
                    .fetch_one(&mut *$tx)
                    .await
                    .context("reading the last send start")?;
                if let Some(latest) = latest
                    && latest > now_ms - min_gap_ms
                {
                    return Ok(Err(latest + min_gap_ms));
                }
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO send_starts (at_ms, until_ms) VALUES ($1, $2) RETURNING id",
                )
                .bind(now_ms)
                .bind(now_ms.saturating_add(IN_FLIGHT_MS))
                .fetch_one(&mut *$tx)
                .await
                .context("recording a send start")?;
                sqlx::query("DELETE FROM send_starts WHERE until_ms < $1")
                    .bind(now_ms - KEEP_STARTS_MS)
                    .execute(&mut *$tx)
                    .await
                    .context("pruning send starts")?;
                $tx.commit().await.context("send start: commit")?;
                Ok(Ok(id))
            }};
        }
        match &self.pool {
            Pool::Sqlite(pool) => {
                let mut tx = pool.begin_write().await.context("send start: begin")?;
                take!(tx)
            }
            Pool::Postgres(pool) => {
                let mut tx = pool.begin().await.context("send start: begin")?;
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(PG_SEND_LOCK)
                    .execute(&mut *tx)
                    .await
                    .context("send start: lock")?;
                take!(tx)
            }
        }
    }

    /// The send `id` ([`Self::try_start_send`]) was answered at `at_ms`: it
    /// arrived by then, and leaves the window a second after. Unrecorded (a
    /// store hiccup), it counts until its in-flight bound: only the rate errs
    /// low.
    pub async fn send_answered(&self, id: i64, at_ms: i64) -> anyhow::Result<()> {
        with_pool!(self, |pool| {
            sqlx::query("UPDATE send_starts SET until_ms = $2 WHERE id = $1 AND until_ms > $2")
                .bind(id)
                .bind(at_ms)
                .execute(pool)
                .await
                .context("recording a send's answer")?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::store::test_support::temp_store;

    #[tokio::test]
    async fn slots_follow_each_other_and_do_not_accumulate() {
        let (store, _dir) = temp_store().await;
        let reserve = |now, n, horizon| {
            let store = store.clone();
            async move { store.reserve_send_slots(now, 34, n, horizon).await.unwrap() }
        };
        assert_eq!(reserve(1_000, 3, 500).await, Ok(1_000));
        // The next sender starts after those three, whoever it is.
        assert_eq!(reserve(1_010, 1, 500).await, Ok(1_102));
        assert_eq!(reserve(1_010, 2, 500).await, Ok(1_136));
        // Beyond the horizon: nothing reserved, the next free slot said.
        assert_eq!(reserve(1_010, 2, 100).await, Err(1_204));
        assert_eq!(reserve(1_010, 2, 200).await, Ok(1_204));
        // Idle for a while: the slots restart from now, no burst saved up.
        assert_eq!(reserve(60_000, 1, 0).await, Ok(60_000));
        // A clock that jumped back an hour does not make everyone wait.
        let back = 60_000 - 3_600_000;
        assert_eq!(reserve(back, 1, 0).await, Ok(back));
        assert_eq!(reserve(back, 1, 0).await, Err(back + 34));
        assert_eq!(reserve(back, 1, 34).await, Ok(back + 34));
    }

    #[tokio::test]
    async fn the_window_counts_every_send_that_may_arrive_in_it_even_when_racing() {
        let (store, _dir) = temp_store().await;
        let start = |at: i64, max: u32, gap: i64| {
            let store = store.clone();
            async move { store.try_start_send(|| at, 1_000, max, gap).await.unwrap() }
        };
        let mut ids = Vec::new();
        for at in [1_000, 1_010, 1_020] {
            ids.push(start(at, 3, 0).await.expect("room"));
        }
        // Answered 40 ms after starting, the last at 1,260 (a slow one): a
        // send counts until a second after it may have arrived.
        for (id, answered) in ids.iter().zip([1_040, 1_050, 1_260]) {
            store.send_answered(*id, answered).await.unwrap();
        }
        assert_eq!(start(1_500, 3, 0).await, Err(2_040));
        assert_eq!(start(2_041, 3, 0).await.map(|_| ()), Ok(()));
        // Two places left the window, one came: the slow one is still in it.
        assert_eq!(start(2_100, 3, 0).await.map(|_| ()), Ok(()));
        assert_eq!(start(2_150, 3, 0).await, Err(2_260));
        // A send never answered (its replica died mid-send) counts until its
        // in-flight bound.
        let (store2, _dir2) = temp_store().await;
        assert!(
            store2
                .try_start_send(|| 5_000, 1_000, 1, 0)
                .await
                .unwrap()
                .is_ok()
        );
        assert_eq!(
            store2.try_start_send(|| 9_000, 1_000, 1, 0).await.unwrap(),
            Err(5_000 + super::IN_FLIGHT_MS + 1_000)
        );
        // Never two starts closer than the gap, whoever asks.
        assert!(start(50_000, 3, 17).await.is_ok());
        assert_eq!(start(50_010, 3, 17).await, Err(50_017));
        assert!(start(50_017, 3, 17).await.is_ok());
        // Twenty senders racing for 5 places at one instant (long after the
        // others): 5 get one.
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(
                    async move { store.try_start_send(|| 200_000, 1_000, 5, 0).await.unwrap() },
                )
            })
            .collect();
        let mut started = 0;
        for task in tasks {
            started += usize::from(task.await.unwrap().is_ok());
        }
        assert_eq!(started, 5);
    }

    #[tokio::test]
    async fn concurrent_reservations_never_share_a_slot() {
        let (store, _dir) = temp_store().await;
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move {
                    store
                        .reserve_send_slots(5_000, 34, 2, 60_000)
                        .await
                        .unwrap()
                        .unwrap()
                })
            })
            .collect();
        let mut firsts = Vec::new();
        for task in tasks {
            firsts.push(task.await.unwrap());
        }
        firsts.sort_unstable();
        let expected: Vec<i64> = (0..20).map(|i| 5_000 + i * 68).collect();
        assert_eq!(firsts, expected);
    }
}
