//! The search side of the `search` bench scenario: `GET /api/search` over one kept-alive HTTP
//! connection ([`Http`]), the queries asked ([`queries`]: one word, two words, a substring, CJK,
//! from the same vocabulary the messages are written with) and their latency ([`ask_for`]), and
//! the wait for the index to hold every stored message ([`wait_indexed`], read from the index
//! file's `progress` table).

use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::report::Latency;
use crate::vocab::{Rng, vocab};

/// Word ranks the queries use: the most common words (each in about a tenth to a hundredth of
/// the messages: the broad queries) down to rare ones.
const RANKS: [usize; 12] = [1, 2, 3, 5, 8, 13, 30, 100, 300, 1_000, 3_000, 10_000];

/// One kind of query and its texts.
pub struct Kind {
    pub name: &'static str,
    pub texts: Vec<String>,
}

/// The queries of the scenario, by kind.
pub fn queries() -> Vec<Kind> {
    let v = vocab();
    let word = |r: usize| v.word(r).to_owned();
    let n = RANKS.len();
    let mut rng = Rng(99);
    vec![
        Kind {
            name: "one-word",
            texts: RANKS.iter().map(|&r| word(r)).collect(),
        },
        Kind {
            name: "two-words",
            texts: (0..n)
                .map(|i| format!("{} {}", word(RANKS[i]), word(RANKS[(i + 3) % n])))
                .collect(),
        },
        Kind {
            // The middle of a word (`ploy` in `deploy`): only the trigram index finds it.
            name: "substring",
            texts: RANKS
                .iter()
                .map(|&r| {
                    let w = word(r + 1_000);
                    let chars: Vec<char> = w.chars().collect();
                    chars[1..chars.len().min(5)].iter().collect()
                })
                .collect(),
        },
        Kind {
            name: "cjk",
            texts: (0..n).map(|_| v.han_word(&mut rng)).collect(),
        },
    ]
}

/// The latency of one kind of query.
#[derive(Debug, Clone, Serialize)]
pub struct KindReport {
    pub latency_ms: Latency,
    /// Queries that found nothing (a broken index shows here).
    pub empty: u64,
    pub failed: u64,
    /// The query of this kind that took longest, and its time (ms): where a p99 comes from.
    pub slowest: (String, f64),
}

/// Asks the queries of every kind in turn, one at a time, for `secs`; their latency by kind.
pub fn ask_for(addr: SocketAddr, secs: f64) -> io::Result<BTreeMap<&'static str, KindReport>> {
    let kinds = queries();
    let mut hist: Vec<Histogram<u64>> = kinds
        .iter()
        .map(|_| Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid bounds"))
        .collect();
    let mut empty = vec![0u64; kinds.len()];
    let mut failed = vec![0u64; kinds.len()];
    let mut slowest = vec![(String::new(), 0.0f64); kinds.len()];
    let mut http = Http::connect(addr)?;
    let end = Instant::now() + Duration::from_secs_f64(secs);
    let mut i = 0;
    while Instant::now() < end {
        let k = i % kinds.len();
        let text = &kinds[k].texts[(i / kinds.len()) % kinds[k].texts.len()];
        let t0 = Instant::now();
        let (status, body) = http.get(&format!("/api/search?limit=20&q={}", encode(text)))?;
        let took = t0.elapsed();
        let _ = hist[k].record(took.as_micros() as u64);
        let ms = took.as_secs_f64() * 1000.0;
        if ms > slowest[k].1 {
            slowest[k] = (text.clone(), ms);
        }
        if status != 200 {
            failed[k] += 1;
        } else if body.starts_with(br#"{"results":[]"#) {
            empty[k] += 1;
        }
        i += 1;
    }
    Ok(kinds
        .iter()
        .enumerate()
        .map(|(k, kind)| {
            (
                kind.name,
                KindReport {
                    latency_ms: Latency::from_us(&hist[k]),
                    empty: empty[k],
                    failed: failed[k],
                    slowest: slowest[k].clone(),
                },
            )
        })
        .collect())
}

/// Waits (up to `max`) until the index in `data_dir` holds `messages` messages of its rooms;
/// how long that took, or `None` when it did not within `max`.
pub fn wait_indexed(data_dir: &Path, messages: u64, max: Duration) -> Option<Duration> {
    let t0 = Instant::now();
    let path = data_dir.join("search.db");
    while t0.elapsed() < max {
        if indexed(&path).is_some_and(|n| n >= messages) {
            return Some(t0.elapsed());
        }
        std::thread::sleep(Duration::from_millis(100)); // polling interval, under a deadline
    }
    None
}

/// Messages the index holds: the sum of each room's last indexed `seq` (every entry of the
/// bench's rooms is a message).
fn indexed(path: &Path) -> Option<u64> {
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .ok()?;
    conn.query_row("SELECT coalesce(sum(seq), 0) FROM progress", [], |r| {
        r.get::<_, i64>(0)
    })
    .ok()
    .map(|n| n as u64)
}

/// `s` percent-encoded for a query string.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A minimal HTTP/1.1 client: GETs on one kept-alive connection, bodies by `content-length`.
pub struct Http {
    r: BufReader<TcpStream>,
    host: String,
}

impl Http {
    pub fn connect(addr: SocketAddr) -> io::Result<Http> {
        let s = TcpStream::connect(addr)?;
        s.set_nodelay(true)?;
        s.set_read_timeout(Some(Duration::from_secs(60)))?;
        Ok(Http {
            r: BufReader::new(s),
            host: addr.to_string(),
        })
    }

    /// The status and body of `GET path`.
    pub fn get(&mut self, path: &str) -> io::Result<(u16, Vec<u8>)> {
        let req = format!("GET {path} HTTP/1.1\r\nhost: {}\r\n\r\n", self.host);
        self.r.get_mut().write_all(req.as_bytes())?;
        let mut line = String::new();
        self.r.read_line(&mut line)?;
        let status = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| io::Error::other(format!("bad status line {line:?}")))?;
        let mut len = 0usize;
        loop {
            line.clear();
            if self.r.read_line(&mut line)? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                len = v.trim().parse().map_err(io::Error::other)?;
            }
        }
        let mut body = vec![0; len];
        self.r.read_exact(&mut body)?;
        Ok((status, body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_words_of_the_vocabulary() {
        for k in queries() {
            assert_eq!(k.texts.len(), RANKS.len());
            assert!(k.texts.iter().all(|t| !t.is_empty()), "{}", k.name);
        }
        assert_eq!(encode("a b/東"), "a%20b%2F%E6%9D%B1");
    }
}
