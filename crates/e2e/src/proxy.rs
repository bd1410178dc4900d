//! [`CutProxy`]: a TCP proxy between the browser and the server that a test cuts and restores,
//! as a network failure would.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::Result;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A TCP proxy between the browser and the server that the test can cut, like a network
/// failure: open connections are dropped at once and new ones are refused until
/// [`CutProxy::restore`].
pub struct CutProxy {
    pub port: u16,
    upstream: Arc<Mutex<SocketAddr>>,
    muted: Arc<AtomicBool>,
    cut: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: JoinHandle<()>,
}

impl CutProxy {
    /// Listens on a free port and forwards to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Result<CutProxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let cut = Arc::new(AtomicBool::new(false));
        let conns: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let upstream = Arc::new(Mutex::new(upstream));
        let muted = Arc::new(AtomicBool::new(false));
        let accept = {
            let (cut, conns, target) = (cut.clone(), conns.clone(), upstream.clone());
            let muted = muted.clone();
            tokio::spawn(async move {
                while let Ok((inbound, _)) = listener.accept().await {
                    let upstream = match target.lock() {
                        Ok(addr) if !cut.load(Ordering::SeqCst) => *addr,
                        _ => {
                            drop(inbound);
                            continue;
                        }
                    };
                    let muted = muted.clone();
                    let task = tokio::spawn(async move {
                        if let Ok(outbound) = TcpStream::connect(upstream).await {
                            forward(inbound, outbound, muted).await;
                        }
                    });
                    if let Ok(mut c) = conns.lock() {
                        c.retain(|t| !t.is_finished());
                        c.push(task);
                    }
                }
            })
        };
        Ok(CutProxy {
            port,
            upstream,
            muted,
            cut,
            conns,
            accept,
        })
    }

    /// `http://127.0.0.1:PORT`
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Drops every open connection and refuses new ones.
    pub fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        if let Ok(mut c) = self.conns.lock() {
            for task in c.drain(..) {
                task.abort();
            }
        }
    }

    /// Sends new connections to another server (as if the server had restarted elsewhere).
    pub fn set_upstream(&self, addr: SocketAddr) {
        if let Ok(mut a) = self.upstream.lock() {
            *a = addr;
        }
    }

    /// Lets connections through again (both ways).
    pub fn restore(&self) {
        self.muted.store(false, Ordering::SeqCst);
        self.cut.store(false, Ordering::SeqCst);
    }

    /// Keeps forwarding what the browser sends but drops what the server answers: the server
    /// stores a message, the page never hears the `ack`. Only [`CutProxy::cut`] after this makes
    /// sense (the dropped bytes leave the open streams corrupt).
    pub fn mute_answers(&self) {
        self.muted.store(true, Ordering::SeqCst);
    }
}

/// Copies both ways until either side closes; server-to-browser bytes are dropped while `muted`.
async fn forward(inbound: TcpStream, outbound: TcpStream, muted: Arc<AtomicBool>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (mut in_read, mut in_write) = inbound.into_split();
    let (mut out_read, mut out_write) = outbound.into_split();
    let up = async {
        let _ = tokio::io::copy(&mut in_read, &mut out_write).await;
        let _ = out_write.shutdown().await;
    };
    let down = async {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match out_read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if muted.load(Ordering::SeqCst) {
                continue;
            }
            if in_write.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        let _ = in_write.shutdown().await;
    };
    tokio::join!(up, down);
}

impl Drop for CutProxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}
