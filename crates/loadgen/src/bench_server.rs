//! The servers under test as processes: which kinds there are ([`Kind`]: Banter, the Node `ws`
//! reference, naive axum) and one started on its own port with its log in the temporary
//! directory ([`Server`]), killed (and Banter's data directory removed) when dropped.

use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::Serialize;

use banter_testkit::Launch;

use crate::bench_args::BenchArgs;
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

/// A server process started for one run: Banter through `banter-testkit` (its temporary data
/// directory removed with it), a reference as a plain child process.
pub(crate) struct Server {
    process: Process,
    pub(crate) addr: SocketAddr,
}

enum Process {
    Banter(Box<banter_testkit::Banter>),
    Reference(Child),
}

impl Server {
    pub(crate) fn start(kind: Kind, a: &BenchArgs, port: u16) -> Result<Server> {
        Server::start_as(kind, a, port, kind.name())
    }

    /// Starts `kind` on `port`, logging to `banter-bench-<label>.log` in the temporary directory.
    pub(crate) fn start_as(kind: Kind, a: &BenchArgs, port: u16, label: &str) -> Result<Server> {
        let log = std::env::temp_dir().join(format!("banter-bench-{label}.log"));
        let log_file = std::fs::File::create(&log).context("creating the server log")?;
        let server = match kind {
            Kind::Banter => {
                let banter = Launch::new(&a.banter)
                    .port(port)
                    .args(&a.banter_args)
                    .log_to(&log)
                    .start_blocking()?;
                Server {
                    addr: banter.addr,
                    process: Process::Banter(Box::new(banter)),
                }
            }
            Kind::Node | Kind::Naive => reference(kind, a, port, log_file, &log)?,
        };
        // Let it finish starting (first accept, allocator warm-up) before measuring.
        std::thread::sleep(Duration::from_millis(200));
        Ok(server)
    }

    /// Banter's data directory.
    pub(crate) fn data_dir(&self) -> Option<&std::path::Path> {
        match &self.process {
            Process::Banter(b) => b.data_dir(),
            Process::Reference(_) => None,
        }
    }

    pub(crate) fn pid(&self) -> u32 {
        match &self.process {
            Process::Banter(b) => b.pid(),
            Process::Reference(c) => c.id(),
        }
    }
}

/// A reference server on `port`, once it accepts connections.
fn reference(
    kind: Kind,
    a: &BenchArgs,
    port: u16,
    log_file: std::fs::File,
    log: &std::path::Path,
) -> Result<Server> {
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let mut cmd = if kind == Kind::Node {
        let mut c = Command::new(&a.node);
        c.arg(a.node_dir.join("server.js"));
        c
    } else {
        Command::new(&a.naive)
    };
    let mut child = cmd
        .arg(port.to_string())
        .stdin(Stdio::null())
        .stdout(log_file.try_clone()?)
        .stderr(log_file)
        .spawn()
        .with_context(|| format!("starting {} ({cmd:?})", kind.name()))?;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(Server {
                addr,
                process: Process::Reference(child),
            });
        }
        if let Some(status) = child.try_wait()? {
            let tail = std::fs::read_to_string(log).unwrap_or_default();
            bail!(
                "{} exited ({status}) before listening:\n{tail}",
                kind.name()
            );
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            bail!("{} did not listen on {addr} within 15 s", kind.name());
        }
        std::thread::sleep(Duration::from_millis(50)); // polling interval, with a deadline
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if let Process::Reference(child) = self {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
