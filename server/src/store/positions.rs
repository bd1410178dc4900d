//! [`Positions`]: where each user has read up to in each room (`read` frames, `joined.read`),
//! kept by the store so that every device and every node sees the same position.
//!
//! A position only moves forward: a store keeps the highest `seq` it was given for a user and
//! room, whatever order saves arrive in. Saves come in batches the hub has already coalesced
//! (the latest per user and room), off the path of posting, and complete through a callback.
//! [`MemoryPositions`] keeps them in this process only: the memory store's, and the default of a
//! [`super::Store`] built without one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use super::StoreError;

/// One user's position in one room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub user: Arc<str>,
    pub room: String,
    pub seq: u64,
}

/// Runs once a batch of positions is stored (or could not be).
pub type PositionsDone = Box<dyn FnOnce(Result<(), StoreError>) + Send>;

/// See the module docs. [`Positions::positions`] may block (disk, network): the server calls it
/// through [`super::Store`], off the async workers; [`Positions::save_positions`] never blocks.
pub trait Positions: Send + Sync + 'static {
    /// Every room in which `user` has a position, with it.
    fn positions(&self, user: &str) -> Result<Vec<(String, u64)>, StoreError>;

    /// Stores each position of `batch` that is ahead of the stored one; `done` runs after.
    fn save_positions(&self, batch: Vec<Position>, done: PositionsDone);
}

/// Positions kept in memory, lost when the process stops; at most [`MAX_POSITIONS`] of them.
#[derive(Default)]
pub struct MemoryPositions {
    by_user: Mutex<HashMap<Arc<str>, HashMap<String, u64>>>,
}

/// The most positions a [`MemoryPositions`] keeps (all users and rooms together): past it, a
/// position in a room the user had none in yet is not kept.
pub const MAX_POSITIONS: usize = 1_000_000;

impl MemoryPositions {
    /// Applies `batch`, keeping the highest `seq` per user and room.
    fn apply(&self, batch: Vec<Position>) -> Result<(), StoreError> {
        let mut all = self.by_user.lock().unwrap_or_else(PoisonError::into_inner);
        let mut held: usize = all.values().map(HashMap::len).sum();
        let mut full = false;
        for p in batch {
            let rooms = all.entry(p.user).or_default();
            match rooms.get_mut(&p.room) {
                Some(seq) => *seq = (*seq).max(p.seq),
                None if held < MAX_POSITIONS => {
                    rooms.insert(p.room, p.seq);
                    held += 1;
                }
                None => full = true,
            }
        }
        all.retain(|_, rooms| !rooms.is_empty());
        if full {
            return Err(StoreError::Full);
        }
        Ok(())
    }
}

impl Positions for MemoryPositions {
    fn positions(&self, user: &str) -> Result<Vec<(String, u64)>, StoreError> {
        let all = self.by_user.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(all
            .get(user)
            .map(|rooms| rooms.iter().map(|(r, s)| (r.clone(), *s)).collect())
            .unwrap_or_default())
    }

    fn save_positions(&self, batch: Vec<Position>, done: PositionsDone) {
        done(self.apply(batch));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(user: &str, room: &str, seq: u64) -> Position {
        Position {
            user: user.into(),
            room: room.into(),
            seq,
        }
    }

    #[test]
    fn a_position_only_moves_forward() {
        let p = MemoryPositions::default();
        p.save_positions(
            vec![at("ada", "r", 5), at("bob", "r", 2)],
            Box::new(|r| r.unwrap()),
        );
        p.save_positions(
            vec![at("ada", "r", 3), at("ada", "s", 1)],
            Box::new(|r| r.unwrap()),
        );
        let mut ada = p.positions("ada").unwrap();
        ada.sort();
        assert_eq!(ada, [("r".to_string(), 5), ("s".to_string(), 1)]);
        assert_eq!(p.positions("bob").unwrap(), [("r".to_string(), 2)]);
        assert!(p.positions("cy").unwrap().is_empty());
    }
}
