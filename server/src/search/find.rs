//! One search: the query run against the index with the caller's permissions inside the SQL,
//! ranked by relevance and recency, one page at a time.
//!
//! Ranking: matches of words first, by FTS5's `bm25` over `words` (negative: lower is better)
//! multiplied by `1 + 1 / (1 + age / 7 days)`: a message of today weighs up to twice a year-old
//! one of equal relevance; then matches of substrings only (through `grams`, which keeps no
//! positions and so gives no `bm25`), newest first.
//!
//! Only the newest `--search-rank-window` matches of each index (that the caller may read) are
//! ranked: a query over a common word (in a tenth of a million messages) reads a window of its
//! newest matches, never all of them (ids follow time, see [`super::index`], so FTS5 reads them
//! newest first and stops). A page's cursor holds its offset, the "now" the first page was
//! ranked at and the newest id then, so the pages of one search follow one order over one set.
//!
//! Permissions ([`Reader`]) are a `WHERE` clause of the same statement as the match, so a page
//! is cut after filtering: never short or empty because of them.

use std::collections::HashMap;

use rusqlite::{Connection, Row, params_from_iter, types::Value};

use banter_protocol::http::SearchHit;

use super::query::Query;
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

/// Runs `query` for `reader`: the page's hits (one more than `page.limit` when there is more).
pub fn run(
    conn: &Connection,
    query: &Query,
    reader: &Reader,
    page: &Page,
) -> rusqlite::Result<Vec<SearchHit>> {
    let words = query.words_match();
    let grams = query.grams_likes();
    if words.is_none() && grams.is_none() && !query.terms.is_empty() {
        // Only punctuation under three characters: nothing can match it.
        return Ok(Vec::new());
    }
    // Word matches rank before substring-only ones: when the words alone fill the page (and
    // one more), the substrings cannot change it, and the trigram index is not read.
    let mut rows = Vec::new();
    if words.is_some() && grams.is_some() {
        rows = page_rows(conn, query, reader, page, words.as_deref(), None)?;
    }
    if rows.len() <= page.limit {
        rows = page_rows(
            conn,
            query,
            reader,
            page,
            words.as_deref(),
            grams.as_deref(),
        )?;
    }
    let mut marked = match &words {
        Some(m) => highlights(conn, m, rows.iter().map(|(id, _)| *id))?,
        None => HashMap::new(),
    };
    Ok(rows
        .into_iter()
        .map(|(id, mut h)| {
            h.snippet = match marked.remove(&id) {
                Some(m) => text::snippet(&m),
                None => text::snippet(&text::mark(&h.text, &query.terms)),
            };
            h
        })
        .collect())
}

/// The rows of `page` matched through `words` and/or `grams` (filters alone with neither).
fn page_rows(
    conn: &Connection,
    query: &Query,
    reader: &Reader,
    page: &Page,
    words: Option<&str>,
    grams: Option<&[String]>,
) -> rusqlite::Result<Vec<(i64, SearchHit)>> {
    let mut args: Vec<Value> = Vec::new();
    let filter = filter(query, reader, &mut args);
    let mut arg = |v: Value| {
        args.push(v);
        args.len()
    };
    let upto = arg(Value::Integer(page.upto));
    let limit = arg(Value::Integer((page.limit + 1) as i64));
    let offset = arg(Value::Integer(page.offset as i64));
    let sql = if words.is_none() && grams.is_none() {
        // Filters alone (`from:ann`): newest first (ids follow time), through `docs_user`.
        format!(
            "SELECT d.id, d.room, d.seq, d.user, d.text, d.ts FROM docs d
             WHERE d.id <= ?{upto} AND {filter}
             ORDER BY d.id DESC LIMIT ?{limit} OFFSET ?{offset}"
        )
    } else {
        let now = arg(Value::Integer(page.now.min(i64::MAX as u64) as i64));
        let window = page.window.max(page.offset + page.limit + 1);
        let window = arg(Value::Integer(window as i64));
        // The index drives each leg (CROSS JOIN): newest matches first, each checked against the
        // filter as it comes, and FTS5 stops at the window.
        let mut legs = Vec::new();
        if let Some(m) = words {
            let m = arg(Value::Text(m.to_owned()));
            legs.push(format!(
                "SELECT * FROM (SELECT f.rowid AS id, bm25(words) AS score
                 FROM words f CROSS JOIN docs d ON d.id = f.rowid
                 WHERE words MATCH ?{m} AND f.rowid <= ?{upto} AND {filter}
                 ORDER BY f.rowid DESC LIMIT ?{window})"
            ));
        }
        if let Some(likes) = grams {
            let likes: Vec<String> = likes
                .iter()
                .map(|l| format!("f.text LIKE ?{}", arg(Value::Text(l.clone()))))
                .collect();
            legs.push(format!(
                "SELECT * FROM (SELECT f.rowid AS id, NULL AS score
                 FROM grams f CROSS JOIN docs d ON d.id = f.rowid
                 WHERE {} AND f.rowid <= ?{upto} AND {filter}
                 ORDER BY f.rowid DESC LIMIT ?{window})",
                likes.join(" AND ")
            ));
        }
        format!(
            "WITH hits AS MATERIALIZED (
                 SELECT id, MIN(score) AS score FROM ({}) GROUP BY id)
             SELECT d.id, d.room, d.seq, d.user, d.text, d.ts
             FROM hits h JOIN docs d ON d.id = h.id
             ORDER BY h.score IS NULL,
                      h.score * (1.0 + 1.0 / (1.0 + max(0, ?{now} - d.ts) / 604800000.0)),
                      d.id DESC
             LIMIT ?{limit} OFFSET ?{offset}",
            legs.join(" UNION ALL ")
        )
    };
    conn.prepare_cached(&sql)?
        .query_map(params_from_iter(args), hit)?
        .collect()
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
