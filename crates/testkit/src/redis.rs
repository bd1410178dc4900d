//! A `redis-server` on a loopback port (a free one unless chosen), its files and log in a
//! temporary directory, with the persistence a test chooses; ready once it answers `PING`,
//! killed when dropped, restarted on the same port and files.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{POLL, WAIT};

/// What `redis-server` keeps on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persistence {
    /// Nothing: a restart loses everything.
    Off,
    /// An append-only file, fsynced as `appendfsync` says: `always`, `everysec` or `no`.
    Aof(&'static str),
}

impl Persistence {
    /// AOF fsynced on every write.
    pub const ALWAYS: Persistence = Persistence::Aof("always");

    /// From a flag's value: `off`, or an `appendfsync` policy.
    pub fn parse(s: &str) -> std::io::Result<Persistence> {
        match s {
            "off" => Ok(Persistence::Off),
            "always" => Ok(Persistence::Aof("always")),
            "everysec" => Ok(Persistence::Aof("everysec")),
            "no" => Ok(Persistence::Aof("no")),
            other => Err(std::io::Error::other(format!(
                "{other:?}: always, everysec, no or off"
            ))),
        }
    }
}

/// A running `redis-server`. Killed when dropped (its directory removed).
pub struct Redis {
    exe: String,
    child: Option<Child>,
    pub port: u16,
    persistence: Persistence,
    /// More `redis-server` arguments (e.g. `--replicaof HOST PORT`), after the kit's own.
    extra: Vec<String>,
    dir: tempfile::TempDir,
}

impl Redis {
    /// `redis-server` on a free port; panics if it cannot start (a test needs it).
    pub fn start(persistence: Persistence) -> Redis {
        Redis::start_with("redis-server", None, persistence)
            .expect("redis-server (apt-get install redis-server)")
    }

    /// `redis-server` on a free port with more arguments (e.g. `--replicaof HOST PORT`); panics
    /// if it cannot start.
    pub fn start_args(persistence: Persistence, extra: &[&str]) -> Redis {
        Redis::start_full("redis-server", None, persistence, extra)
            .expect("redis-server (apt-get install redis-server)")
    }

    /// `exe` on `port` (a free one when `None`).
    pub fn start_with(
        exe: &str,
        port: Option<u16>,
        persistence: Persistence,
    ) -> std::io::Result<Redis> {
        Redis::start_full(exe, port, persistence, &[])
    }

    fn start_full(
        exe: &str,
        port: Option<u16>,
        persistence: Persistence,
        extra: &[&str],
    ) -> std::io::Result<Redis> {
        let mut last = None;
        for _ in 0..5 {
            let mut redis = Redis {
                exe: exe.to_owned(),
                child: None,
                port: port.map_or_else(free_port, Ok)?,
                persistence,
                extra: extra.iter().map(|s| s.to_string()).collect(),
                dir: tempfile::Builder::new().prefix("banter-redis-").tempdir()?,
            };
            match redis.spawn() {
                Ok(()) => return Ok(redis),
                Err(e) if port.is_none() => last = Some(e), // taken meanwhile: another port
                Err(e) => return Err(e),
            }
        }
        Err(last.expect("an attempt"))
    }

    /// Starts it (again) on the same port and directory, from what it persisted (the append-only
    /// file, or the last [`Redis::save`]); waits until it answers.
    pub fn restart(&mut self) {
        self.kill9();
        self.spawn().expect("redis-server restarted");
    }

    fn spawn(&mut self) -> std::io::Result<()> {
        if self.ping() {
            // Another server on this port would answer for ours.
            return Err(std::io::Error::other(format!(
                "port {} is taken by another Redis",
                self.port
            )));
        }
        let log = std::fs::File::create(self.dir.path().join("redis.log"))?;
        let mut cmd = Command::new(&self.exe);
        cmd.args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .arg("--dir")
            .arg(self.dir.path())
            .args(["--save", ""])
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        match self.persistence {
            Persistence::Off => cmd.args(["--appendonly", "no"]),
            Persistence::Aof(fsync) => cmd.args(["--appendonly", "yes", "--appendfsync", fsync]),
        };
        cmd.args(&self.extra);
        let mut child = cmd
            .spawn()
            .map_err(|e| std::io::Error::other(format!("start {}: {e}", self.exe)))?;
        let deadline = Instant::now() + WAIT;
        loop {
            if self.ping() {
                self.child = Some(child);
                return Ok(());
            }
            let exited = child.try_wait()?;
            if exited.is_some() || Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                let log = std::fs::read_to_string(self.dir.path().join("redis.log"));
                return Err(std::io::Error::other(format!(
                    "redis-server did not answer on port {} ({exited:?}):\n{}",
                    self.port,
                    log.unwrap_or_default()
                )));
            }
            std::thread::sleep(POLL); // polling interval, with a deadline
        }
    }

    fn ping(&self) -> bool {
        self.conn()
            .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c))
            .is_ok()
    }

    pub fn addr(&self) -> SocketAddr {
        ([127, 0, 0, 1], self.port).into()
    }

    /// `redis://127.0.0.1:PORT/`
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// The directory its files (RDB, AOF, log) are kept in.
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// A new connection.
    pub fn conn(&self) -> redis::RedisResult<redis::Connection> {
        redis::Client::open(self.url())?.get_connection_with_timeout(Duration::from_secs(1))
    }

    /// Cuts every pub/sub connection (`CLIENT KILL TYPE pubsub`); how many there were.
    pub fn kill_pubsub(&self) -> u64 {
        let mut c = self.conn().expect("redis");
        redis::cmd("CLIENT")
            .arg("KILL")
            .arg("TYPE")
            .arg("pubsub")
            .query(&mut c)
            .expect("CLIENT KILL")
    }

    /// Runs `cmd` on a new connection.
    pub fn cmd<T: redis::FromRedisValue>(&self, cmd: &mut redis::Cmd) -> redis::RedisResult<T> {
        cmd.query(&mut self.conn()?)
    }

    /// Cuts the nodes' pub/sub connections once there is one to cut (a node's connection is of
    /// type pubsub only while it subscribes to something, and after an earlier cut or a restart
    /// it comes back by itself a moment later); how many were cut.
    pub async fn cut_pubsub(&self) -> u64 {
        let deadline = Instant::now() + WAIT;
        loop {
            let cut = self.kill_pubsub();
            if cut >= 1 {
                return cut;
            }
            assert!(Instant::now() < deadline, "no pub/sub connection to cut");
            tokio::time::sleep(POLL).await; // polling interval, with a deadline
        }
    }

    /// `SAVE`: an RDB snapshot of what it holds now, which a [`Redis::restart`] loads (with
    /// [`Persistence::Off`]; an append-only file would win over it).
    pub fn save(&self) {
        let saved: String = self.cmd(&mut redis::cmd("SAVE")).expect("SAVE");
        assert_eq!(saved, "OK", "SAVE");
    }

    /// `kill -9`; waits until it is gone.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}
