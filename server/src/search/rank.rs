//! Relevance and recency of a search's candidates, computed here over the window of newest
//! matches FTS5 gives (see [`super::find`]), not by FTS5's `bm25()`.
//!
//! Why not `bm25()`: its first call on a query counts every message holding each term (its IDF),
//! reading the term's whole list of matches: 35–85 ms for a word in a tenth of a million
//! messages, whatever the window. The score here is BM25's term-frequency part with the same
//! `k1` and `b` as FTS5 (how often the term is in the message, saturating, against its length
//! relative to the window's average), multiplied by a recency factor `1 + 1 / (1 + age / 7
//! days)`: a message of today weighs up to twice a year-old one of equal relevance. Without IDF,
//! a query of one word ranks as `bm25()` would (IDF is then the same for every message); with
//! several words, each counts the same however rare it is. Every candidate holds every term
//! (the query is an AND), so IDF only weighs their frequencies against each other.
//!
//! Tokens as `unicode61 remove_diacritics 2` sees them, near enough for a score: runs of letters
//! and digits, case and diacritics folded, each CJK character on its own.

use unicode_normalization::char::{decompose_canonical, is_combining_mark};

use super::text::is_cjk;

/// BM25's term-frequency saturation (FTS5's default).
const K1: f64 = 1.2;
/// BM25's length normalisation (FTS5's default).
const B: f64 = 0.75;
/// A week in milliseconds: the recency factor halves its bonus at this age.
const WEEK_MS: f64 = 604_800_000.0;

/// The query's words and phrases as tokens, ready to score texts against.
#[derive(Debug, Clone)]
pub struct Scorer {
    terms: Vec<Vec<String>>,
    /// The last token of the last term matches as a prefix.
    prefix: bool,
}

impl Scorer {
    /// A scorer for `terms` (the last one a prefix when `prefix`).
    pub fn new(terms: &[String], prefix: bool) -> Scorer {
        let terms: Vec<Vec<String>> = terms
            .iter()
            .map(|t| tokens(t))
            .filter(|t| !t.is_empty())
            .collect();
        Scorer { terms, prefix }
    }

    /// Scores of `texts` (higher is better), each with its time `ts` (ms) against `now`.
    pub fn scores<'a>(&self, texts: impl Iterator<Item = (&'a str, u64)>, now: u64) -> Vec<f64> {
        // One pass per text, the token buffers reused: no allocation per token once warm.
        let mut toks = Tokens::default();
        let found: Vec<(Vec<usize>, usize, u64)> = texts
            .map(|(t, ts)| {
                toks.read(t);
                (self.counts(toks.get()), toks.get().len(), ts)
            })
            .collect();
        let total: usize = found.iter().map(|(_, len, _)| len).sum();
        let avg = (total as f64 / found.len().max(1) as f64).max(1.0);
        found
            .iter()
            .map(|(tfs, len, ts)| {
                let age = now.saturating_sub(*ts) as f64;
                self.relevance(tfs, *len, avg) * (1.0 + 1.0 / (1.0 + age / WEEK_MS))
            })
            .collect()
    }

    /// How many times each term is in `doc`.
    fn counts(&self, doc: &[String]) -> Vec<usize> {
        let last = self.terms.len().saturating_sub(1);
        self.terms
            .iter()
            .enumerate()
            .map(|(i, term)| occurrences(doc, term, self.prefix && i == last))
            .collect()
    }

    /// BM25 without IDF of one message of `len` tokens holding the terms `tfs` times.
    fn relevance(&self, tfs: &[usize], len: usize, avg: f64) -> f64 {
        let norm = K1 * (1.0 - B + B * len as f64 / avg);
        tfs.iter()
            .map(|&tf| {
                let tf = tf as f64;
                tf * (K1 + 1.0) / (tf + norm)
            })
            .sum()
    }
}

/// How many times the token sequence `term` is in `doc` (its last token as a prefix when
/// `prefix`).
fn occurrences(doc: &[String], term: &[String], prefix: bool) -> usize {
    let Some((tail, head)) = term.split_last() else {
        return 0;
    };
    if doc.len() < term.len() {
        return 0;
    }
    (0..=doc.len() - term.len())
        .filter(|&i| {
            let at = &doc[i..i + term.len()];
            at[..head.len()] == *head
                && if prefix {
                    at[head.len()].starts_with(tail.as_str())
                } else {
                    at[head.len()] == *tail
                }
        })
        .count()
}

/// `text`'s tokens, folded (see the module docs).
pub fn tokens(text: &str) -> Vec<String> {
    let mut t = Tokens::default();
    t.read(text);
    t.get().to_vec()
}

/// A text's tokens in buffers kept from one text to the next.
#[derive(Default)]
struct Tokens {
    words: Vec<String>,
    used: usize,
}

impl Tokens {
    /// Reads `text`'s tokens in place of the last text's.
    fn read(&mut self, text: &str) {
        self.used = 0;
        let mut open = false;
        for c in text.chars() {
            if c.is_ascii_alphanumeric() {
                self.word(&mut open).push(c.to_ascii_lowercase());
            } else if c.is_ascii() {
                open = false;
            } else if is_cjk(c) {
                self.word(&mut open).push(c);
                open = false;
            } else if c.is_alphanumeric() {
                fold(c, self.word(&mut open));
            } else if !is_combining_mark(c) {
                open = false;
            }
        }
    }

    /// The token being read, a new one unless `open`.
    fn word(&mut self, open: &mut bool) -> &mut String {
        if !*open {
            if self.used == self.words.len() {
                self.words.push(String::new());
            }
            self.words[self.used].clear();
            self.used += 1;
            *open = true;
        }
        &mut self.words[self.used - 1]
    }

    fn get(&self) -> &[String] {
        &self.words[..self.used]
    }
}

/// `c` lower-cased with its diacritics taken off, appended to `to`.
fn fold(c: char, to: &mut String) {
    for l in c.to_lowercase() {
        decompose_canonical(l, |d| {
            if !is_combining_mark(d) {
                to.push(d);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn tokens_fold_case_and_diacritics_and_split_cjk() {
        assert_eq!(
            tokens("Café, NAÏVE déjà-vu!"),
            s(&["cafe", "naive", "deja", "vu"])
        );
        assert_eq!(tokens("東京tower 2x"), s(&["東", "京", "tower", "2x"]));
    }

    #[test]
    fn more_occurrences_in_a_shorter_message_rank_higher_and_newer_wins_a_tie() {
        let scorer = Scorer::new(&s(&["deploy"]), false);
        let texts = [
            ("deploy the deploy", 1_000),
            ("we deploy on fridays after lunch, usually", 1_000),
            ("deploy", 1_000),
            ("deploy", 0),
            ("deployment", 1_000),
        ];
        let sc = scorer.scores(texts.iter().copied(), 1_000);
        assert!(sc[0] > sc[1] && sc[2] > sc[1], "{sc:?}");
        assert!(sc[2] > sc[3], "newer first: {sc:?}");
        assert_eq!(sc[4], 0.0, "not a whole word: {sc:?}");
        let prefix = Scorer::new(&s(&["deplo"]), true);
        assert!(prefix.scores(texts.iter().copied(), 1_000)[4] > 0.0);
    }

    #[test]
    fn a_phrase_counts_where_its_tokens_follow_each_other() {
        let scorer = Scorer::new(&s(&["prod db"]), false);
        let sc = scorer.scores([("the prod db is down", 0), ("db prod", 0)].into_iter(), 0);
        assert!(sc[0] > 0.0 && sc[1] == 0.0, "{sc:?}");
    }
}
