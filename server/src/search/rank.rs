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
        let docs: Vec<(Vec<String>, u64)> = texts.map(|(t, ts)| (tokens(t), ts)).collect();
        let total: usize = docs.iter().map(|(d, _)| d.len()).sum();
        let avg = (total as f64 / docs.len().max(1) as f64).max(1.0);
        docs.iter()
            .map(|(doc, ts)| {
                let age = now.saturating_sub(*ts) as f64;
                self.relevance(doc, avg) * (1.0 + 1.0 / (1.0 + age / WEEK_MS))
            })
            .collect()
    }

    /// BM25 without IDF of one message's tokens.
    fn relevance(&self, doc: &[String], avg: f64) -> f64 {
        let norm = K1 * (1.0 - B + B * doc.len() as f64 / avg);
        let last = self.terms.len().saturating_sub(1);
        self.terms
            .iter()
            .enumerate()
            .map(|(i, term)| {
                let tf = occurrences(doc, term, self.prefix && i == last) as f64;
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
    let mut out = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
        if is_cjk(c) {
            flush(&mut word, &mut out);
            out.push(c.to_string());
        } else if c.is_alphanumeric() {
            fold(c, &mut word);
        } else if !is_combining_mark(c) {
            flush(&mut word, &mut out);
        }
    }
    flush(&mut word, &mut out);
    out
}

fn flush(word: &mut String, out: &mut Vec<String>) {
    if !word.is_empty() {
        out.push(std::mem::take(word));
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
