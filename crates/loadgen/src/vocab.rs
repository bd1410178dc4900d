//! Message texts with a realistic vocabulary for the search benchmark: a made-up word list
//! (syllables joined, so no dictionary is needed) drawn with Zipf's law (the word of rank `r`
//! is used in proportion to `1 / r^1.07`, as in natural language), and about one message in
//! twenty in CJK (Han words with no spaces between them). Deterministic: the same seed gives the
//! same texts, so runs compare.

use std::sync::OnceLock;

/// Distinct Latin words.
const WORDS: usize = 30_000;
/// Zipf's exponent.
const SKEW: f64 = 1.07;
const SYLLABLES: [&str; 40] = [
    "ka", "lo", "mi", "ne", "ta", "ri", "so", "vu", "de", "pa", "qua", "zen", "tor", "bel", "gri",
    "fan", "dol", "mer", "sil", "hon", "ax", "or", "ul", "en", "is", "ber", "cal", "dex", "for",
    "gan", "hil", "jor", "kin", "lum", "mos", "nar", "pol", "rin", "sta", "vex",
];
/// Han characters CJK words are made of (common ones).
const HAN: &str = "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可她里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同三已老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明其种声全工己话儿者向情部正";

/// The word list and its Zipf distribution (built once).
pub struct Vocab {
    words: Vec<String>,
    /// Cumulative weights, normalised to end at 1.
    cdf: Vec<f64>,
    han: Vec<char>,
}

/// The vocabulary (the same in every run).
pub fn vocab() -> &'static Vocab {
    static V: OnceLock<Vocab> = OnceLock::new();
    V.get_or_init(Vocab::new)
}

/// A small, fast, seeded generator (splitmix64).
#[derive(Debug, Clone)]
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

impl Vocab {
    fn new() -> Vocab {
        let mut rng = Rng(17);
        let mut seen = std::collections::HashSet::new();
        let mut words = Vec::with_capacity(WORDS);
        while words.len() < WORDS {
            let n = 2 + rng.below(3);
            let w: String = (0..n)
                .map(|_| SYLLABLES[rng.below(SYLLABLES.len())])
                .collect();
            if seen.insert(w.clone()) {
                words.push(w);
            }
        }
        let mut total = 0.0;
        let mut cdf: Vec<f64> = (1..=WORDS)
            .map(|r| {
                total += 1.0 / (r as f64).powf(SKEW);
                total
            })
            .collect();
        for c in &mut cdf {
            *c /= total;
        }
        Vocab {
            words,
            cdf,
            han: HAN.chars().collect(),
        }
    }

    /// The word of `rank` (1 = the most used).
    pub fn word(&self, rank: usize) -> &str {
        &self.words[rank.clamp(1, WORDS) - 1]
    }

    /// A word drawn by its frequency.
    pub fn draw(&self, rng: &mut Rng) -> &str {
        let u = rng.unit();
        let i = self.cdf.partition_point(|&c| c < u);
        &self.words[i.min(WORDS - 1)]
    }

    /// A CJK word of two Han characters (drawn with a skew too: the first characters are the
    /// common ones).
    pub fn han_word(&self, rng: &mut Rng) -> String {
        let n = self.han.len();
        let skewed = |rng: &mut Rng| (rng.unit() * rng.unit() * n as f64) as usize % n;
        [self.han[skewed(rng)], self.han[skewed(rng)]]
            .iter()
            .collect()
    }

    /// A message of about `bytes` bytes: Zipf-drawn words, or (one in twenty) CJK words.
    pub fn text(&self, rng: &mut Rng, bytes: usize) -> String {
        let mut s = String::with_capacity(bytes + 16);
        if rng.below(20) == 0 {
            while s.len() < bytes {
                s.push_str(&self.han_word(rng));
            }
            return s;
        }
        while s.len() < bytes {
            if !s.is_empty() {
                s.push(' ');
            }
            s.push_str(self.draw(rng));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_follow_the_ranks_and_have_the_size() {
        let v = vocab();
        let mut rng = Rng(1);
        let mut top = 0;
        let mut words = 0;
        for _ in 0..2_000 {
            let t = v.text(&mut rng, 100);
            assert!(t.len() >= 100 && t.len() < 140, "{t}");
            for w in t.split(' ') {
                words += 1;
                top += usize::from(w == v.word(1));
            }
        }
        // Rank 1 of 30,000 at s = 1.07 is about 9 % of the words.
        assert!(top * 100 / words >= 5, "{top} of {words}");
    }
}
