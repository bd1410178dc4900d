//! Reading a process's CPU time and memory from `/proc` (Linux), for the server under test and
//! for the load generator itself.

use std::time::Instant;

/// Linux `USER_HZ`: the unit of `utime`/`stime` in `/proc/PID/stat` (100 on every mainstream
/// architecture; `getconf CLK_TCK`).
const CLK_TCK: f64 = 100.0;

/// Which process: a pid, or ourselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proc {
    Pid(u32),
    SelfProc,
}

impl Proc {
    fn path(self, file: &str) -> String {
        match self {
            Proc::Pid(p) => format!("/proc/{p}/{file}"),
            Proc::SelfProc => format!("/proc/self/{file}"),
        }
    }

    /// User + system CPU seconds consumed so far.
    pub fn cpu_secs(self) -> Option<f64> {
        let stat = std::fs::read_to_string(self.path("stat")).ok()?;
        // Fields after the command name (which may contain spaces) start after the last ')'.
        let rest = &stat[stat.rfind(')')? + 2..];
        let f: Vec<&str> = rest.split_whitespace().collect();
        // rest starts at field 3 (state); utime is field 14, stime field 15.
        let utime: f64 = f.get(11)?.parse().ok()?;
        let stime: f64 = f.get(12)?.parse().ok()?;
        Some((utime + stime) / CLK_TCK)
    }

    /// Resident set size in bytes (`VmRSS`).
    pub fn rss_bytes(self) -> Option<u64> {
        self.status_kb("VmRSS:").map(|kb| kb * 1024)
    }

    /// Peak resident set size in bytes (`VmHWM`).
    pub fn peak_rss_bytes(self) -> Option<u64> {
        self.status_kb("VmHWM:").map(|kb| kb * 1024)
    }

    fn status_kb(self, key: &str) -> Option<u64> {
        let status = std::fs::read_to_string(self.path("status")).ok()?;
        let line = status.lines().find(|l| l.starts_with(key))?;
        line[key.len()..]
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()
    }
}

/// A CPU-time sample, to turn into a utilisation over an interval.
#[derive(Debug, Clone, Copy)]
pub struct CpuMark {
    at: Instant,
    secs: Option<f64>,
}

impl CpuMark {
    pub fn now(p: Proc) -> Self {
        CpuMark {
            at: Instant::now(),
            secs: p.cpu_secs(),
        }
    }

    /// CPU use since `self`, in percent of one core.
    pub fn pct_until(&self, later: &CpuMark) -> Option<f64> {
        let wall = later.at.duration_since(self.at).as_secs_f64();
        match (self.secs, later.secs) {
            (Some(a), Some(b)) if wall > 0.0 => Some((b - a) / wall * 100.0),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_own_stats() {
        assert!(Proc::SelfProc.cpu_secs().is_some());
        assert!(Proc::SelfProc.rss_bytes().unwrap() > 0);
        assert!(Proc::Pid(std::process::id()).peak_rss_bytes().unwrap() > 0);
    }
}

/// Busy CPU time of the whole machine (all CPUs, from `/proc/stat`), to tell how much of it
/// other processes took during a run: on a shared machine that is the first suspect for noise.
#[derive(Debug, Clone, Copy)]
pub struct MachineMark {
    at: Instant,
    busy_secs: Option<f64>,
}

impl MachineMark {
    pub fn now() -> Self {
        MachineMark {
            at: Instant::now(),
            busy_secs: machine_busy_secs(),
        }
    }

    /// Whole-machine CPU use since `self`, in percent of one core (200 = two cores busy).
    pub fn pct_until(&self, later: &MachineMark) -> Option<f64> {
        let wall = later.at.duration_since(self.at).as_secs_f64();
        match (self.busy_secs, later.busy_secs) {
            (Some(a), Some(b)) if wall > 0.0 => Some((b - a) / wall * 100.0),
            _ => None,
        }
    }
}

fn machine_busy_secs() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().next()?.strip_prefix("cpu ")?;
    let v: Vec<f64> = line
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is already in user).
    let busy: f64 = v
        .iter()
        .take(8)
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 4)
        .map(|(_, x)| x)
        .sum();
    Some(busy / CLK_TCK)
}

/// CPU used by processes other than `ours` between two marks, in percent of one core.
pub fn others_pct(
    machine: (MachineMark, MachineMark),
    ours: &[(Option<CpuMark>, Option<CpuMark>)],
) -> Option<f64> {
    let total = machine.0.pct_until(&machine.1)?;
    let mine: f64 = ours
        .iter()
        .filter_map(|(a, b)| a.zip(*b).and_then(|(a, b)| a.pct_until(&b)))
        .sum();
    Some((total - mine).max(0.0))
}
