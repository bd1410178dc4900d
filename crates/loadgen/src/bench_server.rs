//! The servers under test as processes: which kinds there are ([`Kind`]: Banter, the Node `ws`
//! reference, naive axum) and one started on its own port with its log in the temporary
//! directory ([`Server`]), killed (and its data directory removed) when dropped.

use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::Serialize;

use crate::bench::BenchArgs;
use crate::client::Dialect;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Kind {
    Banter,
    Node,
    Naive,
}

impl Kind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Banter => "banter",
            Kind::Node => "node",
            Kind::Naive => "naive",
        }
    }
    pub(crate) fn dialect(self) -> Dialect {
        match self {
            Kind::Banter => Dialect::Banter,
            Kind::Node | Kind::Naive => Dialect::Classic,
        }
    }
}

/// A server process started for one run.
pub(crate) struct Server {
    child: Child,
    pub(crate) addr: SocketAddr,
    /// Banter's data directory, removed with the server (a store run writes gigabytes).
    data: Option<std::path::PathBuf>,
}

impl Server {
    pub(crate) fn start(kind: Kind, a: &BenchArgs, port: u16) -> Result<Server> {
        Server::start_as(kind, a, port, kind.name())
    }

    /// Starts `kind` on `port`, logging to `banter-bench-<label>.log` in the temporary directory.
    pub(crate) fn start_as(kind: Kind, a: &BenchArgs, port: u16, label: &str) -> Result<Server> {
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let log = std::env::temp_dir().join(format!("banter-bench-{label}.log"));
        let log_file = std::fs::File::create(&log).context("creating the server log")?;
        // A fresh durable store per run, outside the repository.
        let data = std::env::temp_dir().join(format!("banter-bench-data-{port}"));
        let mut cmd = match kind {
            Kind::Banter => {
                let _ = std::fs::remove_dir_all(&data);
                let mut c = Command::new(&a.banter);
                c.arg("--listen").arg(addr.to_string());
                c.arg("--data-dir").arg(&data).args(&a.banter_args);
                c
            }
            Kind::Node => {
                let mut c = Command::new(&a.node);
                c.arg(a.node_dir.join("server.js")).arg(port.to_string());
                c
            }
            Kind::Naive => {
                let mut c = Command::new(&a.naive);
                c.arg(port.to_string());
                c
            }
        };
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .spawn()
            .with_context(|| format!("starting {} ({cmd:?})", kind.name()))?;
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                // Let it finish starting (first accept, allocator warm-up) before measuring.
                std::thread::sleep(Duration::from_millis(200));
                return Ok(Server {
                    child,
                    addr,
                    data: (kind == Kind::Banter).then_some(data),
                });
            }
            if let Some(status) = child.try_wait()? {
                let tail = std::fs::read_to_string(&log).unwrap_or_default();
                bail!(
                    "{} exited ({status}) before listening:\n{tail}",
                    kind.name()
                );
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                bail!("{} did not listen on {addr} within 15 s", kind.name());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(data) = &self.data {
            let _ = std::fs::remove_dir_all(data);
        }
    }
}
