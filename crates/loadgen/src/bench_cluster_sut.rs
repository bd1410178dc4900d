//! What `bench --cluster` measures: the two systems ([`System`]: one node, or `--nodes` nodes
//! over `--shards` Redis), one of them running ([`Sut`]: fresh processes per run, connections
//! spread round-robin over the nodes), and the [`Meter`] over a run's sending phase (each
//! process's CPU, and each Redis shard's commands and CPU from `INFO`).

use std::sync::Arc;

use anyhow::Result;
use serde::Serialize;

use crate::Common;
use crate::bench_args::BenchArgs;
use crate::bench_server::{Kind, Server};
use crate::client::{ConnSpec, Dialect};
use crate::fanout::Probe;
use crate::procstat::{CpuMark, Proc};
use crate::redis_proc::{RedisCost, RedisProc, RedisSample};

/// The two systems compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum System {
    /// One node, its embedded store.
    Single,
    /// `--nodes` nodes and `--shards` Redis.
    Cluster,
}

impl System {
    pub(crate) fn name(self) -> &'static str {
        match self {
            System::Single => "1 node",
            System::Cluster => "cluster",
        }
    }
}

/// A running system under test.
pub(crate) enum Sut {
    Single(Server),
    Cluster {
        /// One `redis-server` per shard, in the order of the nodes' `--redis` list.
        shards: Vec<RedisProc>,
        nodes: Vec<Server>,
    },
}

impl Sut {
    pub(crate) fn start(a: &BenchArgs, sys: System, port: &mut u16) -> Result<Sut> {
        match sys {
            System::Single => Ok(Sut::Single(Server::start_as(
                Kind::Banter,
                a,
                *port,
                "banter",
            )?)),
            System::Cluster => {
                let mut shards = Vec::new();
                for i in 0..a.shards.max(1) {
                    if i > 0 {
                        *port += 1;
                    }
                    shards.push(RedisProc::start(&a.redis_server, *port, &a.redis_fsync)?);
                }
                let urls: Vec<String> = shards.iter().map(RedisProc::url).collect();
                let mut with_redis = a.clone();
                with_redis
                    .banter_args
                    .push(format!("--redis={}", urls.join(",")));
                // The nodes share this machine: each gets its share of the cores, as it would
                // be deployed (more runnable threads than cores only adds latency).
                if !a
                    .banter_args
                    .iter()
                    .any(|x| x.starts_with("--worker-threads"))
                {
                    let cores = std::thread::available_parallelism().map_or(1, usize::from);
                    let share = (cores / a.nodes.max(1)).max(1);
                    with_redis
                        .banter_args
                        .push(format!("--worker-threads={share}"));
                }
                let mut nodes = Vec::new();
                for i in 1..=a.nodes.max(1) {
                    *port += 1;
                    let label = format!("node{i}");
                    nodes.push(Server::start_as(Kind::Banter, &with_redis, *port, &label)?);
                }
                Ok(Sut::Cluster { shards, nodes })
            }
        }
    }

    fn nodes(&self) -> &[Server] {
        match self {
            Sut::Single(s) => std::slice::from_ref(s),
            Sut::Cluster { nodes, .. } => nodes,
        }
    }

    /// Connections spread round-robin over the nodes.
    pub(crate) fn spec(&self, common: &Common, rx: usize) -> Arc<ConnSpec> {
        let nodes = self.nodes();
        let mut spec = ConnSpec::new(nodes[0].addr, Dialect::Banter, None, common.sources, rx);
        spec.more = nodes[1..]
            .iter()
            .map(|n| crate::ws::Target {
                addr: n.addr,
                path: spec.target.path.clone(),
            })
            .collect();
        Arc::new(spec)
    }

    /// Every process of the system: (label, pid); the shards are `redis` (one) or `redis1`,
    /// `redis2`, ….
    pub(crate) fn procs(&self) -> Vec<(String, u32)> {
        let mut v: Vec<(String, u32)> = self
            .nodes()
            .iter()
            .enumerate()
            .map(|(i, n)| (format!("node{}", i + 1), n.pid()))
            .collect();
        let shards = self.shards();
        for (i, r) in shards.iter().enumerate() {
            let label = match shards.len() {
                1 => "redis".to_owned(),
                _ => format!("redis{}", i + 1),
            };
            v.push((label, r.pid()));
        }
        v
    }

    /// The Redis shards (none for one node).
    pub(crate) fn shards(&self) -> &[RedisProc] {
        match self {
            Sut::Single(_) => &[],
            Sut::Cluster { shards, .. } => shards,
        }
    }
}

/// Measures every process's CPU and each Redis shard's counters over an interval.
pub(crate) struct Meter<'a> {
    procs: Vec<(String, u32)>,
    shards: &'a [RedisProc],
    marks: Vec<CpuMark>,
    pub(crate) cpu_pct: Vec<(String, Option<f64>)>,
    before: Vec<Option<RedisSample>>,
    after: Vec<Option<RedisSample>>,
}

impl<'a> Meter<'a> {
    pub(crate) fn new(sut: &'a Sut) -> Self {
        Meter {
            procs: sut.procs(),
            shards: sut.shards(),
            marks: Vec::new(),
            cpu_pct: Vec::new(),
            before: Vec::new(),
            after: Vec::new(),
        }
    }

    /// The first node's pid (the run's own `pid`).
    pub(crate) fn first(&self) -> u32 {
        self.procs[0].1
    }

    fn sample(&self) -> Vec<Option<RedisSample>> {
        let read = |r: &RedisProc| match r.sample() {
            Ok(s) => Some(s),
            Err(e) => {
                eprintln!("  (cannot read INFO from Redis at {}: {e})", r.addr);
                None
            }
        };
        self.shards.iter().map(read).collect()
    }

    /// Each shard's cost over the interval, for `messages` messages posted to the whole
    /// cluster meanwhile; `None` without Redis or when a sample is missing.
    pub(crate) fn shard_costs(&self, messages: u64) -> Option<Vec<RedisCost>> {
        if self.shards.is_empty() {
            return None;
        }
        self.before
            .iter()
            .zip(&self.after)
            .map(|(a, b)| Some(a.as_ref()?.cost_until(b.as_ref()?, messages)))
            .collect()
    }
}

impl Probe for Meter<'_> {
    fn pids(&self) -> Vec<u32> {
        // The first node is the run's `pid`.
        self.procs.iter().skip(1).map(|(_, p)| *p).collect()
    }

    fn start(&mut self) {
        self.before = self.sample();
        self.marks = self
            .procs
            .iter()
            .map(|(_, p)| CpuMark::now(Proc::Pid(*p)))
            .collect();
    }

    fn stop(&mut self) {
        self.cpu_pct = self
            .procs
            .iter()
            .zip(&self.marks)
            .map(|((name, p), m)| (name.clone(), m.pct_until(&CpuMark::now(Proc::Pid(*p)))))
            .collect();
        self.after = self.sample();
    }
}
