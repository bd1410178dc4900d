//! The `banter` binary as a process: [`Launch`] says how (binary, flags, store, port, data
//! directory, where its log goes), [`Banter`] is one running, ready once its log says it listens,
//! killed (SIGKILL) when dropped, and restarted on the same data directory.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};

use crate::log::{self, LogLines, Sink};
use crate::{Endpoint, WAIT};

/// How to start `banter`. By default: `--listen 127.0.0.1:0`, a fresh temporary data directory
/// (kept across restarts, removed with the [`Banter`]), colours off, the default log level, and
/// the log kept for [`Banter::stderr`].
#[derive(Debug, Clone)]
pub struct Launch {
    bin: PathBuf,
    args: Vec<OsString>,
    /// `None`: the flags say where it listens (or its config file does).
    listen: Option<SocketAddr>,
    data: Data,
    log: Sink,
    env: Vec<(OsString, Option<OsString>)>,
}

#[derive(Debug, Clone)]
enum Data {
    /// A temporary directory made at start.
    Temp,
    At(PathBuf),
    /// No `--data-dir` flag.
    Unset,
}

impl Launch {
    /// `bin` (for the server's tests, `env!("CARGO_BIN_EXE_banter")`).
    pub fn new(bin: impl Into<PathBuf>) -> Launch {
        Launch {
            bin: bin.into(),
            args: Vec::new(),
            listen: Some(([127, 0, 0, 1], 0).into()),
            data: Data::Temp,
            log: Sink::Keep,
            env: vec![
                ("NO_COLOR".into(), Some("1".into())),
                ("RUST_LOG".into(), None),
                ("RUST_BACKTRACE".into(), None),
            ],
        }
    }

    /// The release binary ([`crate::release_bin`]: `BANTER_BIN` or `<target>/release/banter`).
    pub fn release() -> Launch {
        Launch::new(crate::release_bin())
    }

    /// Nothing but the flags given: no `--listen`, no `--data-dir`.
    pub fn bare(mut self) -> Launch {
        self.listen = None;
        self.data = Data::Unset;
        self
    }

    pub fn arg(mut self, arg: impl Into<OsString>) -> Launch {
        self.args.push(arg.into());
        self
    }

    pub fn args<I: IntoIterator<Item = S>, S: Into<OsString>>(mut self, args: I) -> Launch {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// `--store KIND` (`sqlite`, `memory`).
    pub fn store(self, kind: &str) -> Launch {
        self.args(["--store", kind])
    }

    /// `--redis URL`: a node of a cluster.
    pub fn redis(self, url: &str) -> Launch {
        self.args(["--redis", url])
    }

    /// The limits meant for one client address lifted (WebSocket and HTTP rates, WebSocket and
    /// TCP connections per address), since every test client comes from 127.0.0.1.
    pub fn unlimited(self) -> Launch {
        self.args(["--rate-per-sec", "0", "--http-rate-per-sec", "0"])
            .args([
                "--max-connections-per-ip",
                "0",
                "--max-tcp-connections-per-ip",
                "0",
            ])
    }

    /// Listens on this loopback port instead of a free one.
    pub fn port(mut self, port: u16) -> Launch {
        self.listen = Some(([127, 0, 0, 1], port).into());
        self
    }

    /// This data directory (not removed) instead of a temporary one.
    pub fn data_dir(mut self, dir: impl Into<PathBuf>) -> Launch {
        self.data = Data::At(dir.into());
        self
    }

    /// Appends the log to `path` instead of keeping it for [`Banter::stderr`].
    pub fn log_to(mut self, path: impl Into<PathBuf>) -> Launch {
        self.log = Sink::File(path.into());
        self
    }

    /// Drops the log.
    pub fn quiet(mut self) -> Launch {
        self.log = Sink::Discard;
        self
    }

    /// Sets (`Some`) or removes (`None`) an environment variable (e.g. `RUST_LOG`; the
    /// `listening on` line is at `info`).
    pub fn env(mut self, key: &str, value: Option<&str>) -> Launch {
        self.env.push((key.into(), value.map(Into::into)));
        self
    }

    /// The command this launch runs (without its temporary data directory), for a test that
    /// runs it itself (a start expected to fail, say).
    pub fn command(&self) -> Command {
        match &self.data {
            Data::At(dir) => self.command_with(Some(dir)),
            _ => self.command_with(None),
        }
    }

    fn command_with(&self, data: Option<&Path>) -> Command {
        let mut cmd = Command::new(&self.bin);
        if let Some(addr) = self.listen {
            cmd.arg("--listen").arg(addr.to_string());
        }
        if let Some(dir) = data {
            cmd.arg("--data-dir").arg(dir);
        }
        cmd.args(&self.args).stdin(Stdio::null());
        for (k, v) in &self.env {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        cmd
    }

    /// Starts it and waits until it listens (on a blocking thread).
    pub async fn start(self) -> std::io::Result<Banter> {
        tokio::task::spawn_blocking(move || self.start_blocking())
            .await
            .map_err(std::io::Error::other)?
    }

    /// [`Launch::start`] for a caller that is not async.
    pub fn start_blocking(self) -> std::io::Result<Banter> {
        let temp = match self.data {
            Data::Temp => Some(tempfile::tempdir()?),
            _ => None,
        };
        let mut banter = Banter {
            launch: self,
            child: None,
            addr: ([127, 0, 0, 1], 0).into(),
            stderr: LogLines::none(),
            temp,
        };
        banter.spawn()?;
        Ok(banter)
    }
}

/// A running `banter`. Killed (SIGKILL) when dropped.
pub struct Banter {
    launch: Launch,
    child: Option<Child>,
    /// Where it listens (as its log said).
    pub addr: SocketAddr,
    /// Its log lines after `listening on` (with [`Launch`]'s default log).
    pub stderr: LogLines,
    temp: Option<tempfile::TempDir>,
}

impl Endpoint for Banter {
    fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Banter {
    /// Spawns the process and waits for its `listening on` line.
    fn spawn(&mut self) -> std::io::Result<()> {
        let mut cmd = self.launch.command_with(self.data_dir());
        cmd.stdout(Stdio::null()).stderr(Stdio::piped());
        let mut child = cmd.spawn().map_err(|e| {
            std::io::Error::other(format!("start {}: {e}", self.launch.bin.display()))
        })?;
        let stderr = child.stderr.take().expect("piped stderr");
        let (started, lines) = log::watch(stderr, &self.launch.log)?;
        let outcome = started.recv_timeout(WAIT);
        let addr = match outcome {
            Ok(Ok(addr)) => addr,
            other => {
                let _ = child.kill();
                let status = child.wait().ok();
                let said = match other {
                    Ok(Err(log)) => log,
                    _ => format!("nothing within {WAIT:?}"),
                };
                return Err(std::io::Error::other(format!(
                    "{} did not start listening ({status:?}); its log:\n{said}",
                    self.launch.bin.display()
                )));
            }
        };
        self.addr = addr;
        self.child = Some(child);
        self.stderr = lines;
        Ok(())
    }

    /// Its data directory (`None` for a [`Launch::bare`] one).
    pub fn data_dir(&self) -> Option<&Path> {
        match &self.launch.data {
            Data::Temp => self.temp.as_ref().map(tempfile::TempDir::path),
            Data::At(dir) => Some(dir),
            Data::Unset => None,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// `ws://ADDR/ws`
    pub fn ws(&self) -> String {
        self.ws_url()
    }

    /// `kill -9`: no shutdown, no flush. Waits until it is gone.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends `signal` (e.g. `"HUP"`, `"TERM"`) with kill(1).
    pub async fn signal(&self, signal: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status()
            .expect("kill");
        assert!(ok.success(), "kill -{signal}");
    }

    /// Waits until it exits (after a signal); panics after [`WAIT`].
    pub async fn wait(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("running");
        let waited = tokio::time::timeout(
            WAIT,
            tokio::task::spawn_blocking(move || {
                let status = child.wait();
                (child, status)
            }),
        )
        .await;
        let (child, status) = waited.expect("it exited in time").expect("wait");
        self.child = Some(child);
        status.expect("exit status")
    }

    /// Starts it again (killed with -9 first if still running) with the same flags and data
    /// directory, on the same address (on a free port if that one is taken).
    pub async fn restart(&mut self) -> std::io::Result<()> {
        self.kill9();
        let mut me = std::mem::replace(self, placeholder());
        let me = tokio::task::spawn_blocking(move || me.respawn().map(|()| me))
            .await
            .map_err(std::io::Error::other)??;
        *self = me;
        Ok(())
    }

    /// [`Banter::restart`] for a caller that is not async.
    pub fn restart_blocking(&mut self) -> std::io::Result<()> {
        self.kill9();
        self.respawn()
    }

    fn respawn(&mut self) -> std::io::Result<()> {
        let free = self.launch.listen;
        if free.is_some() {
            self.launch.listen = Some(self.addr);
        }
        let same = self.spawn();
        self.launch.listen = free;
        if same.is_err() && free.is_some() {
            return self.spawn();
        }
        same
    }

    /// Resident memory (`VmRSS`) in bytes, from `/proc`.
    pub fn rss_bytes(&self) -> u64 {
        self.proc_status_kib("VmRSS:") * 1024
    }

    /// Peak resident memory (`VmHWM`) in KiB, from `/proc`.
    pub fn peak_rss_kib(&self) -> u64 {
        self.proc_status_kib("VmHWM:")
    }

    fn proc_status_kib(&self, key: &str) -> u64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).expect("/proc status");
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("no {key} in /proc status"))
    }
}

/// What a [`Banter`] holds while it is restarted on a blocking thread.
fn placeholder() -> Banter {
    Banter {
        launch: Launch::new("banter").bare(),
        child: None,
        addr: ([127, 0, 0, 1], 0).into(),
        stderr: LogLines::none(),
        temp: None,
    }
}

impl Drop for Banter {
    fn drop(&mut self) {
        self.kill9();
    }
}
