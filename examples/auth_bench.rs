//! Memory under password hashing: the whole app (no bot token, temp
//! database, port 0) is started in this process, then
//!
//! 1. 200 concurrent wrong-password `/login` calls for one known user, and
//! 2. 1,000 sequential `/register` calls,
//!
//! each request from its own loopback address (127.x.y.z), as a crowd of
//! clients would come, so the per-client rate limits do not hide the
//! hashing. Prints the process's RSS (`VmRSS`, sampled every 5 ms while the
//! logins run) and peak (`VmHWM`) from /proc/self/status, and how the calls
//! were answered. Targets (issue 9): under 100 MB during the logins, under
//! 60 MB after the registrations.
//!
//! ```text
//! cargo run --release --example auth_bench
//! cargo run --release --example auth_bench -- --logins 200 --registrations 1000
//! ```
//! The clients are raw HTTP/1.1 over tokio sockets, so they add little of
//! their own to the figures.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use meteobot::config::Config;
use meteobot::secret::Secret;
use meteobot::startup::App;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;

struct Args {
    logins: usize,
    registrations: usize,
}

fn args() -> anyhow::Result<Args> {
    let mut args = Args {
        logins: 200,
        registrations: 1000,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it
            .next()
            .ok_or_else(|| anyhow::anyhow!("{flag} needs a value"))?;
        match flag.as_str() {
            "--logins" => args.logins = value.parse()?,
            "--registrations" => args.registrations = value.parse()?,
            _ => anyhow::bail!("unknown flag {flag} (use --logins N --registrations M)"),
        }
    }
    Ok(args)
}

/// `VmRSS` and `VmHWM` of this process, in kB.
fn memory_kb() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn mb(kb: u64) -> String {
    format!("{:.1} MB", kb as f64 / 1024.0)
}

/// The n-th client's own loopback address (127.1.0.1, 127.1.0.2, …).
fn client_ip(n: usize) -> IpAddr {
    let n = u32::try_from(n).expect("few clients") + 1;
    IpAddr::V4(Ipv4Addr::from(0x7F01_0000 + (n / 250) * 256 + n % 250 + 1))
}

/// POSTs a JSON body from `from`; returns the status and Retry-After.
async fn post(
    server: SocketAddr,
    from: IpAddr,
    path: &str,
    body: &str,
) -> anyhow::Result<(u16, Option<String>)> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(from, 0))?;
    let mut stream = socket.connect(server).await?;
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {server}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    let text = String::from_utf8_lossy(&response);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no status line: {text}"))?;
    let retry_after = text
        .lines()
        .find_map(|l| {
            l.split_once(':')
                .filter(|(k, _)| k.eq_ignore_ascii_case("retry-after"))
        })
        .map(|(_, v)| v.trim().to_owned());
    Ok((status, retry_after))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = args()?;
    let dir = tempfile::tempdir()?;
    let mut config = Config::local(format!("sqlite:{}", dir.path().join("bench.db").display()));
    config.jwt_secret = Some(Secret::new("auth-bench-secret-of-enough-length"));
    let app = App::build(config).await?;
    let server = app.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));

    let (rss, _) = memory_kb();
    println!("started: RSS {}", mb(rss));
    let (status, _) = post(
        server,
        client_ip(0),
        "/register",
        r#"{"username":"victim","password":"the-right-password","telegramChatId":1}"#,
    )
    .await?;
    anyhow::ensure!(status == 201, "registering the victim: {status}");
    let (rss, _) = memory_kb();
    println!("one account: RSS {}", mb(rss));

    // 1. Concurrent wrong-password logins, RSS sampled meanwhile.
    let done = Arc::new(AtomicBool::new(false));
    let peak_rss = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (done, peak_rss) = (Arc::clone(&done), Arc::clone(&peak_rss));
        tokio::spawn(async move {
            while !done.load(Ordering::Relaxed) {
                peak_rss.fetch_max(memory_kb().0, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let started = Instant::now();
    let mut calls = tokio::task::JoinSet::new();
    for i in 0..args.logins {
        calls.spawn(post(
            server,
            client_ip(1 + i),
            "/login",
            r#"{"username":"victim","password":"a-wrong-password"}"#,
        ));
    }
    let mut answers: BTreeMap<String, usize> = BTreeMap::new();
    while let Some(joined) = calls.join_next().await {
        let key = match joined? {
            Ok((status, Some(retry))) => format!("{status} (Retry-After {retry})"),
            Ok((status, None)) => status.to_string(),
            Err(e) => format!("error: {e}"),
        };
        *answers.entry(key).or_default() += 1;
    }
    done.store(true, Ordering::Relaxed);
    sampler.await?;
    let (rss, hwm) = memory_kb();
    println!(
        "{} concurrent wrong-password logins in {:.2} s: {answers:?}",
        args.logins,
        started.elapsed().as_secs_f64()
    );
    println!(
        "  RSS during: max {} (peak VmHWM {}); after: {}",
        mb(peak_rss.load(Ordering::Relaxed)),
        mb(hwm),
        mb(rss)
    );

    // 2. Sequential registrations.
    let started = Instant::now();
    let mut answers: BTreeMap<u16, usize> = BTreeMap::new();
    for i in 0..args.registrations {
        let body = format!(
            r#"{{"username":"user{i}","password":"password-{i}","telegramChatId":{}}}"#,
            1000 + i
        );
        let (status, _) = post(server, client_ip(1 + args.logins + i), "/register", &body).await?;
        *answers.entry(status).or_default() += 1;
    }
    let (rss, hwm) = memory_kb();
    println!(
        "{} sequential registrations in {:.1} s: {answers:?}",
        args.registrations,
        started.elapsed().as_secs_f64()
    );
    println!("  RSS after: {} (peak VmHWM so far {})", mb(rss), mb(hwm));

    let _ = stop.send(());
    running.await??;
    Ok(())
}
