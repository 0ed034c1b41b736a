//! The admin port's HTTP server: the axum router served by hyper-util's
//! connection builder (axum's own `serve` has no header read timeout), so no
//! client can hold a connection — or the process after SIGTERM — open:
//!
//! - request headers must arrive within [`ServerLimits::header_read_timeout`],
//!   also on an idle keep-alive connection (hyper closes it then);
//! - each chunk of a request body within [`ServerLimits::body_read_timeout`],
//!   and the whole request within [`ServerLimits::request_timeout`] (408);
//! - on shutdown the listener closes at once, in-flight requests get
//!   [`ServerLimits::shutdown_grace`] to finish, then the remaining
//!   connections are dropped and [`serve`] returns.
//!
//! Handlers can extract `ConnectInfo<SocketAddr>` (the peer address), as with
//! `axum::serve(…, router.into_make_service_with_connect_info::<SocketAddr>())`:
//! the same make-service is called once per accepted connection.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tower::Service;
use tower_http::timeout::{RequestBodyTimeoutLayer, TimeoutLayer};

#[derive(Debug, Clone, Copy)]
pub struct ServerLimits {
    pub header_read_timeout: Duration,
    /// Longest pause between two chunks of a request body.
    pub body_read_timeout: Duration,
    /// Longest time from the request's head to its response (408 after).
    pub request_timeout: Duration,
    /// How long in-flight requests may take to finish after shutdown.
    pub shutdown_grace: Duration,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// Serves `router` on `listener` until `shutdown` resolves, then drains as
/// described in the module documentation.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ServerLimits,
    shutdown: impl Future<Output = ()>,
) {
    let router = router
        .layer(RequestBodyTimeoutLayer::new(limits.body_read_timeout))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.request_timeout,
        ));
    let mut make_service = router.into_make_service_with_connect_info::<SocketAddr>();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    builder.http2().timer(TokioTimer::new());
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        // Reap finished connections so the set does not grow.
        while connections.try_join_next().is_some() {}
        let (stream, peer) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of descriptors and the like: back off a little
                    // instead of spinning (what axum::serve does too).
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let service = match make_service.call(peer).await {
            Ok(service) => service,
            Err(never) => match never {},
        };
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(service))
            .into_owned();
        let connection = graceful.watch(connection);
        connections.spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(%peer, error = %e, "HTTP connection ended with an error");
            }
        });
    }
    drop(listener);
    let open = connections.len();
    if open > 0 {
        tracing::info!(
            open,
            grace_s = limits.shutdown_grace.as_secs(),
            "admin port closed; waiting for in-flight requests"
        );
    }
    let drained = tokio::time::timeout(limits.shutdown_grace, graceful.shutdown()).await;
    if drained.is_err() {
        tracing::warn!(
            left = connections.len(),
            "grace period over: dropping the remaining HTTP connections"
        );
    }
    connections.shutdown().await;
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use axum::extract::ConnectInfo;
    use axum::routing::get;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    use super::*;

    async fn start(
        limits: ServerLimits,
    ) -> (
        SocketAddr,
        crate::shutdown::ShutdownTrigger,
        tokio::task::JoinHandle<()>,
    ) {
        #[allow(clippy::disallowed_methods, reason = "a test server")]
        let router = Router::new()
            .route(
                "/peer",
                get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.to_string() }),
            )
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    "done"
                }),
            );
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (trigger, mut stop) = crate::shutdown::channel();
        let task = tokio::spawn(serve(listener, router, limits, async move {
            stop.stopped().await
        }));
        (addr, trigger, task)
    }

    async fn get_text(addr: SocketAddr, path: &str) -> String {
        let mut conn = TcpStream::connect(addr).await.expect("connect");
        conn.write_all(
            format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .expect("write");
        let mut out = String::new();
        conn.read_to_string(&mut out).await.expect("read");
        out
    }

    #[tokio::test]
    async fn handlers_see_the_peer_address() {
        let (addr, trigger, task) = start(ServerLimits::default()).await;
        let mut conn = TcpStream::connect(addr).await.expect("connect");
        let local = conn.local_addr().expect("local");
        conn.write_all(b"GET /peer HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .expect("write");
        let mut out = String::new();
        conn.read_to_string(&mut out).await.expect("read");
        assert!(out.starts_with("HTTP/1.1 200"), "{out}");
        assert!(out.ends_with(&local.to_string()), "{out}");
        trigger.trigger();
        task.await.expect("server ends");
    }

    #[tokio::test]
    async fn a_half_sent_request_is_closed_after_the_header_timeout() {
        let limits = ServerLimits {
            header_read_timeout: Duration::from_millis(300),
            ..ServerLimits::default()
        };
        let (addr, trigger, task) = start(limits).await;
        let mut conn = TcpStream::connect(addr).await.expect("connect");
        conn.write_all(b"GET /peer HTTP/1.1\r\nHost: x\r\n")
            .await
            .expect("write");
        let started = Instant::now();
        let mut out = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(5), conn.read_to_end(&mut out)).await;
        assert!(read.is_ok(), "the connection stayed open");
        assert!(started.elapsed() < Duration::from_secs(3));
        trigger.trigger();
        task.await.expect("server ends");
    }

    #[tokio::test]
    async fn shutdown_lets_in_flight_requests_finish_and_drops_stragglers() {
        let limits = ServerLimits {
            header_read_timeout: Duration::from_secs(60),
            shutdown_grace: Duration::from_millis(800),
            ..ServerLimits::default()
        };
        let (addr, trigger, task) = start(limits).await;
        // A straggler: half a request, never finished.
        let mut straggler = TcpStream::connect(addr).await.expect("connect");
        straggler
            .write_all(b"GET /peer HTTP/1.1\r\nHost: x\r\n")
            .await
            .expect("write");
        let slow = tokio::spawn(get_text(addr, "/slow"));
        tokio::time::sleep(Duration::from_millis(100)).await;
        let started = Instant::now();
        trigger.trigger();
        let out = slow.await.expect("slow request");
        assert!(
            out.starts_with("HTTP/1.1 200") && out.ends_with("done"),
            "{out}"
        );
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("the server returns within the grace period")
            .expect("server ends");
        assert!(started.elapsed() < Duration::from_secs(3));
        // New connections are refused once it stopped.
        assert!(TcpStream::connect(addr).await.is_err());
    }
}
