//! PostgreSQL restarting under a running notifier (issue 11): the steps that
//! meet the dead server fail and are retried, the pool opens new connections
//! once it is back, and every message is delivered once.
//!
//! It needs a server of its own to stop and start: PostgreSQL's binaries in
//! `METEOBOT_TEST_PG_BIN` (e.g. `/usr/lib/postgresql/15/bin`; `.ci/run` sets
//! it). Without it the test says so and checks nothing.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use meteobot::metrics::Metrics;
use meteobot::notifier::Notifier;
use meteobot::store::{NewMessage, Store, now_ms};
use support::e2e::{eventually, wait_for};
use support::fake_telegram::FakeTelegram;
use tokio::sync::Notify;

/// A throwaway server: initdb into a temp dir, on a free loopback port.
struct Server {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Server {
    fn init(bin: PathBuf) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("data");
        // initdb refuses to run as root: as root, run it as `postgres`.
        as_postgres(
            &["chown", "-R", "postgres", &dir.path().display().to_string()],
            true,
        );
        let initdb = bin.join("initdb").display().to_string();
        let data_arg = data.display().to_string();
        run_pg(&[
            &initdb,
            "-D",
            &data_arg,
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
        ]);
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let server = Self {
            bin,
            data,
            port,
            _dir: dir,
        };
        server.start();
        server
    }

    fn pg_ctl(&self, args: &[&str]) {
        let pg_ctl = self.bin.join("pg_ctl").display().to_string();
        let data = self.data.display().to_string();
        let mut all = vec![pg_ctl.as_str(), "-D", data.as_str(), "-w", "-t", "60"];
        all.extend_from_slice(args);
        run_pg(&all);
    }

    fn start(&self) {
        let log = self.data.join("log").display().to_string();
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.data.display()
        );
        self.pg_ctl(&["-l", &log, "-o", &options, "start"]);
    }

    fn stop(&self) {
        self.pg_ctl(&["-m", "fast", "stop"]);
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let pg_ctl = self.bin.join("pg_ctl").display().to_string();
        let data = self.data.display().to_string();
        let _ = as_postgres(&[&pg_ctl, "-D", &data, "-m", "immediate", "stop"], false);
    }
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Runs `args` (as the user postgres when this process is root).
fn as_postgres(args: &[&str], root_only: bool) -> bool {
    let mut cmd = if is_root() && !root_only {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).args(args);
        c
    } else if is_root() || !root_only {
        let mut c = Command::new(args[0]);
        c.args(&args[1..]);
        c
    } else {
        return true; // chown is only needed (and allowed) as root
    };
    cmd.status().is_ok_and(|s| s.success())
}

fn run_pg(args: &[&str]) {
    assert!(as_postgres(args, false), "{args:?} failed");
}

async fn enqueue(store: &Store, chat: i64, text: &str) -> anyhow::Result<bool> {
    let msg = NewMessage {
        chat_id: chat,
        kind: "alert",
        text: text.to_owned(),
        dedup_key: text.to_owned(),
        ..NewMessage::default()
    };
    store.enqueue_message(&msg, now_ms()).await
}

#[tokio::test]
async fn a_postgres_restart_loses_no_message_and_sends_none_twice() {
    let Some(bin) = std::env::var_os("METEOBOT_TEST_PG_BIN").map(PathBuf::from) else {
        eprintln!("METEOBOT_TEST_PG_BIN is not set: no server of its own to restart; skipped");
        return;
    };
    assert!(
        Path::new(&bin).join("initdb").exists(),
        "no initdb in {bin:?}"
    );
    let server = Server::init(bin);
    let store = Store::connect(&server.url()).await.expect("store");
    let fake = FakeTelegram::start().await;
    let wake = Arc::new(Notify::new());
    let notifier = Notifier::new(store.clone(), fake.bot(), Metrics::new(), Arc::clone(&wake));
    let (shutdown, listener) = meteobot::shutdown::channel();
    let running = tokio::spawn(notifier.run(listener));

    for chat in 1..=5 {
        assert!(
            enqueue(&store, chat, &format!("before {chat}"))
                .await
                .unwrap()
        );
    }
    wake.notify_one();
    wait_for("the first five", async || fake.received().len() == 5).await;

    // The server goes away: writes fail (and say so), the notifier's steps
    // fail and are retried.
    server.stop();
    assert!(enqueue(&store, 9, "while down").await.is_err());
    server.start();

    // Back: the same pool serves again; what is written now is delivered.
    for chat in 1..=5 {
        let text = format!("after {chat}");
        eventually("a write after the restart", async || {
            enqueue(&store, chat, &text).await.ok()
        })
        .await;
    }
    wake.notify_one();
    wait_for("the five written after the restart", async || {
        fake.received().len() == 10
    })
    .await;
    shutdown.trigger();
    running.await.expect("the notifier stops cleanly");

    let mut texts: Vec<String> = fake.received().into_iter().map(|r| r.text).collect();
    texts.sort();
    let mut expected: Vec<String> = (1..=5)
        .flat_map(|chat| [format!("after {chat}"), format!("before {chat}")])
        .collect();
    expected.sort();
    assert_eq!(
        texts, expected,
        "each once; the refused write was not stored"
    );
    let rows = store.outbox_rows().await.unwrap();
    assert_eq!(rows.len(), 10);
    assert!(rows.iter().all(|r| r.status == "sent"));
}
