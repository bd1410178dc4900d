//! Message ids for the writer: UUID v7 (time-ordered) without a system call per message.
//!
//! `uuid::Uuid::now_v7` asks the kernel for random bytes on every call (`getrandom`), a system
//! call per stored message on the writer's thread. Here the 74 random bits come from a SplitMix64
//! stream seeded once from the operating system: SplitMix64 is a bijection of its counter, so no
//! two ids of one writer repeat, and the random seed keeps ids of different runs apart.

/// See the module docs.
pub struct Ids {
    state: u64,
}

impl Ids {
    pub fn new() -> Self {
        // One `getrandom`: 74 random bits, and the time of the start.
        let (high, low) = uuid::Uuid::now_v7().as_u64_pair();
        Ids {
            state: low ^ high.rotate_left(32),
        }
    }

    fn next_u64(&mut self) -> u64 {
        // SplitMix64 (Steele, Lea, Flood 2014).
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A new UUID v7 for a message stored at `millis`, hyphenated.
    pub fn next(&mut self, millis: u64) -> String {
        let a = self.next_u64().to_le_bytes();
        let b = self.next_u64().to_le_bytes();
        let mut random = [0u8; 10];
        random[..8].copy_from_slice(&a);
        random[8..].copy_from_slice(&b[..2]);
        uuid::Builder::from_unix_timestamp_millis(millis, &random)
            .into_uuid()
            .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_v7_distinct_and_ordered_by_time() {
        let mut ids = Ids::new();
        let a = ids.next(1_000);
        let b = ids.next(1_000);
        let c = ids.next(2_000);
        assert_ne!(a, b);
        let parsed = uuid::Uuid::parse_str(&a).expect("a uuid");
        assert_eq!(parsed.get_version_num(), 7);
        assert!(b < c && a < c, "later millis sort later");
    }
}
