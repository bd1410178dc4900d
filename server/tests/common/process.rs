//! The real `banter` binary as a child process: started on port 0, its address read from its
//! log, killed when dropped. Plus a scratch directory per test and a TCP proxy that can cut
//! every connection through it.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, ChildStderr, Command};
use tokio::task::JoinHandle;

use super::WAIT;

pub const BIN: &str = env!("CARGO_BIN_EXE_banter");

/// A `banter` command with colours off and a quiet environment. `BANTER_BIN` runs another
/// build (e.g. the release binary).
pub fn banter() -> Command {
    let bin = std::env::var("BANTER_BIN").unwrap_or_else(|_| BIN.into());
    let mut cmd = Command::new(bin);
    cmd.env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .env_remove("RUST_BACKTRACE")
        .kill_on_drop(true);
    cmd
}

/// A running server process.
pub struct Proc {
    pub child: Child,
    pub addr: SocketAddr,
    /// The log lines after the `listening on` line, for tests that read on.
    pub stderr: tokio::io::Lines<BufReader<ChildStderr>>,
}

impl Proc {
    /// Starts `banter ARGS` (add `--listen 127.0.0.1:0` yourself) and waits for it to listen.
    pub async fn start(args: &[&str]) -> Proc {
        let mut cmd = banter();
        cmd.args(args).stdout(Stdio::null()).stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn banter");
        let mut stderr = BufReader::new(child.stderr.take().expect("stderr")).lines();
        let addr = tokio::time::timeout(WAIT, async {
            while let Some(line) = stderr.next_line().await.expect("read log") {
                if let Some(at) = line.find("listening on ") {
                    // Text logs end the line with the URL; JSON logs close a string after it.
                    let url = line[at + "listening on ".len()..]
                        .split(|c: char| c.is_whitespace() || c == '"')
                        .next()
                        .unwrap_or_default();
                    let hostport = url.split("://").nth(1).expect("scheme");
                    return hostport.parse::<SocketAddr>().expect("address");
                }
            }
            panic!("banter exited before listening");
        })
        .await
        .expect("banter did not start listening");
        Proc {
            child,
            addr,
            stderr,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id().expect("running")
    }

    /// Sends `signal` (e.g. "HUP") with kill(1).
    pub async fn signal(&self, signal: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status()
            .await
            .expect("kill");
        assert!(ok.success());
    }
}

/// A fresh directory under the system temp dir, named after the test; removed when dropped.
pub struct Scratch(tempfile::TempDir);

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        self.0.path()
    }
}

pub fn scratch(name: &str) -> Scratch {
    let dir = tempfile::Builder::new()
        .prefix(&format!("banter-test-{name}-"))
        .tempdir()
        .expect("scratch dir");
    Scratch(dir)
}

/// A TCP proxy on a free port to `upstream`; [`Proxy::cut`] drops every connection through it
/// (new ones are still accepted).
pub struct Proxy {
    pub addr: SocketAddr,
    pipes: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: JoinHandle<()>,
}

impl Proxy {
    pub async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("addr");
        let pipes: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let list = pipes.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut down, _)) = listener.accept().await {
                let pipe = tokio::spawn(async move {
                    if let Ok(mut up) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut down, &mut up).await;
                    }
                });
                list.lock().unwrap().push(pipe);
            }
        });
        Proxy {
            addr,
            pipes,
            accept,
        }
    }

    /// Drops every open connection through the proxy, abruptly.
    pub fn cut(&self) {
        for pipe in self.pipes.lock().unwrap().drain(..) {
            pipe.abort();
        }
    }

    /// Connections opened through the proxy and not cut.
    pub fn open(&self) -> usize {
        let mut pipes = self.pipes.lock().unwrap();
        pipes.retain(|p| !p.is_finished());
        pipes.len()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.cut();
        self.accept.abort();
    }
}
