//! One search: the query run against the index with the caller's permissions inside the SQL,
//! ranked by relevance and recency, one page at a time.
//!
//! Ranking: FTS5's `bm25` (negative: lower is better; a substring match through `grams` counts
//! half) multiplied by `1 + 1 / (1 + age / 7 days)`: a message of today weighs up to twice a
//! year-old one of equal relevance. A page's cursor holds its offset and the "now" the first page
//! was ranked at, so the pages of one search follow one order.
//!
//! Permissions ([`Reader`]) are a `WHERE` clause of the same statement as the match, so a page
//! is cut after filtering: never short or empty because of them.

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
    let grams = query.grams_match();
    let mut args: Vec<Value> = Vec::new();
    let mut hits: Vec<String> = Vec::new();
    if let Some(w) = &words {
        args.push(Value::Text(w.clone()));
        hits.push(format!(
            "SELECT rowid AS id, bm25(words) AS score FROM words WHERE words MATCH ?{}",
            args.len()
        ));
    }
    if let Some(g) = &grams {
        args.push(Value::Text(g.clone()));
        hits.push(format!(
            "SELECT rowid AS id, bm25(grams) * 0.5 AS score FROM grams WHERE grams MATCH ?{}",
            args.len()
        ));
    }
    if hits.is_empty() && !query.terms.is_empty() {
        // Only punctuation under three characters: nothing can match it.
        return Ok(Vec::new());
    }
    let rule = readable(reader, &mut args);
    args.push(opt(query.from.clone()));
    let from = args.len();
    args.push(opt(query.room.clone()));
    let room = args.len();
    args.push(Value::Integer(page.now.min(i64::MAX as u64) as i64));
    let now = args.len();
    args.push(Value::Integer((page.limit + 1) as i64));
    let limit = args.len();
    args.push(Value::Integer(page.offset as i64));
    let offset = args.len();
    let filter = format!(
        "({rule}) AND (?{from} IS NULL OR d.user = ?{from}) AND (?{room} IS NULL OR d.room = ?{room})"
    );
    let sql = if hits.is_empty() {
        // Filters alone (`from:ann`): newest first.
        format!(
            "SELECT d.id, d.room, d.seq, d.user, d.text, d.ts FROM docs d WHERE {filter}
             ORDER BY d.ts DESC, d.id DESC LIMIT ?{limit} OFFSET ?{offset}"
        )
    } else {
        format!(
            "WITH hits AS MATERIALIZED ({}) SELECT d.id, d.room, d.seq, d.user, d.text, d.ts
             FROM hits h JOIN docs d ON d.id = h.id WHERE {filter}
             GROUP BY d.id
             ORDER BY MIN(h.score) * (1.0 + 1.0 / (1.0 + max(0, ?{now} - d.ts) / 604800000.0)),
                      d.ts DESC, d.id DESC
             LIMIT ?{limit} OFFSET ?{offset}",
            hits.join(" UNION ALL ")
        )
    };
    let rows: Vec<(i64, SearchHit)> = conn
        .prepare_cached(&sql)?
        .query_map(params_from_iter(args), hit)?
        .collect::<rusqlite::Result<_>>()?;
    rows.into_iter()
        .map(|(id, mut h)| {
            h.snippet = snippet(conn, id, words.as_deref(), grams.as_deref())?
                .unwrap_or_else(|| text::snippet(&h.text));
            Ok(h)
        })
        .collect()
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

/// The highlighted snippet of doc `id`: from the `words` match, else the `grams` one.
fn snippet(
    conn: &Connection,
    id: i64,
    words: Option<&str>,
    grams: Option<&str>,
) -> rusqlite::Result<Option<String>> {
    for (table, m) in [("words", words), ("grams", grams)] {
        let Some(m) = m else { continue };
        let sql = format!(
            "SELECT highlight({table}, 0, ?1, ?2) FROM {table} WHERE {table} MATCH ?3 AND rowid = ?4"
        );
        let found: Option<String> = conn
            .prepare_cached(&sql)?
            .query_map(
                rusqlite::params![OPEN.to_string(), CLOSE.to_string(), m, id],
                |r| r.get(0),
            )?
            .next()
            .transpose()?;
        if let Some(h) = found {
            return Ok(Some(text::snippet(&h)));
        }
    }
    Ok(None)
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
