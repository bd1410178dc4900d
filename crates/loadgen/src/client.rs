//! What every scenario's connections share: the dialect spoken (Banter's typed protocol or the
//! classic `{user, message}` shape), the counters and latency histogram all connections feed,
//! connecting with the right source address, and the receive loop's per-frame work.
//!
//! The per-frame cost is kept to a header parse and one `memmem` search for the timestamp marker
//! in the payload: frames are never parsed as JSON once a connection is set up.

use std::collections::BTreeMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use banter_protocol::{ClassicMsg, ClientMsg, ServerMsg};
use hdrhistogram::Histogram;
use memchr::memmem;

use crate::ws::{self, Frame, Target, WsConn, op};

/// The marker that precedes the send timestamp (microseconds since the run's base instant) in a
/// message's text. Plain ASCII, so no server escapes it.
pub const MARK: &[u8] = b"@T";

static FINDER: LazyLock<memmem::Finder<'static>> = LazyLock::new(|| memmem::Finder::new(MARK));

/// Which wire format to speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Dialect {
    /// Banter's protocol on `/ws`: `welcome`, then `join`, `send`.
    Banter,
    /// The classic `{user, message}` broadcast shape on `/`, no join.
    Classic,
}

/// Connection settings common to all scenarios.
#[derive(Debug, Clone)]
pub struct ConnSpec {
    pub target: Target,
    /// More nodes of a cluster: connection `idx` goes to `[target, more...][idx % n]`.
    pub more: Vec<Target>,
    pub dialect: Dialect,
    /// Local source addresses to spread connections over (empty: let the kernel choose).
    pub sources: Vec<IpAddr>,
    /// Receive buffer per connection, bytes.
    pub rx_buf: usize,
}

impl ConnSpec {
    /// Builds the connection spec, picking the path from the dialect unless one is given.
    pub fn new(
        addr: SocketAddr,
        dialect: Dialect,
        path: Option<String>,
        sources: usize,
        rx_buf: usize,
    ) -> Self {
        let path = path.unwrap_or_else(|| match dialect {
            Dialect::Banter => "/ws".into(),
            Dialect::Classic => "/".into(),
        });
        let sources = if sources <= 1 || !addr.ip().is_loopback() || addr.is_ipv6() {
            Vec::new()
        } else {
            (1..=sources as u8)
                .map(|i| IpAddr::V4(Ipv4Addr::new(127, 0, 0, i)))
                .collect()
        };
        ConnSpec {
            target: Target { addr, path },
            more: Vec::new(),
            dialect,
            sources,
            rx_buf,
        }
    }

    /// Opens connection number `idx` (source address chosen round-robin).
    pub async fn open(&self, idx: usize) -> io::Result<WsConn> {
        let src = if self.sources.is_empty() {
            None
        } else {
            Some(self.sources[idx % self.sources.len()])
        };
        let target = match idx % (1 + self.more.len()) {
            0 => &self.target,
            n => &self.more[n - 1],
        };
        ws::connect(
            target,
            src,
            self.rx_buf,
            (idx as u64 + 1).wrapping_mul(0x2545_F491_4F6C_DD1D),
        )
        .await
    }
}

/// Counters and the latency histogram, shared by every connection of a run.
pub struct Shared {
    /// The instant all timestamps are measured from.
    pub base: Instant,
    pub ready: AtomicU64,
    pub failed: AtomicU64,
    pub deliveries: AtomicU64,
    pub other_frames: AtomicU64,
    /// Socket reads that brought at least one timed frame.
    pub reads: AtomicU64,
    pub sent: AtomicU64,
    pub expected: AtomicU64,
    /// Connections lost while the run was still going (server close or EOF).
    pub dropped: AtomicU64,
    pub last_delivery_us: AtomicU64,
    pub max_send_lag_us: AtomicU64,
    pub close_codes: Mutex<BTreeMap<u16, u64>>,
    pub errors: Mutex<BTreeMap<String, u64>>,
    /// End-to-end latency in microseconds.
    pub hist: Mutex<Histogram<u64>>,
}

impl Shared {
    pub fn new() -> Arc<Self> {
        Arc::new(Shared {
            base: Instant::now(),
            ready: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            deliveries: AtomicU64::new(0),
            other_frames: AtomicU64::new(0),
            reads: AtomicU64::new(0),
            sent: AtomicU64::new(0),
            expected: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            last_delivery_us: AtomicU64::new(0),
            max_send_lag_us: AtomicU64::new(0),
            close_codes: Mutex::new(BTreeMap::new()),
            errors: Mutex::new(BTreeMap::new()),
            // 1 µs .. 10 min, 3 significant figures.
            hist: Mutex::new(Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid bounds")),
        })
    }

    /// Microseconds since `base`.
    pub fn now_us(&self) -> u64 {
        self.base.elapsed().as_micros() as u64
    }

    /// The instant `us` microseconds after `base`.
    pub fn at_us(&self, us: u64) -> tokio::time::Instant {
        (self.base + Duration::from_micros(us)).into()
    }

    /// Counts an error by its kind (the first 80 characters of its message).
    pub fn error(&self, context: &str, e: &dyn std::fmt::Display) {
        let mut key = format!("{context}: {e}");
        key.truncate(80);
        *lock(&self.errors).entry(key).or_default() += 1;
    }

    /// Runs a connection's setup within `limit`; on an error or a timeout counts it as a
    /// failed connection and returns `None`.
    pub async fn set_up<T>(
        &self,
        limit: Duration,
        setup: impl Future<Output = io::Result<T>>,
    ) -> Option<T> {
        match tokio::time::timeout(limit, setup).await {
            Ok(Ok(conn)) => Some(conn),
            Ok(Err(e)) => {
                self.error("connect", &e);
                self.failed.fetch_add(1, Relaxed);
                None
            }
            Err(_) => {
                self.error("connect", &"setup timed out");
                self.failed.fetch_add(1, Relaxed);
                None
            }
        }
    }

    pub fn close_code(&self, code: u16) {
        *lock(&self.close_codes).entry(code).or_default() += 1;
    }
}

/// Locks a mutex, ignoring poisoning (a panicked task must not hide the numbers).
pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The text of a timed message: the marker, the timestamp, then padding up to `size` bytes.
pub fn timed_text(ts_us: u64, size: usize) -> String {
    let mut s = format!("@T{ts_us}.");
    while s.len() < size {
        s.push('x');
    }
    s
}

/// The JSON of one chat post from `user` to `room` in the given dialect, built from the protocol
/// crate's types.
pub fn post_json(dialect: Dialect, user: &str, room: &str, text: String) -> String {
    match dialect {
        Dialect::Banter => ClientMsg::Send {
            room: room.to_owned(),
            text,
            client_id: None,
            reply_to: None,
            files: Vec::new(),
        }
        .to_json(),
        Dialect::Classic => serde_json::to_string(&ClassicMsg {
            user: user.to_owned(),
            message: text,
        })
        .unwrap_or_default(),
    }
}

/// Finds the send timestamp in a frame's payload.
#[inline]
pub fn find_ts(payload: &[u8]) -> Option<u64> {
    let at = FINDER.find(payload)? + MARK.len();
    let mut v: u64 = 0;
    let mut any = false;
    for &b in &payload[at..] {
        if b.is_ascii_digit() {
            v = v * 10 + u64::from(b - b'0');
            any = true;
        } else {
            break;
        }
    }
    any.then_some(v)
}

/// What the receive loop saw in one batch of frames.
#[derive(Default)]
pub struct Batch {
    pub deliveries: u64,
    pub other: u64,
    /// A close frame's code (1005 when it carried none), ending the connection.
    pub closed: Option<u16>,
    latencies: Vec<u64>,
}

impl Batch {
    /// Parses every complete frame in `conn`'s buffer: counts timed deliveries, records their
    /// latency against `now_us`, answers pings (queued in `conn.tx`, not yet flushed).
    pub fn take(&mut self, conn: &mut WsConn, now_us: u64) -> io::Result<()> {
        while let Some(Frame {
            opcode,
            fin,
            payload,
        }) = conn.rx.next_frame()?
        {
            match opcode {
                op::TEXT | op::BINARY | op::CONTINUATION => match find_ts(payload) {
                    Some(ts) => {
                        self.deliveries += 1;
                        self.latencies.push(now_us.saturating_sub(ts).max(1));
                    }
                    None if fin => self.other += 1,
                    None => {}
                },
                op::PING => {
                    let p = payload.to_vec();
                    conn.tx.push(op::PONG, &p);
                }
                op::CLOSE => {
                    let code = if payload.len() >= 2 {
                        u16::from_be_bytes([payload[0], payload[1]])
                    } else {
                        1005
                    };
                    self.closed = Some(code);
                    return Ok(());
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Adds this batch to the shared counters and histogram, and resets it.
    pub fn commit(&mut self, shared: &Shared, now_us: u64) {
        if self.deliveries > 0 {
            shared.deliveries.fetch_add(self.deliveries, Relaxed);
            shared.reads.fetch_add(1, Relaxed);
            shared.last_delivery_us.fetch_max(now_us, Relaxed);
            let mut h = lock(&shared.hist);
            for &l in &self.latencies {
                h.saturating_record(l);
            }
        }
        if self.other > 0 {
            shared.other_frames.fetch_add(self.other, Relaxed);
        }
        self.deliveries = 0;
        self.other = 0;
        self.latencies.clear();
    }
}

/// Banter dialect: waits for `welcome` (the first frame). Returns an error on anything else.
pub async fn await_welcome(conn: &mut WsConn) -> io::Result<()> {
    let frame = next_text(conn).await?;
    match serde_json::from_slice::<ServerMsg>(&frame) {
        Ok(ServerMsg::Welcome { .. }) => Ok(()),
        Ok(other) => Err(io::Error::other(format!(
            "expected welcome, got {}",
            other.to_json()
        ))),
        Err(e) => Err(io::Error::other(format!("bad welcome: {e}"))),
    }
}

/// Banter dialect: sends `join` and waits for `joined` (frames before it, e.g. presence, are
/// skipped; an `error` fails the join).
pub async fn join(conn: &mut WsConn, room: &str, name: &str) -> io::Result<()> {
    let msg = ClientMsg::Join {
        room: room.to_owned(),
        name: name.to_owned(),
        since: None,
        epoch: None,
        with: None,
    }
    .to_json();
    conn.tx.push(op::TEXT, msg.as_bytes());
    conn.tx.flush(&conn.stream).await?;
    loop {
        let frame = next_text(conn).await?;
        match serde_json::from_slice::<ServerMsg>(&frame) {
            Ok(ServerMsg::Joined { .. }) => return Ok(()),
            Ok(ServerMsg::Error { code, message, .. }) => {
                return Err(io::Error::other(format!(
                    "join refused: {code:?}: {message}"
                )));
            }
            _ => {}
        }
    }
}

/// Reads until the next complete text frame and returns a copy of its payload (setup only).
async fn next_text(conn: &mut WsConn) -> io::Result<Vec<u8>> {
    loop {
        while let Some(f) = conn.rx.next_frame()? {
            match f.opcode {
                op::TEXT => return Ok(f.payload.to_vec()),
                op::CLOSE => {
                    return Err(io::Error::new(
                        io::ErrorKind::ConnectionAborted,
                        format!("closed by server: {:?}", f.payload),
                    ));
                }
                op::PING => {
                    let p = f.payload.to_vec();
                    conn.tx.push(op::PONG, &p);
                }
                _ => {}
            }
        }
        if !conn.tx.is_empty() {
            conn.tx.flush(&conn.stream).await?;
        }
        if conn.rx.fill(&conn.stream).await? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "closed during setup",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timed_text_has_the_size_and_round_trips_through_the_protocol() {
        let t = timed_text(123_456_789, 100);
        assert_eq!(t.len(), 100);
        let json = post_json(Dialect::Banter, "u1", "lobby", t);
        assert!(json.starts_with(r#"{"type":"send","room":"lobby","text":"@T123456789.xx"#));
        assert_eq!(find_ts(json.as_bytes()), Some(123_456_789));
        let classic = post_json(Dialect::Classic, "u1", "lobby", timed_text(7, 20));
        assert_eq!(classic, r#"{"user":"u1","message":"@T7.xxxxxxxxxxxxxxxx"}"#);
        assert_eq!(find_ts(classic.as_bytes()), Some(7));
        assert_eq!(find_ts(br#"{"type":"welcome"}"#), None);
    }
}
