//! [`SeqSet`]: which entries of a room's sequence a client has taken in, as ranges.
//!
//! Since v1.2 a room's `seq` numbers both messages and `change` entries, and a replay may give the
//! messages of its range before the changes of the same range. So "the highest `seq` seen" is no
//! longer a safe resume point, nor a test for "already seen": a connection cut between message 9
//! and change 6 must resume from 5, and change 6 must still be taken when it comes. This set
//! answers both: [`SeqSet::insert`] (new or a repeat) and [`SeqSet::resume_point`] (every `seq`
//! up to it was seen). The `seq`s are gap-free, so it holds a handful of ranges at most.

/// A set of `seq`s: everything up to a floor, plus ranges above it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeqSet {
    /// Every `seq` up to here counts as seen (where the client started, or a contiguous run).
    floor: u64,
    /// Disjoint, sorted, non-adjacent inclusive ranges, all above `floor + 1`.
    ranges: Vec<(u64, u64)>,
}

impl SeqSet {
    /// A set where every `seq` up to `floor` counts as seen (0: none).
    pub fn from_floor(floor: u64) -> Self {
        SeqSet {
            floor,
            ranges: Vec::new(),
        }
    }

    /// Whether `seq` was seen (or lies at or below the floor).
    pub fn contains(&self, seq: u64) -> bool {
        seq <= self.floor || self.ranges.iter().any(|&(a, b)| a <= seq && seq <= b)
    }

    /// Takes `seq` in; returns whether it was new.
    pub fn insert(&mut self, seq: u64) -> bool {
        if self.contains(seq) {
            return false;
        }
        let at = self.ranges.partition_point(|&(_, b)| b < seq);
        self.ranges.insert(at, (seq, seq));
        // Merge with the neighbours it now touches, then with the floor.
        if at + 1 < self.ranges.len() && self.ranges[at + 1].0 == seq + 1 {
            self.ranges[at].1 = self.ranges.remove(at + 1).1;
        }
        if at > 0 && self.ranges[at - 1].1 + 1 == seq {
            let (_, b) = self.ranges.remove(at);
            self.ranges[at - 1].1 = b;
        }
        if let Some(&(a, b)) = self.ranges.first()
            && a == self.floor + 1
        {
            self.floor = b;
            self.ranges.remove(0);
        }
        true
    }

    /// Counts every `seq` up to `seq` as seen (entries the server no longer holds).
    pub fn fill_to(&mut self, seq: u64) {
        self.floor = self.floor.max(seq);
        self.ranges.retain(|&(_, b)| b > seq);
        if let Some(&(a, b)) = self.ranges.first()
            && a <= self.floor + 1
        {
            self.floor = self.floor.max(b);
            self.ranges.remove(0);
        }
    }

    /// The highest `seq` such that every one up to it was seen: where a `join` resumes.
    pub fn resume_point(&self) -> u64 {
        self.floor
    }

    /// The highest `seq` seen at all.
    pub fn high(&self) -> u64 {
        self.ranges.last().map_or(self.floor, |&(_, b)| b)
    }
}

#[cfg(test)]
mod tests {
    use super::SeqSet;

    #[test]
    fn out_of_order_entries_fill_in_and_the_resume_point_waits_for_the_gap() {
        let mut s = SeqSet::from_floor(4);
        assert!(!s.insert(3), "below the floor counts as seen");
        for seq in [5, 7, 9] {
            assert!(s.insert(seq));
        }
        assert_eq!((s.resume_point(), s.high()), (5, 9));
        assert!(s.insert(8) && !s.insert(8) && !s.insert(9));
        assert_eq!(s.resume_point(), 5);
        assert!(s.insert(6));
        assert_eq!((s.resume_point(), s.high()), (9, 9));
        assert!(s.contains(7) && !s.contains(10));
        s.insert(12);
        s.insert(14);
        s.fill_to(11);
        assert_eq!((s.resume_point(), s.high()), (12, 14));
        assert!(!s.contains(13));
    }
}
