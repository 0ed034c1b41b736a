//! Per-client rate limits on the routes that cost the most: `/login` and
//! `/register` (a password hash each) and `/cityevents` (a geocoding call
//! upstream). GCRA from the `governor` crate, keyed by the peer's address —
//! an IPv4 address, or the /64 prefix of an IPv6 one (what one host
//! usually gets). A client over its quota gets 429 with `Retry-After` and
//! the usual JSON body, before its body is read.
//!
//! The keyed state is bounded: every [`SWEEP_EVERY`] checks, keys whose
//! bucket is full again are dropped; if more than [`MAX_CLIENTS`] are still
//! tracked, the limiter starts afresh (a flood of addresses only buys each
//! of them its burst again, never unbounded memory).

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use super::error::ApiError;

/// A quota: `burst` requests at once, then one more every `every`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub burst: u32,
    pub every: Duration,
}

/// `/login`: 10 at once, then one every 6 s (10 a minute).
pub const LOGIN: Limit = Limit {
    burst: 10,
    every: Duration::from_secs(6),
};
/// `/register`: 10 at once, then one a minute.
pub const REGISTER: Limit = Limit {
    burst: 10,
    every: Duration::from_secs(60),
};
/// `/cityevents`: 30 at once (more than the 20 subscriptions a chat may
/// have), then one every 2 s.
pub const CITY_EVENTS: Limit = Limit {
    burst: 30,
    every: Duration::from_secs(2),
};

/// Checks between two sweeps of idle clients.
pub const SWEEP_EVERY: u64 = 1024;
/// Clients tracked per limiter at most (≈ 100 bytes each).
pub const MAX_CLIENTS: usize = 100_000;

type Keyed = RateLimiter<IpAddr, DefaultKeyedStateStore<IpAddr>, DefaultClock>;

/// One route group's limiter; clones share it (the bare path and the
/// gateway-prefixed one count together).
#[derive(Clone)]
pub struct RateLimit {
    inner: Arc<Inner>,
}

struct Inner {
    name: &'static str,
    quota: Quota,
    limiter: RwLock<Arc<Keyed>>,
    checks: AtomicU64,
}

impl RateLimit {
    pub fn new(name: &'static str, limit: Limit) -> Self {
        let burst = NonZeroU32::new(limit.burst.max(1)).expect("at least 1");
        let quota = Quota::with_period(limit.every.max(Duration::from_millis(1)))
            .expect("a positive period")
            .allow_burst(burst);
        Self {
            inner: Arc::new(Inner {
                name,
                quota,
                limiter: RwLock::new(Arc::new(Keyed::dashmap(quota))),
                checks: AtomicU64::new(0),
            }),
        }
    }

    /// `Err(wait)` when `peer` is over its quota.
    pub fn check(&self, peer: IpAddr) -> Result<(), Duration> {
        let limiter = self.limiter();
        let result = limiter
            .check_key(&client_key(peer))
            .map_err(|not_until| not_until.wait_time_from(limiter.clock().now()));
        if self.inner.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.sweep();
        }
        result
    }

    /// Clients currently tracked.
    pub fn tracked(&self) -> usize {
        self.limiter().len()
    }

    /// Drops idle clients; starts afresh when still over [`MAX_CLIENTS`].
    pub fn sweep(&self) {
        let limiter = self.limiter();
        limiter.retain_recent();
        limiter.shrink_to_fit();
        if limiter.len() > MAX_CLIENTS {
            tracing::warn!(
                limiter = self.inner.name,
                clients = limiter.len(),
                "rate limiter tracks too many clients; starting afresh"
            );
            *self
                .inner
                .limiter
                .write()
                .unwrap_or_else(|e| e.into_inner()) = Arc::new(Keyed::dashmap(self.inner.quota));
        }
    }

    fn limiter(&self) -> Arc<Keyed> {
        Arc::clone(&self.inner.limiter.read().unwrap_or_else(|e| e.into_inner()))
    }
}

/// What one client is: its IPv4 address (IPv4-mapped ones too), or the /64
/// of its IPv6 address.
fn client_key(peer: IpAddr) -> IpAddr {
    match peer {
        IpAddr::V4(_) => peer,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// The middleware: 429 with `Retry-After` over quota, else the route.
/// Without the peer address (a server not giving `ConnectInfo`) every
/// client shares one quota — stricter, never open.
pub async fn limit(State(limit): State<RateLimit>, req: Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0.ip());
    match limit.check(peer) {
        Ok(()) => next.run(req).await,
        Err(wait) => {
            tracing::info!(limiter = limit.inner.name, %peer, "rate limited");
            ApiError::too_many_requests(wait).into_response()
        }
    }
}

/// The limiters of the admin port, one per route group.
#[derive(Clone)]
pub struct Limits {
    pub login: RateLimit,
    pub register: RateLimit,
    pub city_events: RateLimit,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            login: RateLimit::new("login", LOGIN),
            register: RateLimit::new("register", REGISTER),
            city_events: RateLimit::new("cityevents", CITY_EVENTS),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_retry_after() {
        let limit = RateLimit::new(
            "t",
            Limit {
                burst: 3,
                every: Duration::from_secs(60),
            },
        );
        let a = IpAddr::from([10, 0, 0, 1]);
        for _ in 0..3 {
            assert!(limit.check(a).is_ok());
        }
        let wait = limit.check(a).unwrap_err();
        assert!(
            wait > Duration::from_secs(50) && wait <= Duration::from_secs(60),
            "{wait:?}"
        );
        assert!(
            limit.check(IpAddr::from([10, 0, 0, 2])).is_ok(),
            "per client"
        );
    }

    #[test]
    fn ipv6_clients_are_their_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(client_key(a), client_key(b));
        assert_ne!(client_key(a), client_key(c));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(client_key(mapped), IpAddr::from([192, 0, 2, 7]));
    }

    #[test]
    fn idle_clients_are_swept() {
        let limit = RateLimit::new(
            "t",
            Limit {
                burst: 1,
                every: Duration::from_millis(1),
            },
        );
        for i in 0..SWEEP_EVERY - 1 {
            let _ = limit.check(IpAddr::from(u32::try_from(i).unwrap().to_be_bytes()));
        }
        assert_eq!(limit.tracked() as u64, SWEEP_EVERY - 1);
        std::thread::sleep(Duration::from_millis(5));
        // The SWEEP_EVERY-th check sweeps: every bucket is full again.
        let _ = limit.check(IpAddr::from([192, 0, 2, 1]));
        assert!(limit.tracked() <= 1, "{}", limit.tracked());
    }
}
