//! A deliberately small WebSocket client (RFC 6455), just enough for load generation.
//!
//! Why not tokio-tungstenite: the load generator shares two cores with the server it measures, so
//! its receive path must cost as little as possible. Here a connection is one `TcpStream`, one
//! fixed receive buffer that frames are parsed in place from (no allocation and no copy per frame),
//! and one reusable send buffer into which many masked frames are written before a single
//! `write`. The client offers no extensions (no permessage-deflate) and never fragments.
//!
//! What it does not do: verify `Sec-WebSocket-Accept` (the status line must be `101`), TLS, or
//! reassemble fragmented messages (each fragment's payload is handed out on its own; a message is
//! counted once, on its final fragment).

use std::io;
use std::net::{IpAddr, SocketAddr};

use memchr::memmem;
use tokio::net::{TcpSocket, TcpStream};

/// WebSocket opcodes we act on.
pub mod op {
    pub const CONTINUATION: u8 = 0x0;
    pub const TEXT: u8 = 0x1;
    pub const BINARY: u8 = 0x2;
    pub const CLOSE: u8 = 0x8;
    pub const PING: u8 = 0x9;
    pub const PONG: u8 = 0xA;
}

/// Largest frame we accept from a server; the receive buffer grows up to this for one frame.
const MAX_FRAME: usize = 1 << 20;

/// One frame parsed from the receive buffer; `payload` borrows the buffer.
#[derive(Debug)]
pub struct Frame<'a> {
    pub opcode: u8,
    pub fin: bool,
    pub payload: &'a [u8],
}

/// The receive side: a fixed buffer with the unparsed bytes at `start..end`.
pub struct RxBuf {
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl RxBuf {
    pub fn new(size: usize) -> Self {
        RxBuf {
            buf: vec![0; size.max(256)],
            start: 0,
            end: 0,
        }
    }

    /// Reads once from the socket (waiting for readiness); returns bytes read, 0 on EOF.
    pub async fn fill(&mut self, stream: &TcpStream) -> io::Result<usize> {
        self.make_room();
        loop {
            stream.readable().await?;
            match stream.try_read(&mut self.buf[self.end..]) {
                Ok(n) => {
                    self.end += n;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Moves unparsed bytes to the front, and grows the buffer if one frame needs more room.
    fn make_room(&mut self) {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.start > 0 && (self.end == self.buf.len() || self.start > self.buf.len() / 2)
        {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() {
            // A single frame larger than the buffer: grow (bounded by MAX_FRAME + header).
            let need = frame_len(&self.buf[self.start..self.end]).unwrap_or(self.buf.len() * 2);
            let new_len = need.max(self.buf.len() * 2).min(MAX_FRAME + 14);
            self.buf.resize(new_len, 0);
        }
    }

    /// Parses the next complete frame from the buffer, if there is one.
    pub fn next_frame(&mut self) -> io::Result<Option<Frame<'_>>> {
        let avail = &self.buf[self.start..self.end];
        let Some((header, len)) = parse_header(avail)? else {
            return Ok(None);
        };
        if avail.len() < header + len {
            return Ok(None);
        }
        let b0 = avail[0];
        let from = self.start + header;
        self.start = from + len;
        Ok(Some(Frame {
            opcode: b0 & 0x0F,
            fin: b0 & 0x80 != 0,
            payload: &self.buf[from..from + len],
        }))
    }

    /// Bytes received but not yet parsed into frames.
    #[cfg(test)]
    pub fn pending(&self) -> usize {
        self.end - self.start
    }
}

/// Total length (header + payload) of the frame starting at `b`, once its header is complete.
fn frame_len(b: &[u8]) -> Option<usize> {
    parse_header(b).ok().flatten().map(|(h, l)| h + l)
}

/// Returns (header length, payload length) when the header is complete.
fn parse_header(b: &[u8]) -> io::Result<Option<(usize, usize)>> {
    if b.len() < 2 {
        return Ok(None);
    }
    if b[1] & 0x80 != 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "masked frame from server",
        ));
    }
    let (header, len) = match b[1] & 0x7F {
        126 => {
            if b.len() < 4 {
                return Ok(None);
            }
            (4, u16::from_be_bytes([b[2], b[3]]) as usize)
        }
        127 => {
            if b.len() < 10 {
                return Ok(None);
            }
            let mut x = [0u8; 8];
            x.copy_from_slice(&b[2..10]);
            (10, u64::from_be_bytes(x) as usize)
        }
        n => (2, n as usize),
    };
    if len > MAX_FRAME {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "frame too large",
        ));
    }
    Ok(Some((header, len)))
}

/// The send side: masked frames accumulate in `out` and go out in one write.
pub struct TxBuf {
    out: Vec<u8>,
    rng: u64,
}

impl TxBuf {
    pub fn new(seed: u64) -> Self {
        TxBuf {
            out: Vec::new(),
            rng: seed | 1,
        }
    }

    fn next_mask(&mut self) -> [u8; 4] {
        // xorshift64: masking keys need not be cryptographic for a load generator.
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        (x as u32).to_le_bytes()
    }

    /// Appends one masked frame.
    pub fn push(&mut self, opcode: u8, payload: &[u8]) {
        self.out.push(0x80 | opcode);
        let len = payload.len();
        if len < 126 {
            self.out.push(0x80 | len as u8);
        } else if len <= u16::MAX as usize {
            self.out.push(0x80 | 126);
            self.out.extend_from_slice(&(len as u16).to_be_bytes());
        } else {
            self.out.push(0x80 | 127);
            self.out.extend_from_slice(&(len as u64).to_be_bytes());
        }
        let mask = self.next_mask();
        self.out.extend_from_slice(&mask);
        self.out
            .extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i & 3]));
    }

    pub fn is_empty(&self) -> bool {
        self.out.is_empty()
    }

    /// Writes everything buffered.
    pub async fn flush(&mut self, stream: &TcpStream) -> io::Result<()> {
        let mut at = 0;
        while at < self.out.len() {
            stream.writable().await?;
            match stream.try_write(&self.out[at..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => at += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => return Err(e),
            }
        }
        self.out.clear();
        Ok(())
    }
}

/// An open WebSocket: the stream and its two buffers.
pub struct WsConn {
    pub stream: TcpStream,
    pub rx: RxBuf,
    pub tx: TxBuf,
}

/// Where to connect and how.
#[derive(Debug, Clone)]
pub struct Target {
    pub addr: SocketAddr,
    pub path: String,
}

/// Opens a TCP connection (from `source` when given) and performs the WebSocket handshake.
pub async fn connect(
    target: &Target,
    source: Option<IpAddr>,
    rx_size: usize,
    seed: u64,
) -> io::Result<WsConn> {
    let socket = if target.addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    if let Some(ip) = source {
        socket.bind(SocketAddr::new(ip, 0))?;
    }
    let stream = socket.connect(target.addr).await?;
    stream.set_nodelay(true)?;
    let mut tx = TxBuf::new(seed);
    let key = base64_16(&seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).to_le_bytes());
    let req = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {}\r\nSec-WebSocket-Version: 13\r\n\r\n",
        target.path, target.addr, key
    );
    tx.out.extend_from_slice(req.as_bytes());
    tx.flush(&stream).await?;

    let mut rx = RxBuf::new(rx_size.max(1024));
    let header_end = loop {
        if rx.fill(&stream).await? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "closed during handshake",
            ));
        }
        if let Some(i) = memmem::find(&rx.buf[..rx.end], b"\r\n\r\n") {
            break i + 4;
        }
        if rx.end == rx.buf.len() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "handshake response too long",
            ));
        }
    };
    let head = &rx.buf[..header_end];
    if !(head.starts_with(b"HTTP/1.1 101") || head.starts_with(b"HTTP/1.0 101")) {
        let line = head.split(|&b| b == b'\r').next().unwrap_or_default();
        return Err(io::Error::other(format!(
            "upgrade refused: {}",
            String::from_utf8_lossy(line)
        )));
    }
    rx.start = header_end;
    Ok(WsConn { stream, rx, tx })
}

impl WsConn {
    /// Sends a close frame with `code` and waits (bounded by the caller) for the server to close.
    pub async fn close(mut self, code: u16) -> io::Result<()> {
        self.tx.push(op::CLOSE, &code.to_be_bytes());
        self.tx.flush(&self.stream).await?;
        loop {
            // Discard what arrives (the server's close frame included) until the server closes
            // TCP: that way TIME_WAIT lands on its side, not on our ephemeral ports.
            while self.rx.next_frame()?.is_some() {}
            if self.rx.fill(&self.stream).await? == 0 {
                return Ok(());
            }
        }
    }
}

/// Standard base64 of the first 16 bytes of a pseudo-random key (`Sec-WebSocket-Key`).
fn base64_16(seed: &[u8; 8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(seed);
    bytes[8..].copy_from_slice(seed);
    bytes[8..].reverse();
    let mut s = String::with_capacity(24);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        s.push(T[(n >> 18) as usize & 63] as char);
        s.push(T[(n >> 12) as usize & 63] as char);
        s.push(if chunk.len() > 1 {
            T[(n >> 6) as usize & 63] as char
        } else {
            '='
        });
        s.push(if chunk.len() > 2 {
            T[n as usize & 63] as char
        } else {
            '='
        });
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_24_chars_of_base64() {
        let k = base64_16(&[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(k.len(), 24);
        assert!(k.ends_with("=="));
    }

    #[test]
    fn parses_short_and_extended_frames_in_place() {
        let mut rx = RxBuf::new(1024);
        let mut bytes = vec![0x81, 3, b'a', b'b', b'c'];
        bytes.extend_from_slice(&[0x81, 126, 0, 200]);
        bytes.extend(std::iter::repeat_n(b'x', 200));
        bytes.extend_from_slice(&[0x89, 0]);
        bytes.extend_from_slice(&[0x81, 5, b'p']); // incomplete
        rx.buf[..bytes.len()].copy_from_slice(&bytes);
        rx.end = bytes.len();
        let f = rx.next_frame().unwrap().unwrap();
        assert_eq!((f.opcode, f.fin, f.payload), (op::TEXT, true, &b"abc"[..]));
        let f = rx.next_frame().unwrap().unwrap();
        assert_eq!(f.payload.len(), 200);
        let f = rx.next_frame().unwrap().unwrap();
        assert_eq!(f.opcode, op::PING);
        assert!(rx.next_frame().unwrap().is_none());
        assert_eq!(rx.pending(), 3);
    }

    #[test]
    fn masks_client_frames() {
        let mut tx = TxBuf::new(7);
        tx.push(op::TEXT, b"hello");
        let o = &tx.out;
        assert_eq!(o[0], 0x81);
        assert_eq!(o[1], 0x80 | 5);
        let mask = &o[2..6];
        let unmasked: Vec<u8> = o[6..]
            .iter()
            .enumerate()
            .map(|(i, b)| b ^ mask[i & 3])
            .collect();
        assert_eq!(unmasked, b"hello");
    }
}
