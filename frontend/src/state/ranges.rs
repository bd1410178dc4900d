//! Which stretches of a room's history the page holds, and the window of it the list shows.
//!
//! A room's `seq`s have no holes on the server (messages and v1.2 changes share them), but the
//! page may hold several separate stretches: the live one (the join's replay, then live frames),
//! pages read backward from it (`before=`), and a page around a search result far back, with
//! pages read forward from there (`since=`). [`Ranges`] records every `seq` whose entry the page
//! has taken in, as runs; two held messages belong together only when one run covers both.
//!
//! [`Session::shown`] picks what the list renders: a bounded window of one run (the newest
//! messages while following, else from the message the reader holds), with what lies beyond
//! each end: held messages not rendered yet, or a page to fetch (`before=` the run's start,
//! `since=` its end). So the list never shows two runs as one: scrolling down from a message
//! 5,000 back fetches the missing pages until its run meets the live one.
//!
//! Invariant: a run is only ever widened by entries actually taken in (frames, pages), so
//! "covered" always means "every entry of that stretch is held or folded".

use std::sync::Arc;

use banter_protocol::ChatMessage;
use banter_protocol::http::MessagePage;

use super::Session;

/// Inclusive runs of `seq`s, sorted, disjoint and not adjacent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ranges(Vec<(u64, u64)>);

impl Ranges {
    /// Adds `lo..=hi` (nothing when `lo > hi`), merging with the runs it touches.
    pub fn add(&mut self, lo: u64, hi: u64) {
        if lo > hi {
            return;
        }
        let (mut lo, mut hi) = (lo, hi);
        self.0.retain(|&(a, b)| {
            let touches = a <= hi.saturating_add(1) && lo <= b.saturating_add(1);
            if touches {
                lo = lo.min(a);
                hi = hi.max(b);
            }
            !touches
        });
        let at = self.0.partition_point(|&(a, _)| a < lo);
        self.0.insert(at, (lo, hi));
    }

    /// The run holding `seq`, if any.
    pub fn run_of(&self, seq: u64) -> Option<(u64, u64)> {
        self.0.iter().copied().find(|&(a, b)| a <= seq && seq <= b)
    }

    /// The newest run.
    pub fn last(&self) -> Option<(u64, u64)> {
        self.0.last().copied()
    }

    /// The oldest run.
    pub fn first(&self) -> Option<(u64, u64)> {
        self.0.first().copied()
    }

    /// Forgets every run (the room's history is another life).
    pub fn clear(&mut self) {
        self.0.clear();
    }
}

/// What the list shows of the room on screen (see the module docs).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Shown {
    /// The messages to render, oldest first (thread replies included: the view leaves them out).
    pub messages: Vec<Arc<ChatMessage>>,
    /// Held messages of the same run older than the first shown.
    pub older_held: usize,
    /// Held messages of the same run newer than the last shown.
    pub newer_held: usize,
    /// The `before=` page to fetch once the reader reaches the top (nothing older held).
    pub fetch_before: Option<u64>,
    /// The `since=` page to fetch once the reader reaches the bottom: the run ends before the
    /// live one starts.
    pub fetch_after: Option<u64>,
}

impl Shown {
    /// Whether the window reaches the newest message of the room as held (following is right).
    pub fn at_live_end(&self) -> bool {
        self.newer_held == 0 && self.fetch_after.is_none()
    }
}

impl Session {
    /// Records that every entry of `room` from `lo` to `hi` has been taken in.
    pub(super) fn note_held(&mut self, room: &str, lo: u64, hi: u64) {
        self.room_mut(room).held.add(lo, hi);
    }

    /// Adds a page read backward (`before=`) to `room`: its entries cover everything from its
    /// first one (from `seq` 1 when `complete`) up to `before - 1`. Returns how many messages
    /// were new.
    pub fn add_before(&mut self, room: &str, before: u64, page: MessagePage) -> usize {
        if page.room != room || !self.rooms.contains_key(room) || !self.same_life(&page) {
            return 0;
        }
        let first = first_seq(&page);
        let lo = if page.complete {
            1
        } else {
            first.unwrap_or(before)
        };
        if page.complete || first.is_some() {
            self.note_held(room, lo, before.saturating_sub(1));
        }
        self.add_earlier(room, page)
    }

    /// Adds a page read forward (`since=`) to `room`: its entries cover everything after
    /// `since` up to its last one. Returns how many messages were new.
    pub fn add_after(&mut self, room: &str, since: u64, page: MessagePage) -> usize {
        if page.room != room || !self.rooms.contains_key(room) || !self.same_life(&page) {
            return 0;
        }
        if let Some(last) = last_seq(&page) {
            self.note_held(room, since + 1, last);
        }
        let Some(added) = self.core.earlier(page) else {
            return 0;
        };
        added
    }

    /// Whether `page` belongs to the life of its room's history the page holds.
    fn same_life(&self, page: &MessagePage) -> bool {
        let held = self.core.room(&page.room).map(|r| r.epoch.as_str());
        page.epoch.is_empty() || held.is_none_or(|e| e.is_empty() || e == page.epoch)
    }

    /// Whether the room on screen is still taking in the replay of its `join`.
    pub fn replaying_on_screen(&self) -> bool {
        let room = self.screen_room();
        room.and_then(|r| self.core.room(r))
            .is_some_and(|r| r.replay_pending())
    }

    /// The window of the room on screen: the newest `newest` messages of its live run when
    /// `first` is `None`, else up to `held_max` messages from `first` on, within its run.
    pub fn shown(&self, first: Option<u64>, newest: usize, held_max: usize) -> Shown {
        let Some(room) = self.screen_room() else {
            return Shown::default();
        };
        let (Some(store), Some(state)) = (self.store(room), self.rooms.get(room)) else {
            return Shown::default();
        };
        let held = &state.held;
        let live = held.last();
        // A message the page holds outside every run (it should not happen): its own run.
        let run = match first {
            Some(f) => held.run_of(f).unwrap_or((f, f)),
            None => match live {
                Some(run) => run,
                None => return Shown::default(),
            },
        };
        let in_run = || store.between(run.0, run.1);
        let messages: Vec<Arc<ChatMessage>> = match first {
            Some(f) => store.between(f, run.1).take(held_max).cloned().collect(),
            None => {
                let all = in_run().count();
                in_run().skip(all.saturating_sub(newest)).cloned().collect()
            }
        };
        let (lo, hi) = match (messages.first(), messages.last()) {
            (Some(a), Some(b)) => (a.seq, b.seq),
            _ => (run.1.saturating_add(1), run.1),
        };
        let older_held = store.between(run.0, lo.saturating_sub(1)).count();
        let newer_held = store.between(hi.saturating_add(1), run.1).count();
        let oldest_run = held.first() == Some(run);
        let nothing_older = run.0 <= 1 || (oldest_run && state.reached_start);
        let epoch_known = self.core.room(room).is_some_and(|r| !r.epoch.is_empty());
        Shown {
            older_held,
            newer_held,
            fetch_before: (older_held == 0 && !nothing_older && epoch_known).then_some(run.0),
            fetch_after: (newer_held == 0 && live != Some(run)).then_some(run.1),
            messages,
        }
    }
}

/// The lowest `seq` of a page's entries.
fn first_seq(page: &MessagePage) -> Option<u64> {
    let m = page.messages.iter().map(|m| m.seq);
    m.chain(page.changes.iter().map(|c| c.seq)).min()
}

/// The highest `seq` of a page's entries.
fn last_seq(page: &MessagePage) -> Option<u64> {
    let m = page.messages.iter().map(|m| m.seq);
    m.chain(page.changes.iter().map(|c| c.seq)).max()
}

#[cfg(test)]
mod tests {
    use super::Ranges;

    #[test]
    fn runs_merge_when_they_touch_and_stay_apart_otherwise() {
        let mut r = Ranges::default();
        r.add(10, 20);
        r.add(40, 50);
        r.add(5, 3);
        assert_eq!(r.run_of(15), Some((10, 20)));
        assert_eq!(r.run_of(30), None);
        r.add(21, 25);
        assert_eq!(r.run_of(25), Some((10, 25)));
        r.add(26, 39);
        assert_eq!(r.run_of(12), Some((10, 50)));
        r.add(1, 1);
        assert_eq!((r.first(), r.last()), (Some((1, 1)), Some((10, 50))));
    }
}
