//! One search: the query run against the index with the caller's permissions inside the SQL,
//! ranked by relevance and recency, one page at a time.
//!
//! Ranking, in tiers: messages holding the words as written, then those where the last word
//! is only the beginning of a word (`deplo` for `deploy`), each tier by relevance and recency
//! together ([`super::rank`]: BM25's term frequencies times `1 + 1 / (1 + age / 7 days)`); then
//! matches of substrings only (through `grams`, which keeps no positions), newest first, and
//! only when no message holds the words and some term is a word of none (a part of a word, a
//! typo).
//!
//! Only the newest `--search-rank-window` matches of each tier (that the caller may read) are
//! ranked: a query over a common word (in a tenth of a million messages) reads a window of its
//! newest matches, never all of them (ids follow time, see [`super::index`], so FTS5 reads them
//! newest first and stops). A tier is read only when the ones before it do not fill the page.
//! A page's cursor holds its offset, the "now" the first page was ranked at and the newest id
//! then, so the pages of one search follow one order over one set.
//!
//! Permissions ([`Reader`]) are a `WHERE` clause of the same statement as the match, so a page
//! is cut after filtering: never short or empty because of them.

use std::collections::{HashMap, HashSet};

use rusqlite::{Connection, Row, params_from_iter, types::Value};

use banter_protocol::http::SearchHit;

use super::query::Query;
use super::rank::Scorer;
use super::text::{self, CLOSE, OPEN};

/// Who searches, and so what they may find.
#[derive(Debug, Clone, Default)]
pub struct Reader {
    /// The user (token mode: the token's; open mode: the `user` asked, if any). Without one,
    /// no conversation is searched.
    pub user: Option<String>,
    /// A token's `rooms` claim: only these rooms (conversations are their members' whatever it
    /// says, as for reading them).
    pub rooms: Option<Vec<String>>,
    /// v1.2: rooms this reader may not read though others may (private rooms they have no role
    /// in, rooms they are banned from: `crate::rooms::access`), filtered in the query.
    pub hidden: Vec<String>,
}

/// One page asked for.
#[derive(Debug, Clone)]
pub struct Page {
    pub offset: usize,
    pub limit: usize,
    /// The time the ranking is computed at (ms).
    pub now: u64,
    /// Only messages indexed with an id up to this one (the newest when the first page was
    /// asked for: later pages rank the same set).
    pub upto: i64,
    /// Matches ranked at most, the newest ones (see the module docs); at least what the page
    /// needs.
    pub window: usize,
}

/// The rule "the caller may read this message", as SQL over `d` (a `docs` row), with its
/// parameters appended to `args`. The one place to add a rule: private rooms and bans (issue
/// 18) come as the reader's `hidden` rooms.
fn readable(reader: &Reader, args: &mut Vec<Value>) -> String {
    args.push(opt(reader.user.clone()));
    let me = args.len();
    args.push(opt(reader
        .rooms
        .as_ref()
        .map(|r| serde_json::to_string(r).unwrap_or_default())));
    let claim = args.len();
    args.push(Value::Text(
        serde_json::to_string(&reader.hidden).unwrap_or_default(),
    ));
    let hidden = args.len();
    format!(
        "CASE WHEN d.a IS NOT NULL THEN (d.a = ?{me} OR d.b = ?{me})
              ELSE ((?{claim} IS NULL OR d.room IN (SELECT value FROM json_each(?{claim})))
                    AND d.room NOT IN (SELECT value FROM json_each(?{hidden}))) END"
    )
}

fn opt(v: Option<String>) -> Value {
    v.map_or(Value::Null, Value::Text)
}

/// One way a message can match, in the order they rank: the words as written (`exact`), then
/// with the last one as a prefix, then each term as a substring (`grams`).
enum Leg {
    Words { m: String, prefix: bool },
    Grams(Vec<String>),
}

/// The legs of `query`, best first (none when no term can match anything).
fn legs(query: &Query) -> Vec<Leg> {
    let mut legs = Vec::new();
    if let Some(m) = query.words_match_with(false) {
        legs.push(Leg::Words { m, prefix: false });
    }
    if query.prefix
        && let Some(m) = query.words_match_with(true)
    {
        legs.push(Leg::Words { m, prefix: true });
    }
    if let Some(likes) = query.grams_likes() {
        legs.push(Leg::Grams(likes));
    }
    legs
}

/// Runs `query` for `reader`: the page's hits (one more than `page.limit` when there is more).
///
/// Each leg gives its newest `window` matches the reader may read; those of a leg are ranked
/// together ([`Scorer`]; substrings alone, which have no word to count, newest first) and
/// come after every match of the legs before it. A leg is read only when those before it do
/// not fill the page: a word typed whole is answered from its own list of matches, never from
/// the merged lists of every word it begins (which FTS5 builds in full for a prefix). The
/// substrings' leg is read only when the words' found nothing and some term is no word of any
/// message: intersecting the trigrams of every term is the dearest read (50-100 ms over a
/// million messages for two words that are never together).
pub fn run(
    conn: &Connection,
    query: &Query,
    reader: &Reader,
    page: &Page,
) -> rusqlite::Result<Vec<SearchHit>> {
    if query.terms.is_empty() {
        return newest(conn, query, reader, page);
    }
    let legs = legs(query);
    let need = page.offset + page.limit + 1;
    let window = page.window.max(need);
    let mut seen = HashSet::new();
    // Each candidate with the leg it came from.
    let mut found: Vec<(i64, SearchHit, usize)> = Vec::new();
    for (i, leg) in legs.iter().enumerate() {
        if found.len() >= need {
            break;
        }
        // Substrings are looked for only when no message holds the words (whole or begun),
        // and some term is a word of none: a query that finds words does not look inside them
        // (`port` does not list `support`), nor does one of words that never meet.
        if matches!(leg, Leg::Grams(_))
            && (!found.is_empty() || all_words(conn, query, reader, page)?)
        {
            break;
        }
        let mut rows = leg_rows(conn, query, reader, page, leg, window)?;
        rows.retain(|(id, _)| seen.insert(*id));
        if let Leg::Words { prefix, .. } = leg {
            rank(&mut rows, query, *prefix, page.now);
        }
        found.extend(rows.into_iter().map(|(id, h)| (id, h, i)));
    }
    let found: Vec<_> = found
        .into_iter()
        .skip(page.offset)
        .take(page.limit + 1)
        .collect();
    let mut marked = HashMap::new();
    for (i, leg) in legs.iter().enumerate() {
        if let Leg::Words { m, .. } = leg {
            let ids = found.iter().filter(|f| f.2 == i).map(|f| f.0);
            marked.extend(highlights(conn, m, ids)?);
        }
    }
    Ok(found
        .into_iter()
        .map(|(id, mut h, _)| {
            h.snippet = match marked.remove(&id) {
                Some(m) => text::snippet(&m),
                None => text::snippet(&text::mark(&h.text, &query.terms)),
            };
            h
        })
        .collect())
}

/// Whether every term of `query` is a whole word (or phrase) of some message `reader` may
/// find (the same filter as the search's own: what they may not read decides nothing here).
fn all_words(
    conn: &Connection,
    query: &Query,
    reader: &Reader,
    page: &Page,
) -> rusqlite::Result<bool> {
    for term in &query.terms {
        let Some(m) = Query::term_match(term) else {
            return Ok(false);
        };
        let (mut p, filter) = Params::searching(query, reader, page, "f.rowid");
        let m = p.add(Value::Text(m));
        let sql = format!(
            "SELECT 1 FROM words f CROSS JOIN docs d ON d.id = f.rowid
             WHERE words MATCH ?{m} AND {filter} LIMIT 1"
        );
        let mut stmt = conn.prepare_cached(&sql)?;
        if !stmt.exists(params_from_iter(p.0))? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Sorts `rows` best first: score, then newest.
fn rank(rows: &mut Vec<(i64, SearchHit)>, query: &Query, prefix: bool, now: u64) {
    let scorer = Scorer::new(&query.terms, prefix);
    let scores = scorer.scores(rows.iter().map(|(_, h)| (h.text.as_str(), h.ts)), now);
    let mut scored: Vec<_> = scores.into_iter().zip(rows.drain(..)).collect();
    scored.sort_by(|(a, (ia, _)), (b, (ib, _))| b.total_cmp(a).then(ib.cmp(ia)));
    rows.extend(scored.into_iter().map(|(_, r)| r));
}

/// The newest `window` matches of `leg` that `reader` may read, newest first. The index drives
/// the join (CROSS JOIN): each match is checked against the filter as it comes, and FTS5 stops
/// at the window.
fn leg_rows(
    conn: &Connection,
    query: &Query,
    reader: &Reader,
    page: &Page,
    leg: &Leg,
    window: usize,
) -> rusqlite::Result<Vec<(i64, SearchHit)>> {
    let (mut p, filter) = Params::searching(query, reader, page, "f.rowid");
    let window = p.add(Value::Integer(window as i64));
    let (from, matches) = match leg {
        Leg::Words { m, .. } => (
            "words",
            format!("words MATCH ?{}", p.add(Value::Text(m.clone()))),
        ),
        Leg::Grams(likes) => {
            let likes: Vec<String> = likes
                .iter()
                .map(|l| format!("f.text LIKE ?{}", p.add(Value::Text(l.clone()))))
                .collect();
            ("grams", likes.join(" AND "))
        }
    };
    let sql = format!(
        "SELECT d.id, d.room, d.seq, d.user, d.text, d.ts
         FROM {from} f CROSS JOIN docs d ON d.id = f.rowid
         WHERE {matches} AND {filter}
         ORDER BY f.rowid DESC LIMIT ?{window}"
    );
    conn.prepare_cached(&sql)?
        .query_map(params_from_iter(p.0), hit)?
        .collect()
}

/// Filters alone (`from:ann`): the page of the newest messages they let through (ids follow
/// time), through `docs_user`.
fn newest(
    conn: &Connection,
    query: &Query,
    reader: &Reader,
    page: &Page,
) -> rusqlite::Result<Vec<SearchHit>> {
    let (mut p, filter) = Params::searching(query, reader, page, "d.id");
    let limit = p.add(Value::Integer((page.limit + 1) as i64));
    let offset = p.add(Value::Integer(page.offset as i64));
    let sql = format!(
        "SELECT d.id, d.room, d.seq, d.user, d.text, d.ts FROM docs d
         WHERE {filter}
         ORDER BY d.id DESC LIMIT ?{limit} OFFSET ?{offset}"
    );
    let rows = conn
        .prepare_cached(&sql)?
        .query_map(params_from_iter(p.0), hit)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows
        .into_iter()
        .map(|(_, mut h)| {
            h.snippet = text::snippet(&text::mark(&h.text, &[]));
            h
        })
        .collect())
}

/// A statement's parameters, each numbered (`?N`) as it is added.
struct Params(Vec<Value>);

impl Params {
    /// The parameters of a search's `WHERE` and its SQL: [`filter`], and ids up to the page's
    /// newest (`id` the column to bound: the index's rowid where FTS5 drives, so it stops
    /// there).
    fn searching(query: &Query, reader: &Reader, page: &Page, id: &str) -> (Params, String) {
        let mut p = Params(Vec::new());
        let filter = filter(query, reader, &mut p.0);
        let upto = p.add(Value::Integer(page.upto));
        (p, format!("{id} <= ?{upto} AND {filter}"))
    }

    fn add(&mut self, v: Value) -> usize {
        self.0.push(v);
        self.0.len()
    }
}

/// The `WHERE` of a search over `d`: [`readable`], then `from:` and `in:` when given (only
/// then, so that SQLite can use their indexes).
fn filter(query: &Query, reader: &Reader, args: &mut Vec<Value>) -> String {
    let mut sql = format!("({})", readable(reader, args));
    if let Some(from) = &query.from {
        args.push(Value::Text(from.clone()));
        sql += &format!(" AND d.user = ?{}", args.len());
    }
    if let Some(room) = &query.room {
        args.push(Value::Text(room.clone()));
        sql += &format!(" AND d.room = ?{}", args.len());
    }
    sql
}

fn hit(r: &Row<'_>) -> rusqlite::Result<(i64, SearchHit)> {
    Ok((
        r.get(0)?,
        SearchHit {
            room: r.get(1)?,
            seq: r.get::<_, i64>(2)? as u64,
            user: r.get(3)?,
            text: r.get(4)?,
            ts: r.get::<_, i64>(5)? as u64,
            snippet: String::new(),
        },
    ))
}

/// The `words` match of each of `ids` highlighted (none for a doc only a substring matched:
/// the caller marks those). One pass of FTS5 over the ids' range (a query's terms are read once,
/// not once per hit: a prefix of a common word has many), keeping only `ids`.
fn highlights(
    conn: &Connection,
    m: &str,
    ids: impl Iterator<Item = i64>,
) -> rusqlite::Result<HashMap<i64, String>> {
    let ids: Vec<i64> = ids.collect();
    let (Some(lo), Some(hi)) = (ids.iter().min(), ids.iter().max()) else {
        return Ok(HashMap::new());
    };
    let list = serde_json::to_string(&ids).unwrap_or_default();
    // `rowid + 0`: a filter on each row FTS5 gives, not one FTS5 query per id.
    let mut stmt = conn.prepare_cached(
        "SELECT rowid, highlight(words, 0, ?1, ?2) FROM words
         WHERE words MATCH ?3 AND rowid BETWEEN ?4 AND ?5
           AND rowid + 0 IN (SELECT value FROM json_each(?6))",
    )?;
    let found = stmt
        .query_map(
            rusqlite::params![OPEN.to_string(), CLOSE.to_string(), m, lo, hi, list],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?
        .collect::<rusqlite::Result<_>>()?;
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::{index, query, text::Doc};

    fn indexed(texts: &[&str]) -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("search.db");
        let conn = index::open_writer(&path).unwrap();
        for (i, t) in texts.iter().enumerate() {
            let doc = Doc {
                room: "r".into(),
                seq: i as u64 + 1,
                user: "u".into(),
                ts: 1,
                text: (*t).into(),
                members: None,
            };
            index::insert(&conn, &doc).unwrap();
        }
        (dir, conn)
    }

    fn find(conn: &Connection, q: &str) -> Vec<SearchHit> {
        let q = query::parse(q, 256, 16).unwrap();
        let page = Page {
            offset: 0,
            limit: 10,
            now: 2,
            upto: i64::MAX,
            window: 100,
        };
        run(conn, &q, &Reader::default(), &page).unwrap()
    }

    #[test]
    fn cjk_words_and_their_snippet() {
        let (_d, conn) = indexed(&["東京タワーで会いましょう", "plain"]);
        let hits = find(&conn, "東京");
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].snippet, "<mark>東京</mark>タワーで会いましょう");
    }
}
