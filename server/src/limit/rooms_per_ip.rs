//! `--max-rooms-per-ip`: how many distinct rooms the WebSockets of one client address may be in
//! at once, so one host cannot load `--max-rooms` rooms and leave none for anyone else (whose
//! joins of a room not loaded, and of their own conversations, would then be refused). A room
//! counts once however many of the address's connections are in it, so tabs and bots behind one
//! address share what they join. The table holds only addresses that are in some room, so its
//! size is bounded by the rooms connections are in.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// Per address: each room its connections are in, and how many of them are.
type Table = HashMap<IpAddr, HashMap<Arc<str>, u32>>;

/// Rooms per client address. Cheap to clone.
#[derive(Clone, Default, Debug)]
pub struct RoomsPerIp {
    /// 0 = no limit.
    max: usize,
    /// Per address: each room and how many of its connections are in it.
    table: Arc<Mutex<Table>>,
}

impl RoomsPerIp {
    pub fn new(max: usize) -> Self {
        RoomsPerIp {
            max,
            table: Arc::default(),
        }
    }

    /// The limit (0: none).
    pub fn max(&self) -> usize {
        self.max
    }

    fn lock(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts one more connection of `ip` in `room`; `false` (nothing counted) when the room
    /// is new to the address and the address is at its limit. Without an address, or without
    /// a limit, nothing is counted.
    pub fn enter(&self, ip: Option<IpAddr>, room: &str) -> bool {
        let Some(ip) = ip.filter(|_| self.max > 0) else {
            return true;
        };
        let mut table = self.lock();
        let rooms = table.entry(ip).or_default();
        if let Some(n) = rooms.get_mut(room) {
            *n += 1;
            return true;
        }
        if rooms.len() >= self.max {
            if rooms.is_empty() {
                table.remove(&ip);
            }
            return false;
        }
        rooms.insert(room.into(), 1);
        true
    }

    /// Uncounts one connection of `ip` in `room` (counted by [`RoomsPerIp::enter`]).
    pub fn leave(&self, ip: Option<IpAddr>, room: &str) {
        let Some(ip) = ip.filter(|_| self.max > 0) else {
            return;
        };
        let mut table = self.lock();
        let Some(rooms) = table.get_mut(&ip) else {
            return;
        };
        if let Some(n) = rooms.get_mut(room) {
            *n -= 1;
            if *n == 0 {
                rooms.remove(room);
            }
        }
        if rooms.is_empty() {
            table.remove(&ip);
        }
    }

    /// Distinct rooms the connections of `ip` are in.
    pub fn rooms_of(&self, ip: IpAddr) -> usize {
        self.lock().get(&ip).map_or(0, HashMap::len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_capped_in_distinct_rooms_and_freed() {
        let t = RoomsPerIp::new(2);
        let ip = IpAddr::from([127, 0, 0, 1]);
        let a = Some(ip);
        let b = Some(IpAddr::from([127, 0, 0, 2]));
        assert!(t.enter(a, "x"));
        assert!(t.enter(a, "x"), "a second tab in the same room is free");
        assert!(t.enter(a, "y"));
        assert!(!t.enter(a, "z"), "a third room is refused");
        assert!(t.enter(b, "z"), "another address is not affected");
        t.leave(a, "x");
        assert!(!t.enter(a, "z"), "x is still held by the other tab");
        t.leave(a, "x");
        assert!(t.enter(a, "z"));
        for r in ["y", "z"] {
            t.leave(a, r);
        }
        assert_eq!(t.rooms_of(ip), 0);
        assert!(t.lock().get(&ip).is_none(), "the address is forgotten");
        assert!(RoomsPerIp::new(0).enter(a, "w"));
        assert!(t.enter(None, "w"));
    }
}
