//! Connections per address, so one host cannot fill the server for everyone. Two tables use it:
//! `--max-connections-per-ip` counts WebSockets per client address at the door (a guard uncounts
//! the connection when its task ends), and `--max-tcp-connections-per-ip` counts raw sockets per
//! peer address at accept (the guard lives in the socket). A table holds only addresses with open
//! connections, so its size is bounded by the connections open.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// Open WebSockets per client address. Cheap to clone.
#[derive(Clone, Default)]
pub struct PerIp {
    /// 0 = no limit.
    max: usize,
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

/// Keeps one connection counted against its address until dropped.
pub struct IpGuard {
    table: Option<(PerIp, IpAddr)>,
}

impl PerIp {
    pub fn new(max: usize) -> Self {
        PerIp {
            max,
            open: Arc::default(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<IpAddr, usize>> {
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts a connection from `ip`, or `None` if that address is at its limit. Without a
    /// limit, or without a known address (a server embedded without connection info), nothing
    /// is counted.
    pub fn try_open(&self, ip: Option<IpAddr>) -> Option<IpGuard> {
        let Some(ip) = ip.filter(|_| self.max > 0) else {
            return Some(IpGuard { table: None });
        };
        let mut open = self.lock();
        let count = open.entry(ip).or_insert(0);
        if *count >= self.max {
            return None;
        }
        *count += 1;
        Some(IpGuard {
            table: Some((self.clone(), ip)),
        })
    }

    /// Connections open from `ip`.
    pub fn open_from(&self, ip: IpAddr) -> usize {
        self.lock().get(&ip).copied().unwrap_or(0)
    }
}

impl Drop for IpGuard {
    fn drop(&mut self) {
        if let Some((table, ip)) = self.table.take() {
            let mut open = table.lock();
            if let Some(count) = open.get_mut(&ip) {
                *count -= 1;
                if *count == 0 {
                    open.remove(&ip);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_capped_and_freed() {
        let t = PerIp::new(2);
        let a: IpAddr = [127, 0, 0, 1].into();
        let b: IpAddr = [127, 0, 0, 2].into();
        let g1 = t.try_open(Some(a)).unwrap();
        let _g2 = t.try_open(Some(a)).unwrap();
        assert!(t.try_open(Some(a)).is_none());
        assert!(t.try_open(Some(b)).is_some());
        drop(g1);
        assert_eq!(t.open_from(a), 1);
        assert!(t.try_open(Some(a)).is_some());
        assert!(PerIp::new(0).try_open(Some(a)).is_some());
    }
}
