//! [`Proxy`]: a TCP proxy in front of a server that a test cuts, makes refuse and restores, as a
//! network failure would.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A TCP proxy on a free loopback port to an upstream server. [`Proxy::cut`] drops every open
/// connection at once; [`Proxy::refuse`] makes it refuse new ones until [`Proxy::restore`].
pub struct Proxy {
    pub addr: SocketAddr,
    upstream: Arc<Mutex<SocketAddr>>,
    refusing: Arc<AtomicBool>,
    muted: Arc<AtomicBool>,
    pipes: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: JoinHandle<()>,
}

impl Proxy {
    /// Listens on a free port and forwards to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("addr");
        let upstream = Arc::new(Mutex::new(upstream));
        let (refusing, muted) = (Arc::<AtomicBool>::default(), Arc::<AtomicBool>::default());
        let pipes: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let accept = tokio::spawn(accept(
            listener,
            upstream.clone(),
            refusing.clone(),
            muted.clone(),
            pipes.clone(),
        ));
        Proxy {
            addr,
            upstream,
            refusing,
            muted,
            pipes,
            accept,
        }
    }

    /// `http://127.0.0.1:PORT`
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Drops every open connection through the proxy, abruptly.
    pub fn cut(&self) {
        for pipe in self.pipes.lock().unwrap().drain(..) {
            pipe.abort();
        }
    }

    /// Refuses new connections (closes them at once) until [`Proxy::restore`].
    pub fn refuse(&self) {
        self.refusing.store(true, Ordering::SeqCst);
    }

    /// Lets connections through again, both ways.
    pub fn restore(&self) {
        self.muted.store(false, Ordering::SeqCst);
        self.refusing.store(false, Ordering::SeqCst);
    }

    /// Sends new connections to another server (as if it had restarted elsewhere).
    pub fn set_upstream(&self, addr: SocketAddr) {
        *self.upstream.lock().unwrap() = addr;
    }

    /// Keeps forwarding what clients send but drops what the server answers: the server stores
    /// a message, the client never hears the `ack`. Only [`Proxy::cut`] after this makes sense
    /// (the dropped bytes leave the open streams corrupt).
    pub fn mute_answers(&self) {
        self.muted.store(true, Ordering::SeqCst);
    }

    /// Connections open through the proxy and not cut.
    pub fn open(&self) -> usize {
        let mut pipes = self.pipes.lock().unwrap();
        pipes.retain(|p| !p.is_finished());
        pipes.len()
    }
}

/// Accepts connections and pipes each to the upstream of the moment, unless refusing.
async fn accept(
    listener: TcpListener,
    upstream: Arc<Mutex<SocketAddr>>,
    refusing: Arc<AtomicBool>,
    muted: Arc<AtomicBool>,
    pipes: Arc<Mutex<Vec<JoinHandle<()>>>>,
) {
    while let Ok((down, _)) = listener.accept().await {
        if refusing.load(Ordering::SeqCst) {
            continue; // dropped: the client sees its connection closed at once
        }
        let upstream = *upstream.lock().unwrap();
        let muted = muted.clone();
        let pipe = tokio::spawn(async move {
            if let Ok(up) = TcpStream::connect(upstream).await {
                forward(down, up, muted).await;
            }
        });
        let mut pipes = pipes.lock().unwrap();
        pipes.retain(|p| !p.is_finished());
        pipes.push(pipe);
    }
}

/// Copies both ways until either side closes; server-to-client bytes are dropped while `muted`.
async fn forward(down: TcpStream, up: TcpStream, muted: Arc<AtomicBool>) {
    let (mut down_read, mut down_write) = down.into_split();
    let (mut up_read, mut up_write) = up.into_split();
    let requests = async {
        let _ = tokio::io::copy(&mut down_read, &mut up_write).await;
        let _ = up_write.shutdown().await;
    };
    let answers = async {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match up_read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if muted.load(Ordering::SeqCst) {
                continue;
            }
            if down_write.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        let _ = down_write.shutdown().await;
    };
    tokio::join!(requests, answers);
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}
