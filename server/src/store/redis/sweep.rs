//! The presence sweep: who is present in the loaded rooms on other live nodes, re-read from each
//! room's `…:present` hash, with the entries of dead nodes dropped (see [`super::presence`]).
//!
//! It runs on its own thread every [`SWEEP`] over every loaded room, and once for a single room
//! when the subscriber subscribes it. Rooms are read [`CHUNK`] at a time: one pipeline of
//! `HKEYS`, one of `EXISTS` for the nodes named, one of `HDEL` for dead entries, so ten thousand
//! loaded rooms cost a few dozen round trips, none of them on the pub/sub connection.

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use super::keys::{self, Keys};
use super::presence::SWEEP;
use super::reads::Reads;
use crate::store::{Sink, StoreError};

/// Rooms read in one pipeline.
const CHUNK: usize = 500;

/// Re-reads the presence of `rooms` and hands it to `sink`.
pub fn sweep(reads: &Reads, sink: &dyn Sink, me: &str, rooms: &[String]) -> Result<(), StoreError> {
    for chunk in rooms.chunks(CHUNK) {
        let fields: Vec<Vec<String>> = reads.with(|c| {
            let mut pipe = redis::pipe();
            for room in chunk {
                pipe.cmd("HKEYS").arg(Keys::new(room).present);
            }
            pipe.query(c)
        })?;
        let mut nodes: Vec<&str> = fields
            .iter()
            .flatten()
            .filter_map(|f| f.split_once('\n').map(|(n, _)| n))
            .collect();
        nodes.sort_unstable();
        nodes.dedup();
        let alive = reads.exist(&nodes.iter().map(|n| keys::node(n)).collect::<Vec<_>>())?;
        let live: HashMap<&str, bool> = nodes.iter().copied().zip(alive).collect();
        let mut dead: Vec<(String, Vec<String>)> = Vec::new();
        for (room, fields) in chunk.iter().zip(&fields) {
            let mut entries = Vec::new();
            let mut gone = Vec::new();
            for f in fields {
                let Some((node, name)) = f.split_once('\n') else {
                    continue;
                };
                if !live.get(node).copied().unwrap_or(false) {
                    gone.push(f.clone());
                } else if node != me {
                    entries.push((node.to_owned(), name.to_owned()));
                }
            }
            sink.sync_presence(room, &entries);
            if !gone.is_empty() {
                dead.push((Keys::new(room).present, gone));
            }
        }
        if !dead.is_empty() {
            reads.with(|c| {
                let mut pipe = redis::pipe();
                for (key, fields) in &dead {
                    pipe.cmd("HDEL").arg(key).arg(fields).ignore();
                }
                pipe.query::<()>(c)
            })?;
        }
    }
    Ok(())
}

/// What the sweep thread needs from the subscriber: the sink and the loaded rooms.
pub trait Rooms: Send + Sync + 'static {
    fn sink(&self) -> Option<Arc<dyn Sink>>;
    fn rooms(&self) -> Vec<String>;
}

/// Starts the thread; it ends when `of` is dropped.
pub fn start(reads: Arc<Reads>, me: Arc<str>, of: Weak<dyn Rooms>) -> Result<(), StoreError> {
    std::thread::Builder::new()
        .name("banter-redis-sweep".into())
        .spawn(move || {
            loop {
                std::thread::sleep(SWEEP); // the period of the sweep
                let Some(of) = of.upgrade() else { return };
                let Some(sink) = of.sink() else { continue };
                let rooms = of.rooms();
                drop(of);
                if let Err(e) = sweep(&reads, &*sink, &me, &rooms) {
                    tracing::debug!(error = %e, "presence sweep failed; next period");
                }
            }
        })
        .map(drop)
        .map_err(StoreError::failed)
}
