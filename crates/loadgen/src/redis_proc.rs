//! A `redis-server` the cluster benchmark starts for one run (`banter-testkit`'s: loopback, its
//! files in a fresh temporary directory, killed on drop), and what a run cost it: commands from
//! `INFO commandstats` (every command, those the Lua scripts call included) and CPU from
//! `INFO cpu` (`used_cpu_user` + `used_cpu_sys`), as the difference of two samples; with several
//! shards, each one's and their sum ([`RedisCost::total`]).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Instant;

use anyhow::{Context, Result};
use banter_testkit::{Persistence, Redis};
use serde::Serialize;

/// See the module docs.
pub struct RedisProc {
    redis: Redis,
    pub addr: SocketAddr,
    /// For `INFO` (a lock so that a shared `&RedisProc` can sample).
    conn: std::sync::Mutex<redis::Connection>,
}

impl RedisProc {
    /// Starts `exe` on `port` (through `banter-testkit`). `fsync`: `always`, `everysec` or `no`
    /// (AOF on), or `off` (no persistence at all).
    pub fn start(exe: &str, port: u16, fsync: &str) -> Result<RedisProc> {
        let persistence = Persistence::parse(fsync).context("--redis-fsync")?;
        let redis = Redis::start_with(exe, Some(port), persistence)
            .with_context(|| format!("starting {exe} (just setup-redis installs it)"))?;
        let conn = redis.conn()?;
        Ok(RedisProc {
            addr: redis.addr(),
            redis,
            conn: std::sync::Mutex::new(conn),
        })
    }

    pub fn url(&self) -> String {
        self.redis.url()
    }

    pub fn pid(&self) -> u32 {
        self.redis.pid()
    }

    /// Its counters now.
    pub fn sample(&self) -> Result<RedisSample> {
        let mut conn = self
            .conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let stats: String = redis::cmd("INFO").arg("commandstats").query(&mut *conn)?;
        let cpu: String = redis::cmd("INFO").arg("cpu").query(&mut *conn)?;
        Ok(RedisSample::parse(&stats, &cpu, Instant::now()))
    }
}

/// Redis's cumulative counters at one moment.
#[derive(Debug, Clone)]
pub struct RedisSample {
    at: Instant,
    cpu_secs: f64,
    sys_secs: f64,
    calls: BTreeMap<String, u64>,
    /// Microseconds Redis spent in each command (a script's includes the commands it calls).
    usec: BTreeMap<String, u64>,
}

impl RedisSample {
    fn parse(commandstats: &str, cpu: &str, at: Instant) -> Self {
        let mut calls = BTreeMap::new();
        let mut usec = BTreeMap::new();
        for line in commandstats.lines() {
            let Some((name, stats)) = line
                .trim()
                .strip_prefix("cmdstat_")
                .and_then(|l| l.split_once(':'))
            else {
                continue;
            };
            let stat = |key: &str| -> u64 {
                stats
                    .split(',')
                    .find_map(|kv| kv.strip_prefix(key))
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0)
            };
            calls.insert(name.to_owned(), stat("calls="));
            usec.insert(name.to_owned(), stat("usec="));
        }
        let field = |key: &str| {
            cpu.lines()
                .find_map(|l| l.trim().strip_prefix(key))
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        RedisSample {
            at,
            cpu_secs: field("used_cpu_user:") + field("used_cpu_sys:"),
            sys_secs: field("used_cpu_sys:"),
            calls,
            usec,
        }
    }

    /// What Redis did between `self` and `later`, for `messages` messages posted meanwhile.
    pub fn cost_until(&self, later: &RedisSample, messages: u64) -> RedisCost {
        let wall = later.at.duration_since(self.at).as_secs_f64().max(1e-9);
        let cpu = (later.cpu_secs - self.cpu_secs).max(0.0);
        let calls: BTreeMap<String, u64> = later
            .calls
            .iter()
            // The benchmark's own INFO calls are not the cluster's.
            .filter(|(name, _)| name.as_str() != "info")
            .map(|(name, n)| (name.clone(), n - self.calls.get(name).copied().unwrap_or(0)))
            .filter(|(_, n)| *n > 0)
            .collect();
        let usec: BTreeMap<String, f64> = later
            .usec
            .iter()
            .filter(|(name, _)| name.as_str() != "info")
            .map(|(name, n)| {
                let before = self.usec.get(name).copied().unwrap_or(0);
                (name.clone(), n.saturating_sub(before) as f64)
            })
            .filter(|(_, n)| *n > 0.0)
            .map(|(name, n)| (name, n / messages.max(1) as f64))
            .collect();
        let sys = (later.sys_secs - self.sys_secs).max(0.0);
        let per = |x: f64| {
            if messages == 0 {
                None
            } else {
                Some(x / messages as f64)
            }
        };
        RedisCost {
            messages,
            cpu_pct: cpu / wall * 100.0,
            cpu_us_per_msg: per(cpu * 1e6),
            commands_per_msg: per(calls.values().sum::<u64>() as f64),
            scripts_per_msg: per(calls.get("evalsha").copied().unwrap_or(0) as f64),
            sys_us_per_msg: per(sys * 1e6),
            usec_per_msg: usec,
            calls,
        }
    }
}

/// What Redis did over a run.
#[derive(Debug, Clone, Serialize)]
pub struct RedisCost {
    /// Messages posted over the interval (the denominator of the per-message figures).
    pub messages: u64,
    /// Redis's CPU (user + system, all its threads), percent of one core.
    pub cpu_pct: f64,
    pub cpu_us_per_msg: Option<f64>,
    /// Every command Redis ran (those inside scripts included, `INFO` excluded), per message.
    pub commands_per_msg: Option<f64>,
    /// `EVALSHA` calls per message (the post script, and the read script of joins and gaps).
    pub scripts_per_msg: Option<f64>,
    /// Calls per command over the interval.
    pub calls: BTreeMap<String, u64>,
    /// The system part of `cpu_us_per_msg` (sockets, the AOF's writes and fsyncs).
    pub sys_us_per_msg: Option<f64>,
    /// Microseconds per message Redis spent in each command, by its own count (`INFO
    /// commandstats`; an `evalsha` includes the commands its script called).
    pub usec_per_msg: BTreeMap<String, f64>,
}

impl RedisCost {
    /// The cost of several shards over the same interval and messages: CPU and calls summed.
    pub fn total(shards: &[RedisCost]) -> Option<RedisCost> {
        let first = shards.first()?;
        let mut calls: BTreeMap<String, u64> = BTreeMap::new();
        let mut usec: BTreeMap<String, f64> = BTreeMap::new();
        for c in shards {
            for (name, n) in &c.calls {
                *calls.entry(name.clone()).or_default() += n;
            }
            for (name, us) in &c.usec_per_msg {
                *usec.entry(name.clone()).or_default() += us;
            }
        }
        let sum = |f: fn(&RedisCost) -> Option<f64>| -> Option<f64> {
            shards.iter().map(f).sum::<Option<f64>>()
        };
        Some(RedisCost {
            messages: first.messages,
            cpu_pct: shards.iter().map(|c| c.cpu_pct).sum(),
            cpu_us_per_msg: sum(|c| c.cpu_us_per_msg),
            commands_per_msg: sum(|c| c.commands_per_msg),
            scripts_per_msg: sum(|c| c.scripts_per_msg),
            sys_us_per_msg: sum(|c| c.sys_us_per_msg),
            usec_per_msg: usec,
            calls,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn costs_come_from_counter_differences() {
        let t0 = Instant::now();
        let a = RedisSample::parse(
            "# Commandstats\r\ncmdstat_evalsha:calls=10,usec=50,usec_per_call=5.00,rejected_calls=0,failed_calls=0\r\ncmdstat_info:calls=1,usec=1\r\n",
            "# CPU\r\nused_cpu_sys:1.5\r\nused_cpu_user:2.5\r\n",
            t0,
        );
        let b = RedisSample::parse(
            "cmdstat_evalsha:calls=110,usec=550\r\ncmdstat_xadd:calls=100,usec=100\r\ncmdstat_info:calls=3,usec=3\r\n",
            "used_cpu_sys:1.6\r\nused_cpu_user:2.6\r\n",
            t0 + Duration::from_secs(1),
        );
        let c = a.cost_until(&b, 100);
        assert_eq!(c.scripts_per_msg, Some(1.0));
        assert_eq!(c.commands_per_msg, Some(2.0));
        assert!((c.cpu_pct - 20.0).abs() < 1e-6, "{}", c.cpu_pct);
        assert!((c.cpu_us_per_msg.unwrap() - 2000.0).abs() < 1e-6);
        assert!(!c.calls.contains_key("info"));
        let both = RedisCost::total(&[c.clone(), c]).expect("two shards");
        assert_eq!(both.commands_per_msg, Some(4.0));
        assert!((both.cpu_pct - 40.0).abs() < 1e-6, "{}", both.cpu_pct);
        assert_eq!(both.calls["evalsha"], 200);
    }
}
