//! [`FileMetas`] in this process (`--store memory`): a map by id and the messages' uses,
//! under one lock.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, PoisonError};

use super::{FileMetas, FileRecord};
use crate::store::StoreError;

/// See the module docs.
#[derive(Default)]
pub struct MemoryFileMetas {
    files: Mutex<Tables>,
}

#[derive(Default)]
struct Tables {
    files: BTreeMap<String, FileRecord>,
    uses: HashMap<(String, u64), Vec<String>>,
}

impl MemoryFileMetas {
    fn with<T>(&self, f: impl FnOnce(&mut BTreeMap<String, FileRecord>) -> T) -> T {
        f(&mut self
            .files
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .files)
    }

    fn tables<T>(&self, f: impl FnOnce(&mut Tables) -> T) -> T {
        f(&mut self.files.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl FileMetas for MemoryFileMetas {
    fn put(&self, f: &FileRecord) -> Result<(), StoreError> {
        self.with(|m| m.insert(f.id.clone(), f.clone()));
        Ok(())
    }

    fn get(&self, id: &str) -> Result<Option<FileRecord>, StoreError> {
        Ok(self.with(|m| m.get(id).cloned()))
    }

    fn attach(&self, room: &str, id: &str, seq: u64) -> Result<(), StoreError> {
        self.tables(|t| {
            let Some(f) = t.files.get_mut(id).filter(|f| f.room == room) else {
                return;
            };
            if !f.refs.contains(&seq) {
                f.refs.push(seq);
            }
            let uses = t.uses.entry((room.to_owned(), seq)).or_default();
            if !uses.iter().any(|u| u == id) {
                uses.push(id.to_owned());
            }
        });
        Ok(())
    }

    fn uses(&self, room: &str, seq: u64) -> Result<Vec<String>, StoreError> {
        Ok(self.tables(|t| {
            t.uses
                .get(&(room.to_owned(), seq))
                .cloned()
                .unwrap_or_default()
        }))
    }

    fn detach(&self, room: &str, id: &str, seq: u64) -> Result<Option<Vec<u64>>, StoreError> {
        Ok(self.tables(|t| {
            let key = (room.to_owned(), seq);
            if let Some(uses) = t.uses.get_mut(&key) {
                uses.retain(|u| u != id);
                if uses.is_empty() {
                    t.uses.remove(&key);
                }
            }
            let f = t.files.get_mut(id).filter(|f| f.room == room)?;
            f.refs.retain(|s| *s != seq);
            Some(f.refs.clone())
        }))
    }

    fn remove(&self, _room: &str, id: &str) -> Result<(), StoreError> {
        self.tables(|t| {
            if let Some(f) = t.files.remove(id) {
                for seq in f.refs {
                    if let Some(uses) = t.uses.get_mut(&(f.room.clone(), seq)) {
                        uses.retain(|u| u != id);
                    }
                }
            }
        });
        Ok(())
    }

    fn sha_used(&self, sha256: &str) -> Result<bool, StoreError> {
        Ok(self.with(|m| m.values().any(|f| f.sha256 == sha256)))
    }

    fn list(&self, after: &str, limit: usize) -> Result<Vec<FileRecord>, StoreError> {
        use std::ops::Bound::{Excluded, Unbounded};
        Ok(self.with(|m| {
            m.range::<str, _>((Excluded(after), Unbounded))
                .take(limit)
                .map(|(_, f)| f.clone())
                .collect()
        }))
    }
}
