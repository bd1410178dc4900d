//! The files' sweep: every `--file-sweep`, one node at a time (the store's sweep turn), removes
//! the files whose messages retention removed (every `seq` using it lies below the room's
//! oldest held one) and the uploads no message used within `--file-unused-ttl`.
//!
//! A message's files are recorded as its uses after it is stored, off the store's thread (a
//! queued job, `mod.rs`): a crash between the commit and that record, or a full queue, loses
//! it. So a file is claimed (a use under [`CLAIM`]) before a message carrying it is stored,
//! and before a claimed file without a real use is removed, the room's messages stored since
//! it was uploaded are read ([`Files::carried_by`], newest first, at most [`SCAN`] entries):
//! one that carries it gets its use recorded now, and the file stays. A file of a message that
//! still exists is never removed for want of its record; one whose room is too busy to tell is
//! kept. An upload never claimed goes after `--file-unused-ttl` without a read.

use std::collections::HashMap;
use std::time::Duration;

use super::{CLAIM, FileError, Files};
use crate::store::files::FileRecord;
use crate::store::{Range, Store, now_ms};

/// Entries of a room read at most to find the message that carries an upload without uses.
const SCAN: usize = 20_000;

/// Entries read per page while looking.
const PAGE: usize = 500;

/// How much older than its upload a message carrying it may look (clocks of nodes differ).
const SKEW_MS: u64 = 60_000;

impl Files {
    /// One pass of the sweep (see the module docs): the number of files removed. An error on
    /// one file is logged and the pass goes on.
    pub async fn sweep(&self, store: &Store) -> Result<usize, FileError> {
        let period = self.inner.cfg.file_sweep;
        if !self.metas(move |m| m.sweep_turn(period)).await? {
            return Ok(0);
        }
        let (mut after, mut removed) = (String::new(), 0);
        let mut oldest: HashMap<String, u64> = HashMap::new();
        loop {
            let from = after.clone();
            let page = self.metas(move |m| m.list(&from, 500)).await?;
            let Some(last) = page.last() else {
                return Ok(removed);
            };
            after = last.id.clone();
            for f in page {
                match self.swept(store, &f, &mut oldest).await {
                    Ok(true) => removed += 1,
                    Ok(false) => {}
                    Err(e) => tracing::warn!(id = %f.id, error = %e, "files: sweep skipped a file"),
                }
            }
        }
    }

    /// Removes `f` when its time is up: whether it did.
    async fn swept(
        &self,
        store: &Store,
        f: &FileRecord,
        oldest: &mut HashMap<String, u64>,
    ) -> Result<bool, FileError> {
        let claimed = f.refs.contains(&CLAIM);
        let gone = if f.refs.iter().all(|s| *s == CLAIM) {
            // Never used, or only claimed by a message whose use was not recorded.
            let ttl = self.inner.cfg.file_unused_ttl.as_millis() as u64;
            now_ms().saturating_sub(f.created) > ttl
                && !(claimed && self.carried_by(store, f).await?)
        } else {
            let floor = match oldest.get(&f.room) {
                Some(o) => *o,
                None => {
                    let o = store.room(&f.room).await?.oldest;
                    oldest.insert(f.room.clone(), o);
                    o
                }
            };
            f.refs.iter().all(|s| *s == CLAIM || *s < floor)
        };
        if gone {
            self.remove(&f.room, &f.id).await?;
        }
        Ok(gone)
    }

    /// Whether a message of `f`'s room stored since its upload carries it; if so, its use is
    /// recorded now (it was lost). Read newest first (a page of `Range::Before` comes in `seq`
    /// order, so it is walked backwards); too many entries to read: assumed carried.
    async fn carried_by(&self, store: &Store, f: &FileRecord) -> Result<bool, FileError> {
        let since = f.created.saturating_sub(SKEW_MS);
        let mut before = u64::MAX;
        let mut read = 0;
        while read < SCAN {
            let (entries, _) = store.read(&f.room, Range::Before(before), PAGE).await?;
            let Some(oldest) = entries.first() else {
                return Ok(false);
            };
            before = oldest.seq();
            read += entries.len();
            for e in entries.iter().rev() {
                let Some(m) = e.message() else { continue };
                if m.files.iter().any(|x| x.id == f.id) {
                    tracing::warn!(id = %f.id, room = %f.room, seq = m.seq, "files: a lost use recorded again");
                    let (room, id, seq) = (f.room.clone(), f.id.clone(), m.seq);
                    self.metas(move |ms| {
                        ms.attach(&room, &id, seq)?;
                        ms.detach(&room, &id, CLAIM).map(drop)
                    })
                    .await?;
                    return Ok(true);
                }
                if m.ts < since {
                    return Ok(false);
                }
            }
            if before <= 1 {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Runs [`Files::sweep`] every `--file-sweep` until `stop`.
    pub fn spawn_sweep(&self, store: Store, stop: tokio_util::sync::CancellationToken) {
        let (me, period) = (
            self.clone(),
            self.inner.cfg.file_sweep.max(Duration::from_millis(10)),
        );
        crate::every::every(period, stop, move || {
            let (me, store) = (me.clone(), store.clone());
            async move {
                if let Err(e) = me.sweep(&store).await {
                    tracing::warn!(error = %e, "files: the sweep failed");
                }
            }
        });
    }
}
