//! The search query language of the contract, parsed: words (the last one a prefix),
//! `"quoted phrases"`, `from:NAME`, `in:ROOM`; and the FTS5 `MATCH` expressions it becomes.
//!
//! Every word and phrase must match (AND). A query matches a message through the `words`
//! index (tokens, case and diacritics folded, the last bare word as a prefix) or, when every
//! term is three characters or more, through the `grams` index (each term as a substring, by
//! `LIKE`: ASCII case folded; other scripts as written).
//! Terms are always quoted for FTS5, so no user input is FTS5 syntax.

use super::text;

/// A parsed query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// Words and phrases, in order; `prefix` on the last one when it was a bare word.
    pub terms: Vec<String>,
    pub prefix: bool,
    pub from: Option<String>,
    pub room: Option<String>,
}

/// Why a query was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("the query is longer than {0} characters")]
    TooLong(usize),
    #[error("the query has more than {0} words and phrases")]
    TooManyTerms(usize),
    #[error("give `{0}` only once")]
    Repeated(&'static str),
}

/// Parses `q` (at most `max_chars` characters and `max_terms` words and phrases).
pub fn parse(q: &str, max_chars: usize, max_terms: usize) -> Result<Query, QueryError> {
    if q.chars().count() > max_chars {
        return Err(QueryError::TooLong(max_chars));
    }
    let mut out = Query::default();
    let mut rest = q.trim_start();
    while !rest.is_empty() {
        let (item, after, quoted) = if let Some(r) = rest.strip_prefix('"') {
            let end = r.find('"').unwrap_or(r.len());
            (&r[..end], r.get(end + 1..).unwrap_or(""), true)
        } else {
            let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
            (&rest[..end], &rest[end..], false)
        };
        rest = after.trim_start();
        if !quoted && let Some(name) = item.strip_prefix("from:").filter(|n| !n.is_empty()) {
            set_once(&mut out.from, name, "from:")?;
            continue;
        }
        if !quoted && let Some(room) = item.strip_prefix("in:").filter(|n| !n.is_empty()) {
            set_once(&mut out.room, room, "in:")?;
            continue;
        }
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        out.terms.push(item.to_owned());
        out.prefix = !quoted;
    }
    if out.terms.len() > max_terms {
        return Err(QueryError::TooManyTerms(max_terms));
    }
    Ok(out)
}

fn set_once(slot: &mut Option<String>, v: &str, what: &'static str) -> Result<(), QueryError> {
    if slot.replace(v.to_owned()).is_some() {
        return Err(QueryError::Repeated(what));
    }
    Ok(())
}

/// `s` as an FTS5 string (a phrase of whatever tokens the tokenizer finds in it).
fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

impl Query {
    /// The `words` index's `MATCH`, or `None` when no term has a letter or digit.
    pub fn words_match(&self) -> Option<String> {
        self.words_match_with(self.prefix)
    }

    /// [`Query::words_match`] with the last word a prefix only when `prefix` (and it was
    /// bare).
    pub fn words_match_with(&self, prefix: bool) -> Option<String> {
        let last = self.terms.len().saturating_sub(1);
        let parts: Vec<String> = self
            .terms
            .iter()
            .enumerate()
            .filter(|(_, t)| t.chars().any(char::is_alphanumeric))
            .map(|(i, t)| {
                let q = quote(&text::spaced(t));
                if i == last && self.prefix && prefix {
                    format!("{q} *")
                } else {
                    q
                }
            })
            .collect();
        (!parts.is_empty()).then(|| parts.join(" AND "))
    }

    /// The `words` index's `MATCH` of one term alone, as a whole word or phrase (`None` when
    /// it has no letter or digit).
    pub fn term_match(term: &str) -> Option<String> {
        term.chars()
            .any(char::is_alphanumeric)
            .then(|| quote(&text::spaced(term)))
    }

    /// The `grams` index's `LIKE` patterns, one per term (each a substring: `%term%`), or
    /// `None` when a term is under three characters (trigrams cannot find it) or there is none.
    /// `%` and `_` in a term become `_` (any one character): FTS5 reads no `ESCAPE`, so such a
    /// term also matches other characters in their place.
    pub fn grams_likes(&self) -> Option<Vec<String>> {
        if self.terms.is_empty() || self.terms.iter().any(|t| t.chars().count() < 3) {
            return None;
        }
        Some(
            self.terms
                .iter()
                .map(|t| format!("%{}%", t.replace(['%', '_'], "_")))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(q: &str) -> Query {
        parse(q, 256, 16).unwrap()
    }

    #[test]
    fn words_phrases_and_filters() {
        let q = p(r#"from:ann deploy "prod db" in:ops fri"#);
        assert_eq!(q.terms, ["deploy", "prod db", "fri"]);
        assert!(q.prefix);
        assert_eq!(q.from.as_deref(), Some("ann"));
        assert_eq!(q.room.as_deref(), Some("ops"));
        assert_eq!(
            q.words_match().unwrap(),
            r#""deploy" AND "prod db" AND "fri" *"#
        );
        assert_eq!(q.grams_likes().unwrap(), ["%deploy%", "%prod db%", "%fri%"]);
        let q = p(r#"deploy "prod""#);
        assert!(!q.prefix);
        assert_eq!(q.words_match().unwrap(), r#""deploy" AND "prod""#);
    }

    #[test]
    fn fts_syntax_in_input_is_only_text() {
        let q = p(r#"a"b OR NEAR( x*"#);
        assert_eq!(
            q.words_match().unwrap(),
            r#""a""b" AND "OR" AND "NEAR(" AND "x*" *"#
        );
        assert_eq!(p("!!! ??").words_match(), None);
        assert_eq!(p("ab cde").grams_likes(), None);
        assert_eq!(p("50%_x").grams_likes().unwrap(), ["%50__x%"]);
    }

    #[test]
    fn limits_and_repeats_are_refused() {
        assert_eq!(parse("abc", 2, 16), Err(QueryError::TooLong(2)));
        assert_eq!(parse("a b c", 10, 2), Err(QueryError::TooManyTerms(2)));
        assert_eq!(
            parse("from:a from:b", 100, 2),
            Err(QueryError::Repeated("from:"))
        );
    }
}
