//! A Redis Sentinel (`redis-server CONFIG --sentinel`) on a free loopback port, watching one
//! master of the kit's [`Redis`] with a quorum of 1 and short timeouts, so that a test can kill
//! the master and see a replica promoted within seconds. Its config file (which Sentinel
//! rewrites) and log live in a temporary directory; killed when dropped.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::redis::free_port;
use crate::{POLL, Redis, WAIT};

/// How long the master must be silent before the Sentinel calls it down.
const DOWN_AFTER_MS: u64 = 1000;
/// Sentinel's `failover-timeout` (a failover that stalls is retried after twice this).
const FAILOVER_TIMEOUT_MS: u64 = 5000;

/// A running Sentinel.
pub struct Sentinel {
    child: Child,
    pub port: u16,
    /// The master's name (`sentinel monitor NAME …`).
    pub name: String,
    _dir: tempfile::TempDir,
}

impl Sentinel {
    /// A Sentinel watching `master` under `name`; ready once it answers `PING`. Panics if it
    /// cannot start (a test needs it).
    pub fn start(master: &Redis, name: &str) -> Sentinel {
        let dir = tempfile::Builder::new()
            .prefix("banter-sentinel-")
            .tempdir()
            .expect("a temporary directory");
        let port = free_port().expect("a free port");
        let conf = dir.path().join("sentinel.conf");
        let text = format!(
            "port {port}\nbind 127.0.0.1\ndir {dir}\n\
             sentinel monitor {name} 127.0.0.1 {master} 1\n\
             sentinel down-after-milliseconds {name} {DOWN_AFTER_MS}\n\
             sentinel failover-timeout {name} {FAILOVER_TIMEOUT_MS}\n",
            dir = dir.path().display(),
            master = master.port,
        );
        std::fs::write(&conf, text).expect("sentinel.conf");
        let log = std::fs::File::create(dir.path().join("sentinel.log")).expect("a log file");
        let child = Command::new("redis-server")
            .arg(&conf)
            .arg("--sentinel")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("redis-server --sentinel (apt-get install redis-server)");
        let sentinel = Sentinel {
            child,
            port,
            name: name.to_owned(),
            _dir: dir,
        };
        let deadline = Instant::now() + WAIT;
        while sentinel.cmd::<String>(&mut redis::cmd("PING")).is_err() {
            assert!(Instant::now() < deadline, "the Sentinel did not start");
            std::thread::sleep(POLL); // polling interval, with a deadline
        }
        sentinel
    }

    /// The `--redis` entry naming the master through this Sentinel:
    /// `redis+sentinel://127.0.0.1:PORT/NAME`.
    pub fn url(&self) -> String {
        format!("redis+sentinel://127.0.0.1:{}/{}", self.port, self.name)
    }

    /// Runs `cmd` on a new connection to the Sentinel.
    pub fn cmd<T: redis::FromRedisValue>(&self, cmd: &mut redis::Cmd) -> redis::RedisResult<T> {
        let client = redis::Client::open(format!("redis://127.0.0.1:{}/", self.port))?;
        cmd.query(&mut client.get_connection_with_timeout(Duration::from_secs(1))?)
    }

    /// The port of the instance the Sentinel names master now.
    pub fn master_port(&self) -> Option<u16> {
        self.cmd::<Option<(String, u16)>>(
            redis::cmd("SENTINEL")
                .arg("get-master-addr-by-name")
                .arg(&self.name),
        )
        .ok()
        .flatten()
        .map(|(_, port)| port)
    }

    /// How many replicas of the master the Sentinel knows and sees up.
    pub fn replicas_up(&self) -> usize {
        let replicas: Vec<std::collections::HashMap<String, String>> = self
            .cmd(redis::cmd("SENTINEL").arg("replicas").arg(&self.name))
            .unwrap_or_default();
        replicas
            .iter()
            .filter(|r| r.get("flags").is_some_and(|f| f == "slave"))
            .count()
    }
}

impl Drop for Sentinel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
